import { type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agr, agrCoefficients, chain, clipByGlobalNorm, regularize, sgd } from '../src/index.js';

/** The properties of AGR listed in shared/AGR.md, each as a fast-check property. */
const runs = { numRuns: 200 };
const gradientArb = fc
  // Normal (not subnormal) magnitudes, or exact zeros.
  .array(
    fc.oneof(
      fc.constant(0),
      fc.double({ min: 1e-6, max: 100, noNaN: true }),
      fc.double({ min: -100, max: -1e-6, noNaN: true }),
    ),
    {
      minLength: 1,
      maxLength: 40,
    },
  )
  .filter((v) => v.some((x) => x !== 0))
  .map((v) => tensor(Float64Array.from(v)));

const dot = (a: Tensor, b: Tensor) => a.mul(b).sum().item();
const norm = (a: Tensor) => Math.sqrt(dot(a, a));

describe('AGR: g - g * |g| / sum|g|, per tensor', () => {
  it('computes the formula', () => {
    const g = tensor([3, -1, 0, 4], { dtype: 'float64' });
    // s = 8; alpha = [3/8, 1/8, 0, 4/8]
    expect(Array.from(regularize(g).data)).toEqual([3 - 9 / 8, -1 + 1 / 8, 0, 4 - 2]);
    expect(Array.from(agrCoefficients(g).data)).toEqual([3 / 8, 1 / 8, 0, 4 / 8]);
  });

  it('is sign-preserving: each entry is scaled by 1 - alpha_i in [0, 1]', () => {
    fc.assert(
      fc.property(gradientArb, (g) => {
        const out = regularize(g).data;
        g.data.forEach((v, i) => {
          expect(out[i] * v).toBeGreaterThanOrEqual(0);
          expect(Math.abs(out[i])).toBeLessThanOrEqual(Math.abs(v));
        });
      }),
      runs,
    );
  });

  it('never grows the norm', () => {
    fc.assert(
      fc.property(gradientArb, (g) => {
        expect(norm(regularize(g))).toBeLessThanOrEqual(norm(g));
      }),
      runs,
    );
  });

  it('is still a descent direction: <AGR(g), g> >= 0', () => {
    fc.assert(
      fc.property(gradientArb, (g) => {
        expect(dot(regularize(g), g)).toBeGreaterThanOrEqual(0);
      }),
      runs,
    );
  });

  it('is scale-equivariant: AGR(c g) = c AGR(g) for c != 0', () => {
    fc.assert(
      fc.property(
        gradientArb,
        fc.double({ min: -1e3, max: 1e3, noNaN: true }).filter((c) => Math.abs(c) > 1e-3),
        (g, c) => {
          const left = regularize(g.mul(c)).data;
          const right = regularize(g).mul(c).data;
          left.forEach((v, i) => expect(v).toBeCloseTo(right[i], 8));
        },
      ),
      runs,
    );
  });

  it('is not idempotent: AGR(AGR(g)) != AGR(g) when two or more entries are non-zero', () => {
    fc.assert(
      fc.property(
        gradientArb.filter((g) => g.ne(0).sum().item() >= 2),
        (g) => {
          const once = regularize(g);
          const twice = regularize(once);
          expect(norm(once.sub(twice))).toBeGreaterThan(0);
        },
      ),
      runs,
    );
  });

  it('is nearly the identity on a large, evenly spread tensor and strong on a heavy-tailed one', () => {
    const even = tensor(new Float64Array(10_000).fill(0.01));
    expect(norm(regularize(even).sub(even)) / norm(even)).toBeCloseTo(1e-4, 8);
    const spike = tensor([100, 0.01, 0.01, 0.01], { dtype: 'float64' });
    expect(regularize(spike).data[0]).toBeLessThan(0.05);
  });

  it('does not commute with summation, so it must run after gradient accumulation', () => {
    const a = tensor([1, 0], { dtype: 'float64' });
    const b = tensor([0, 3], { dtype: 'float64' });
    const accumulatedFirst = regularize(a.add(b)).data;
    const perMicroBatch = regularize(a).add(regularize(b)).data;
    expect(Array.from(accumulatedFirst)).not.toEqual(Array.from(perMicroBatch));
  });

  it('leaves an all-zero gradient unchanged (the official code makes NaN: documented deviation)', () => {
    expect(Array.from(regularize(tensor([0, 0, 0])).data)).toEqual([0, 0, 0]);
  });

  it('maps a single-element gradient to 0 (faithful), unless small tensors are exempt', () => {
    expect(regularize(tensor([2.5])).item()).toBe(0);
    const p = tensor([1], { requiresGrad: true });
    const update = (t: ReturnType<typeof agr>) =>
      t.update({ p: tensor([2.5]) }, t.init({ p }), { p }).updates.p.item();
    expect(update(agr())).toBe(0);
    expect(update(agr({ exemptSmallerThan: 2 }))).toBe(2.5);
  });

  it('accumulates the L1 sum in float64 for float32 gradients', () => {
    // [2^24, 1, 1, ..., 1]: a float32 running sum stalls at 2^24 (each +1 rounds away), which
    // would make alpha_0 = 1 and zero the first entry. The true sum is 2^24 + 1000.
    const values = new Float32Array(1001).fill(1);
    values[0] = 2 ** 24;
    // Exact: 2^24 * 1000 / (2^24 + 1000) = 999.94; the float32 result carries float32 rounding of
    // 1 - alpha (about 1e-3 relative here), but is nowhere near the 0 a float32 sum would give.
    const out = regularize(tensor(values)).data[0];
    expect(Math.abs(out - (2 ** 24 * 1000) / (2 ** 24 + 1000))).toBeLessThan(1);
  });

  it('clip-then-AGR equals AGR-then-scale (scale equivariance in a chain)', () => {
    const p = tensor([0, 0, 0], { requiresGrad: true });
    const g = tensor([3, -4, 12], { dtype: 'float32' });
    const clipped = chain(clipByGlobalNorm(1), agr());
    const out = clipped.update({ p: g }, clipped.init({ p }), { p }).updates.p.data;
    const expected = regularize(g).mul(1 / (13 + 1e-6)).data;
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    // and in front of an optimizer, the chain is applied per parameter:
    const step = chain(agr(), sgd({ lr: 1 }));
    const u = step.update({ p: g }, step.init({ p }), { p }).updates.p.data;
    regularize(g).data.forEach((v, i) => expect(u[i]).toBeCloseTo(-v, 6));
  });
});

describe('AGR on extreme gradients', () => {
  it('stays finite when the L1 sum is subnormal (fused and reference agree)', () => {
    const p = tensor([0, 0, 0, 0], { dtype: 'float64', requiresGrad: true });
    const g = tensor([0, 0, 0, -5e-324], { dtype: 'float64' });
    const t = agr();
    const fused = t.update({ p: g }, t.init({ p }), { p }).updates.p.data;
    expect(Array.from(fused)).toEqual(Array.from(regularize(g).data));
    for (const v of fused) expect(Number.isFinite(v)).toBe(true);
  });
});
