import type { TypedArray } from '../dtype.js';
import { type ArrayOperand, collapseDims, forEachRow } from '../layout.js';
import { contiguousStrides as contiguous } from '../shape.js';

/**
 * The fast CPU indexing kernels. Indices arrive checked (ops.ts checks them once for every
 * backend), so the loops read them without a test per element.
 */

/**
 * Walks every position p of `shape` in row-major order with an odometer, calling
 * visit(flat, offsets) where offsets[k] is operand k's element offset at p (dim `skip` of operand
 * k is left out, for the operand the index selects into).
 */
function walk(
  shape: readonly number[],
  operands: readonly { strides: readonly number[]; offset: number }[],
  visit: (flat: number, offsets: Int32Array, position: Int32Array) => void,
): void {
  const ndim = shape.length;
  const count = shape.reduce((p, d) => p * d, 1);
  const offsets = Int32Array.from(operands, (o) => o.offset);
  const position = new Int32Array(ndim);
  for (let flat = 0; flat < count; flat++) {
    visit(flat, offsets, position);
    for (let d = ndim - 1; d >= 0; d--) {
      position[d]++;
      if (position[d] < shape[d]) {
        for (let k = 0; k < operands.length; k++) offsets[k] += operands[k].strides[d];
        break;
      }
      position[d] = 0;
      for (let k = 0; k < operands.length; k++) offsets[k] -= operands[k].strides[d] * (shape[d] - 1);
    }
  }
}

/** The strides of `strides` with dim `dim` zeroed (the index supplies that coordinate). */
function without(strides: readonly number[], dim: number): number[] {
  return strides.map((s, i) => (i === dim ? 0 : s));
}

/** out[p] = a[p with p[dim] := index[p]]; out has index's shape. */
export function gather(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  const step = a.strides[dim];
  const base = { strides: without(a.strides, dim), offset: a.offset };
  walk(index.shape, [index, base], (flat, offsets) => {
    const at = index.data[offsets[0]];
    out[flat] = a.data[offsets[1] + at * step];
  });
}

/** out = zeros(shape); out[p with p[dim] := index[p]] += source[p]. */
export function scatterAdd(
  shape: readonly number[],
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  out: TypedArray,
): void {
  const outStrides = contiguous(shape);
  const step = outStrides[dim];
  walk(index.shape, [index, source, { strides: without(outStrides, dim), offset: 0 }], (_, offsets) => {
    const at = index.data[offsets[0]];
    out[offsets[2] + at * step] += source.data[offsets[1]];
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
