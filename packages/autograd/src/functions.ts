import {
  type ArithmeticOp,
  broadcastShapes,
  type ComparisonOp,
  checkOptions,
  checkValue,
  formatShape,
  isFloating,
  normalizeDim,
  normalizeDims,
  ops,
  promoteTypes,
  promoteWithScalar,
  rules,
  shapesEqual,
  sizeOf,
  type Window,
} from '@agrad/tensor';
import { onesLike, scalarTensor, zerosLike } from './creation.js';
import { recordNonDifferentiable, wrap } from './engine.js';
import * as binaryPrimitives from './primitives/binary.js';
import * as indexing from './primitives/indexing.js';
import { matmul3d } from './primitives/matmul.js';
import * as movement from './primitives/movement.js';
import { amax as amaxPrimitive, sum as sumPrimitive } from './primitives/reduce.js';
import * as unaryPrimitives from './primitives/unary.js';
import { where as wherePrimitive } from './primitives/where.js';
import type { Dims, Tensor, TensorLike } from './tensor.js';
import { traceAs } from './trace.js';

/**
 * Everything here is composed from the primitives in ./primitives and defines no gradient of its
 * own: autograd differentiates the composition. This file also does the bookkeeping the
 * primitives rely on: dtype promotion (an explicit cast) and broadcasting (an explicit expand).
 */

export { fullLike as fullOf } from './creation.js';
export { cast, toBackend } from './primitives/movement.js';

/**
 * A copy with the same values, its gradient passed through: x * 1 for numbers (exact, so no
 * primitive is needed), a plain copy for bools (which carry no gradient).
 */
export function clone(x: Tensor): Tensor {
  if (x.dtype === 'bool')
    return recordNonDifferentiable('clone', [x], x.array.backend.copy(x.array, x.dtype));
  return binaryPrimitives.mul(x, movement.expand(scalarTensor(1, x.dtype, x.array.backend), x.shape));
}
export { onesLike, zerosLike };

// ---------------------------------------------------------------------------------------------
// Promotion and broadcasting

/** Both operands as tensors of one dtype (PyTorch's promotion rules, scalars are "weak"). */
function promote(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number')
    throw new TypeError(`${op}: at least one operand must be a tensor`);
  if (typeof b === 'number') {
    const at = a as Tensor;
    const dtype = promoteWithScalar(at.dtype, b);
    return [movement.cast(at, dtype), scalarTensor(b, dtype, at.array.backend)];
  }
  if (typeof a === 'number') {
    const dtype = promoteWithScalar(b.dtype, a);
    return [scalarTensor(a, dtype, b.array.backend), movement.cast(b, dtype)];
  }
  const dtype = promoteTypes(a.dtype, b.dtype);
  return [movement.cast(a, dtype), movement.cast(b, dtype)];
}

/** Expands every operand to the common broadcast shape (a no-op for operands already there). */
function broadcast(op: string, ...tensors: Tensor[]): Tensor[] {
  const shape = broadcastShapes(op, ...tensors.map((t) => t.shape));
  return tensors.map((t) => (shapesEqual(t.shape, shape) ? t : movement.expand(t, shape)));
}

function arithmetic(op: ArithmeticOp, a: TensorLike, b: TensorLike): Tensor {
  let [x, y] = promote(op, a, b);
  // Division and fractional powers of integers are float results, as in PyTorch.
  if (op === 'div' && !isFloating(x.dtype))
    [x, y] = [movement.cast(x, 'float32'), movement.cast(y, 'float32')];
  if (op === 'pow' && x.dtype === 'bool') [x, y] = [movement.cast(x, 'int32'), movement.cast(y, 'int32')];
  if (op !== 'pow' && op !== 'maximum' && op !== 'minimum' && x.dtype === 'bool') {
    [x, y] = [movement.cast(x, 'int32'), movement.cast(y, 'int32')];
  }
  // sub and minimum have no primitive of their own: their gradients follow from add and maximum.
  // Negating before broadcasting touches each operand's own elements, not the broadcast shape.
  if (op === 'sub') {
    const [bx, by] = broadcast(op, x, negate(y));
    return binaryPrimitives.add(bx, by);
  }
  if (op === 'minimum' && x.dtype !== 'bool') {
    const [bx, by] = broadcast(op, negate(x), negate(y));
    return negate(binaryPrimitives.maximum(bx, by));
  }
  const [bx, by] = broadcast(op, x, y);
  // Bools carry no gradient (and negating one would change its dtype): minimum is a plain kernel.
  if (op === 'minimum')
    return recordNonDifferentiable('minimum', [bx, by], ops.binary('minimum', bx.array, by.array));
  return binaryPrimitives[op as Exclude<ArithmeticOp, 'sub' | 'minimum' | 'reluBackward'>](bx, by);
}

