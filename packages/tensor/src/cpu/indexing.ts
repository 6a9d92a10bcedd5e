import type { TypedArray } from '../dtype.js';
import { type ArrayOperand, collapseDims, forEachRow } from '../layout.js';
import { contiguousStrides as contiguous } from '../shape.js';

/**
 * The fast CPU indexing kernels. Indices arrive checked (ops.ts checks them once for every
 * backend), so the loops read them without a test per element.
 */

/** The strides of `strides` with dim `dim` zeroed (the index supplies that coordinate). */
function without(strides: readonly number[], dim: number): number[] {
  return strides.map((s, i) => (i === dim ? 0 : s));
}

/** out[p] = a[p with p[dim] := index[p]]; out has index's shape. Row by row over index's shape. */
export function gather(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  const step = a.strides[dim];
  const operands = [
    { strides: contiguous(index.shape), offset: 0 },
    index,
    { strides: without(a.strides, dim), offset: a.offset },
  ];
  const { shape, strides } = collapseDims(index.shape, operands);
  const last = shape.length - 1;
  const [os, is, as] = [strides[0][last], strides[1][last], strides[2][last]];
  const [source, at] = [a.data, index.data];
  forEachRow(shape, strides, [0, index.offset, a.offset], (offsets, n) => {
    for (let k = 0, o = offsets[0], i = offsets[1], b = offsets[2]; k < n; k++, o += os, i += is, b += as)
      out[o] = source[b + at[i] * step];
  });
}

/** out = zeros(shape); out[p with p[dim] := index[p]] += source[p]. Row by row over index's shape. */
export function scatterAdd(
  shape: readonly number[],
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  out: TypedArray,
): void {
  const outStrides = contiguous(shape);
  const step = outStrides[dim];
  const operands = [index, source, { strides: without(outStrides, dim), offset: 0 }];
  const collapsed = collapseDims(index.shape, operands);
  const last = collapsed.shape.length - 1;
  const [is, ss, os] = [collapsed.strides[0][last], collapsed.strides[1][last], collapsed.strides[2][last]];
  const [values, at] = [source.data, index.data];
  forEachRow(collapsed.shape, collapsed.strides, [index.offset, source.offset, 0], (offsets, n) => {
    for (let k = 0, i = offsets[0], s = offsets[1], o = offsets[2]; k < n; k++, i += is, s += ss, o += os)
      out[o + at[i] * step] += values[s];
  });
}

/** The values of a 1-D index. */
function readIndex(index: ArrayOperand): number[] {
  return Array.from({ length: index.shape[0] }, (_, i) => index.data[index.offset + i * index.strides[0]]);
}

/** Copies slice index[i] of `a` along dim to slice i of out. */
export function indexSelect(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  const values = readIndex(index);
  const sliceShape = a.shape.map((d, i) => (i === dim ? 1 : d));
  const outStrides = contiguous(a.shape.map((d, i) => (i === dim ? values.length : d)));
  const { shape, strides } = collapseDims(sliceShape, [{ strides: outStrides, offset: 0 }, a]);
  const last = shape.length - 1;
  const [os, as] = [strides[0][last], strides[1][last]];
  values.forEach((v, i) => {
    forEachRow(shape, strides, [i * outStrides[dim], a.offset + v * a.strides[dim]], (offsets, n) => {
      for (let k = 0, o = offsets[0], s = offsets[1]; k < n; k++, o += os, s += as) out[o] = a.data[s];
    });
  });
}

/** out = zeros(shape); slice index[i] of out along dim += slice i of source. */
export function indexAdd(
  shape: readonly number[],
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  out: TypedArray,
): void {
  const values = readIndex(index);
  const outStrides = contiguous(shape);
  const sliceShape = source.shape.map((d, i) => (i === dim ? 1 : d));
  const collapsed = collapseDims(sliceShape, [{ strides: outStrides, offset: 0 }, source]);
  const last = collapsed.shape.length - 1;
  const [os, ss] = [collapsed.strides[0][last], collapsed.strides[1][last]];
  values.forEach((v, i) => {
    forEachRow(
      collapsed.shape,
      collapsed.strides,
      [v * outStrides[dim], source.offset + i * source.strides[dim]],
      (offsets, n) => {
        for (let k = 0, o = offsets[0], s = offsets[1]; k < n; k++, o += os, s += ss)
          out[o] += source.data[s];
      },
    );
  });
}
