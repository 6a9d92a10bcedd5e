import type { ArgReduceOp, BinaryOp, ReduceOp, UnaryOp, Window } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { BINARY, scalarFunction, UNARY } from '../elementwise.js';
import { HostBackend, type HostLoops } from '../host.js';
import { type ArrayOperand, coordinatesOf, offsetOf, windowOutputSize } from '../layout.js';
import { contiguousStrides as contiguousOf, sizeOf } from '../shape.js';

/**
 * The reference backend: every method of the Backend interface as the plainest loop that states
 * its definition, one output element at a time, with the element's input offsets computed from
 * its coordinates (`offsetOf`). No tiling, no compiled rows, no special cases for layouts. It
 * computes in whatever dtype it is given, float64 included, so the conformance suite runs every
 * other backend against it in float64 (it is the single oracle). Slow by design: use it to read
 * what an op does, or to check a new kernel.
 *
 * Each loop is also exported on its own, over the host loops' operands (`ArrayOperand`), so a fast
 * kernel can be checked against its reference directly.
 */

/** Element offset of coordinates `coords` in a strided operand. */
function at(a: { strides: readonly number[]; offset: number }, coords: readonly number[]): number {
  let offset = a.offset;
  for (let d = 0; d < coords.length; d++) offset += coords[d] * a.strides[d];
  return offset;
}

/** The value of element `i` (row-major) of a view. */
const element = (a: ArrayOperand, i: number) => a.data[offsetOf(i, a.shape, a.strides, a.offset)];

/** out[i] = a[i], converted on store; bool is value !== 0 (a Uint8Array store would wrap instead). */
export function referenceCopy(a: ArrayOperand, out: TypedArray): void {
  const toBool = out instanceof Uint8Array;
  for (let i = 0; i < out.length; i++) {
    const x = element(a, i);
    out[i] = toBool ? (x !== 0 ? 1 : 0) : x;
  }
}

export function referenceUnary(op: UnaryOp, a: ArrayOperand, out: TypedArray): void {
  const f = scalarFunction(UNARY[op]);
  for (let i = 0; i < out.length; i++) out[i] = f(element(a, i), 0);
}

export function referenceBinary(op: BinaryOp, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  const f = scalarFunction(BINARY[op]);
  for (let i = 0; i < out.length; i++) out[i] = f(element(a, i), element(b, i));
}

export function referenceWhere(c: ArrayOperand, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) out[i] = element(c, i) !== 0 ? element(a, i) : element(b, i);
}

/** max/min propagate NaN, as PyTorch does; sums add in float64 in row-major order. */
function combine(op: ReduceOp, acc: number, x: number): number {
  if (op === 'sum') return acc + x;
  if (x !== x || acc !== acc) return Number.NaN;
  return op === 'max' ? Math.max(x, acc) : Math.min(x, acc);
}

/** For every output element, walk its block of inputs by flat index. */
export function referenceReduce(
  op: ReduceOp,
  a: ArrayOperand,
  axes: readonly number[],
  out: TypedArray,
): void {
  const reduced = new Set(axes);
  const kept = a.shape.map((_, d) => d).filter((d) => !reduced.has(d));
  const keptShape = kept.map((d) => a.shape[d]);
  const keptStrides = kept.map((d) => a.strides[d]);
  const blockShape = axes.map((d) => a.shape[d]);
  const blockStrides = axes.map((d) => a.strides[d]);
  const blockSize = sizeOf(blockShape);
  const initial = op === 'sum' ? 0 : op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (let o = 0; o < out.length; o++) {
    const base = offsetOf(o, keptShape, keptStrides, a.offset);
    let acc = initial;
    for (let j = 0; j < blockSize; j++)
      acc = combine(op, acc, a.data[offsetOf(j, blockShape, blockStrides, base)]);
    out[o] = acc;
  }
}

/** The index of the first extreme along `axis`; the first NaN counts as the extreme. */
export function referenceArgReduce(op: ArgReduceOp, a: ArrayOperand, axis: number, out: TypedArray): void {
  const outShape = a.shape.map((d, i) => (i === axis ? 1 : d));
  for (let o = 0; o < out.length; o++) {
    const coords = coordinatesOf(o, outShape);
    let best = a.data[at(a, coords)];
    let bestIndex = 0;
    for (let k = 1; k < a.shape[axis] && best === best; k++) {
      coords[axis] = k;
      const x = a.data[at(a, coords)];
      if (x !== x || (op === 'argmax' ? x > best : x < best)) {
        best = x;
        bestIndex = k;
      }
    }
    out[o] = bestIndex;
  }
}

/** The textbook triple loop, one dot product per output element. */
export function referenceMatmul(a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  const [batch, M, K] = a.shape;
  const N = b.shape[2];
  const [sab, sam, sak] = a.strides;
  const [sbb, sbk, sbn] = b.strides;
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          sum +=
            a.data[a.offset + p * sab + i * sam + k * sak] * b.data[b.offset + p * sbb + k * sbk + j * sbn];
        }
        out[(p * M + i) * N + j] = sum;
      }
    }
  }
}

