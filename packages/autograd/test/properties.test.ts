import { broadcastShapes, sizeOf } from '@agrad/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arange, eye, linspace, manualSeed, rand, randint, randn, tensor, zeros } from '../src/index.js';
import { broadcastPairArb, shapeArb, tensorArb } from '../src/testing/index.js';

const runs = { numRuns: 50 };

describe('algebraic properties', () => {
  it('broadcast then sum returns the original shape (the expand vjp)', () => {
    fc.assert(
      fc.property(broadcastPairArb(), ([sa, sb]) => {
        const small = tensor(new Float64Array(sb.reduce((p, d) => p * d, 1)).fill(1), {
          shape: sb,
          requiresGrad: true,
        });
        small
          .add(zeros(sa, { dtype: 'float64' }))
          .sum()
          .backward();
        expect(small.grad!.shape).toEqual(sb);
        // Each element of the small operand was copied size(result) / size(small) times.
        const copies = sizeOf(broadcastShapes('test', sa, sb)) / sizeOf(sb);
        for (const g of small.grad!.data) expect(g).toBe(copies);
      }),
      runs,
    );
  });

  it('reshape and permute round-trip', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1, allowEmpty: true }).chain((s) =>
          fc.tuple(
            tensorArb(s),
            fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length }),
          ),
        ),
        ([x, perm]) => {
          const inverse = perm.map((_, i) => perm.indexOf(i));
          expect(x.permute(perm).permute(inverse).toArray()).toEqual(x.toArray());
          expect(x.reshape([-1]).reshape(x.shape).toArray()).toEqual(x.toArray());
          expect(x.permute(perm).reshape([-1]).size).toBe(x.size);
        },
      ),
      runs,
    );
  });

  it('softmax rows sum to 1 and logSoftmax exponentiates to softmax', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1 }).chain((s) =>
          fc.tuple(tensorArb(s, { min: -50, max: 50 }), fc.nat(s.length - 1)),
        ),
        ([x, dim]) => {
          const sums = x.softmax(dim).sum(dim).data;
          for (const s of sums) expect(s).toBeCloseTo(1, 12);
          const a = x.logSoftmax(dim).exp().data;
          const b = x.softmax(dim).data;
          a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
        },
      ),
      runs,
    );
  });

  it('logsumexp stays finite for inputs of +-1e4', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(1e4, -1e4, 0, 9999.5), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('float32', 'float64' as const),
        (values, dtype) => {
          const x = tensor(values, { dtype, requiresGrad: true });
          const lse = x.logsumexp();
          expect(Number.isFinite(lse.item())).toBe(true);
          expect(lse.item()).toBeGreaterThanOrEqual(Math.max(...values) - 1e-3);
          lse.backward();
          for (const g of x.grad!.data) expect(Number.isFinite(g)).toBe(true);
          expect(x.softmax(0).sum().item()).toBeCloseTo(1, 5);
        },
      ),
      runs,
    );
  });

  it('float32 and float64 agree within float32 tolerance', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 2, maxDims: 2 }).chain((s) => fc.tuple(tensorArb(s), tensorArb([s[1], 3]))),
        ([a, b]) => {
          const f = (x: typeof a, y: typeof b) =>
            x.matmul(y).tanh().logSoftmax(-1).mul(x.sum(1, true).sigmoid()).gelu();
          const wide = f(a, b).data;
          const narrow = f(a.to('float32'), b.to('float32'));
          expect(narrow.dtype).toBe('float32');
          narrow.data.forEach((v, i) =>
            expect(Math.abs(v - wide[i])).toBeLessThan(1e-5 * (1 + Math.abs(wide[i]))),
          );
        },
      ),
      runs,
    );
  });

  it('var and std are unbiased by default, as in PyTorch', () => {
    const x = tensor([1, 2, 3, 4], { dtype: 'float64' });
    expect(x.var().item()).toBeCloseTo(5 / 3, 14);
    expect(x.std().item()).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(x.var(0, false, { correction: 0 }).item()).toBeCloseTo(1.25, 14);
  });
});

describe('creation functions', () => {
  it('manualSeed makes random draws reproduce exactly', () => {
    manualSeed(42);
    const a = [randn([5]).data, rand([3]).data, randint(0, 10, [4]).data];
    manualSeed(42);
    const b = [randn([5]).data, rand([3]).data, randint(0, 10, [4]).data];
    expect(b.map((t) => Array.from(t))).toEqual(a.map((t) => Array.from(t)));
    manualSeed(43);
    expect(Array.from(randn([5]).data)).not.toEqual(Array.from(a[0]));
  });

  it('random draws have the right ranges and moments', () => {
    manualSeed(0);
    const u = rand([20000], { dtype: 'float64' });
    expect(u.min().item()).toBeGreaterThanOrEqual(0);
    expect(u.max().item()).toBeLessThan(1);
    expect(u.mean().item()).toBeCloseTo(0.5, 1);
    const n = randn([20000], { dtype: 'float64' });
    expect(Math.abs(n.mean().item())).toBeLessThan(0.03);
    expect(Math.abs(n.std().item() - 1)).toBeLessThan(0.03);
    const k = randint(3, 7, [1000]);
    expect(k.min().item()).toBe(3);
    expect(k.max().item()).toBe(6);
  });

  it('arange, linspace and eye', () => {
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });
});
