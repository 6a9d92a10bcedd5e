import { type Backend, ops } from '@agrad/tensor';
import { fromTypedArray, zeros } from '../creation.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { indexAdd } from './indexing.js';

/** Movement primitives: they change how elements are arranged, never their values. */

// reshape is linear and invertible: the gradient is reshaped back.
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return record('reshape', [x], x.array.reshape(shape), (g) => [reshape(g, x.shape)], []);
}

// permute moves dims: the gradient is moved back by the inverse permutation.
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const array = x.array.permute(dims);
  const normalized = dims.map((d) => (d < 0 ? d + x.ndim : d));
  const inverse = new Array<number>(normalized.length);
  normalized.forEach((d, i) => {
    inverse[d] = i;
  });
  return record('permute', [x], array, (g) => [permute(g, inverse)], [], { dims: normalized });
}

// expand copies along broadcast dims: the gradient sums over them.
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return record('expand', [x], x.array.expand(shape), (g) => [sumToShape(g, x.shape)], []);
}

/** Sums the broadcast dims of `g` away so it has `shape` (the inverse of broadcasting). */
function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const summed = dims.length > 0 ? g.sum(dims, true) : g;
  return reshape(summed, shape);
}

// narrow selects a slice: the gradient is that slice of zeros filled with g (cat with zeros).
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const array = x.array.narrow(dim, start, length);
  const d = dim < 0 ? dim + x.ndim : dim;
  const begin = start < 0 ? start + x.shape[d] : start;
  return record(
    'narrow',
    [x],
    array,
    (g) => {
      const before = x.shape.map((s, i) => (i === d ? begin : s));
      const after = x.shape.map((s, i) => (i === d ? s - begin - length : s));
      return [cat([zeros(before, { dtype: g.dtype }), g, zeros(after, { dtype: g.dtype })], d)];
    },
    [],
    { dim: d, start: begin, length },
  );
}

// slice keeps every step-th element of [start, end): the gradient goes back to those positions
// (indexAdd into zeros, whose own vjp is the same selection as a copy).
export function slice(x: Tensor, dim: number, start: number, end: number, step: number): Tensor {
  const array = x.array.slice(dim, start, end, step);
  return record(
    'slice',
    [x],
    array,
    (g) => {
      const positions = Int32Array.from({ length: array.shape[dim] }, (_, i) => start + i * step);
      const index = fromTypedArray(positions, [positions.length], g.array.backend);
      return [indexAdd(x.shape, dim, index, g)];
    },
    [],
    { dim, start, end, step },
  );
}

// cat joins along a dim: each input's gradient is its slice of g (narrow).
export function cat(tensors: readonly Tensor[], dim: number): Tensor {
  const array = ops.cat(
    tensors.map((t) => t.array),
    dim,
  );
  const d = dim < 0 ? dim + tensors[0].ndim : dim;
  return record(
    'cat',
    tensors,
    array,
    (g) => {
      let start = 0;
      return tensors.map((t) => {
        const piece = narrow(g, d, start, t.shape[d]);
        start += t.shape[d];
        return piece;
      });
    },
    [],
    { dim: d },
  );
}

// A dtype conversion is the identity on values: the gradient is converted back.
export function cast(x: Tensor, dtype: Tensor['dtype']): Tensor {
  if (x.dtype === dtype) return x;
  return record('cast', [x], ops.cast(x.array, dtype), (g) => [cast(g, x.dtype)], [], { dtype });
}

// A move between backends copies the values: the gradient moves back.
export function toBackend(x: Tensor, backend: Backend): Tensor {
  if (x.array.backend === backend) return x;
  const from = x.array.backend;
  return record('to', [x], ops.toBackend(x.array, backend), (g) => [toBackend(g, from)], []);
}
