import type { RunLog } from '../run/log.js';
import type { JobResult } from '../run/runner.js';
import { mean, type PairedDifference, pairedDifference, std } from '../stats.js';

/** Jobs whose info matches every given field, sorted by seed. */
export function select(
  results: Record<string, JobResult>,
  match: Record<string, string | number | boolean>,
): JobResult[] {
  return Object.values(results)
    .filter((r) => Object.entries(match).every(([k, v]) => r.info[k] === v))
    .sort((a, b) => Number(a.info.seed) - Number(b.info.seed));
}

export interface MetricSummary {
  values: number[];
  mean: number;
  std: number;
}

export function summarize(jobs: JobResult[], metric: (job: JobResult) => number): MetricSummary {
  const values = jobs.map(metric).filter((v) => Number.isFinite(v));
  return {
    values,
    mean: values.length > 0 ? mean(values) : Number.NaN,
    std: values.length > 1 ? std(values) : Number.NaN,
  };
}

/**
 * treated - base per seed (jobs paired by seed, which fixes the initial weights and the data
 * order), with its 95% interval; null when fewer than two seeds pair up.
 */
export function pairedBySeed(
  base: JobResult[],
  treated: JobResult[],
  metric: (job: JobResult) => number,
): PairedDifference | null {
  const a: number[] = [];
  const b: number[] = [];
  for (const t of treated) {
    const match = base.find((x) => x.info.seed === t.info.seed);
    if (!match) continue;
    const [va, vb] = [metric(match), metric(t)];
    if (Number.isFinite(va) && Number.isFinite(vb)) {
      a.push(va);
      b.push(vb);
    }
  }
  if (a.length < 2) return null;
  return pairedDifference(a, b);
}

/** "+0.31 [-0.12, +0.74]" and whether the interval excludes zero. */
export function formatDifference(d: PairedDifference | null, digits = 2): string {
  if (!d || d.low === null || d.high === null) return 'n/a (needs 2 seeds)';
  const s = (x: number) => {
    const rounded = Number(x.toFixed(digits)) || 0; // no "-0"
    return `${rounded >= 0 ? '+' : ''}${rounded.toFixed(digits)}`;
  };
  return `${s(d.mean)} [${s(d.low)}, ${s(d.high)}]`;
}

export function significance(d: PairedDifference | null): string {
  if (!d || d.low === null || d.high === null) return 'n/a';
  if (d.low > 0) return 'higher';
  if (d.high < 0) return 'lower';
  return 'no significant difference';
}

/** Mean of a logged curve over jobs, point by point (jobs of one arm log the same steps). */
export function meanCurve<T extends { step: number }>(
  jobs: JobResult[],
  points: (log: RunLog) => T[],
  value: (point: T) => number,
): Array<{ step: number; value: number }> {
  const byStep = new Map<number, number[]>();
  for (const job of jobs) {
    for (const p of points(job.log)) {
      const v = value(p);
      if (!Number.isFinite(v)) continue;
      byStep.set(p.step, [...(byStep.get(p.step) ?? []), v]);
    }
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, vs]) => ({ step, value: mean(vs) }));
}
