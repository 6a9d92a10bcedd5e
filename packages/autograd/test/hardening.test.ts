import { expectGradients, tensorArb } from '@agrad/autograd/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arange, gather, manualSeed, noGrad, randn, randperm, tensor, zeros } from '../src/index.js';

const runs = { numRuns: 40, seed: 12 };

describe('values changed in place after autograd saved them', () => {
  it('refuses backward through a saved input that copy_ overwrote, naming the op and the input', () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const x = tensor([4, 5, 6]);
    const loss = w.mul(x).sum();
    noGrad(() => w.copy_(tensor([0, 0, 0])));
    expect(() => loss.backward()).toThrow(
      /backward: 'mul' needs its input 0 \(float32 \[3\], a leaf\) as it was when the op ran, but it was modified in place afterwards \(version 0, now 1\)/,
    );
  });

  it('catches a write to an op’s saved output and to an index it saved', () => {
    const x = tensor([0.5, 1], { requiresGrad: true });
    const y = x.exp();
    const loss = y.sum();
    noGrad(() => y.copy_(tensor([0, 0])));
    expect(() => loss.backward()).toThrow(/'exp' needs its output \(float32 \[2\], output of 'exp'\)/);

    const a = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const index = tensor(new Int32Array([1, 0]), { shape: [2, 1] });
    const picked = gather(a, 1, index).sum();
    index.copy_(tensor(new Int32Array([0, 0]), { shape: [2, 1] }));
    expect(() => picked.backward()).toThrow(/'gather' needs a tensor it saved \(int32 \[2,1\], a constant\)/);
  });

  it('lets backward run where the op saved nothing (add), with the right gradient', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const loss = w.add(1).mul(3).sum();
    noGrad(() => w.copy_(tensor([9, 9])));
    loss.backward();
    expect(w.grad?.toArray()).toEqual([3, 3]);
  });

  it('sees a write through a view of the saved tensor, and a second backward after a write', () => {
    const w = tensor([1, 2, 3, 4], { requiresGrad: true });
    const x = tensor([1, 1, 1, 1]);
    const loss = w.mul(x).sum();
    loss.backward(undefined, { retainGraph: true });
    expect(w.grad?.toArray()).toEqual([1, 1, 1, 1]);
    x.slice(0, 2).copy_(tensor([5, 5])); // a view shares the storage, and its version
    expect(() => loss.backward()).toThrow(/'mul' needs its input 1 \(float32 \[4\], a constant\)/);
  });

  it('.data is a copy: writing to it cannot change the tensor or its gradient', () => {
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const loss = w.mul(w).sum();
    w.data[0] = 100;
    loss.backward();
    expect(w.toArray()).toEqual([1, 2, 3]);
    expect(w.grad?.toArray()).toEqual([2, 4, 6]);
  });
});

describe('in-place writes', () => {
  it('refuse a target whose elements overlap', () => {
    const base = zeros([1, 3]);
    expect(() => base.expand([4, 3]).copy_(randn([4, 3]))).toThrow(
      /assign: cannot write through a view whose elements overlap \(shape \[4,3\], strides \[0,1\]\)/,
    );
  });

  it('read the source before overwriting it when both share storage', () => {
    const x = arange(9).reshape([3, 3]).to('float64');
    const expected = (x.t().contiguous().toArray() as number[][]).map((row) => [...row]);
    x.copy_(x.t());
    expect(x.toArray()).toEqual(expected);
    const v = arange(6).to('float64');
    v.slice(0, 1).copy_(v.slice(0, 0, 5));
    expect(v.toArray()).toEqual([0, 0, 1, 2, 3, 4]);
  });
});

