import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, Generator, ops, promoteTypes, promoteWithScalar } from '../src/index.js';

const range = (n: number, shape: number[]) =>
  ops.fromTypedArray(
    Float64Array.from({ length: n }, (_, i) => i),
    shape,
  );

describe('views share storage and never copy when the layout allows', () => {
  it('reshape of a contiguous array is a view', () => {
    const a = range(24, [2, 3, 4]);
    const b = a.reshape([6, 4]);
    expect(b.storage).toBe(a.storage);
    expect(Array.from(b.read())).toEqual(Array.from(a.read()));
  });
  it('reshape of a transposed array copies only when it must', () => {
    const t = range(6, [2, 3]).transpose(0, 1); // [3,2], not contiguous
    expect(t.isContiguous()).toBe(false);
    const flat = t.reshape([6]);
    expect(Array.from(flat.read())).toEqual([0, 3, 1, 4, 2, 5]);
    // Splitting a dim of a permuted view is still a view.
    const split = range(24, [4, 6]).transpose(0, 1).reshape([2, 3, 4]);
    expect(Array.from(split.read())).toEqual(
      Array.from(range(24, [4, 6]).transpose(0, 1).contiguous().read()),
    );
  });
  it('expand gives stride 0; narrow moves the offset', () => {
    const a = range(3, [3, 1]).expand([3, 4]);
    expect(a.strides).toEqual([1, 0]);
    const n = range(12, [3, 4]).narrow(1, 1, 2);
    expect(Array.from(n.read())).toEqual([1, 2, 5, 6, 9, 10]);
    expect(() => range(12, [3, 4]).narrow(1, 3, 2)).toThrow(
      /narrow: start 3 and length 2 do not fit dim 1 of size 4/,
    );
  });
  it('reshape by random factorizations round-trips through any permutation', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 })
          .chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
            ),
          ),
        ([shape, perm]) => {
          const size = shape.reduce((p, d) => p * d, 1);
          const a = range(size, shape).permute(perm);
          const back = a.reshape([size]).reshape(a.shape);
          expect(Array.from(back.read())).toEqual(Array.from(a.read()));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('broadcasting and promotion', () => {
  it('follows NumPy rules and names the op on mismatch', () => {
    expect(broadcastShapes('add', [3, 1, 5], [4, 1])).toEqual([3, 4, 5]);
    expect(broadcastShapes('add', [], [2])).toEqual([2]);
    expect(() => broadcastShapes('add', [2, 3], [4, 3])).toThrow(
      /add: shapes \[2,3\] and \[4,3\] cannot be broadcast/,
    );
  });
  it('promotes dtypes as PyTorch', () => {
    expect(promoteTypes('float32', 'float64')).toBe('float64');
    expect(promoteTypes('int32', 'float32')).toBe('float32');
    expect(promoteTypes('bool', 'int32')).toBe('int32');
    expect(promoteWithScalar('float32', 2.5)).toBe('float32');
    expect(promoteWithScalar('int32', 2.5)).toBe('float32');
    expect(promoteWithScalar('int32', 2)).toBe('int32');
  });
});

describe('seeded generator', () => {
  it('reproduces a sequence from a seed and from a saved state', () => {
    const g = new Generator(7);
    const first = Array.from({ length: 5 }, () => g.uniform());
    g.seed(7);
    expect(Array.from({ length: 5 }, () => g.uniform())).toEqual(first);
    const state = g.getState();
    const next = g.nextUint32();
    g.setState(state);
    expect(g.nextUint32()).toBe(next);
  });
});
