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

export type TensorLike = Tensor | number;
export type Dims = number | readonly number[];
export type NestedArray = number | boolean | NestedArray[];
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
  registerHook(hook: GradHook): { remove(): void } {
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
  add(other: TensorLike): Tensor {
    return f.add(this, other);
  }
  sub(other: TensorLike): Tensor {
    return f.sub(this, other);
  }
  mul(other: TensorLike): Tensor {
    return f.mul(this, other);
  }
  div(other: TensorLike): Tensor {
    return f.div(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return f.pow(this, exponent);
  }
  maximum(other: TensorLike): Tensor {
    return f.maximum(this, other);
  }
  minimum(other: TensorLike): Tensor {
    return f.minimum(this, other);
  }
  neg(): Tensor {
    return f.neg(this);
  }
  exp(): Tensor {
    return f.exp(this);
  }
  log(): Tensor {
    return f.log(this);
  }
  log1p(): Tensor {
    return f.log1p(this);
  }
  sqrt(): Tensor {
    return f.sqrt(this);
  }
  abs(): Tensor {
    return f.abs(this);
  }
  sign(): Tensor {
    return f.sign(this);
  }
  sin(): Tensor {
    return f.sin(this);
  }
  cos(): Tensor {
    return f.cos(this);
  }
  tanh(): Tensor {
    return f.tanh(this);
  }
  sigmoid(): Tensor {
    return f.sigmoid(this);
  }
  erf(): Tensor {
    return f.erf(this);
  }
  relu(): Tensor {
    return f.relu(this);
  }
  gelu(): Tensor {
    return f.gelu(this);
  }
  silu(): Tensor {
    return f.silu(this);
  }
  softplus(): Tensor {
    return f.softplus(this);
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return f.leakyRelu(this, negativeSlope);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return f.clamp(this, min, max);
  }

  // Comparisons (bool results, no gradient).
  gt(other: TensorLike): Tensor {
    return f.gt(this, other);
  }
  lt(other: TensorLike): Tensor {
    return f.lt(this, other);
  }
  ge(other: TensorLike): Tensor {
    return f.ge(this, other);
  }
  le(other: TensorLike): Tensor {
    return f.le(this, other);
  }
  eq(other: TensorLike): Tensor {
    return f.eq(this, other);
  }
  ne(other: TensorLike): Tensor {
    return f.ne(this, other);
  }
  logicalAnd(other: Tensor): Tensor {
    return f.logicalAnd(this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return f.logicalOr(this, other);
  }
  logicalNot(): Tensor {
    return f.logicalNot(this);
  }

  // Linear algebra.
  matmul(other: Tensor): Tensor {
    return f.matmul(this, other);
  }

  // Reductions.
  sum(dim?: Dims, keepdim = false): Tensor {
    return f.sum(this, dim, keepdim);
  }
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
  argmax(dim?: number, keepdim = false): Tensor {
    return f.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return f.argmin(this, dim, keepdim);
  }
  var(dim?: Dims, keepdim = false, options: { correction?: number } = {}): Tensor {
    return f.variance(this, dim, keepdim, options);
  }
  std(dim?: Dims, keepdim = false, options: { correction?: number } = {}): Tensor {
    return f.std(this, dim, keepdim, options);
  }
  logsumexp(dim?: Dims, keepdim = false): Tensor {
    return f.logsumexp(this, dim, keepdim);
  }
  softmax(dim: number): Tensor {
    return f.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return f.logSoftmax(this, dim);
  }

  // Shapes.
  reshape(shape: readonly number[]): Tensor {
    return f.reshape(this, shape);
  }
  view(shape: readonly number[]): Tensor {
    return f.reshape(this, shape);
  }
  permute(dims: readonly number[]): Tensor {
    return f.permute(this, dims);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return f.transpose(this, dim0, dim1);
  }
  /** Transpose of a 2-D tensor (torch's .t()). */
  t(): Tensor {
    if (this.ndim > 2)
      throw new RangeError(`t: expects a tensor with at most 2 dims, got ${formatShape(this.shape)}`);
    return this.ndim < 2 ? this : f.transpose(this, 0, 1);
  }
  expand(shape: readonly number[]): Tensor {
    return f.expand(this, shape);
  }
  squeeze(dim?: number): Tensor {
    return f.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return f.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return f.flatten(this, startDim, endDim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return f.narrow(this, dim, start, length);
  }
  /** Python's `x[start:end:step]` along one dim, as a view (see the function slice). */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return f.slice(this, dim, start, end, step);
  }
  gather(dim: number, index: Tensor): Tensor {
    return f.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return f.indexSelect(this, dim, index);
  }
  cumsum(dim: number): Tensor {
    return ordering.cumsum(this, dim);
  }
  sort(dim = -1, options: { descending?: boolean } = {}): [Tensor, Tensor] {
    return ordering.sort(this, dim, options);
  }
  topk(k: number, dim = -1, options: ordering.TopkOptions = {}): [Tensor, Tensor] {
    return ordering.topk(this, k, dim, options);
  }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return ordering.scatter(this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return ordering.scatterAdd(this, dim, index, src);
  }
}

// The layers below make tensors through the engine's wrap() (see ./engine.ts).
registerTensorClass(Tensor);