/** -x as x * -1 (exact in IEEE arithmetic, -0 and NaN included): neg needs no primitive. */
function negate(x: Tensor): Tensor {
  return binaryPrimitives.mul(x, movement.expand(scalarTensor(-1, x.dtype, x.array.backend), x.shape));
}

/** Elementwise `a + b`, broadcasting and promoting dtypes as torch.add. */
export const add = (a: TensorLike, b: TensorLike) => arithmetic('add', a, b);
/** Elementwise `a - b`, broadcasting as torch.sub. */
export const sub = (a: TensorLike, b: TensorLike) => arithmetic('sub', a, b);
/** Elementwise `a * b`, broadcasting as torch.mul. */
export const mul = (a: TensorLike, b: TensorLike) => arithmetic('mul', a, b);
/** Elementwise true division `a / b` (integers divide to float), as torch.div. */
export const div = (a: TensorLike, b: TensorLike) => arithmetic('div', a, b);
/** Elementwise `a ** b`, as torch.pow. */
export const pow = (a: TensorLike, b: TensorLike) => arithmetic('pow', a, b);
/** Elementwise larger value (ties share the gradient). */
export const maximum = (a: TensorLike, b: TensorLike) => arithmetic('maximum', a, b);
/** Elementwise smaller value (ties share the gradient). */
export const minimum = (a: TensorLike, b: TensorLike) => arithmetic('minimum', a, b);

function compare(op: ComparisonOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = promote(op, a, b);
  return recordNonDifferentiable(op, [x, y], ops.binary(op, x.array, y.array));
}

/** Elementwise `a == b` as a bool tensor. */
export const eq = (a: TensorLike, b: TensorLike) => compare('eq', a, b);
/** Elementwise `a != b` as a bool tensor. */
export const ne = (a: TensorLike, b: TensorLike) => compare('ne', a, b);
/** Elementwise `a < b` as a bool tensor. */
export const lt = (a: TensorLike, b: TensorLike) => compare('lt', a, b);
/** Elementwise `a <= b` as a bool tensor. */
export const le = (a: TensorLike, b: TensorLike) => compare('le', a, b);
/** Elementwise `a > b` as a bool tensor. */
export const gt = (a: TensorLike, b: TensorLike) => compare('gt', a, b);
/** Elementwise `a >= b` as a bool tensor. */
export const ge = (a: TensorLike, b: TensorLike) => compare('ge', a, b);
/** Elementwise logical and of two bool tensors. */
export const logicalAnd = (a: Tensor, b: Tensor) => compare('and', a.to('bool'), b.to('bool'));
/** Elementwise logical or of two bool tensors. */
export const logicalOr = (a: Tensor, b: Tensor) => compare('or', a.to('bool'), b.to('bool'));
/** Elementwise logical not of a bool tensor. */
export const logicalNot = (a: Tensor) => {
  const condition = a.to('bool');
  return recordNonDifferentiable('not', [condition], ops.unary('not', condition.array));
};

/** where(condition, a, b): a where condition is true, else b; broadcasts all three. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = promote('where', a, b);
  const [c, bx, by] = broadcast('where', condition.to('bool'), x, y);
  return wherePrimitive(c, bx, by);
}

// ---------------------------------------------------------------------------------------------
// Elementwise functions

/** Float-only math on an integer tensor computes in float32, as PyTorch does. */
function floating(x: Tensor): Tensor {
  return isFloating(x.dtype) ? x : movement.cast(x, 'float32');
}

/** Elementwise `-this`. */
export const neg = (x: Tensor) => negate(x.dtype === 'bool' ? movement.cast(x, 'int32') : x);

/** The sign, -1, 0 or 1 (NaN stays NaN): a constant, its derivative is zero wherever it exists. */
export const sign = (x: Tensor) => recordNonDifferentiable('sign', [x], ops.unary('sign', x.array));

/**
 * |x| as x * sign(x), so its gradient is sign(x) (0 at 0, as PyTorch) with no primitive of its
 * own; adding 0 turns the -0 that -0 * 0 gives into the +0 |-0| is.
 */
