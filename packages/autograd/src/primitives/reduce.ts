import { ops } from '@agrad/tensor';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * Reduction primitives over a normalized, sorted list of dims. They always keep the reduced dims
 * (size 1); ../functions.ts squeezes them when keepdim is false.
 */

// d sum(x) / dx_i = 1: the gradient is broadcast back over the reduced dims.
export function sum(x: Tensor, dims: readonly number[]): Tensor {
  return record('sum', [x], ops.reduce('sum', x.array, dims, true), (g) => [g.expand(x.shape)], [], { dims });
}

/**
 * d max(x) / dx_i = 1/k for each of the k elements equal to the max, 0 elsewhere: ties share
 * the gradient evenly, as torch.amax (and torch.max without dim) do.
 */
export function amax(x: Tensor, dims: readonly number[]): Tensor {
  const out: Tensor = record(
    'amax',
    [x],
    ops.reduce('max', x.array, dims, true),
    (g) => [shareAmongTies(x, out, g, dims)],
    [x, 'output'],
    { dims },
  );
  return out;
}

function shareAmongTies(x: Tensor, out: Tensor, g: Tensor, dims: readonly number[]): Tensor {
  const isExtreme = x.eq(out.detach()).to(x.dtype);
  const count = sum(isExtreme, dims);
  return isExtreme.mul(g.div(count).expand(x.shape));
}
