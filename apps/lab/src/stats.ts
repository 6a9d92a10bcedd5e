/**
 * The statistics the lab reports: mean and sample standard deviation per arm, and the paired
 * difference between two arms run on the same seeds, with a two-sided 95% Student-t interval and
 * the paired t-test's p-value, adjusted for the many comparisons of a report by Holm's method
 * (the paper gives no error bars; these are ours).
 */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('mean: no values');
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The median of the finite values (NaN when there are none). */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Sample standard deviation (n - 1 in the denominator); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to about 1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the regularized incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let term = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 / (Math.abs(1 + term * d) < tiny ? tiny : 1 + term * d);
    c = Math.abs(1 + term / c) < tiny ? tiny : 1 + term / c;
    h *= d * c;
    term = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 / (Math.abs(1 + term * d) < tiny ? tiny : 1 + term * d);
    c = Math.abs(1 + term / c) < tiny ? tiny : 1 + term / c;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularized incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The t with P(T <= t) = p, by bisection on the CDF. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0))
    throw new RangeError(`studentTQuantile: need 0 < p < 1 and df > 0, got p=${p}, df=${df}`);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedDifference {
  /** Mean of b - a over the pairs. */
  mean: number;
  std: number;
  n: number;
  /** Two-sided 95% interval for the mean difference (null with fewer than 2 pairs). */
  low: number | null;
  high: number | null;
  /**
   * Two-sided p-value of the paired t-test that the mean difference is 0 (null with fewer than
   * 2 pairs). Differences without spread give 1 when all are 0 and 0 otherwise.
   */
  p: number | null;
}

/** b - a for runs paired by seed: mean, std, a 95% Student-t interval and the t-test's p-value. */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length)
    throw new RangeError(`pairedDifference: ${a.length} and ${b.length} values do not pair up`);
  const d = b.map((x, i) => x - a[i]);
  const m = mean(d);
  const s = std(d);
  if (d.length < 2) return { mean: m, std: s, n: d.length, low: null, high: null, p: null };
  const standardError = s / Math.sqrt(d.length);
  const half = studentTQuantile(0.975, d.length - 1) * standardError;
  const p =
    standardError === 0
      ? m === 0
        ? 1
        : 0
      : 2 * (1 - studentTCdf(Math.abs(m) / standardError, d.length - 1));
  return { mean: m, std: s, n: d.length, low: m - half, high: m + half, p };
}

/**
 * Holm's step-down adjustment of p-values for a family of tests (null entries are not tests):
 * sorted ascending, the k-th smallest of m becomes max over j <= k of min(1, (m - j + 1) p_j).
 * It controls the chance of any false "higher" or "lower" in the family at the nominal level.
 */
export function holm(pValues: readonly (number | null)[]): (number | null)[] {
  const tests = pValues
    .map((p, i) => ({ p, i }))
    .filter((t): t is { p: number; i: number } => t.p !== null)
    .sort((a, b) => a.p - b.p);
  const out: (number | null)[] = pValues.map(() => null);
  let running = 0;
  tests.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (tests.length - rank) * p));
    out[i] = running;
  });
  return out;
}