export const abs = (x: Tensor) => (x.dtype === 'bool' ? x : binaryPrimitives.mul(x, sign(x)).add(0));
/** Elementwise e to the power of each element. */
export const exp = (x: Tensor) => unaryPrimitives.exp(floating(x));
/** Elementwise natural logarithm. */
export const log = (x: Tensor) => unaryPrimitives.log(floating(x));
/** Elementwise `log(1 + x)`, accurate for small x. */
export const log1p = (x: Tensor) => unaryPrimitives.log1p(floating(x));
/** Elementwise square root. */
export const sqrt = (x: Tensor) => unaryPrimitives.sqrt(floating(x));
/** Elementwise sine. */
export const sin = (x: Tensor) => unaryPrimitives.sin(floating(x));
/** Elementwise cosine. */
export const cos = (x: Tensor) => unaryPrimitives.cos(floating(x));
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unaryPrimitives.tanh(floating(x));
/** Elementwise logistic sigmoid `1 / (1 + exp(-x))`. */
export const sigmoid = (x: Tensor) => unaryPrimitives.sigmoid(floating(x));
/** Elementwise error function. */
export const erf = (x: Tensor) => unaryPrimitives.erf(floating(x));

/** max(x, 0); the gradient at 0 is 0, as in PyTorch. A primitive: it is on every hot path. */
export const relu = (x: Tensor) => unaryPrimitives.relu(x.dtype === 'bool' ? movement.cast(x, 'int32') : x);

/** x for x > 0, negativeSlope * x otherwise. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  checkValue('leakyRelu', 'negativeSlope', negativeSlope, rules.finite);
  return where(x.gt(0), x, x.mul(negativeSlope));
}

/** Exact GELU (PyTorch's default): x * Phi(x) = x/2 (1 + erf(x / sqrt 2)). */
export function gelu(x: Tensor): Tensor {
  return x.mul(0.5).mul(erf(x.mul(Math.SQRT1_2)).add(1));
}

/** SiLU / swish: x * sigmoid(x). */
export function silu(x: Tensor): Tensor {
  return x.mul(sigmoid(x));
}

/**
 * log(1 + e^x), written as relu(x) + log1p(e^-|x|) so e^x never overflows, with relu spelled
 * (x + |x|)/2 so the gradient at 0 comes out as sigmoid(0) = 1/2.
 */
export function softplus(x: Tensor): Tensor {
  const ax = abs(x);
  return x.add(ax).mul(0.5).add(ax.neg().exp().log1p());
}

/** Limits values to [min, max]; the gradient is 1 inside (bounds included) and 0 outside. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const bound = rules.nullable((v) => (typeof v === 'number' && !Number.isNaN(v) ? null : 'a number'));
  checkValue('clamp', 'min', min ?? null, bound);
  checkValue('clamp', 'max', max ?? null, bound);
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new RangeError('clamp: at least one of min and max must be given');
  }
  let out = x;
  if (min !== undefined && min !== null) out = where(out.lt(min), min, out);
  if (max !== undefined && max !== null) out = where(out.gt(max), max, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reductions

function squeezeDims(x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  if (keepdim) return x;
  return movement.reshape(
    x,
    x.shape.filter((_, i) => !dims.includes(i)),
  );
}

/** Sum over `dim` (one or several; all by default), keeping reduced dims as size 1 with `keepdim`. */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normalizeDims('sum', dim, x.ndim);
  const source = x.dtype === 'bool' ? movement.cast(x, 'int32') : x;
  if (dims.length === 0) return source === x ? clone(x) : source;
  return squeezeDims(sumPrimitive(source, dims), dims, keepdim);
}

function reducedCount(x: Tensor, dims: readonly number[]): number {
  return dims.reduce((n, d) => n * x.shape[d], 1);
}

/** Mean over `dim` (all by default). */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normalizeDims('mean', dim, x.ndim);
  return sum(floating(x), dims, keepdim).div(reducedCount(x, dims));
}

/** Largest value over dims (all by default); ties share the gradient evenly, as torch.amax. */
export function amax(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  return extreme('amax', amaxPrimitive, x, dim, keepdim);
}

/** Smallest value over dims (all by default); ties share the gradient evenly, as torch.amin. */
export function amin(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  // min(x) = -max(-x): amin has no primitive of its own.
  return extreme('amin', (t, dims) => neg(amaxPrimitive(neg(t), dims)), x, dim, keepdim);
}

