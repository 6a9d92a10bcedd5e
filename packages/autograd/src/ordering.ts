import { checkOptions, checkValue, formatShape, normalizeDim, ops, rules } from '@agrad/tensor';
import { fromTypedArray, zerosLike } from './creation.js';
import { recordNonDifferentiable } from './engine.js';
import { cat, gather, where } from './functions.js';
import * as indexing from './primitives/indexing.js';
import type { Tensor } from './tensor.js';

/**
 * Orderings and scatters, composed from gather, scatterAdd, narrow, cat and where, so each gets
 * its gradient from theirs: cumsum, sort, topk, scatter and scatterAdd. The orders of sort and
 * topk are found on the host (a read-back on a GPU backend); their values are a gather, so the
 * gradient flows to the elements picked.
 */

/**
 * Running sums along dim (torch.cumsum), as log2(n) shifted additions (Hillis and Steele): for
 * s = 1, 2, 4, ...: y <- y + (y shifted by s along dim, zeros first). Float results may differ
 * from a one-by-one sum in the last bits.
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('cumsum', dim, x.ndim);
  if (x.ndim === 0) return x.add(0);
  const n = x.shape[d];
  let y = x.dtype === 'bool' ? x.to('int32') : x;
  for (let s = 1; s < n; s *= 2) {
    const head = zerosLike(y.narrow(d, 0, s)); // on y's backend
    y = y.add(cat([head, y.narrow(d, 0, n - s)], d));
  }
  return y;
}

/** Ascending order with NaN last (descending: NaN first), ties left to the caller, as torch.sort(stable=True). */
function compare(descending: boolean): (a: number, b: number) => number {
  // NaN ranks above every number; swapping the operands makes the order descending.
  const rank = (a: number, b: number) =>
    Number.isNaN(a) || Number.isNaN(b) ? Number(Number.isNaN(a)) - Number(Number.isNaN(b)) : a - b;
  return descending ? (a, b) => rank(b, a) : rank;
}

/**
 * The elements of x sorted along dim (torch.sort), and the int32 indices they came from:
 * `[values, indices]`. Stable (equal elements keep their order); NaN sorts above everything.
 */
export function sort(x: Tensor, dim = -1, options: { descending?: boolean } = {}): [Tensor, Tensor] {
  checkOptions('sort', options, { descending: rules.boolean });
  const d = normalizeDim('sort', dim, x.ndim);
  if (x.ndim === 0) return [x.add(0), zerosLike(x).to('int32')];
  const compareValues = compare(options.descending ?? false);
  // Rows along dim, contiguous: the last dim after swapping dim there.
  const rows = x.transpose(d, -1).contiguous();
  const values = ops.onHost(rows.array) ? (ops.hostView(rows.array) ?? rows.array.read()) : rows.array.read();
  const n = x.shape[d];
  const order = new Int32Array(values.length);
  const positions = Array.from({ length: n }, (_, i) => i);
  for (let start = 0; start < values.length; start += n) {
    const row = positions
      .slice()
      .sort((i, j) => compareValues(values[start + i], values[start + j]) || i - j);
    order.set(row, start);
  }
  const positionsOf = fromTypedArray(order, rows.shape, x.array.backend).transpose(d, -1).contiguous();
  // Computed in JavaScript from x's values: a trace notes it as an op of x, not as a constant.
  const index = recordNonDifferentiable('sort', [x], positionsOf.array, {
    dim: d,
    descending: options.descending ?? false,
  });
  return [gather(x, d, index), index];
}

/** topk's options: the smallest instead of the largest (`largest: false`), and whether the k results come sorted. */
export interface TopkOptions {
  /** The largest k (default) or the smallest. */
  largest?: boolean;
  /** Ordered by value (default true; false gives them in the same order here). */
  sorted?: boolean;
}

/** The k largest (or smallest) elements along dim and their indices (torch.topk): `[values, indices]`. */
export function topk(x: Tensor, k: number, dim = -1, options: TopkOptions = {}): [Tensor, Tensor] {
  checkOptions('topk', options, { largest: rules.boolean, sorted: rules.boolean });
  const d = normalizeDim('topk', dim, x.ndim);
  const size = x.ndim === 0 ? 1 : x.shape[d];
  checkValue('topk', 'k', k, rules.inRange(0, size, { integer: true }));
  const [values, indices] = sort(x, d, { descending: options.largest ?? true });
  return x.ndim === 0 ? [values, indices] : [values.narrow(d, 0, k), indices.narrow(d, 0, k).contiguous()];
}

/** index checked as torch's scatter checks it: int32, x's number of dims, no larger than src (or x) elsewhere. */
function checkScatterIndex(op: string, x: Tensor, d: number, index: Tensor, src: Tensor | null): void {
  if (index.dtype !== 'int32')
    throw new TypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
  if (index.ndim !== x.ndim)
    throw new RangeError(
      `${op}: index has ${index.ndim} dims (${formatShape(index.shape)}) but input has ${x.ndim} (${formatShape(x.shape)})`,
    );
  index.shape.forEach((size, i) => {
    if ((i !== d && size > x.shape[i]) || (src && size > src.shape[i]))
      throw new RangeError(
        `${op}: index shape ${formatShape(index.shape)} exceeds ${src && size > src.shape[i] ? `src shape ${formatShape(src.shape)}` : `input shape ${formatShape(x.shape)}`} at dim ${i}`,
      );
  });
}

/** src cut to index's shape (torch reads only that corner of src). */
function corner(src: Tensor, index: Tensor): Tensor {
  return index.shape.reduce((t, size, i) => (t.shape[i] === size ? t : t.narrow(i, 0, size)), src);
}

/**
 * x with src added at index along dim (torch.scatter_add): out[index[i][j]][j] += src[i][j] for
 * dim 0. Repeated positions add up.
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  checkScatterIndex('scatterAdd', x, d, index, src);
  return x.add(indexing.scatterAdd(x.shape, d, index, corner(src, index).to(x.dtype)));
}

/**
 * x with src (a tensor, or one value) written at index along dim (torch.scatter): out[index[i][j]][j]
 * = src[i][j] for dim 0. A position written twice is refused, since which write wins would be
 * up to the order (torch leaves it undefined); scatterAdd sums them.
 */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  const d = normalizeDim('scatter', dim, x.ndim);
  const source = typeof src === 'number' ? null : src;
  checkScatterIndex('scatter', x, d, index, source);
  const ones = fromTypedArray(new Int32Array(index.size).fill(1), index.shape, x.array.backend);
  const writes = indexing.scatterAdd(x.shape, d, index, ones);
  const most = writes.size > 0 ? writes.amax().item() : 0;
  if (most > 1)
    throw new RangeError(
      `scatter: index writes one position of the output ${most} times; use scatterAdd to sum them`,
    );
  const values =
    source === null
      ? zerosLike(x).add(src as number)
      : indexing.scatterAdd(x.shape, d, index, corner(source, index).to(x.dtype));
  return where(writes.gt(0), values, x);
}
