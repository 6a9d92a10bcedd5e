import type { TypedArray } from '../dtype.js';
import { contiguousStrides as contiguous, formatShape } from '../shape.js';
import type { ArrayOperand } from './elementwise.js';
import { collapseDims, forEachRow, offsetOf } from './iterate.js';

/** Every index is checked before use: a bad index throws instead of reading another element. */
function checkIndex(op: string, value: number, size: number, dim: number): void {
  if (value < 0 || value >= size) {
    throw new RangeError(`${op}: index ${value} is out of bounds for dim ${dim} with size ${size}`);
  }
}

function unravel(flat: number, shape: readonly number[], into: Int32Array): void {
  for (let d = shape.length - 1; d >= 0; d--) {
    into[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
}

/** out[p] = a[p with p[dim] := index[p]]; out has index's shape. */
export function gather(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  const position = new Int32Array(index.shape.length);
  for (let i = 0; i < out.length; i++) {
    unravel(i, index.shape, position);
    const at = index.data[offsetOf(i, index.shape, index.strides, index.offset)];
    checkIndex('gather', at, a.shape[dim], dim);
    let offset = a.offset;
    for (let d = 0; d < position.length; d++) offset += (d === dim ? at : position[d]) * a.strides[d];
    out[i] = a.data[offset];
  }
}

/** out = zeros(shape); out[p with p[dim] := index[p]] += source[p]. */
export function scatterAdd(
  shape: readonly number[],
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  out: TypedArray,
): void {
  const position = new Int32Array(index.shape.length);
  const outStrides = contiguous(shape);
  const count = index.shape.reduce((p, d) => p * d, 1);
  for (let i = 0; i < count; i++) {
    unravel(i, index.shape, position);
    const at = index.data[offsetOf(i, index.shape, index.strides, index.offset)];
    checkIndex('scatterAdd', at, shape[dim], dim);
    let offset = 0;
    for (let d = 0; d < position.length; d++) offset += (d === dim ? at : position[d]) * outStrides[d];
    out[offset] += source.data[offsetOf(i, source.shape, source.strides, source.offset)];
  }
}

/** Checks a 1-D index against a dim and returns its values as numbers. */
function readIndex(op: string, index: ArrayOperand, size: number, dim: number): number[] {
  if (index.shape.length !== 1) {
    throw new RangeError(`${op}: index must be 1-D, got shape ${formatShape(index.shape)}`);
  }
  const values: number[] = [];
  for (let i = 0; i < index.shape[0]; i++) {
    const v = index.data[index.offset + i * index.strides[0]];
    checkIndex(op, v, size, dim);
    values.push(v);
  }
  return values;
}

/** Copies slice index[i] of `a` along dim to slice i of out. */
export function indexSelect(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  const values = readIndex('indexSelect', index, a.shape[dim], dim);
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
  const values = readIndex('indexAdd', index, shape[dim], dim);
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
