import {
  assertDType,
  assertValidShape,
  type Backend,
  type DType,
  defaultGenerator,
  dtypeOfTypedArray,
  formatShape,
  type Generator,
  getBackend,
  ops,
  type Shape,
  sizeOf,
  type TypedArray,
  typedArrayFor,
} from '@agrad/tensor';
import { type NestedArray, Tensor } from './tensor.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  /** Draw from this generator instead of the default one (seeded by manualSeed). */
  generator?: Generator;
}

function finish(tensor: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) tensor.requiresGrad = true;
  return tensor;
}

function dtypeOption(op: string, options: TensorOptions, fallback: DType): DType {
  return options.dtype === undefined ? fallback : assertDType(op, options.dtype);
}

/** Shape of a nested array, checking that it is rectangular. */
function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  const check = (value: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(value))
        throw new RangeError(`tensor: ragged nested array: unexpected array at depth ${depth}`);
      if (typeof value !== 'number' && typeof value !== 'boolean') {
        throw new TypeError(`tensor: expected numbers or booleans, got ${typeof value} (${String(value)})`);
      }
      return;
    }
    if (!Array.isArray(value) || value.length !== shape[depth]) {
      throw new RangeError(
        `tensor: ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${Array.isArray(value) ? value.length : 'a scalar'}`,
      );
    }
    for (const v of value) check(v, depth + 1);
  };
  check(data, 0);
  return shape;
}

function flattenNested(data: NestedArray): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (value: NestedArray) => {
    if (Array.isArray(value)) for (const v of value) walk(v);
    else out.push(value);
  };
  walk(data);
  return out;
}

function firstScalar(data: NestedArray): number | boolean | undefined {
  let v: NestedArray = data;
  while (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    v = v[0];
  }
  return v;
}

/**
 * Creates a tensor from a number, nested arrays, or a flat array / typed array with `shape`.
 * Numbers default to float32 (typed arrays keep their own dtype; booleans make a bool tensor).
 *
 * @example
 * tensor([[1, 2], [3, 4]]);                                  // float32 [2,2]
 * tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] }); // float64 [2,2]
 * tensor(3, { requiresGrad: true });                         // 0-d
 */
export function tensor(
  data: NestedArray | TypedArray | readonly number[],
  options: TensorOptions & { shape?: Shape } = {},
): Tensor {
  let flat: ArrayLike<number | boolean>;
  let shape: number[];
  let inferred: DType;
  if (ArrayBuffer.isView(data)) {
    flat = data as TypedArray;
    inferred = dtypeOfTypedArray(data as TypedArray);
    shape = options.shape ? [...options.shape] : [flat.length];
  } else if (options.shape) {
    flat = flattenNested(data as NestedArray);
    shape = [...options.shape];
    inferred = typeof flat[0] === 'boolean' ? 'bool' : 'float32';
  } else {
    shape = nestedShape(data as NestedArray);
    flat = flattenNested(data as NestedArray);
    inferred = typeof firstScalar(data as NestedArray) === 'boolean' ? 'bool' : 'float32';
  }
  assertValidShape('tensor', shape);
  if (sizeOf(shape) !== flat.length) {
    throw new RangeError(
      `tensor: ${flat.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const dtype = dtypeOption('tensor', options, inferred);
  const values = typedArrayFor(dtype, flat.length);
  if (ArrayBuffer.isView(flat) && dtype !== 'bool') values.set(flat as TypedArray);
  else for (let i = 0; i < flat.length; i++) values[i] = Number(flat[i]);
  return finish(new Tensor(ops.fromTypedArray(values, shape)), options);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  assertValidShape('full', shape);
  return finish(new Tensor(ops.full(shape, value, dtypeOption('full', options, 'float32'))), options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

// The *Like functions make their tensor on t's backend, as torch's zeros_like keeps t's device.
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return fullLike(t, 0, options);
}

export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return fullLike(t, 1, options);
}

export function fullLike(t: Tensor, value: number, options: TensorOptions = {}): Tensor {
  const dtype = dtypeOption('fullLike', options, t.dtype);
  return finish(new Tensor(ops.full(t.shape, value, dtype, t.array.backend)), options);
}

/**
 * Values start, start+step, ... below end (torch.arange). Integer arguments give int32,
 * as PyTorch gives an integer dtype; otherwise float32.
 */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step))
    throw new RangeError(`arange: step must be finite and non-zero, got ${step}`);
  if ((end - start) / step < 0) {
    throw new RangeError(`arange: step ${step} goes away from end (start=${start}, end=${end})`);
  }
  const count = Math.max(0, Math.ceil((end - start) / step));
  const integral = [start, end, step].every(Number.isInteger);
  const dtype = dtypeOption('arange', options, integral ? 'int32' : 'float32');
  const values = typedArrayFor(dtype, count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  return finish(new Tensor(ops.fromTypedArray(values, [count])), options);
}

/** `steps` evenly spaced values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const dtype = dtypeOption('linspace', options, 'float32');
  const values = typedArrayFor(dtype, steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends so the last value is exactly `end`, as torch does.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return finish(new Tensor(ops.fromTypedArray(values, [steps])), options);
}

/** Identity matrix [n, m] (m defaults to n). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  assertValidShape('eye', [n, m]);
  const dtype = dtypeOption('eye', options, 'float32');
  const values = typedArrayFor(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return finish(new Tensor(ops.fromTypedArray(values, [n, m])), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  assertValidShape('rand', shape);
  const dtype = dtypeOption('rand', options, 'float32');
  return finish(new Tensor(ops.rand(shape, dtype, options.generator ?? defaultGenerator)), options);
}

/** Standard normal samples. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  assertValidShape('randn', shape);
  const dtype = dtypeOption('randn', options, 'float32');
  return finish(new Tensor(ops.randn(shape, dtype, options.generator ?? defaultGenerator)), options);
}

/** Uniform integers in [low, high), int32. */
export function randint(
  low: number,
  high: number,
  shape: Shape,
  options: { generator?: Generator } = {},
): Tensor {
  assertValidShape('randint', shape);
  return new Tensor(ops.randint(low, high, shape, options.generator ?? defaultGenerator));
}

/**
 * A random permutation of 0..n-1 (torch.randperm), int32, drawn from the seeded generator
 * (Fisher-Yates), so it is reproducible after manualSeed.
 *
 * @example
 * manualSeed(0);
 * const order = randperm(5);   // the same five indices after every manualSeed(0)
 */
export function randperm(n: number, options: { generator?: Generator } = {}): Tensor {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1)
    throw new RangeError(`randperm: n must be an integer in [0, 2^31 - 1], got ${String(n)}`);
  const generator = options.generator ?? defaultGenerator;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.integer(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return new Tensor(ops.fromTypedArray(order, [n]));
}

/**
 * Wraps a typed array as a tensor without copying (the tensor owns it from now on). For code
 * that computes values in its own loops, such as fused optimizer kernels.
 */
export function fromTypedArray(data: TypedArray, shape: Shape, backend: Backend = getBackend()): Tensor {
  return new Tensor(ops.fromTypedArray(data, shape, backend));
}

/** A 0-d tensor holding a scalar operand of a binary op (on the other operand's backend). */
export function scalarTensor(value: number, dtype: DType, backend: Backend = getBackend()): Tensor {
  return new Tensor(ops.full([], value, dtype, backend));
}
