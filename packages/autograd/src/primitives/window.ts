import { ops, type Window } from '@agrad/tensor';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * Sliding-window primitives, an adjoint pair like gather/scatterAdd: unfold (im2col) copies each
 * window's pixels into a column, fold (col2im) adds columns back onto pixels. Convolution is
 * unfold then matmul; pooling is unfold then a reduction over each column.
 */

// cols = U x (a linear map)  =>  dx = U^T g = fold(g)
export function unfold(x: Tensor, window: Window, padValue = 0): Tensor {
  return record('unfold', [x], ops.unfold(x.array, window, padValue), (g) => [fold(g, x.shape, window)], [], {
    window,
    padValue,
  });
}

// x = U^T cols  =>  dcols = U g = unfold(g)
/** col2im, unfold's adjoint: columns summed back into an image of `shape` (torch.nn.functional.fold). */
export function fold(cols: Tensor, shape: readonly number[], window: Window): Tensor {
  return record('fold', [cols], ops.fold(cols.array, shape, window), (g) => [unfold(g, window)], [], {
    shape,
    window,
  });
}
