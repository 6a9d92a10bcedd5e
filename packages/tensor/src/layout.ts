import type { Window } from './backend.js';
import type { TypedArray } from './dtype.js';

/**
 * Layout rules every backend shares (the CPU loops, the reference loops and the gpu.js kernel
 * generator), kept here so that no backend reaches into another's folder.
 *
 * Walking strided views without per-element work. Adjacent dims that are laid out one after the
 * other in every operand are merged first, so a contiguous array becomes one long row; then the
 * outer dims are counted with an odometer and the innermost dim is handed to a row kernel as
 * (start offset, stride, length).
 */

export interface StridedOperand {
  readonly strides: readonly number[];
  readonly offset: number;
}

/** A strided view as the host loops see it: its typed array plus shape, strides and offset. */
export interface ArrayOperand extends StridedOperand {
  readonly data: TypedArray;
  readonly shape: readonly number[];
}

/** Merges dims that are contiguous with their inner neighbour in every operand. */
export function collapseDims(
  shape: readonly number[],
  operands: readonly StridedOperand[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = operands.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    const mergeable =
      last >= 0 && operands.every((op, k) => outStrides[k][last] === op.strides[i] * shape[i]);
    if (mergeable) {
      outShape[last] *= shape[i];
      operands.forEach((op, k) => {
        outStrides[k][last] = op.strides[i];
      });
    } else {
      outShape.push(shape[i]);
      operands.forEach((op, k) => outStrides[k].push(op.strides[i]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(1));
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Calls `row(offsets, length)` once per innermost row; `offsets[k]` is operand k's element
 * offset at the row start, and each operand's row stride is `strides[k][last]`.
 */
export function forEachRow(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  startOffsets: readonly number[],
  row: (offsets: Int32Array, length: number) => void,
): void {
  const ndim = shape.length;
  const count = strides.length;
  // Int32 offsets keep the kernels' index arithmetic in small integers (a double index slows V8's
  // typed-array access several times over).
  const offsets = new Int32Array(startOffsets);
  const rowLength = shape[ndim - 1];
  if (rowLength === 0) return;
  let rows = 1;
  for (let d = 0; d < ndim - 1; d++) rows *= shape[d];
  const counter = new Int32Array(ndim);
  for (let r = 0; r < rows; r++) {
    row(offsets, rowLength);
    // Advance the odometer over dims ndim-2 .. 0.
    for (let d = ndim - 2; d >= 0; d--) {
      counter[d]++;
      if (counter[d] < shape[d]) {
        for (let k = 0; k < count; k++) offsets[k] += strides[k][d];
        break;
      }
      counter[d] = 0;
      for (let k = 0; k < count; k++) offsets[k] -= strides[k][d] * (shape[d] - 1);
    }
  }
}

/** The row-major coordinates of flat index `flat` in `shape`. */
export function coordinatesOf(flat: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    coords[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return coords;
}

/** Element offset of flat row-major index `flat` in a strided view (the reference kernels' way). */
export function offsetOf(
  flat: number,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): number {
  let rest = flat;
  let at = offset;
  for (let d = shape.length - 1; d >= 0; d--) {
    const i = rest % shape[d];
    rest = (rest - i) / shape[d];
    at += i * strides[d];
  }
  return at;
}

/** Output length of a sliding window along one dim (torch.nn.functional.unfold's formula). */
export function outputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** [outH, outW] of a window over the last two dims of `shape` ([N, C, H, W]). */
export function windowOutputSize(shape: readonly number[], window: Window): [number, number] {
  const along = (d: 0 | 1) =>
    outputSize(shape[2 + d], window.kernel[d], window.stride[d], window.padding[d], window.dilation[d]);
  return [along(0), along(1)];
}
