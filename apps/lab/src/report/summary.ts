import type { RunLog } from '../run/log.js';
import type { JobResult } from '../run/runner.js';
import { holm, mean, type PairedDifference, pairedDifference, std } from '../stats.js';

/**
 * The statistics every report shares, written once: per-arm summaries that count diverged runs,
 * paired comparisons by seed that say which pairs were left out and why, Holm's adjustment over a
 * report's family of comparisons, and the verdict and claim sentences that follow from them.
 */

/** One question a run answered or left open, for the main job's closing lines. */
export interface Decision {
  /** "classify · mlp · adamw" */
  subject: string;
  /** The answer, or why there is none. */
  text: string;
  decided: boolean;
}

/** Jobs whose info matches every given field, sorted by seed. */
export function select(
  results: Record<string, JobResult>,
  match: Record<string, string | number | boolean>,
): JobResult[] {
  return Object.values(results)
    .filter((r) => Object.entries(match).every(([k, v]) => r.info[k] === v))
    .sort((a, b) => Number(a.info.seed) - Number(b.info.seed));
}

/** Why a job failed, or null: a run diverges when its training loss stops being finite. */
export function failure(job: JobResult): string | null {
  const at = job.log.divergedAt;
  return at === undefined || at === null ? null : `diverged at step ${at}`;
}

export interface MetricSummary {
  /** The finite values (a diverged run's value counts when it has one). */
  values: number[];
  mean: number;
  std: number;
  /** Jobs in the arm. */
  runs: number;
  /** Jobs that diverged: failures, reported beside the mean, never dropped silently. */
  diverged: number;
}

export function summarize(jobs: JobResult[], metric: (job: JobResult) => number): MetricSummary {
  const values = jobs.map(metric).filter((v) => Number.isFinite(v));
  return {
    values,
    mean: values.length > 0 ? mean(values) : Number.NaN,
    std: values.length > 1 ? std(values) : Number.NaN,
    runs: jobs.length,
    diverged: jobs.filter((j) => failure(j) !== null).length,
  };
}

