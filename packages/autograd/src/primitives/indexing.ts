import { ops } from '@agrad/tensor';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';

/**
 * Indexing primitives come in adjoint pairs: gather <-> scatterAdd and indexSelect <-> indexAdd.
 * Each one's vjp is its partner, so gradients of any order stay inside the pair.
 * `dim` is normalized and the index is int32 by the time these are called.
 */

// out[p] = x[p with p[dim] := index[p]]  =>  dx = scatterAdd(zeros, index, g)
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  return record(
    'gather',
    [x],
    ops.gather(x.array, dim, index.array),
    (g) => [scatterAdd(x.shape, dim, index, g)],
    [index],
    { dim, index },
  );
}

// out = zeros(shape); out[p with p[dim] := index[p]] += src[p]  =>  dsrc = gather(g, index)
export function scatterAdd(shape: readonly number[], dim: number, index: Tensor, source: Tensor): Tensor {
  return record(
    'scatterAdd',
    [source],
    ops.scatterAdd(shape, dim, index.array, source.array),
    (g) => [gather(g, dim, index)],
    [index],
    { shape, dim, index },
  );
}

// out = slices index[i] of x along dim  =>  dx = indexAdd(zeros, index, g)
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  return record(
    'indexSelect',
    [x],
    ops.indexSelect(x.array, dim, index.array),
    (g) => [indexAdd(x.shape, dim, index, g)],
    [index],
    { dim, index },
  );
}

// out = zeros(shape); slice index[i] += slice i of src  =>  dsrc = indexSelect(g, index)
export function indexAdd(shape: readonly number[], dim: number, index: Tensor, source: Tensor): Tensor {
  return record(
    'indexAdd',
    [source],
    ops.indexAdd(shape, dim, index.array, source.array),
    (g) => [indexSelect(g, dim, index)],
    [index],
    { shape, dim, index },
  );
}
