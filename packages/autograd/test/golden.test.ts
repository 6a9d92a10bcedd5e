import { describe, expect, it } from 'vitest';
import {
  cat,
  cumsum,
  einsum,
  gather,
  indexSelect,
  maximum,
  minimum,
  scatter,
  scatterAdd,
  sort,
  stack,
  type Tensor,
  tensor,
  topk,
  where,
} from '../src/index.js';

/** [values, indices] as one vector, as scripts/golden/generate.py's sort_pair writes it. */
const pair = ([values, indices]: [Tensor, Tensor]) =>
  cat([values.reshape([-1]), indices.to('float64').reshape([-1])]);

import golden from './fixtures/golden.json' with { type: 'json' };

/**
 * PyTorch golden values (float64): forward output and the gradients of sum(f(x) * w), written
 * by scripts/golden/generate.py. Each entry here is the agrad spelling of the generator's case.
 */
const cases: Record<string, (...xs: Tensor[]) => Tensor> = {
  add_broadcast: (a, b) => a.add(b),
  sub_broadcast: (a, b) => a.sub(b),
  mul_broadcast: (a, b) => a.mul(b),
  div: (a, b) => a.div(b),
  pow_tensor: (a, b) => a.pow(b),
  pow_scalar: (a) => a.pow(3),
  exp: (a) => a.exp(),
  log: (a) => a.log(),
  log1p: (a) => a.log1p(),
  sqrt: (a) => a.sqrt(),
  abs: (a) => a.abs(),
  sin_cos: (a) => a.sin().mul(a.cos()),
  tanh: (a) => a.tanh(),
  sigmoid: (a) => a.sigmoid(),
  erf: (a) => a.erf(),
  relu: (a) => a.relu(),
  gelu: (a) => a.gelu(),
  silu: (a) => a.silu(),
  softplus: (a) => a.softplus(),
  leaky_relu: (a) => a.leakyRelu(0.2),
  clamp: (a) => a.clamp(-0.5, 0.5),
  maximum_minimum: (a, b) => maximum(a, b).mul(2).add(minimum(a, b)),
  matmul_2d: (a, b) => a.matmul(b),
  matmul_batched_broadcast: (a, b) => a.matmul(b),
  matmul_vector_matrix: (a, b) => a.matmul(b),
  matmul_matrix_vector: (a, b) => a.matmul(b),
  matmul_dot: (a, b) => a.matmul(b),
  matmul_transposed_operands: (a, b) => a.transpose(0, 1).matmul(b.transpose(0, 1)),
  matmul_batch_by_transposed_matrix: (a, b) => a.matmul(b.transpose(0, 1)),
  cumsum_dim0: (a) => a.cumsum(0),
  cumsum_dim_last_3d: (a) => cumsum(a, -1),
  sort_ascending: (a) => pair(a.sort(1)),
  sort_descending_dim0: (a) => pair(sort(a, 0, { descending: true })),
  topk_largest: (a) => pair(a.topk(3, 1)),
  topk_smallest_dim0: (a) => pair(topk(a, 2, 0, { largest: false })),
  scatter_add_dim0: (x, i, s) => x.scatterAdd(0, i, s),
  scatter_add_dim1: (x, i, s) => scatterAdd(x, 1, i, s),
  scatter_dim0: (x, i, s) => x.scatter(0, i, s),
  scatter_value_dim1: (x, i) => scatter(x, 1, i, 2.5),
  einsum_matmul: (a, b) => einsum('ij,jk->ik', a, b),
  einsum_batched: (a, b) => einsum('bij,bjk->bik', a, b),
  einsum_diagonal_trace: (a) => cat([einsum('ii->i', a), einsum('ii', a).reshape([1])]),
  einsum_outer_implicit: (a, b) => einsum('i,j', a, b),
  einsum_three_operands: (a, b, c) => einsum('ij,jk,kl->il', a, b, c),
  einsum_ellipsis_broadcast: (a, b) => einsum('...ij,...jk->...ik', a, b),
  einsum_sum_and_permute: (a) => einsum('ijk->kj', a),
  einsum_bilinear: (a, w, b) => einsum('bi,oij,bj->bo', a, w, b),
  sum_dim: (a) => a.sum([0, 2]),
  mean_keepdim: (a) => a.mean(1, true),
  max_dim: (a) => a.max(1).values,
  max_all: (a) => a.max(),
  min_dim: (a) => a.amin(0),
  var_dim: (a) => a.var(1),
  std_keepdim: (a) => a.std(0, true),
  var_all: (a) => a.var(),
  logsumexp: (a) => a.logsumexp(1),
  softmax: (a) => a.softmax(-1),
  log_softmax: (a) => a.logSoftmax(0),
  shapes: (a) =>
    a
      .permute([2, 0, 1])
      .reshape([4, 6])
      .transpose(0, 1)
      .narrow(0, 1, 4)
      .unsqueeze(1)
      .expand([4, 3, 4])
      .flatten(1)
      .mul(1.5),
  squeeze: (a) => a.squeeze(1).mul(a.squeeze()),
  gather: (a, i) => gather(a, 1, i),
  index_select: (a, i) => indexSelect(a, 0, i),
  cat_stack: (a, b) => cat([a, b], 0).mul(stack([a.sum(0), b.sum(0)], 0).sum(0)),
  where: (a, b) => where(a.gt(b), a.mul(b), a.sub(b)),
  mlp_nll: (x, w1, b1, w2, y) =>
    x.matmul(w1).add(b1).tanh().matmul(w2).logSoftmax(1).gather(1, y).mean().neg(),
  normalize: (x) => x.sub(x.mean(1, true)).div(x.var(1, true, { correction: 0 }).add(1e-5).sqrt()),
  attention: (q, k, v) => q.matmul(k.transpose(-2, -1)).div(2).softmax(-1).matmul(v),
  max_min_dim_ties: (a) => {
    const [rowMax, rowIndex] = a.max(1);
    const [colMin, colIndex] = a.min(0);
    return cat([rowMax.mul(2), colMin, rowIndex.to('float64'), colIndex.to('float64')]);
  },
  max_dim_keepdim: (a) => a.max(-1, true).values.mul(a),
  amax_amin_ties: (a) => a.amax(1).mul(2).add(a.amin(1)),
  slice_step: (a) =>
    a
      .slice(0, 1)
      .slice(1, 1, 6, 2)
      .mul(a.slice(0, null, 3).slice(1, null, null, 3).sum()),
  slice_negative: (a) => a.slice(0, -3, -1).slice(1, -5, null, 2).mul(2),
};