/** "mean ± std", with the diverged runs named: "0.81 ± 0.02 (1 of 3 diverged)". */
export function summaryText(s: MetricSummary, digits = 2): string {
  const core = !Number.isFinite(s.mean)
    ? 'n/a'
    : Number.isFinite(s.std)
      ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`
      : s.mean.toFixed(digits);
  return s.diverged > 0 ? `${core} (${s.diverged} of ${s.runs} diverged)` : core;
}

/** A comparison of two arms paired by seed (same initial weights, same batches). */
export interface Comparison {
  /** treated - base over the usable pairs, with interval and p-value; null below 2 pairs. */
  difference: PairedDifference | null;
  /** Seeds run in both arms, and how many of those pairs had a value on both sides. */
  seeds: number;
  usable: number;
  /** Every usable pair had exactly equal values: the arms did not differ at all. */
  identical: boolean;
  /** Pairs left out, with the reason: "seed 1: adamw+agr diverged at step 40". */
  excluded: string[];
  /** Holm-adjusted p-value within the report's family (see adjust). */
  adjusted: number | null;
}

/**
 * treated - base per seed for `metric`. A pair is left out, and listed with its reason, when
 * either side has no finite value: the run diverged, or `missing` says why (e.g. "did not reach
 * the target").
 */
export function compare(
  base: JobResult[],
  treated: JobResult[],
  metric: (job: JobResult) => number,
  missing = 'has no value',
): Comparison {
  const a: number[] = [];
  const b: number[] = [];
  const excluded: string[] = [];
  let seeds = 0;
  for (const t of treated) {
    const match = base.find((x) => x.info.seed === t.info.seed);
    if (!match) continue;
    seeds += 1;
    const [va, vb] = [metric(match), metric(t)];
    if (Number.isFinite(va) && Number.isFinite(vb)) {
      a.push(va);
      b.push(vb);
      continue;
    }
    const why = [match, t]
      .filter((job) => !Number.isFinite(metric(job)))
      .map((job) => `${job.info.arm} ${failure(job) ?? missing}`);
    excluded.push(`seed ${t.info.seed}: ${why.join(', ')}`);
  }
  return {
    difference: a.length >= 2 ? pairedDifference(a, b) : null,
    seeds,
    usable: a.length,
    // Identical only when nothing was left out: a pair with a failure on one side differs.
    identical: a.length > 0 && excluded.length === 0 && a.every((v, i) => v === b[i]),
    excluded,
    adjusted: null,
  };
}

/** Holm's adjustment over a family of comparisons (one report's tests of one metric). */
export function adjust(family: Comparison[]): void {
  const adjusted = holm(family.map((c) => (c.identical ? null : (c.difference?.p ?? null))));
  family.forEach((c, i) => {
    c.adjusted = adjusted[i];
  });
}

/** What a comparison shows, from its Holm-adjusted p-value at the 5% level. */
export function verdict(c: Comparison): string {
  if (c.identical) return 'identical';
  const d = c.difference;
  if (!d || d.p === null) return 'n/a';
  const p = c.adjusted ?? d.p;
  if (p >= 0.05) return 'no significant difference';
  return d.mean > 0 ? 'higher' : 'lower';
}

function signed(x: number, digits: number): string {
  const rounded = Number(x.toFixed(digits)) || 0; // no "-0"
  return `${rounded >= 0 ? '+' : ''}${rounded.toFixed(digits)}`;
}

/**
 * The raw difference and its 95% interval, "+0.31 [-0.12, +0.74]"; "identical" when every pair
 * agreed exactly; otherwise why there is no interval ("n/a: 1 of 2 seed pairs usable; seed 1:
 * adamw+agr did not reach the target").
 */
export function formatDifference(c: Comparison, digits = 2): string {
  if (c.identical) return `identical (the same value in all ${c.usable} seed pairs)`;
  const d = c.difference;
  const left = c.excluded.length > 0 ? `; ${c.excluded.join('; ')}` : '';
  if (!d || d.low === null || d.high === null) {
    return `n/a: ${c.usable} of ${c.seeds} seed pairs usable, an interval needs 2${left}`;
  }
  const note = c.excluded.length > 0 ? ` (${c.usable} of ${c.seeds} pairs${left})` : '';
  return `${signed(d.mean, digits)} [${signed(d.low, digits)}, ${signed(d.high, digits)}]${note}`;
}

/** "p 0.041, Holm 0.12" (the raw p-value, then the one the verdict uses). */
export function formatP(c: Comparison): string {
  const p = c.difference?.p;
  if (c.identical || p === null || p === undefined) return '—';
  const show = (x: number) => (x < 0.001 ? '<0.001' : x.toPrecision(2));
  return `p ${show(p)}, Holm ${show(c.adjusted ?? p)}`;
}

/**
 * One sentence on a comparison: "AGR changed test accuracy by +0.31 [-0.12, +0.74] pp (no
 * significant difference; p 0.2, Holm 0.6)", or "test accuracy was identical with and without AGR
 * in all 3 seed pairs".
 */
export function effectText(c: Comparison, what: string, unit = '', digits = 2): string {
  if (c.identical) return `${what} was identical with and without AGR in all ${c.usable} seed pairs`;
  return `AGR changed ${what} by ${formatDifference(c, digits)}${unit ? ` ${unit}` : ''} (${verdict(c)}; ${formatP(c)})`;
}

/** An effect the paper claims, as a range of the same difference (treated - base). */
export interface Claim {
  low: number;
  high: number;
  /** How the paper's figure reads, for the sentence: "+0.3 to +0.8 pp (CIFAR-100, Tiny-ImageNet)". */
  text: string;
}

/**
 * Whether the 95% interval rules the paper's claimed effect out: entirely below it or entirely
 * above it. Null when there is no interval.
 */
export function claimText(c: Comparison, claim: Claim): string | null {
  const d = c.difference;
  if (!d || d.low === null || d.high === null) return null;
  if (d.high < claim.low)
    return `the interval lies below the paper's claimed effect (${claim.text}) and excludes it`;
  if (d.low > claim.high)
    return `the interval lies above the paper's claimed effect (${claim.text}) and excludes it`;
  return `the interval includes the paper's claimed effect (${claim.text})`;
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

/**
 * treated - base of a logged curve per seed, point by point at the steps both logged: AGR's
 * effect drawn directly, where overlapping curves would hide it.
 */
export function differenceCurves<T extends { step: number }>(
  base: JobResult[],
  treated: JobResult[],
  points: (log: RunLog) => T[],
  value: (point: T) => number,
): Array<{ seed: number; step: number; difference: number }> {
  const out: Array<{ seed: number; step: number; difference: number }> = [];
  for (const t of treated) {
    const match = base.find((x) => x.info.seed === t.info.seed);
    if (!match) continue;
    const baseline = new Map(points(match.log).map((p) => [p.step, value(p)]));
    for (const p of points(t.log)) {
      const v = value(p);
      const w = baseline.get(p.step);
      if (w !== undefined && Number.isFinite(v) && Number.isFinite(w))
        out.push({ seed: Number(t.info.seed), step: p.step, difference: v - w });
    }
  }
  return out;
}
