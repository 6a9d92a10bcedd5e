import {
  assertDType,
  type Backend,
  checkOptions,
  checkValue,
  DTYPES,
  type DType,
  defaultGenerator,
  describeValue,
  dtypeOfTypedArray,
  formatShape,
  Generator,
  getBackend,
  ops,
  rules,
  type Shape,
  sizeOf,
  type TypedArray,
  typedArrayFor,
} from '@agrad/tensor';
import { wrap } from './engine.js';
import type { NestedArray, Tensor } from './tensor.js';

/** Options of the creation functions: the dtype (default float32) and whether the result requires gradients. */
export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

/** Creation options plus the generator to draw from (the default generator, seeded by manualSeed, if absent). */
export interface RandomOptions extends TensorOptions {
  /** Draw from this generator instead of the default one (seeded by manualSeed). */
  generator?: Generator;
}

const dtypeRule = rules.oneOf(...DTYPES);
const tensorOptions = { dtype: dtypeRule, requiresGrad: rules.boolean };
const randomOptions = { ...tensorOptions, generator: rules.instanceOf(Generator, 'Generator') };

function finish(tensor: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) tensor.requiresGrad = true;
  return tensor;
}

function dtypeOption(op: string, options: TensorOptions, fallback: DType): DType {
  return options.dtype === undefined ? fallback : assertDType(op, options.dtype);
}

/** The most elements one tensor may hold: typed arrays index with 32-bit lengths here. */
const MAX_ELEMENTS = 2 ** 31 - 1;
const elementCount = rules.inRange(0, MAX_ELEMENTS, { integer: true });

/** A shape: an array of sizes (non-negative integers) whose product a typed array can hold. */
const shapeRule = (value: unknown) =>
  Array.isArray(value) &&
  value.every((d) => elementCount(d) === null) &&
  value.reduce((p: number, d: number) => p * d, 1) <= MAX_ELEMENTS
    ? null
    : `an array of sizes (integers >= 0) with at most ${MAX_ELEMENTS} elements in all`;

