import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cumsum,
  einsum,
  gradcheck,
  randint,
  randn,
  randperm,
  scatter,
  scatterAdd,
  sort,
  tensor,
  topk,
} from '../src/index.js';

/**
 * cumsum, sort, topk, scatter, scatterAdd and einsum beyond the PyTorch goldens (golden.test.ts):
 * gradients against central differences (float64) on random shapes, the defining properties
 * (sorted order, a permutation, running sums), and bad input named.
 */

const dtype = 'float64' as const;
const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

describe('cumsum, sort, topk, scatter, scatterAdd and einsum', () => {
  it('property: cumsum is the running sum and passes gradcheck', () => {
    fc.assert(
      fc.property(shapes, fc.nat(), (shape, pick) => {
        const dim = pick % shape.length;
        const x = randn(shape, { dtype });
        const y = cumsum(x, dim);
        // Running sums: the last slice along dim is the sum over dim.
        const last = y.narrow(dim, shape[dim] - 1, 1).squeeze(dim).data;
        const total = x.sum(dim).data;
        last.forEach((v, i) => expect(v).toBeCloseTo(total[i], 12));
        expect(gradcheck((a) => cumsum(a, dim), [x]).ok).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('property: sort orders each row, its indices are a permutation, and its values pass gradcheck', () => {
    fc.assert(
      fc.property(shapes, fc.nat(), fc.boolean(), (shape, pick, descending) => {
        const dim = pick % shape.length;
        const x = randn(shape, { dtype });
        const [values, indices] = sort(x, dim, { descending });
        expect(indices.dtype).toBe('int32');
        expect(Array.from(x.gather(dim, indices).data)).toEqual(Array.from(values.data));
        const rows = values.transpose(dim, -1).contiguous().reshape([-1, shape[dim]]);
        for (let r = 0; r < rows.shape[0]; r++) {
          const row = Array.from(rows.narrow(0, r, 1).data);
          row.slice(1).forEach((v, k) => expect(descending ? row[k] >= v : row[k] <= v).toBe(true));
        }
        const perms = indices.transpose(dim, -1).contiguous().reshape([-1, shape[dim]]);
        for (let r = 0; r < perms.shape[0]; r++)
          expect(Array.from(perms.narrow(0, r, 1).data).sort((a, b) => a - b)).toEqual(
            Array.from({ length: shape[dim] }, (_, i) => i),
          );
        expect(gradcheck((a) => sort(a, dim, { descending })[0], [x]).ok).toBe(true);
        const k = 1 + (pick % shape[dim]);
        expect(gradcheck((a) => topk(a, k, dim)[0], [x]).ok).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('sort is stable and puts NaN last (first when descending), as torch.sort(stable=True)', () => {
    const x = tensor([2, Number.NaN, 1, 2, -1, 1]);
    const [values, indices] = sort(x);
    expect(Array.from(values.data)).toEqual([-1, 1, 1, 2, 2, Number.NaN]);
    expect(Array.from(indices.data)).toEqual([4, 2, 5, 0, 3, 1]);
    expect(Array.from(sort(x, 0, { descending: true })[1].data)).toEqual([1, 0, 3, 2, 5, 4]);
  });

  it('property: scatterAdd and scatter pass gradcheck for input and src', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (n, cols, rows) => {
          const x = randn([n, cols], { dtype });
          const index = randint(0, n, [rows, cols]);
          const src = randn([rows + 1, cols], { dtype });
          expect(gradcheck((a, s) => scatterAdd(a, 0, index, s), [x, src]).ok).toBe(true);
          // Distinct rows per column for scatter: the first min(rows, n) of a permutation.
          const distinct = randperm(n)
            .narrow(0, 0, Math.min(rows, n))
            .reshape([-1, 1])
            .expand([Math.min(rows, n), cols])
            .contiguous();
          expect(gradcheck((a, s) => scatter(a, 0, distinct, s), [x, src]).ok).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('property: einsum equals the same product written out, and passes gradcheck', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (b, i, j) => {
          const [x, y] = [randn([b, i, j], { dtype }), randn([b, j, i], { dtype })];
          const viaEinsum = einsum('bij,bjk->bik', x, y).data;
          const direct = x.matmul(y).data;
          viaEinsum.forEach((v, k) => expect(v).toBeCloseTo(direct[k], 12));
          expect(gradcheck((p, q) => einsum('bij,bji->b', p, q), [x, y]).ok).toBe(true);
          expect(gradcheck((p) => einsum('b...->...b', p), [x]).ok).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('refuses bad equations, indices and sizes, naming them', () => {
    const [a, b] = [randn([2, 3]), randn([4, 5])];
    expect(() => einsum('ij,jk->ik', a)).toThrow(/einsum: 'ij,jk->ik' names 2 operands, got 1 tensors/);
    expect(() => einsum('ij,jk->ik', a, b)).toThrow(
      /einsum: 'ij,jk->ik': letter 'j' has size 3 in one place and 4/,
    );
    expect(() => einsum('ijk', a)).toThrow(/operand 0 has 2 dims \(\[2,3\]\) but 'ijk' names 3/);
    expect(() => einsum('ij->iz', a)).toThrow(/output letter 'z' is in no operand/);
    expect(() => einsum('ij->ii', a)).toThrow(/output letter 'i' repeats/);
    expect(() => einsum('i2', a)).toThrow(/may hold only letters/);
    expect(() => einsum('ij->i->j', a)).toThrow(/more than one '->'/);
    expect(() => sort(a, 2)).toThrow(/sort: dim 2 is out of range/);
    expect(() => topk(a, 4)).toThrow(/topk: k must be an integer in \[0, 3\], got 4/);
    expect(() => scatterAdd(a, 0, tensor([[5, 0, 0]], { dtype: 'int32' }), a)).toThrow(/scatterAdd.*5/);
    expect(() => scatterAdd(a, 0, tensor([[0, 0, 0]]), a)).toThrow(
      /scatterAdd: index must be an int32 tensor/,
    );
    expect(() =>
      scatter(
        a,
        0,
        tensor(
          [
            [0, 0, 0],
            [0, 1, 1],
          ],
          { dtype: 'int32' },
        ),
        a,
      ),
    ).toThrow(/scatter: index writes one position of the output 2 times; use scatterAdd/);
    expect(() => scatter(a, 1, tensor([[0, 1, 2, 0]], { dtype: 'int32' }), 1)).toThrow(
      /scatter: index shape \[1,4\] exceeds input shape \[2,3\] at dim 1|writes one position/,
    );
  });
});
