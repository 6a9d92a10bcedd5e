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
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], runs: times.length };
}