describe('max and min with a dim (torch.max(x, dim))', () => {
  it('return [values, indices], also by name, and send the gradient to the index alone', () => {
    const x = tensor(
      [
        [1, 3, 3],
        [2, 2, 0],
      ],
      { requiresGrad: true, dtype: 'float64' },
    );
    const result = x.max(1);
    const [values, indices] = result;
    expect(values.toArray()).toEqual([3, 2]);
    expect(indices.toArray()).toEqual([1, 0]);
    expect(indices.dtype).toBe('int32');
    expect(result.values).toBe(values);
    expect(result.indices).toBe(indices);
    values.sum().backward();
    expect(x.grad?.toArray()).toEqual([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const [low, where] = x.min(0, true);
    expect(low.shape).toEqual([1, 3]);
    expect(where.toArray()).toEqual([[0, 1, 1]]);
  });

  it('amax and amin share the gradient between ties, over any dims', () => {
    const x = tensor(
      [
        [1, 3, 3],
        [2, 2, 0],
      ],
      { requiresGrad: true, dtype: 'float64' },
    );
    x.amax(1).sum().backward();
    expect(x.grad?.toArray()).toEqual([
      [0, 0.5, 0.5],
      [0.5, 0.5, 0],
    ]);
    expect(
      tensor([
        [1, 5],
        [7, 2],
      ])
        .amin([0, 1])
        .item(),
    ).toBe(1);
  });

  it('point to amax for several dims', () => {
    expect(() => randn([2, 2]).max([0, 1] as never)).toThrow(
      /max: dim must be one number, got \[0,1\]; to reduce over several dims use amax\(dims\)/,
    );
  });
});

describe('slice with a step (x[start:end:step] on one dim)', () => {
  it('gives Python slicing values as a view of the same storage', () => {
    const x = arange(10);
    expect(x.slice(0, 1, 8, 3).toArray()).toEqual([1, 4, 7]);
    expect(x.slice(0, -3).toArray()).toEqual([7, 8, 9]);
    expect(x.slice(0, null, null, 4).toArray()).toEqual([0, 4, 8]);
    expect(x.slice(0, 8, 2).toArray()).toEqual([]);
    expect(x.slice(0, -100, 100, 5).toArray()).toEqual([0, 5]);
    const m = zeros([3, 4]);
    m.slice(1, 1, null, 2).copy_(
      tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    );
    expect(m.toArray()).toEqual([
      [0, 1, 0, 2],
      [0, 3, 0, 4],
      [0, 5, 0, 6],
    ]);
  });

  it('has the gradient of the selection (gradcheck on random shapes, bounds and steps)', () => {
    const arb = fc
      .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }))
      .chain(([n, m]) =>
        fc.tuple(
          tensorArb([n, m]),
          fc.integer({ min: -n - 1, max: n + 1 }),
          fc.integer({ min: -n - 1, max: n + 1 }),
          fc.integer({ min: 1, max: 3 }),
        ),
      );
    fc.assert(
      fc.property(arb, ([x, start, end, step]) => {
        expectGradients(
          (a) =>
            a
              .slice(0, start, end, step)
              .mul(a.slice(0, start, end, step))
              .sum(),
          [x],
        );
      }),
      runs,
    );
  });

  it('refuses a step that is not a positive integer and bounds that are not integers', () => {
    expect(() => arange(5).slice(0, 0, 5, 0)).toThrow('slice: step must be a positive integer, got 0');
    expect(() => arange(5).slice(0, 1.5)).toThrow('slice: start must be an integer or null, got 1.5');
    expect(() => arange(5).slice(1)).toThrow(/slice: dim 1 is out of range/);
  });
});

describe('randperm and dtype shorthands', () => {
  it('randperm(n) is a permutation of 0..n-1, reproducible after manualSeed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        manualSeed(seed);
        const a = randperm(n).toArray() as number[];
        manualSeed(seed);
        const b = randperm(n).toArray() as number[];
        expect(a).toEqual(b);
        expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      runs,
    );
    manualSeed(3);
    const orders = new Set(Array.from({ length: 20 }, () => (randperm(6).toArray() as number[]).join()));
    expect(orders.size).toBeGreaterThan(10);
    expect(randperm(4).dtype).toBe('int32');
    expect(() => randperm(-1)).toThrow(/randperm: n must be an integer in \[0, 2147483647\], got -1/);
    expect(() => randperm(3, { seed: 1 } as never)).toThrow(/randperm: unknown option 'seed'/);
  });

  it('float(), double(), int() and bool() convert as torch does', () => {
    const x = tensor([1.7, -2.5, 0]);
    expect(x.double().dtype).toBe('float64');
    expect(x.int().toArray()).toEqual([1, -2, 0]);
    expect(x.bool().toArray()).toEqual([true, true, false]);
    expect(x.int().float().toArray()).toEqual([1, -2, 0]);
    const w = tensor([2], { requiresGrad: true });
    w.double().mul(3).sum().backward();
    expect(w.grad?.dtype).toBe('float32');
    expect(w.grad?.toArray()).toEqual([3]);
  });
});

describe('creation functions and autograd calls check their options', () => {
  it('name the unknown key and list the accepted ones', () => {
    expect(() => tensor([1], { requiresgrad: true } as never)).toThrow(
      "tensor: unknown option 'requiresgrad' (did you mean 'requiresGrad'?); accepted options: dtype, requiresGrad, shape",
    );
    expect(() => zeros([2], { dtype: 'float16' } as never)).toThrow(
      'zeros: option dtype must be one of "float32", "float64", "int32", "bool", got "float16"',
    );
    expect(() => randn([2, -1])).toThrow(/randn: shape must be an array of sizes \(integers >= 0\)/);
    expect(() => arange(0, Number.POSITIVE_INFINITY)).toThrow(
      'arange: end must be a finite number, got Infinity',
    );
    const y = tensor([1], { requiresGrad: true }).mul(2);
    expect(() => y.backward(undefined, { retain_graph: true } as never)).toThrow(
      "backward: unknown option 'retain_graph'",
    );
    expect(() => tensor([1, 2]).var(undefined, false, { unbiased: false } as never)).toThrow(
      "var: unknown option 'unbiased'; accepted options: correction",
    );
  });
});

describe('manualSeed takes integers only, and every integer is its own seed', () => {
  it('refuses fractions and NaN, which would alias other seeds', () => {
    expect(() => manualSeed(1.5)).toThrow(/manualSeed: the seed must be an integer .* got 1.5/);
    expect(() => manualSeed(Number.NaN)).toThrow(/got NaN/);
    expect(() => manualSeed('7' as never)).toThrow(/got "7"/);
  });

  it('seeds that agree in their low 32 bits still differ; negative seeds work', () => {
    const draw = (seed: number) => {
      manualSeed(seed);
      return randn([4]).toArray();
    };
    expect(draw(1)).not.toEqual(draw(2 ** 32 + 1));
    expect(draw(-1)).not.toEqual(draw(2 ** 32 - 1));
    expect(draw(-1)).toEqual(draw(-1));
  });
});