/** out[p] = a[p with p[dim] := index[p]]; out has index's shape. */
export function referenceGather(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void {
  for (let i = 0; i < out.length; i++) {
    const coords = coordinatesOf(i, index.shape);
    const picked = index.data[at(index, coords)];
    coords[dim] = picked;
    out[i] = a.data[at(a, coords)];
  }
}

/** out = zeros; out[p with p[dim] := index[p]] += source[p], for every p of index's shape. */
export function referenceScatterAdd(
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  outShape: readonly number[],
  out: TypedArray,
): void {
  const outLayout = { strides: contiguousOf(outShape), offset: 0 };
  const count = sizeOf(index.shape);
  for (let i = 0; i < count; i++) {
    const coords = coordinatesOf(i, index.shape);
    const value = source.data[at(source, coords)];
    coords[dim] = index.data[at(index, coords)];
    out[at(outLayout, coords)] += value;
  }
}

/** out[p] = a[p with p[dim] := index[p[dim]]] (index 1-D). */
export function referenceIndexSelect(
  a: ArrayOperand,
  dim: number,
  index: ArrayOperand,
  outShape: readonly number[],
  out: TypedArray,
): void {
  for (let i = 0; i < out.length; i++) {
    const coords = coordinatesOf(i, outShape);
    coords[dim] = index.data[at(index, [coords[dim]])];
    out[i] = a.data[at(a, coords)];
  }
}

/** out = zeros; out[p with p[dim] := index[p[dim]]] += source[p], for every p of source's shape. */
export function referenceIndexAdd(
  dim: number,
  index: ArrayOperand,
  source: ArrayOperand,
  outShape: readonly number[],
  out: TypedArray,
): void {
  const outLayout = { strides: contiguousOf(outShape), offset: 0 };
  for (let i = 0; i < sizeOf(source.shape); i++) {
    const coords = coordinatesOf(i, source.shape);
    const value = source.data[at(source, coords)];
    coords[dim] = index.data[at(index, [coords[dim]])];
    out[at(outLayout, coords)] += value;
  }
}

/**
 * The pixel of x that column entry (n, c*kh*kw + i*kw + j, oh*outW + ow) of unfold holds, or null
 * for a position in the padding: (n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw).
 */
function windowPixel(
  coords: readonly number[],
  imageShape: readonly number[],
  window: Window,
): [number, number, number, number] | null {
  const [n, row, position] = coords;
  const [, , H, W] = imageShape;
  const [kh, kw] = window.kernel;
  const [, outW] = windowOutputSize(imageShape, window);
  const [c, i, j] = [Math.floor(row / (kh * kw)), Math.floor(row / kw) % kh, row % kw];
  const [oh, ow] = [Math.floor(position / outW), position % outW];
  const y = oh * window.stride[0] - window.padding[0] + i * window.dilation[0];
  const x = ow * window.stride[1] - window.padding[1] + j * window.dilation[1];
  return y >= 0 && y < H && x >= 0 && x < W ? [n, c, y, x] : null;
}

/** im2col: every column entry reads its pixel, or `padValue` in the padding. */
export function referenceUnfold(
  x: ArrayOperand,
  window: Window,
  padValue: number,
  outShape: readonly number[],
  out: TypedArray,
): void {
  for (let i = 0; i < out.length; i++) {
    const pixel = windowPixel(coordinatesOf(i, outShape), x.shape, window);
    out[i] = pixel ? x.data[at(x, pixel)] : padValue;
  }
}

/** col2im: every column entry is added onto its pixel (entries in the padding are dropped). */
export function referenceFold(
  cols: ArrayOperand,
  window: Window,
  outShape: readonly number[],
  out: TypedArray,
): void {
  const outLayout = { strides: contiguousOf(outShape), offset: 0 };
  for (let i = 0; i < sizeOf(cols.shape); i++) {
    const coords = coordinatesOf(i, cols.shape);
    const pixel = windowPixel(coords, outShape, window);
    if (pixel) out[at(outLayout, pixel)] += cols.data[at(cols, coords)];
  }
}

/**
 * Max pooling's argmax: each output scans its window in row-major order, skipping positions
 * outside the input, and keeps the first largest value or the last NaN (PyTorch's rule).
 */
export function referenceMaxPoolIndices(
  x: ArrayOperand,
  window: Window,
  outShape: readonly number[],
  out: Int32Array,
): void {
  const [, , H, W] = x.shape;
  const [kh, kw] = window.kernel;
  for (let i = 0; i < out.length; i++) {
    const [n, c, oh, ow] = coordinatesOf(i, outShape);
    let best = Number.NEGATIVE_INFINITY;
    let index = -1;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const h = oh * window.stride[0] - window.padding[0] + ki * window.dilation[0];
        const w = ow * window.stride[1] - window.padding[1] + kj * window.dilation[1];
        if (h < 0 || h >= H || w < 0 || w >= W) continue;
        const v = x.data[at(x, [n, c, h, w])];
        if (index < 0 || v > best || Number.isNaN(v)) {
          best = v;
          index = h * W + w;
        }
      }
    }
    out[i] = index;
  }
}

/** The reference loops, one per computing Backend method (see ../host.ts). */
export const referenceLoops: HostLoops = {
  copy: referenceCopy,
  assign(target, source) {
    for (let i = 0; i < sizeOf(target.shape); i++)
      target.data[offsetOf(i, target.shape, target.strides, target.offset)] = element(source, i);
  },
  unary: referenceUnary,
  binary: referenceBinary,
  where: referenceWhere,
  reduce: referenceReduce,
  argReduce: referenceArgReduce,
  matmul: referenceMatmul,
  gather: referenceGather,
  scatterAdd: referenceScatterAdd,
  indexSelect: referenceIndexSelect,
  indexAdd: referenceIndexAdd,
  unfold: referenceUnfold,
  fold: referenceFold,
  maxPoolIndices: referenceMaxPoolIndices,
};

/** The reference backend (see the top of this file): `setBackend(referenceBackend)` runs everything on it. */
export class ReferenceBackend extends HostBackend {
  constructor() {
    super('reference', referenceLoops);
  }
}

/** The reference backend: plain loops, float64 capable, the conformance suite's oracle. */
export const referenceBackend = new ReferenceBackend();
