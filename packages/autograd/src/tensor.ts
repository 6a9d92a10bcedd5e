import {
  type Backend,
  backendNames,
  checkOptions,
  checkValue,
  DTYPES,
  type DType,
  describeValue,
  formatShape,
  isFloating,
  type NDArray,
  ops,
  resolveBackend,
  rules,
  type TypedArray,
} from '@agrad/tensor';
import {
  type BackwardOptions,
  isGradEnabled,
  type Node,
  recordNonDifferentiable,
  registerTensorClass,
  runBackward,
} from './engine.js';
import { formatTensor } from './format.js';
import * as f from './functions.js';
import * as ordering from './ordering.js';

/** A tensor, or a number that broadcasts as a scalar tensor. */
export type TensorLike = Tensor | number;
/** One dim or several; negative dims count from the end. */
export type Dims = number | readonly number[];
/** Nested JavaScript arrays of numbers or booleans, as tensor() takes and toArray() gives. */
export type NestedArray = number | boolean | NestedArray[];
/** A function registerHook calls with a tensor's gradient during backward; what it returns (if anything) replaces the gradient. */
export type GradHook = (grad: Tensor) => Tensor | undefined | void;

/**
 * The user-facing tensor: an NDArray plus what autograd needs (requiresGrad, grad, the Node that
 * made it). Methods follow PyTorch's names in camelCase; every method is a composition of the
 * primitives in ./primitives, so none defines a gradient of its own.
 *
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * x.mul(x).sum().backward();
 * x.grad?.toArray(); // [2, 4, 6]
 */
export class Tensor {
  /** The values. Treat as immutable: autograd saves tensors for backward. */
  readonly array: NDArray;
  /** Accumulated gradient, written by backward(); assignable (e.g. to null to clear it). */
  grad: Tensor | null = null;
  private requiresGradFlag = false;
  private node: Node | null = null;
  private hooks: GradHook[] = [];
  private retainGradFlag = false;

  constructor(array: NDArray) {
    this.array = array;
  }

