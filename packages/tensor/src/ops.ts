import type {
  ArgReduceOp,
  Backend,
  BinaryOp,
  HostStorage,
  Output,
  ReduceOp,
  Storage,
  UnaryOp,
  Window,
} from './backend.js';
import { cpuBackend } from './cpu/backend.js';
import { type DType, isFloating, type TypedArray, typedArrayFor } from './dtype.js';
import { COMPARISONS } from './elementwise.js';
import { outputSize } from './layout.js';
import { NDArray } from './ndarray.js';
import { defaultGenerator, type Generator } from './random.js';
import {
  broadcastShapes,
  formatShape,
  normalizeDim,
  type Shape,
  shapesEqual,
  sizeOf,
  viewOverlaps,
} from './shape.js';

/**
 * Array-level operations: no autograd here. This is the op spec, the one place where each op's
 * rules live: argument checks, broadcasting (by expanding views), dtype rules (comparisons give
 * bool, the sum of bool counts in int32), output shapes and index checks. Backends receive
 * same-shape operands and the resolved `Output`, and only run loops.
 */

let currentBackend: Backend = cpuBackend;

/** Backends selectable by name. 'gpu' is added by importing '@agrad/gpu'. */
const registry = new Map<string, () => Backend>([['cpu', () => cpuBackend]]);

/** Makes `setBackend(name)` and `.to(name)` reach a backend (created on first use). */
export function registerBackend(name: string, resolve: () => Backend): void {
  registry.set(name, resolve);
}

/** The names setBackend and .to() accept. */
export function backendNames(): string[] {
  return [...registry.keys()];
}

/** A backend by name ('cpu', 'gpu' once registered), or the backend itself. */
export function resolveBackend(backend: Backend | string): Backend {
  if (typeof backend !== 'string') return backend;
  const resolve = registry.get(backend);
  if (!resolve) {
    const hint = backend === 'gpu' ? " (import '@agrad/gpu' first to register it)" : '';
    throw new RangeError(
      `setBackend: unknown backend '${backend}'${hint}; known: ${[...registry.keys()].join(', ')}`,
    );
  }
  return resolve();
}

/** The backend new arrays are created on. */
export function getBackend(): Backend {
  return currentBackend;
}

/**
 * Selects the backend new arrays are created on, by name or as an object; returns it.
 *
 * @example
 * setBackend('cpu');
 * import '@agrad/gpu';  // registers 'gpu'
 * setBackend('gpu').name;      // 'gpu:headlessgl', 'gpu:webgl2', 'gpu:webasm', ...
 */
export function setBackend(backend: Backend | string): Backend {
  currentBackend = resolveBackend(backend);
  return currentBackend;
}

/**
 * Memory scopes for tidy() (in @agrad/autograd): backends with explicitly freed memory record
 * each storage they make in the innermost open scope; closing a scope releases what it recorded
 * except the storages it is told to keep, which move to the enclosing scope.
 */
const scopes: Set<Storage>[] = [];

/** Starts recording the storages made from now on (what tidy() frees). */
export function openScope(): void {
  scopes.push(new Set());
}

/** Ends the innermost scope, releasing its storages except those in `keep`. */
export function closeScope(keep: ReadonlySet<Storage>): void {
  const scope = scopes.pop();
  if (!scope) throw new Error('closeScope: no scope is open');
  const outer = scopes[scopes.length - 1];
  for (const storage of scope) {
    if (keep.has(storage)) outer?.add(storage);
    else storage.backend.release?.(storage);
  }
}

/** Called by backends for each storage they make. */
export function recordStorage(storage: Storage): void {
  scopes[scopes.length - 1]?.add(storage);
}

/** Takes a storage out of every open scope: no tidy() will release it. */
export function unrecordStorage(storage: Storage): void {
  for (const scope of scopes) scope.delete(storage);
}

/** A copy of `a` on another backend (through the host). */
export function toBackend(a: NDArray, backend: Backend): NDArray {
  if (a.backend === backend) return a;
  return fromTypedArray(a.read(), a.shape, backend);
}

