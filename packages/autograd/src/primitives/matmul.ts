import { ops } from '@agrad/tensor';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { permute } from './movement.js';

const transpose = (x: Tensor) => permute(x, [0, 2, 1]);

/** Whether x's matrices are stored column by column (a transposed view, as W^T in x @ W^T). */
const columnMajor = (x: Tensor) =>
  x.shape[1] > 1 && x.shape[2] > 1 && x.array.strides[1] < x.array.strides[2];

// C = A B  =>  dA = dC B^T,  dB = A^T dC   (batched: A [n,m,k], B [n,k,p]; ../functions.ts
// turns 1-D operands and broadcast batch dims into this form). An operand stored column-major
// gets its gradient computed transposed, dB = (dC^T A)^T, the same sums in the same order: the
// gradient then has the operand's layout, so a weight used as W^T gets a contiguous gradient
// (not a transposed view that every optimizer step would first have to copy).
export function matmul3d(a: Tensor, b: Tensor): Tensor {
  const gradA = (g: Tensor) =>
    columnMajor(a) ? transpose(matmul3d(b, transpose(g))) : matmul3d(g, transpose(b));
  const gradB = (g: Tensor) =>
    columnMajor(b) ? transpose(matmul3d(transpose(g), a)) : matmul3d(transpose(a), g);
  return record(
    'matmul',
    [a, b],
    ops.matmul3d(a.array, b.array),
    (g) => [a.requiresGrad ? gradA(g) : null, b.requiresGrad ? gradB(g) : null],
    [a, b],
  );
}
