import type { ArgReduceOp, ReduceOp } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { type ArrayOperand, collapseDims } from '../layout.js';
import { isRowMajor } from '../shape.js';

/**
 * Reductions keep the reduced dims as size 1 (the caller squeezes them for keepdim=false).
 * Sums accumulate in a JavaScript number (float64) whatever the storage dtype. max/min propagate
 * NaN, as PyTorch does.
 */

const initial: Record<ReduceOp, number> = {
  sum: 0,
  max: Number.NEGATIVE_INFINITY,
  min: Number.POSITIVE_INFINITY,
};

function splitAxes(shape: readonly number[], axes: readonly number[]) {
  const reduced = new Set(axes);
  const outShape = shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const keptAxes = shape.map((_, i) => i).filter((i) => !reduced.has(i));
  return { outShape, keptAxes, reducedAxes: [...axes] };
}

/**
 * Sum over leading dims of a contiguous array (bias gradients, sums over a batch): whole rows are
 * added into a float64 accumulator, so memory is read in order. Each output element still adds
 * its inputs in the same order as the reference backend, so the result is identical.
 */
function sumLeadingRows(a: ArrayOperand, leading: number, out: TypedArray): void {
  const inner = out.length;
  const accumulator = new Float64Array(inner);
  const data = a.data;
  for (let r = 0, at = a.offset; r < leading; r++, at += inner) {
    for (let j = 0; j < inner; j++) accumulator[j] += data[at + j];
  }
  out.set(accumulator);
}

/** Fast: the block is collapsed to as few strided rows as possible and summed row by row. */
export function fastReduce(op: ReduceOp, a: ArrayOperand, axes: readonly number[], out: TypedArray): void {
  const leadingOnly = axes.every((axis, i) => axis === i) && axes.length < a.shape.length;
  if (op === 'sum' && leadingOnly && isRowMajor(a.shape, a.strides) && out.length > 1) {
    sumLeadingRows(
      a,
      axes.reduce((p, axis) => p * a.shape[axis], 1),
      out,
    );
    return;
  }
  const { keptAxes, reducedAxes } = splitAxes(a.shape, axes);
  const keptShape = keptAxes.map((i) => a.shape[i]);
  const keptStrides = keptAxes.map((i) => a.strides[i]);
  const block = collapseDims(
    reducedAxes.map((i) => a.shape[i]),
    [{ strides: reducedAxes.map((i) => a.strides[i]), offset: 0 }],
  );
  const blockShape = block.shape;
  const blockStrides = block.strides[0];
  const blockDims = blockShape.length;
  const rowLength = blockShape[blockDims - 1];
  const rowStride = blockStrides[blockDims - 1];
  let rowsPerBlock = 1;
  for (let d = 0; d < blockDims - 1; d++) rowsPerBlock *= blockShape[d];
  const hasElements = blockShape.every((d) => d > 0);
  const data = a.data;
  const counter = new Int32Array(blockDims);
  const keptCounter = new Int32Array(keptShape.length);
  let base = a.offset;
  for (let o = 0; o < out.length; o++) {
    let acc = initial[op];
    if (hasElements) {
      counter.fill(0);
      let rowStart = base;
      for (let r = 0; r < rowsPerBlock; r++) {
        let i = rowStart;
        if (op === 'sum') for (let k = 0; k < rowLength; k++, i += rowStride) acc += data[i];
        else if (op === 'max') {
          for (let k = 0; k < rowLength; k++, i += rowStride) {
            const x = data[i];
            if (x > acc || x !== x) acc = x;
          }
        } else {
          for (let k = 0; k < rowLength; k++, i += rowStride) {
            const x = data[i];
            if (x < acc || x !== x) acc = x;
          }
        }
        if (acc !== acc && op !== 'sum') break;
        for (let d = blockDims - 2; d >= 0; d--) {
          if (++counter[d] < blockShape[d]) {
            rowStart += blockStrides[d];
            break;
          }
          counter[d] = 0;
          rowStart -= blockStrides[d] * (blockShape[d] - 1);
        }
      }
    }
    out[o] = acc;
    for (let d = keptShape.length - 1; d >= 0; d--) {
      if (++keptCounter[d] < keptShape[d]) {
        base += keptStrides[d];
        break;
      }
      keptCounter[d] = 0;
      base -= keptStrides[d] * (keptShape[d] - 1);
    }
  }
}

/** Index of the first maximum (or minimum) along one axis; NaN counts as the extreme. */
export function argReduce(op: ArgReduceOp, a: ArrayOperand, axis: number, out: Int32Array): void {
  const keptAxes = a.shape.map((_, i) => i).filter((i) => i !== axis);
  const keptShape = keptAxes.map((i) => a.shape[i]);
  const keptStrides = keptAxes.map((i) => a.strides[i]);
  const n = a.shape[axis];
  const stride = a.strides[axis];
  const data = a.data;
  const sign = op === 'argmax' ? 1 : -1; // argmin is argmax of -x
  const counter = new Int32Array(keptShape.length);
  let base = a.offset;
  for (let o = 0; o < out.length; o++) {
    let at = base;
    let best = sign * data[at];
    let bestIndex = 0;
    for (let k = 1; k < n && best === best; k++) {
      at += stride;
      const x = sign * data[at];
      if (x > best || x !== x) {
        best = x;
        bestIndex = k;
      }
    }
    out[o] = bestIndex;
    for (let d = keptShape.length - 1; d >= 0; d--) {
      if (++counter[d] < keptShape[d]) {
        base += keptStrides[d];
        break;
      }
      counter[d] = 0;
      base -= keptStrides[d] * (keptShape[d] - 1);
    }
  }
}