/** A value to fill with: any number, infinities and NaN included (masks fill with -inf). */
const fillValue = (value: unknown) =>
  typeof value === 'number' || typeof value === 'boolean' ? null : 'a number';

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
  checkOptions('tensor', options, { ...tensorOptions, shape: shapeRule });
  if (
    typeof data !== 'number' &&
    typeof data !== 'boolean' &&
    !Array.isArray(data) &&
    !ArrayBuffer.isView(data)
  )
    throw new TypeError(
      `tensor: data must be a number, a boolean, nested arrays or a typed array, got ${describeValue(data)}`,
    );
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
  checkValue('tensor', 'shape', shape, shapeRule);
  if (sizeOf(shape) !== flat.length) {
    throw new RangeError(
      `tensor: ${flat.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  const dtype = dtypeOption('tensor', options, inferred);
  const values = typedArrayFor(dtype, flat.length);
  if (ArrayBuffer.isView(flat) && dtype !== 'bool') values.set(flat as TypedArray);
  else for (let i = 0; i < flat.length; i++) values[i] = Number(flat[i]);
  return finish(wrap(ops.fromTypedArray(values, shape)), options);
}

/** A tensor of `shape` filled with `value` (torch.full). */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  checkOptions('full', options, tensorOptions);
  checkValue('full', 'shape', shape, shapeRule);
  checkValue('full', 'value', value, fillValue);
  return finish(wrap(ops.full(shape, value, dtypeOption('full', options, 'float32'))), options);
}

/** A tensor of `shape` filled with 0 (torch.zeros). */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  checkOptions('zeros', options, tensorOptions);
  checkValue('zeros', 'shape', shape, shapeRule);
  return full(shape, 0, options);
}

/** A tensor of `shape` filled with 1 (torch.ones). */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  checkOptions('ones', options, tensorOptions);
  checkValue('ones', 'shape', shape, shapeRule);
  return full(shape, 1, options);
}

// The *Like functions make their tensor on t's backend, as torch's zeros_like keeps t's device.
/** Zeros with `t`'s shape, dtype and backend unless the options say otherwise. */
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return fullLike(t, 0, options);
}

/** Ones with `t`'s shape, dtype and backend unless the options say otherwise. */
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor {
  return fullLike(t, 1, options);
}

/** `value` everywhere, with `t`'s shape, dtype and backend unless the options say otherwise. */
export function fullLike(t: Tensor, value: number, options: TensorOptions = {}): Tensor {
  checkOptions('fullLike', options, tensorOptions);
  checkValue('fullLike', 'value', value, fillValue);
  const dtype = dtypeOption('fullLike', options, t.dtype);
  return finish(wrap(ops.full(t.shape, value, dtype, t.array.backend)), options);
}

/**
 * Values start, start+step, ... below end (torch.arange). Integer arguments give int32,
 * as PyTorch gives an integer dtype; otherwise float32.
 */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  checkOptions('arange', options, tensorOptions);
  if (end === undefined) [start, end] = [0, start];
  checkValue('arange', 'start', start, rules.finite);
  checkValue('arange', 'end', end, rules.finite);
  if (step === 0 || typeof step !== 'number' || !Number.isFinite(step))
    throw new RangeError(`arange: step must be finite and non-zero, got ${describeValue(step)}`);
  if ((end - start) / step < 0) {
    throw new RangeError(`arange: step ${step} goes away from end (start=${start}, end=${end})`);
  }
  const count = Math.max(0, Math.ceil((end - start) / step));
  if (count > MAX_ELEMENTS)
    throw new RangeError(`arange: ${count} elements is more than the ${MAX_ELEMENTS} a tensor may hold`);
  const integral = [start, end, step].every(Number.isInteger);
  const dtype = dtypeOption('arange', options, integral ? 'int32' : 'float32');
  const values = typedArrayFor(dtype, count);
  for (let i = 0; i < count; i++) values[i] = start + i * step;
  return finish(wrap(ops.fromTypedArray(values, [count])), options);
}

/** `steps` evenly spaced values from start to end inclusive (torch.linspace). */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  checkOptions('linspace', options, tensorOptions);
  checkValue('linspace', 'start', start, rules.finite);
  checkValue('linspace', 'end', end, rules.finite);
  checkValue('linspace', 'steps', steps, elementCount);
  const dtype = dtypeOption('linspace', options, 'float32');
  const values = typedArrayFor(dtype, steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends so the last value is exactly `end`, as torch does.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  return finish(wrap(ops.fromTypedArray(values, [steps])), options);
}

/** Identity matrix [n, m] (m defaults to n). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  checkOptions('eye', options, tensorOptions);
  checkValue('eye', 'shape', [n, m], shapeRule);
  const dtype = dtypeOption('eye', options, 'float32');
  const values = typedArrayFor(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return finish(wrap(ops.fromTypedArray(values, [n, m])), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  checkOptions('rand', options, randomOptions);
  checkValue('rand', 'shape', shape, shapeRule);
  const dtype = dtypeOption('rand', options, 'float32');
  return finish(wrap(ops.rand(shape, dtype, options.generator ?? defaultGenerator)), options);
}

/** Standard normal samples. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkOptions('randn', options, randomOptions);
  checkValue('randn', 'shape', shape, shapeRule);
  const dtype = dtypeOption('randn', options, 'float32');
  return finish(wrap(ops.randn(shape, dtype, options.generator ?? defaultGenerator)), options);
}

/** Uniform integers in [low, high), int32. */
export function randint(
  low: number,
  high: number,
  shape: Shape,
  options: { generator?: Generator } = {},
): Tensor {
  checkOptions('randint', options, { generator: randomOptions.generator });
  checkValue('randint', 'shape', shape, shapeRule);
  return wrap(ops.randint(low, high, shape, options.generator ?? defaultGenerator));
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
  checkOptions('randperm', options, { generator: randomOptions.generator });
  checkValue('randperm', 'n', n, elementCount);
  const generator = options.generator ?? defaultGenerator;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.integer(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return wrap(ops.fromTypedArray(order, [n]));
}

/**
 * Wraps a typed array as a tensor without copying (the tensor owns it from now on). For code
 * that computes values in its own loops, such as fused optimizer kernels.
 */
export function fromTypedArray(data: TypedArray, shape: Shape, backend: Backend = getBackend()): Tensor {
  return wrap(ops.fromTypedArray(data, shape, backend));
}

/** A 0-d tensor holding a scalar operand of a binary op (on the other operand's backend). */
export function scalarTensor(value: number, dtype: DType, backend: Backend = getBackend()): Tensor {
  return wrap(ops.full([], value, dtype, backend));
}