function extreme(
  op: string,
  primitive: (x: Tensor, dims: readonly number[]) => Tensor,
  x: Tensor,
  dim: Dims | undefined,
  keepdim: boolean,
): Tensor {
  const dims = normalizeDims(op, dim, x.ndim);
  if (x.size === 0)
    throw new RangeError(`${op}: cannot reduce an empty tensor of shape ${formatShape(x.shape)}`);
  return dims.length === 0 ? x : squeezeDims(primitive(x, dims), dims, keepdim);
}

/**
 * torch.max(x, dim)'s result: the extreme of each slice and the index it was taken from, as a
 * pair that also names its parts: `const [values, indices] = x.max(1)` or `x.max(1).values`.
 */
export type ValuesAndIndices = [Tensor, Tensor] & { readonly values: Tensor; readonly indices: Tensor };

function valuesAndIndices(values: Tensor, indices: Tensor): ValuesAndIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}

/**
 * As torch.max: without a dim, the largest element (ties share the gradient, as torch.amax);
 * with one dim, `[values, indices]` of each slice's first largest element, and the gradient goes
 * to that element only. NaN counts as the largest. For several dims use amax.
 */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesAndIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesAndIndices {
  return dim === undefined ? amax(x) : selectExtreme('max', 'argmax', x, dim, keepdim);
}

/** As torch.min: the smallest element, or `[values, indices]` along one dim (see max). */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesAndIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesAndIndices {
  return dim === undefined ? amin(x) : selectExtreme('min', 'argmin', x, dim, keepdim);
}

/** The element argmax/argmin picks in each slice, gathered so the gradient reaches it alone. */
function selectExtreme(
  op: 'max' | 'min',
  argOp: 'argmax' | 'argmin',
  x: Tensor,
  dim: number,
  keepdim: boolean,
): ValuesAndIndices {
  if (typeof dim !== 'number') {
    throw new TypeError(
      `${op}: dim must be one number, got ${JSON.stringify(dim)}; to reduce over several dims use a${op}(dims), where ties share the gradient`,
    );
  }
  const d = normalizeDim(op, dim, x.ndim);
  if (x.ndim === 0) return valuesAndIndices(x, wrap(ops.full([], 0, 'int32', x.array.backend)));
  if (x.shape[d] === 0) {
    throw new RangeError(`${op}: cannot reduce the empty dim ${dim} of ${formatShape(x.shape)}`);
  }
  const index = recordNonDifferentiable(argOp, [x], ops.argReduce(argOp, x.array, d, true), {
    dim: d,
    keepdim: true,
  });
  const values = indexing.gather(x, d, index);
  return keepdim
    ? valuesAndIndices(values, index)
    : valuesAndIndices(squeezeDims(values, [d], false), squeezeDims(index, [d], false));
}

/** Index of the largest value (over the flattened tensor, or along `dim`), as int32. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return recordNonDifferentiable('argmax', [x], ops.argReduce('argmax', x.array, dim, keepdim), {
    dim,
    keepdim,
  });
}

/** Index of the smallest value (over the flattened tensor, or along `dim`), as int32. */
export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return recordNonDifferentiable('argmin', [x], ops.argReduce('argmin', x.array, dim, keepdim), {
    dim,
    keepdim,
  });
}

/**
 * Max pooling's argmax (see @agrad/tensor's ops.maxPoolIndices): for each window of a [N,C,H,W]
 * input, the flat index into its [H, W] plane of the maximum; int32, with no gradient (like
 * argmax). Gathering x at these indices is max pooling, and its gradient that gather's.
 */
export function maxPoolIndices(x: Tensor, window: Window, outputSize: readonly [number, number]): Tensor {
  return recordNonDifferentiable('maxPoolIndices', [x], ops.maxPoolIndices(x.array, window, outputSize), {
    window,
    outputSize,
  });
}

/** Variance with Bessel's correction by default (correction = 1), as torch.var. */
export function variance(
  x: Tensor,
  dim?: Dims,
  keepdim = false,
  options: { correction?: number } = {},
): Tensor {
  checkOptions('var', options, { correction: rules.finite });
  const dims = normalizeDims('var', dim, x.ndim);
  const xf = floating(x);
  const centered = xf.sub(mean(xf, dims, true));
  const divisor = Math.max(0, reducedCount(x, dims) - (options.correction ?? 1));
  return sum(centered.mul(centered), dims, keepdim).div(divisor);
}