  get shape(): number[] {
    return [...this.array.shape];
  }
  get dtype(): DType {
    return this.array.dtype;
  }
  get ndim(): number {
    return this.array.ndim;
  }
  get size(): number {
    return this.array.size;
  }
  /** The op that produced this tensor, or null for a leaf. */
  get gradFn(): Node | null {
    return this.node;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }
  get retainsGrad(): boolean {
    return this.retainGradFlag;
  }

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }
  set requiresGrad(value: boolean) {
    if (!this.isLeaf) {
      throw new Error(
        `requiresGrad: can only be set on a leaf tensor; this one comes from '${this.node?.op}' (use detach() first)`,
      );
    }
    if (value && !isFloating(this.dtype)) {
      throw new TypeError(
        `requiresGrad: only float32 and float64 tensors can require gradients, got ${this.dtype}`,
      );
    }
    this.requiresGradFlag = value;
  }

  /** Sets requiresGrad and returns this tensor (torch's requires_grad_()). */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** @internal used by the engine when recording an op. */
  attachNode(node: Node): void {
    this.node = node;
    this.requiresGradFlag = true;
  }

  /**
   * Flat row-major values, as a fresh copy on the host: writing to it does not change the tensor
   * (autograd may have saved the values for backward). To change values, use copy_().
   */
  get data(): TypedArray {
    return this.array.read();
  }

  /** Nested JavaScript arrays (booleans for bool tensors); a number for a 0-d tensor. */
  toArray(): NestedArray {
    const data = this.array.read();
    const isBool = this.dtype === 'bool';
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.ndim) return isBool ? data[offset] !== 0 : data[offset];
      const out: NestedArray[] = [];
      const inner = this.shape.slice(dim + 1).reduce((p, d) => p * d, 1);
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * inner));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item: tensor of shape ${formatShape(this.shape)} has ${this.size} elements, expected exactly 1`,
      );
    }
    return this.array.read()[0];
  }

  /**
   * Computes gradients of this tensor with respect to the leaves that require them, adding
   * into their `.grad`. A non-scalar needs `gradOutput` of its shape.
   */
  backward(gradOutput?: Tensor | null, options: BackwardOptions = {}): void {
    checkOptions('backward', options, { retainGraph: rules.boolean, createGraph: rules.boolean });
    if (gradOutput !== undefined && gradOutput !== null && !(gradOutput instanceof Tensor))
      throw new TypeError(`backward: gradOutput must be a Tensor, got ${describeValue(gradOutput)}`);
    if (!this.requiresGrad) {
      throw new Error(
        'backward: this tensor does not require grad and has no graph (did any input set requiresGrad?)',
      );
    }
    if (!gradOutput) {
      if (this.size !== 1) {
        throw new RangeError(
          `backward: output has shape ${formatShape(this.shape)}; a gradient can be implied only for a single ` +
            'element. Reduce it first (y.sum().backward()) or pass a gradient: y.backward(onesLike(y))',
        );
      }
      gradOutput = f.onesLike(this);
    }
    runBackward(this, gradOutput, options);
  }

  /**
   * Registers a function called with this tensor's gradient during backward; returning a tensor
   * replaces the gradient. Returns a handle whose remove() unregisters it.
   */
  registerHook(hook: GradHook): {
    /** Unregisters the hook. */
    remove(): void;
  } {
    checkValue('registerHook', 'hook', hook, rules.func);
    if (!this.requiresGrad)
      throw new Error("registerHook: cannot register a hook on a tensor that doesn't require grad");
    this.hooks.push(hook);
    return { remove: () => void (this.hooks = this.hooks.filter((h) => h !== hook)) };
  }

  /** @internal */
  runHooks(grad: Tensor): Tensor {
    for (const hook of this.hooks) grad = hook(grad) ?? grad;
    return grad;
  }

  /** Keeps `.grad` for this non-leaf tensor after backward. */
  retainGrad(): this {
    if (!this.requiresGrad)
      throw new Error("retainGrad: cannot retain the grad of a tensor that doesn't require grad");
    this.retainGradFlag = true;
    return this;
  }

  /**
   * Overwrites this tensor's values with `source` (broadcast to this shape, converted to this
   * dtype), in place, as torch's copy_. For parameter updates: a leaf that requires grad may be
   * written only inside noGrad. A graph that saved the old values for backward refuses to run
   * backward afterwards (the storage's version changed), rather than compute a wrong gradient.
   */
  copy_(source: Tensor | number): this {
    if (this.requiresGrad && isGradEnabled()) {
      throw new Error(
        'copy_: a tensor that requires grad can be written in place only inside noGrad(() => ...)',
      );
    }
    const value =
      typeof source === 'number'
        ? f.fullOf(this, source)
        : f.cast(source.detach(), this.dtype).expand(this.shape);
    ops.assign(this.array, f.toBackend(value, this.backend).array);
    return this;
  }

  /** Same values, cut from the graph. Shares storage. */
  detach(): Tensor {
    return recordNonDifferentiable('detach', [this], this.array);
  }

  /** A copy with its own storage; the gradient flows back to this tensor (torch.clone). */
  clone(): Tensor {
    return f.clone(this);
  }

  /**
   * A dtype ('float32', ...) converts; a backend ('cpu', 'gpu' once '@agrad/gpu' is
   * imported, or a Backend object) moves the values there, as torch's .to(device). Both keep the
   * graph: the gradient flows back through the conversion or the move.
   *
   * @example
   * const x = tensor([1.5, -2]).to('int32');  // [1, -2]
   * const onCpu = someGpuTensor.to('cpu');   // values copied to the host backend
   */
  to(target: DType | string | Backend): Tensor {
    if (typeof target === 'string') {
      if ((DTYPES as readonly string[]).includes(target)) return f.cast(this, target as DType);
      if (!backendNames().includes(target)) {
        throw new TypeError(
          `to: unknown dtype or backend '${target}'; expected a dtype (${DTYPES.join(', ')}) or a backend (${backendNames().join(', ')})`,
        );
      }
    }
    return f.toBackend(this, resolveBackend(target));
  }

  /** As float32 (torch's .float()). */
  float(): Tensor {
    return f.cast(this, 'float32');
  }
  /** As float64 (torch's .double()). */
  double(): Tensor {
    return f.cast(this, 'float64');
  }
  /** As int32, truncating toward zero (torch's .int()). */
  int(): Tensor {
    return f.cast(this, 'int32');
  }
  /** As bool: true where non-zero (torch's .bool()). */
  bool(): Tensor {
    return f.cast(this, 'bool');
  }

  /** The backend holding this tensor's values. */
  get backend(): Backend {
    return this.array.backend;
  }

  /** This tensor if row-major and packed, else a packed copy (gradients flow through). */
  contiguous(): Tensor {
    return this.array.isContiguous() ? this : f.clone(this);
  }

  /** As PyTorch prints it: `tensor([[0.1235, 2.0000]], requires_grad=True)` (see ./format.ts). */
  toString(): string {
    return formatTensor(this);
  }

  /** Node's console.log and util.inspect print what toString() gives. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // Elementwise arithmetic (broadcasting, dtype promotion).
  /** Elementwise `this + other`, broadcasting and promoting dtypes as torch.add. */
  add(other: TensorLike): Tensor {
    return f.add(this, other);
  }
  /** Elementwise `this - other`, broadcasting as torch.sub. */
  sub(other: TensorLike): Tensor {
    return f.sub(this, other);
  }
  /** Elementwise `this * other`, broadcasting as torch.mul. */
  mul(other: TensorLike): Tensor {
    return f.mul(this, other);
  }
  /** Elementwise true division `this / other` (integers divide to float), as torch.div. */
  div(other: TensorLike): Tensor {
    return f.div(this, other);
  }
  /** Elementwise `this ** exponent`, as torch.pow. */
  pow(exponent: TensorLike): Tensor {
    return f.pow(this, exponent);
  }
  /** Elementwise larger of the two (ties share the gradient), as torch.maximum. */
  maximum(other: TensorLike): Tensor {
    return f.maximum(this, other);
  }
  /** Elementwise smaller of the two (ties share the gradient), as torch.minimum. */
  minimum(other: TensorLike): Tensor {
    return f.minimum(this, other);
  }
  /** Elementwise `-this`. */
  neg(): Tensor {
    return f.neg(this);
  }
  /** Elementwise e to the power of each element. */
  exp(): Tensor {
    return f.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): Tensor {
    return f.log(this);
  }
  /** Elementwise `log(1 + x)`, accurate for small x. */
  log1p(): Tensor {
    return f.log1p(this);
  }
  /** Elementwise square root. */
  sqrt(): Tensor {
    return f.sqrt(this);
  }
  /** Elementwise absolute value (gradient 0 at 0, as PyTorch). */
  abs(): Tensor {
    return f.abs(this);
  }
  /** Elementwise sign: -1, 0 or 1 (no gradient). */
  sign(): Tensor {
    return f.sign(this);
  }
  /** Elementwise sine. */
  sin(): Tensor {
    return f.sin(this);
  }
  /** Elementwise cosine. */
  cos(): Tensor {
    return f.cos(this);
  }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor {
    return f.tanh(this);
  }
  /** Elementwise logistic sigmoid `1 / (1 + exp(-x))`. */
  sigmoid(): Tensor {
    return f.sigmoid(this);
  }
  /** Elementwise error function. */
  erf(): Tensor {
    return f.erf(this);
  }
  /** Elementwise `max(x, 0)`. */
  relu(): Tensor {
    return f.relu(this);
  }
  /** Elementwise GELU with the exact erf form, as torch.nn.functional.gelu. */
  gelu(): Tensor {
    return f.gelu(this);
  }
  /** Elementwise `x * sigmoid(x)` (swish). */
  silu(): Tensor {
    return f.silu(this);
  }
  /** Elementwise `log(1 + exp(x))`, computed without overflow. */
  softplus(): Tensor {
    return f.softplus(this);
  }
  /** Elementwise `x` where positive, else `negativeSlope * x`. */
  leakyRelu(negativeSlope = 0.01): Tensor {
    return f.leakyRelu(this, negativeSlope);
  }
  /** Elementwise clamp into [min, max] (either may be null); the gradient passes where the value was inside. */
  clamp(min?: number | null, max?: number | null): Tensor {
    return f.clamp(this, min, max);
  }

  // Comparisons (bool results, no gradient).
  /** Elementwise `this > other` as a bool tensor. */
  gt(other: TensorLike): Tensor {
    return f.gt(this, other);
  }
  /** Elementwise `this < other` as a bool tensor. */
  lt(other: TensorLike): Tensor {
    return f.lt(this, other);
  }
  /** Elementwise `this >= other` as a bool tensor. */
  ge(other: TensorLike): Tensor {
    return f.ge(this, other);
  }
  /** Elementwise `this <= other` as a bool tensor. */
  le(other: TensorLike): Tensor {
    return f.le(this, other);
  }
  /** Elementwise `this == other` as a bool tensor. */
  eq(other: TensorLike): Tensor {
    return f.eq(this, other);
  }
  /** Elementwise `this != other` as a bool tensor. */
  ne(other: TensorLike): Tensor {
    return f.ne(this, other);
  }
  /** Elementwise logical and of two bool tensors. */
  logicalAnd(other: Tensor): Tensor {
    return f.logicalAnd(this, other);
  }
  /** Elementwise logical or of two bool tensors. */
  logicalOr(other: Tensor): Tensor {
    return f.logicalOr(this, other);
  }
  /** Elementwise logical not of a bool tensor. */
  logicalNot(): Tensor {
    return f.logicalNot(this);
  }

  // Linear algebra.
  /** Matrix product with torch.matmul's rules: 1-D operands, batched and broadcast leading dims. */
  matmul(other: Tensor): Tensor {
    return f.matmul(this, other);
  }

  // Reductions.
  /** Sum over `dim` (one or several; all by default), keeping reduced dims as size 1 with `keepdim`. */
  sum(dim?: Dims, keepdim = false): Tensor {
    return f.sum(this, dim, keepdim);
  }
  /** Mean over `dim` (all by default). */
  mean(dim?: Dims, keepdim = false): Tensor {
    return f.mean(this, dim, keepdim);
  }
  /**
   * As torch.max: the largest element (ties share the gradient), or with a dim
   * `[values, indices]` whose gradient goes to the returned index. See amax for several dims.
   */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): f.ValuesAndIndices;
  max(dim?: number, keepdim = false): Tensor | f.ValuesAndIndices {
    return dim === undefined ? f.max(this) : f.max(this, dim, keepdim);
  }
  /** As torch.min: the smallest element, or `[values, indices]` along one dim (see max). */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): f.ValuesAndIndices;
  min(dim?: number, keepdim = false): Tensor | f.ValuesAndIndices {
    return dim === undefined ? f.min(this) : f.min(this, dim, keepdim);
  }
  /** Largest value over dims (all by default); ties share the gradient evenly. */
  amax(dim?: Dims, keepdim = false): Tensor {
    return f.amax(this, dim, keepdim);
  }
  /** Smallest value over dims (all by default); ties share the gradient evenly. */
  amin(dim?: Dims, keepdim = false): Tensor {
    return f.amin(this, dim, keepdim);
  }
  /** Index of the largest value (over the flattened tensor, or along `dim`), as int32. */
  argmax(dim?: number, keepdim = false): Tensor {
    return f.argmax(this, dim, keepdim);
  }
  /** Index of the smallest value (over the flattened tensor, or along `dim`), as int32. */
  argmin(dim?: number, keepdim = false): Tensor {
    return f.argmin(this, dim, keepdim);
  }
  /** Variance over `dim` with Bessel's correction by default (`correction: 0` for the population variance). */
  var(dim?: Dims, keepdim = false, options: { correction?: number } = {}): Tensor {
    return f.variance(this, dim, keepdim, options);
  }
  /** Standard deviation over `dim`: the square root of var with the same options. */
  std(dim?: Dims, keepdim = false, options: { correction?: number } = {}): Tensor {
    return f.std(this, dim, keepdim, options);
  }
  /** `log(sum(exp(x)))` over `dim`, computed stably. */
  logsumexp(dim?: Dims, keepdim = false): Tensor {
    return f.logsumexp(this, dim, keepdim);
  }
  /** Softmax along `dim`. */
  softmax(dim: number): Tensor {
    return f.softmax(this, dim);
  }
  /** Log of softmax along `dim`, computed stably. */
  logSoftmax(dim: number): Tensor {
    return f.logSoftmax(this, dim);
  }

  // Shapes.
  /** The same elements in a new shape (one size may be -1); a view when the layout allows. */
  reshape(shape: readonly number[]): Tensor {
    return f.reshape(this, shape);
  }
  /** As reshape (agrad copies only when the layout requires it). */
  view(shape: readonly number[]): Tensor {
    return f.reshape(this, shape);
  }
  /** A view with the dims reordered. */
  permute(dims: readonly number[]): Tensor {
    return f.permute(this, dims);
  }
  /** A view with two dims swapped. */
  transpose(dim0: number, dim1: number): Tensor {
    return f.transpose(this, dim0, dim1);
  }
  /** Transpose of a 2-D tensor (torch's .t()). */
  t(): Tensor {
    if (this.ndim > 2)
      throw new RangeError(`t: expects a tensor with at most 2 dims, got ${formatShape(this.shape)}`);
    return this.ndim < 2 ? this : f.transpose(this, 0, 1);
  }
  /** A view broadcast to `shape` (-1 keeps a size); the gradient sums over the expanded dims. */
  expand(shape: readonly number[]): Tensor {
    return f.expand(this, shape);
  }
  /** Removes size-1 dims (all, or only `dim`). */
  squeeze(dim?: number): Tensor {
    return f.squeeze(this, dim);
  }
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor {
    return f.unsqueeze(this, dim);
  }
  /** Merges dims `startDim` to `endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return f.flatten(this, startDim, endDim);
  }
  /** A view of `length` elements along `dim` from `start`. */
  narrow(dim: number, start: number, length: number): Tensor {
    return f.narrow(this, dim, start, length);
  }
  /** Python's `x[start:end:step]` along one dim, as a view (see the function slice). */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return f.slice(this, dim, start, end, step);
  }
  /** Values along `dim` at `index` (torch.gather); out-of-range indices are refused. */
  gather(dim: number, index: Tensor): Tensor {
    return f.gather(this, dim, index);
  }
  /** Slices along `dim` at the indices of a 1-D `index` (torch.index_select). */
  indexSelect(dim: number, index: Tensor): Tensor {
    return f.indexSelect(this, dim, index);
  }
  /** Cumulative sum along `dim`. */
  cumsum(dim: number): Tensor {
    return ordering.cumsum(this, dim);
  }
  /** Values sorted along `dim` and their original indices (stable). */
  sort(dim = -1, options: { descending?: boolean } = {}): [Tensor, Tensor] {
    return ordering.sort(this, dim, options);
  }
  /** The `k` largest (or smallest) values along `dim` and their indices. */
  topk(k: number, dim = -1, options: ordering.TopkOptions = {}): [Tensor, Tensor] {
    return ordering.topk(this, k, dim, options);
  }
  /** A copy with `src` written at `index` along `dim` (torch.scatter). */
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return ordering.scatter(this, dim, index, src);
  }
  /** A copy with `src` added at `index` along `dim` (torch.scatter_add). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ordering.scatterAdd(this, dim, index, src);
  }
}

// The layers below make tensors through the engine's wrap() (see ./engine.ts).
registerTensorClass(Tensor);
