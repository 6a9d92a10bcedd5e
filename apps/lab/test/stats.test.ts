import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  holm,
  incompleteBeta,
  mean,
  median,
  pairedDifference,
  std,
  studentTCdf,
  studentTQuantile,
} from '../src/stats.js';

describe('statistics for the reports', () => {
  it('mean and sample std', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(std([7])).toBe(0);
  });

  it('t quantiles match the published two-sided 95% critical values', () => {
    // Standard table values of t(0.975, df) (e.g. Abramowitz & Stegun, table 26.10).
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [4, 2.776],
      [9, 2.262],
      [29, 2.045],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 3);
    // With one degree of freedom t is Cauchy: P(T <= 1) = 3/4 exactly.
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12);
  });

  it('the t CDF is symmetric and monotone; I_x(a, b) = 1 - I_(1-x)(b, a)', () => {
    fc.assert(
      fc.property(fc.double({ min: -20, max: 20, noNaN: true }), fc.integer({ min: 1, max: 50 }), (t, df) => {
        expect(studentTCdf(t, df) + studentTCdf(-t, df)).toBeCloseTo(1, 12);
        expect(studentTCdf(t + 0.1, df)).toBeGreaterThanOrEqual(studentTCdf(t, df));
      }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        (x, a, b) => {
          expect(incompleteBeta(x, a, b)).toBeCloseTo(1 - incompleteBeta(1 - x, b, a), 10);
        },
      ),
    );
  });

  it('paired differences: mean of b - a with a t interval around it', () => {
    const a = [0.8, 0.82, 0.81];
    const b = [0.81, 0.84, 0.81];
    const d = pairedDifference(a, b);
    expect(d.mean).toBeCloseTo(0.01, 12);
    const half = studentTQuantile(0.975, 2) * (std([0.01, 0.02, 0]) / Math.sqrt(3));
    expect(d.low).toBeCloseTo(0.01 - half, 12);
    expect(d.high).toBeCloseTo(0.01 + half, 12);
    expect(pairedDifference([1], [2])).toMatchObject({ mean: 1, low: null, high: null });
    expect(() => pairedDifference([1, 2], [1])).toThrow('pairedDifference: 2 and 1 values do not pair up');
  });

  it('the paired t-test p-value: two-sided, from the t distribution with n - 1 degrees of freedom', () => {
    // Differences 1, 2, 3: t = 2 / (1 / sqrt 3) = 3.4641 with 2 df; P(|T| > t) = 1 - t / sqrt(t^2 + 2) exactly.
    const t = 2 * Math.sqrt(3);
    expect(pairedDifference([0, 0, 0], [1, 2, 3]).p).toBeCloseTo(1 - t / Math.sqrt(t * t + 2), 12);
    expect(pairedDifference([1, 2, 3], [1, 2, 3]).p).toBe(1);
    expect(pairedDifference([1, 2, 3], [2, 3, 4]).p).toBe(0);
    expect(pairedDifference([1], [2]).p).toBeNull();
  });

  it("Holm's adjustment: step-down, monotone, capped at 1, nulls left alone", () => {
    const adjusted = holm([0.01, 0.04, null, 0.03, 0.005]);
    const expected = [0.03, 0.06, null, 0.06, 0.02];
    adjusted.forEach((p, i) =>
      expected[i] === null ? expect(p).toBeNull() : expect(p).toBeCloseTo(expected[i] as number, 12),
    );
    expect(holm([0.5, 0.6])).toEqual([1, 1]);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (ps) => {
          const out = holm(ps) as number[];
          out.forEach((q, i) => {
            expect(q).toBeGreaterThanOrEqual(ps[i]);
            expect(q).toBeLessThanOrEqual(1);
          });
          // A smaller raw p-value never gets a larger adjusted one.
          for (let i = 0; i < ps.length; i++)
            for (let j = 0; j < ps.length; j++) if (ps[i] < ps[j]) expect(out[i]).toBeLessThanOrEqual(out[j]);
        },
      ),
    );
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones, of the finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 7, Number.POSITIVE_INFINITY, 1])).toBe(4);
    expect(median([Number.NaN])).toBeNaN();
  });
});