/** Standard deviation over `dim`: the square root of var with the same options. */
export function std(x: Tensor, dim?: Dims, keepdim = false, options: { correction?: number } = {}): Tensor {
  return sqrt(variance(x, dim, keepdim, options));
}

/**
 * log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the (detached) max, so it stays
 * finite for large inputs; the max cancels out of the gradient, so detaching it is exact.
 */
export function logsumexp(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  const dims = normalizeDims('logsumexp', dim, x.ndim);
  const xf = floating(x);
  if (dims.length === 0) return xf;
  let m = amaxPrimitive(xf, dims).detach();
  // An all -inf (or +inf) slice would give inf - inf; shift by 0 there instead, as PyTorch does.
  m = where(m.abs().eq(Number.POSITIVE_INFINITY), 0, m);
  const shifted = sum(xf.sub(m).exp(), dims, true).log().add(m);
  return squeezeDims(shifted, dims, keepdim);
}

/** exp(x) / sum(exp(x)) along dim, shifted by the max for stability. */
export function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const xf = floating(x);
  return traceAs('softmax', [xf], { dim: d }, () => {
    const e = xf.sub(amaxPrimitive(xf, [d]).detach()).exp();
    return e.div(sum(e, d, true));
  });
}

/** Log of softmax along `dim`, computed stably. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const xf = floating(x);
  return traceAs('logSoftmax', [xf], { dim: d }, () => xf.sub(logsumexp(xf, d, true)));
}

// ---------------------------------------------------------------------------------------------
// Linear algebra

/**
 * Matrix product with PyTorch's rules: 1-D operands are promoted to a row (left) or a column
 * (right) and the added dim removed again; batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: both arguments need at least 1 dim, got ${formatShape(a.shape)} @ ${formatShape(b.shape)}`,
    );
  }
  const [x, y] = promote('matmul', a, b);
  const left = x.ndim === 1 ? x.unsqueeze(0) : x;
  const right = y.ndim === 1 ? y.unsqueeze(1) : y;
  const [m, k] = left.shape.slice(-2);
  const [k2, n] = right.shape.slice(-2);
  if (k !== k2) {
    throw new RangeError(
      `matmul: ${formatShape(a.shape)} @ ${formatShape(b.shape)}: inner dimensions ${k} and ${k2} differ`,
    );
  }
  const batch = broadcastShapes('matmul', left.shape.slice(0, -2), right.shape.slice(0, -2));
  const batchSize = sizeOf(batch);
  let out: Tensor;
  if (batch.length > 0 && right.ndim === 2) {
    // A batch times one matrix (a linear layer on [..., M, K]): the batch's rows stacked into one
    // product, [B*M, K] @ [K, N], so the matrix's gradient is one product over the whole batch
    // rather than B products summed afterwards.
    const rows = movement.reshape(left, [1, batchSize * m, k]);
    out = movement.reshape(matmul3d(rows, right.unsqueeze(0)), [...batch, m, n]);
  } else {
    const left3 = movement.reshape(expandTo(left, [...batch, m, k]), [batchSize, m, k]);
    const right3 = movement.reshape(expandTo(right, [...batch, k, n]), [batchSize, k, n]);
    out = movement.reshape(matmul3d(left3, right3), [...batch, m, n]);
  }
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

function expandTo(x: Tensor, shape: readonly number[]): Tensor {
  return shapesEqual(x.shape, shape) ? x : movement.expand(x, shape);
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** Reshape; one size may be -1 and is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferAt = shape.indexOf(-1);
  if (inferAt !== shape.lastIndexOf(-1))
    throw new RangeError(`reshape: only one dim may be -1, got ${formatShape(shape)}`);
  let target = [...shape];
  if (inferAt >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== inferAt));
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(
        `reshape: cannot infer -1 in ${formatShape(shape)} for ${formatShape(x.shape)} (${x.size} elements)`,
      );
    }
    target = shape.map((d, i) => (i === inferAt ? x.size / known : d));
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(target) !== x.size) {
    throw new RangeError(
      `reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`,
    );
  }
  return shapesEqual(target, x.shape) ? x : movement.reshape(x, target);
}

/** A view with the dims reordered. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  return movement.permute(x, dims);
}

/** A view with two dims swapped. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeDim('transpose', dim0, x.ndim);
  const b = normalizeDim('transpose', dim1, x.ndim);
  if (a === b) return x;
  const perm = x.shape.map((_, i) => i);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return movement.permute(x, perm);
}

/** Broadcasts to `shape`; -1 keeps a size. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead] : d));
  return expandTo(x, target);
}

/** Removes size-1 dims (all of them, or just `dim` if it has size 1). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const d = normalizeDim('squeeze', dim, x.ndim);
  if (x.ndim === 0 || x.shape[d] !== 1) return x;
  return reshape(
    x,
    x.shape.filter((_, i) => i !== d),
  );
}

/** Inserts a size-1 dim at `dim`. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return movement.reshape(x, shape);
}

/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeDim('flatten', startDim, x.ndim);
  const e = normalizeDim('flatten', endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** A view of `length` elements along `dim` from `start`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  return movement.narrow(x, dim, start, length);
}

/**
 * Every `step`-th element of [start, end) along `dim`, as Python's `x[start:end:step]` on that
 * dim (torch's `x[:, 1:10:2]`): a view, no copy. Negative bounds count from the end, bounds past
 * either end are clipped, `null` means "from the start" / "to the end"; step is a positive
 * integer.
 *
 * @example
 * arange(10).slice(0, 1, 8, 3).toArray();     // [1, 4, 7]
 * x.slice(1, -2);                              // the last two columns
 */
