/** Timing helpers: warm up, then time several runs and report the median. */

export interface Measurement {
  /** Median seconds per call. */
  seconds: number;
  runs: number;
}

/** Calls `fn` until about `budgetSeconds` have passed (at least `minRuns` times) after a warm-up. */
export function measure(
  fn: () => void,
  options: { warmup?: number; minRuns?: number; budgetSeconds?: number } = {},
): Measurement {
  const { warmup = 2, minRuns = 5, budgetSeconds = 1 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (performance.now() - start) / 1000 < budgetSeconds) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 1000) break;
  }
  return median(times);
}

/**
 * Times two functions call by call in alternation (a, b, a, b, ...), so that a slow phase of a
 * shared machine hits both alike: the ratio of their medians is then far steadier than the ratio
 * of two measurements taken one after the other (for the AGR overhead, which is such a ratio).
 */
export function measurePair(
  a: () => void,
  b: () => void,
  options: { warmup?: number; minRuns?: number; budgetSeconds?: number } = {},
): [Measurement, Measurement] {
  const { warmup = 2, minRuns = 5, budgetSeconds = 1 } = options;
  for (let i = 0; i < warmup; i++) {
    a();
    b();
  }
  const times: [number[], number[]] = [[], []];
  const start = performance.now();
  while (times[0].length < minRuns || (performance.now() - start) / 1000 < budgetSeconds) {
    [a, b].forEach((fn, k) => {
      const t0 = performance.now();
      fn();
      times[k].push((performance.now() - t0) / 1000);
    });
    if (times[0].length >= 1000) break;
  }
  return [median(times[0]), median(times[1])];
}

function median(times: number[]): Measurement {
  const sorted = [...times].sort((p, q) => p - q);
  return { seconds: sorted[Math.floor(sorted.length / 2)], runs: sorted.length };
}
