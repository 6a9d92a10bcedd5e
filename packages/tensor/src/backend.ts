import type { DType, TypedArray } from './dtype.js';
import type { NDArray } from './ndarray.js';

/**
 * Memory owned by a backend. The CPU backend holds a typed array; a GPU backend holds a device
 * buffer and reads it back only when asked (`Backend.read`).
 */
export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  readonly length: number;
  /**
   * How many in-place writes the storage has had (`ops.assign`, an optimizer step). Autograd
   * records it for every tensor an op saves for backward and refuses to differentiate through
   * values that changed since (PyTorch's version counter).
   */
  version: number;
}

/**
 * Storage in host memory: a typed array this JavaScript thread reads and writes directly. Only
 * backends whose `host` is true make it.
 */
export interface HostStorage extends Storage {
  readonly data: TypedArray;
}

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'abs'
  | 'sign'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf'
  | 'sin'
  | 'cos'
  | 'not';

export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'reluBackward';
export type ComparisonOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or';
export type BinaryOp = ArithmeticOp | ComparisonOp;
export type ReduceOp = 'sum' | 'max' | 'min';
export type ArgReduceOp = 'argmax' | 'argmin';

/**
 * What an op makes, resolved once by the op spec in ops.ts (shape, dtype, argument and index
 * checks) before any backend runs: a backend allocates exactly this and runs its loops.
 */
export interface Output {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Bounds of an int32 array's values, when a backend knows them without reading the values. */
export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The one interface every backend implements. It is deliberately narrow: views (reshape, permute,
 * expand, narrow) are metadata handled by NDArray, so a kernel only needs to read strided inputs
 * and write a fresh contiguous output. Everything about an op that is not a loop is decided above
 * the backends, in ops.ts: broadcasting arrives as stride-0 views, dtype promotion is done, the
 * output's shape and dtype come resolved as `out`, and indices are in range.
 */
export interface Backend {
  readonly name: string;
  /**
   * The one host/device capability: true when every storage is a HostStorage, so host loops
   * (fused optimizers, index checks) may run on its values without a transfer (see ops.onHost).
   */
  readonly host: boolean;
  /** Contiguous storage holding a copy of host data. */
  upload(data: TypedArray): Storage;
  /** Takes over a typed array the caller just made, without copying (host backends). */
  adopt?(data: TypedArray): Storage;
  /** Contiguous zero-filled storage. */
  zeros(dtype: DType, length: number): Storage;
  /** The view's elements in row-major order, on the host. */
  read(view: NDArray): TypedArray;
  /**
   * Frees a storage's memory now, for backends whose memory the garbage collector cannot see
   * (GPU textures); using the storage afterwards throws. Called by tidy() for what it drops.
   */
  release?(storage: Storage): void;
  /** The range of an int32 array's values if known without reading them (index checks skip the read). */
  knownRange?(a: NDArray): ValueRange | null;
  /** A contiguous copy of a view, converted to `dtype` (int32 truncates, bool is value !== 0). */
  copy(view: NDArray, dtype: DType): NDArray;
  /** Writes `source` (same shape and dtype) into the elements of the view `target`. */
  assign(target: NDArray, source: NDArray): void;
  /** out = op(a), elementwise (the math of ./elementwise.ts). */
  unary(op: UnaryOp, a: NDArray, out: Output): NDArray;
  /** Same-shape, same-dtype operands (comparisons: a bool `out`). */
  binary(op: BinaryOp, a: NDArray, b: NDArray, out: Output): NDArray;
  /** condition (bool) ? a : b, all of one shape. */
  where(condition: NDArray, a: NDArray, b: NDArray, out: Output): NDArray;
  /** Reduces over `axes` (sorted, non-empty) into `out`, which keeps them as size-1 dims. */
  reduce(op: ReduceOp, a: NDArray, axes: readonly number[], out: Output): NDArray;
  /** int32 index of the first extreme along `axis` (NaN counts as the extreme), kept as a size-1 dim. */
  argReduce(op: ArgReduceOp, a: NDArray, axis: number, out: Output): NDArray;
  /** Batched [B,M,K] @ [B,K,N] -> [B,M,N]; one dtype. */
  matmul(a: NDArray, b: NDArray, out: Output): NDArray;
  /** out[..i..] = a[..index[..i..]..] along `dim`; index has the output's shape. */
  gather(a: NDArray, dim: number, index: NDArray, out: Output): NDArray;
  /** zeros(out) with source[..i..] added at [..index[..i..]..] along `dim`. */
  scatterAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray;
  /** Picks the slices `index` (1-D int32) along `dim`. */
  indexSelect(a: NDArray, dim: number, index: NDArray, out: Output): NDArray;
  /** zeros(out) with slice i of source added at slice index[i] along `dim`. */
  indexAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray;
  /** im2col: [N,C,H,W] -> [N, C*kh*kw, outH*outW]; padding reads `padValue`. */
  unfold(x: NDArray, window: Window, padValue: number, out: Output): NDArray;
  /** col2im, the adjoint of unfold: [N, C*kh*kw, L] -> `out` [N,C,H,W], summing overlaps. */
  fold(cols: NDArray, window: Window, out: Output): NDArray;
  /**
   * Max pooling's argmax, in one pass over the input: for each output (n, c, oh, ow), the flat
   * index h * W + w, in x's [H, W] plane, of the maximum of window (oh, ow): the first largest
   * value, or the last NaN (PyTorch's max_pool2d rule). Window positions outside the input
   * (padding, ceil mode's overhang) are skipped; ops.ts makes sure every window holds one.
   * `out` is int32 [N, C, outH, outW].
   */
  maxPoolIndices(x: NDArray, window: Window, out: Output): NDArray;
}

/** A sliding window over the last two dims: [height, width] pairs. */
export interface Window {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
}