export function slice(
  x: Tensor,
  dim: number,
  start: number | null = null,
  end: number | null = null,
  step = 1,
): Tensor {
  const d = normalizeDim('slice', dim, x.ndim);
  if (x.ndim === 0) throw new RangeError('slice: cannot slice a 0-d tensor');
  const size = x.shape[d];
  for (const [name, value] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (value !== null && !Number.isInteger(value))
      throw new TypeError(`slice: ${name} must be an integer or null, got ${String(value)}`);
  }
  if (!Number.isInteger(step) || step < 1)
    throw new RangeError(`slice: step must be a positive integer, got ${String(step)}`);
  const resolve = (value: number | null, fallback: number) =>
    value === null ? fallback : Math.min(size, Math.max(0, value < 0 ? value + size : value));
  const from = resolve(start, 0);
  const to = Math.max(from, resolve(end, size));
  if (from === 0 && to === size && step === 1) return x;
  return movement.slice(x, d, from, to, step);
}

function requireIndex(op: string, index: Tensor): void {
  if (index.dtype !== 'int32')
    throw new TypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
}

/** out[i][j] = x[i][index[i][j]] (dim = 1), as torch.gather. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex('gather', index);
  const d = normalizeDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim) {
    throw new RangeError(
      `gather: index has ${index.ndim} dims (${formatShape(index.shape)}) but input has ${x.ndim} (${formatShape(x.shape)})`,
    );
  }
  index.shape.forEach((size, i) => {
    if (i !== d && size > x.shape[i]) {
      throw new RangeError(
        `gather: index shape ${formatShape(index.shape)} exceeds input shape ${formatShape(x.shape)} at dim ${i} (only dim ${d} may be larger)`,
      );
    }
  });
  return indexing.gather(x, d, index);
}

/** Slices of x along dim picked by a 1-D int32 index (a 0-d index picks one and drops the dim). */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  requireIndex('indexSelect', index);
  if (index.ndim > 1)
    throw new RangeError(`indexSelect: index must be 0-d or 1-D, got ${formatShape(index.shape)}`);
  const d = normalizeDim('indexSelect', dim, x.ndim);
  const flat = index.ndim === 0 ? reshape(index, [1]) : index;
  return indexing.indexSelect(x, d, flat);
}

/** Joins tensors along an existing dim (dtypes are promoted). */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('cat: expected a non-empty list of tensors');
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  return movement.cat(
    tensors.map((t) => movement.cast(t, dtype)),
    dim,
  );
}

/** Joins tensors of one shape along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack: expected a non-empty list of tensors');
  const shape = tensors[0].shape;
  for (const t of tensors) {
    if (!shapesEqual(t.shape, shape)) {
      throw new RangeError(
        `stack: every tensor must have one shape, got ${tensors.map((x) => formatShape(x.shape)).join(', ')}`,
      );
    }
  }
  const d = normalizeDim('stack', dim, shape.length + 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}