/** An array of `shape` holding `data`: adopted without a copy where the backend can, else uploaded. */
export function fromTypedArray(data: TypedArray, shape: Shape, backend: Backend = currentBackend): NDArray {
  if (sizeOf(shape) !== data.length) {
    throw new RangeError(
      `tensor: ${data.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const storage = backend.adopt ? backend.adopt(data) : backend.upload(data);
  return NDArray.contiguous(storage, shape);
}

/** An array of `shape` and `dtype` filled with `value`. */
export function full(shape: Shape, value: number, dtype: DType, backend: Backend = currentBackend): NDArray {
  const data = typedArrayFor(dtype, sizeOf(shape));
  if (value !== 0) data.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return fromTypedArray(data, shape, backend);
}

/**
 * Writes `source` (same shape and dtype) into the elements of `target`, in place, and counts the
 * write in the storage's version (see Storage.version). Refuses a target whose elements overlap
 * (an expanded view); a source that shares the target's storage is copied first, so the write
 * never reads values it has already overwritten.
 */
export function assign(target: NDArray, source: NDArray): void {
  const backend = sameBackend('assign', [target, source]);
  if (target.dtype !== source.dtype)
    throw new TypeError(`assign: dtypes ${target.dtype} and ${source.dtype} differ (convert first)`);
  if (!shapesEqual(target.shape, source.shape)) {
    throw new RangeError(
      `assign: source ${formatShape(source.shape)} does not match target ${formatShape(target.shape)}`,
    );
  }
  if (viewOverlaps(target.shape, target.strides)) {
    throw new RangeError(
      `assign: cannot write through a view whose elements overlap (shape ${formatShape(target.shape)}, strides ${formatShape(target.strides)}); write to a contiguous tensor instead`,
    );
  }
  if (target.size === 0) return;
  if (source.storage === target.storage) source = backend.copy(source, source.dtype);
  backend.assign(target, source);
  target.storage.version++;
}

/**
 * Whether host loops can run on these arrays' values: the one place that decides "is this on the
 * host?" (Backend.host), for fused optimizers, index checks and float64 accumulation alike.
 */
export function onHost(...arrays: NDArray[]): boolean {
  return arrays.every((a) => a.backend.host);
}

/**
 * The elements of a contiguous array in host memory as a view of its storage (no copy), for
 * host loops that read or update values in place; null for any other layout or backend. A loop
 * that writes through it must count the write: `array.storage.version++`.
 */
export function hostView(a: NDArray): TypedArray | null {
  if (!a.backend.host || !a.isContiguous()) return null;
  return (a.storage as HostStorage).data.subarray(a.offset, a.offset + a.size);
}

/** A copy of `a` converted to `dtype`. */
export function cast(a: NDArray, dtype: DType): NDArray {
  return a.dtype === dtype ? a : a.backend.copy(a, dtype);
}

function sameBackend(op: string, arrays: NDArray[]): Backend {
  const backend = arrays[0].backend;
  for (const a of arrays) {
    if (a.backend !== backend) {
      throw new TypeError(
        `${op}: operands live on different backends ('${backend.name}' and '${a.backend.name}')`,
      );
    }
  }
  return backend;
}

/** A unary elementwise op on `a`. */
export function unary(op: UnaryOp, a: NDArray): NDArray {
  return a.backend.unary(op, a, { shape: a.shape, dtype: a.dtype });
}

/** Elementwise binary op with broadcasting; both operands must already share a dtype. */
export function binary(op: BinaryOp, a: NDArray, b: NDArray): NDArray {
  if (a.dtype !== b.dtype)
    throw new TypeError(`${op}: dtypes ${a.dtype} and ${b.dtype} differ (promote first)`);
  const backend = sameBackend(op, [a, b]);
  if (!shapesEqual(a.shape, b.shape)) {
    const shape = broadcastShapes(op, a.shape, b.shape);
    a = a.expand(shape);
    b = b.expand(shape);
  }
  return backend.binary(op, a, b, { shape: a.shape, dtype: COMPARISONS.has(op) ? 'bool' : a.dtype });
}

/** Elementwise `condition ? a : b`, broadcasting the three. */
export function where(condition: NDArray, a: NDArray, b: NDArray): NDArray {
  const backend = sameBackend('where', [condition, a, b]);
  if (a.dtype !== b.dtype)
    throw new TypeError(`where: dtypes ${a.dtype} and ${b.dtype} differ (promote first)`);
  const shape = broadcastShapes('where', condition.shape, a.shape, b.shape);
  return backend.where(cast(condition, 'bool').expand(shape), a.expand(shape), b.expand(shape), {
    shape,
    dtype: a.dtype,
  });
}

/** The dtype a reduction produces: sums of bool count in int32, as torch.sum does (int64 there). */
const reducedDType = (op: ReduceOp, dtype: DType): DType =>
  op === 'sum' && dtype === 'bool' ? 'int32' : dtype;

/** Reduces over `dims` (undefined: all); keeps them as size-1 dims when keepdim. */
export function reduce(op: ReduceOp, a: NDArray, dims: readonly number[], keepdim: boolean): NDArray {
  if ((op === 'max' || op === 'min') && dims.some((d) => a.shape[d] === 0)) {
    throw new RangeError(
      `${op}: cannot reduce an empty dim of ${formatShape(a.shape)} (no identity for ${op})`,
    );
  }
  const dtype = reducedDType(op, a.dtype);
  const reduced = new Set(dims);
  const out =
    dims.length === 0
      ? a.backend.copy(a, dtype)
      : a.backend.reduce(
          op,
          a,
          [...reduced].sort((p, q) => p - q),
          {
            shape: a.shape.map((d, i) => (reduced.has(i) ? 1 : d)),
            dtype,
          },
        );
  if (keepdim) return out;
  return out.reshape(a.shape.filter((_, i) => !reduced.has(i)));
}

/** Indices of the largest or smallest values, over everything or along `dim`. */
export function argReduce(op: ArgReduceOp, a: NDArray, dim: number | undefined, keepdim: boolean): NDArray {
  if (dim === undefined) {
    if (a.size === 0) throw new RangeError(`${op}: cannot take the ${op} of an empty tensor`);
    const flat = argReduce(op, a.reshape([a.size]), 0, false);
    return keepdim ? flat.reshape(a.shape.map(() => 1)) : flat;
  }
  const d = normalizeDim(op, dim, a.ndim);
  if (a.ndim === 0) return full([], 0, 'int32', a.backend);
  if (a.shape[d] === 0)
    throw new RangeError(`${op}: cannot reduce the empty dim ${dim} of ${formatShape(a.shape)}`);
  const out = a.backend.argReduce(op, a, d, {
    shape: a.shape.map((size, i) => (i === d ? 1 : size)),
    dtype: 'int32',
  });
  return keepdim ? out : out.squeeze(d);
}

/** [B,M,K] @ [B,K,N]: the batch dims must already agree. */
export function matmul3d(a: NDArray, b: NDArray): NDArray {
  const backend = sameBackend('matmul', [a, b]);
  if (a.ndim !== 3 || b.ndim !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new RangeError(
      `matmul: expected [B,M,K] @ [B,K,N], got ${formatShape(a.shape)} @ ${formatShape(b.shape)}`,
    );
  }
  if (a.dtype !== b.dtype)
    throw new TypeError(`matmul: dtypes ${a.dtype} and ${b.dtype} differ (promote first)`);
  return backend.matmul(a, b, { shape: [a.shape[0], a.shape[1], b.shape[2]], dtype: a.dtype });
}

/** The arrays joined along `dim`. */
export function cat(arrays: readonly NDArray[], dim: number): NDArray {
  if (arrays.length === 0) throw new RangeError('cat: expected a non-empty list of tensors');
  const first = arrays[0];
  const d = normalizeDim('cat', dim, first.ndim);
  const backend = sameBackend('cat', [...arrays]);
  let total = 0;
  for (const a of arrays) {
    const matches = a.ndim === first.ndim && a.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!matches) {
      throw new RangeError(
        `cat: tensors must match in every dim but ${dim}: got ${arrays.map((x) => formatShape(x.shape)).join(', ')}`,
      );
    }
    if (a.dtype !== first.dtype)
      throw new TypeError(`cat: dtypes differ (${first.dtype} and ${a.dtype}); promote first`);
    total += a.shape[d];
  }
  const shape = [...first.shape];
  shape[d] = total;
  const out = NDArray.contiguous(backend.zeros(first.dtype, sizeOf(shape)), shape);
  let start = 0;
  for (const a of arrays) {
    if (a.shape[d] > 0) backend.assign(out.narrow(d, start, a.shape[d]), a);
    start += a.shape[d];
  }
  return out;
}

/**
 * Every index is checked before a backend uses it, here and only here: a bad index throws
 * instead of reading another element (or garbage on a GPU). A range the backend already knows
 * (the GPU tracks bounds from uploads and argmax) saves reading the values; otherwise they are
 * read once (a view of host memory, a read-back from a device) and the first bad one is named.
 */
function checkIndices(op: string, index: NDArray, size: number, dim: number): void {
  if (index.dtype !== 'int32') throw new TypeError(`${op}: index must be int32, got ${index.dtype}`);
  if (index.size === 0) return;
  const range = index.backend.knownRange?.(index);
  if (range && range.min >= 0 && range.max < size) return;
  const values = hostView(index) ?? index.read();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= size) {
      throw new RangeError(`${op}: index ${v} is out of bounds for dim ${dim} with size ${size}`);
    }
  }
}

function checkOneDimensional(op: string, index: NDArray): void {
  if (index.ndim !== 1)
    throw new RangeError(`${op}: index must be 1-D, got shape ${formatShape(index.shape)}`);
}

/** Values of `a` along `dim` at `index` (indices are checked). */
export function gather(a: NDArray, dim: number, index: NDArray): NDArray {
  const backend = sameBackend('gather', [a, index]);
  checkIndices('gather', index, a.shape[dim], dim);
  return backend.gather(a, dim, index, { shape: index.shape, dtype: a.dtype });
}

/** An array of `shape`, zeros with `source` added at `index` along `dim` (gather's adjoint). */
export function scatterAdd(shape: Shape, dim: number, index: NDArray, source: NDArray): NDArray {
  const backend = sameBackend('scatterAdd', [index, source]);
  checkIndices('scatterAdd', index, shape[dim], dim);
  return backend.scatterAdd(dim, index, source, { shape, dtype: source.dtype });
}

/** Slices of `a` along `dim` at the indices of a 1-D `index`. */
export function indexSelect(a: NDArray, dim: number, index: NDArray): NDArray {
  const backend = sameBackend('indexSelect', [a, index]);
  checkOneDimensional('indexSelect', index);
  checkIndices('indexSelect', index, a.shape[dim], dim);
  const shape = a.shape.map((d, i) => (i === dim ? index.size : d));
  return backend.indexSelect(a, dim, index, { shape, dtype: a.dtype });
}

/** An array of `shape`, zeros with `source`'s slices added at `index` along `dim` (indexSelect's adjoint). */
export function indexAdd(shape: Shape, dim: number, index: NDArray, source: NDArray): NDArray {
  const backend = sameBackend('indexAdd', [index, source]);
  checkOneDimensional('indexAdd', index);
  checkIndices('indexAdd', index, shape[dim], dim);
  return backend.indexAdd(dim, index, source, { shape, dtype: source.dtype });
}

/** Checks a window against a [N,C,H,W] input and returns the output's spatial size. */
export function windowOutput(op: string, shape: readonly number[], window: Window): [number, number] {
  if (shape.length !== 4)
    throw new RangeError(`${op}: expected a 4-D input [N,C,H,W], got ${formatShape(shape)}`);
  const sizes = [0, 1].map((d) => {
    const [k, s, p, dl] = [window.kernel[d], window.stride[d], window.padding[d], window.dilation[d]];
    if (!(k >= 1 && s >= 1 && p >= 0 && dl >= 1) || ![k, s, p, dl].every(Number.isInteger)) {
      throw new RangeError(
        `${op}: kernel ${k}, stride ${s}, padding ${p}, dilation ${dl} must be integers (kernel, stride, dilation >= 1; padding >= 0)`,
      );
    }
    const out = outputSize(shape[2 + d], k, s, p, dl);
    if (out < 1) {
      throw new RangeError(
        `${op}: input ${formatShape(shape)} is too small for kernel ${formatShape(window.kernel)} with padding ${formatShape(window.padding)} and dilation ${formatShape(window.dilation)}`,
      );
    }
    return out;
  });
  return [sizes[0], sizes[1]];
}

/** The columns unfold makes from a [N,C,H,W] input: [N, C*kh*kw, outH*outW]. */
function columnsOutput(op: string, shape: readonly number[], window: Window, dtype: DType): Output {
  const [outH, outW] = windowOutput(op, shape, window);
  return { shape: [shape[0], shape[1] * window.kernel[0] * window.kernel[1], outH * outW], dtype };
}

/** im2col: the sliding windows of an [N, C, H, W] array as columns, padded with `padValue`. */
export function unfold(x: NDArray, window: Window, padValue = 0): NDArray {
  return x.backend.unfold(x, window, padValue, columnsOutput('unfold', x.shape, window, x.dtype));
}

/** col2im, unfold's adjoint: columns summed back into an array of `shape`. */
export function fold(cols: NDArray, shape: readonly number[], window: Window): NDArray {
  const expected = columnsOutput('fold', shape, window, cols.dtype).shape;
  if (!shapesEqual(cols.shape, expected)) {
    throw new RangeError(
      `fold: columns have shape ${formatShape(cols.shape)}, expected ${formatShape(expected)} for output ${formatShape(shape)}`,
    );
  }
  return cols.backend.fold(cols, window, { shape, dtype: cols.dtype });
}

/**
 * The first window, per spatial dim, that holds no input position, or null when every one of the
 * `outputSize` windows holds one (dilation can make a window step over a small input entirely).
 */
export function emptyWindow(
  shape: readonly number[],
  window: Window,
  outputSize: readonly [number, number],
): { dim: number; index: number } | null {
  for (const d of [0, 1]) {
    const [size, k, s, p, dl] = [
      shape[2 + d],
      window.kernel[d],
      window.stride[d],
      window.padding[d],
      window.dilation[d],
    ];
    for (let o = 0; o < outputSize[d]; o++) {
      let inside = false;
      for (let i = 0; i < k && !inside; i++) inside = o * s - p + i * dl >= 0 && o * s - p + i * dl < size;
      if (!inside) return { dim: 2 + d, index: o };
    }
  }
  return null;
}

/**
 * Max pooling's argmax per window (see Backend.maxPoolIndices): int32 [N, C, outH, outW] of flat
 * indices into each [H, W] plane. `outputSize` may exceed the floor rule's by ceil mode's extra
 * window, but every window must hold at least one input position (see emptyWindow).
 */
export function maxPoolIndices(x: NDArray, window: Window, outputSize: readonly [number, number]): NDArray {
  const op = 'maxPoolIndices';
  assertFloat(op, x.dtype);
  const floor = windowOutput(op, x.shape, window);
  for (const d of [0, 1]) {
    const out = outputSize[d];
    if (!Number.isInteger(out) || out < floor[d] || out > floor[d] + 1) {
      throw new RangeError(
        `${op}: output size ${formatShape(outputSize)} must be the window count ${formatShape(floor)} or one more (ceil mode) in each dim`,
      );
    }
  }
  const empty = emptyWindow(x.shape, window, outputSize);
  if (empty) {
    throw new RangeError(
      `${op}: window ${empty.index} along dim ${empty.dim} of input ${formatShape(x.shape)} covers no input position (kernel ${formatShape(window.kernel)}, stride ${formatShape(window.stride)}, padding ${formatShape(window.padding)}, dilation ${formatShape(window.dilation)})`,
    );
  }
  const out: Output = { shape: [x.shape[0], x.shape[1], outputSize[0], outputSize[1]], dtype: 'int32' };
  return x.backend.maxPoolIndices(x, window, out);
}

// Random arrays are drawn on the host from the seeded generator, so every backend sees the same
// numbers for the same seed.

/** Uniform samples in [0, 1) from `generator`. */
export function rand(
  shape: Shape,
  dtype: DType = 'float32',
  generator: Generator = defaultGenerator,
): NDArray {
  assertFloat('rand', dtype);
  const data = typedArrayFor(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.uniform();
  return fromTypedArray(data, shape);
}

/** Standard normal samples from `generator`. */
export function randn(
  shape: Shape,
  dtype: DType = 'float32',
  generator: Generator = defaultGenerator,
): NDArray {
  assertFloat('randn', dtype);
  const data = typedArrayFor(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.normal();
  return fromTypedArray(data, shape);
}

/** Uniform integers in [low, high) from `generator`. */
export function randint(
  low: number,
  high: number,
  shape: Shape,
  generator: Generator = defaultGenerator,
): NDArray {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: expected integers low < high, got low=${low}, high=${high}`);
  }
  const data = new Int32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = generator.integer(low, high);
  return fromTypedArray(data, shape);
}

function assertFloat(op: string, dtype: DType): void {
  if (!isFloating(dtype)) throw new TypeError(`${op}: dtype must be float32 or float64, got ${dtype}`);
}
