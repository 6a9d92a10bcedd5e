import { ops } from '@agrad/tensor';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { permute } from './movement.js';

const swapLastTwo = [0, 2, 1];

// C = A B  =>  dA = dC B^T,  dB = A^T dC   (batched: A [n,m,k], B [n,k,p]; ../functions.ts
// turns 1-D operands and broadcast batch dims into this form)
export function matmul3d(a: Tensor, b: Tensor): Tensor {
  return record(
    'matmul',
    [a, b],
    ops.matmul3d(a.array, b.array),
    (g) => [
      a.requiresGrad ? matmul3d(g, permute(b, swapLastTwo)) : null,
      b.requiresGrad ? matmul3d(permute(a, swapLastTwo), g) : null,
    ],
    [a, b],
  );
}