interface GoldenCase {
  inputs: { shape: number[]; dtype: 'float64' | 'int32'; data: number[] }[];
  weight: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
  grads: (number[] | null)[];
}

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = 1e-10 + 1e-8 * Math.abs(expected[i]);
    if (Math.abs(actual[i] - expected[i]) > tolerance) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, PyTorch gives ${expected[i]}`);
    }
  }
}

describe('PyTorch golden values (float64)', () => {
  const entries = Object.entries((golden as { cases: Record<string, GoldenCase> }).cases);

  it('covers every case the generator wrote, and nothing else', () => {
    expect(Object.keys(cases).sort()).toEqual(entries.map(([name]) => name).sort());
  });

  for (const [name, fixture] of entries) {
    it(name, () => {
      const inputs = fixture.inputs.map((x) =>
        tensor(x.dtype === 'int32' ? Int32Array.from(x.data) : Float64Array.from(x.data), {
          shape: x.shape,
          requiresGrad: x.dtype === 'float64',
        }),
      );
      const output = cases[name](...inputs);
      expect(output.shape).toEqual(fixture.output.shape);
      expectClose(output.data, fixture.output.data, `${name} output`);
      const weight = tensor(Float64Array.from(fixture.weight.data), { shape: fixture.weight.shape });
      output.mul(weight).sum().backward();
      fixture.grads.forEach((expected, i) => {
        if (expected === null) return;
        expect(inputs[i].grad, `${name}: input ${i} got no gradient`).not.toBeNull();
        expectClose(inputs[i].grad!.data, expected, `${name} gradient of input ${i}`);
      });
    });
  }
});
