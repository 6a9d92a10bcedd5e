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
import { type DType, dtypeOfTypedArray, type TypedArray, typedArrayFor } from './dtype.js';
import type { ArrayOperand } from './layout.js';
import { NDArray } from './ndarray.js';
import { contiguousStrides, type Shape, sizeOf } from './shape.js';

/**
 * What the backends that keep values in this process's memory (the fast CPU backend and the
 * reference backend) share: one typed array per storage, the way a view is handed to a loop, and
 * the Backend methods around the loops. A host backend is a name plus a set of `HostLoops`.
 */
export class TypedArrayStorage implements HostStorage {
  version = 0;

  constructor(
    readonly backend: Backend,
    public data: TypedArray,
  ) {}

  /**
   * Moves the values into `data`, an array of the same dtype and length, which every view of
   * this storage then reads (for memory that is about to be reused, such as an optimizer's
   * scratch region). The version is unchanged: the values are.
   */
  relocate(data: TypedArray): void {
    if (dtypeOfTypedArray(data) !== this.dtype || data.length !== this.data.length)
      throw new RangeError(
        `relocate: expected a ${this.dtype} array of ${this.data.length} elements, got a ${dtypeOfTypedArray(data)} array of ${data.length}`,
      );
    data.set(this.data as never);
    this.data = data;
  }

  get dtype(): DType {
    return dtypeOfTypedArray(this.data);
  }

  get length(): number {
    return this.data.length;
  }
}

/**
 * The loops of a host backend, one per computing Backend method. Each reads strided operands and
 * fills `out`: a fresh, zero-filled, contiguous array of the Output that ops.ts resolved (its
 * shape is passed where the loop needs it). Nothing here checks shapes, dtypes or indices.
 */
export interface HostLoops {
  /** out[i] = a[i] in row-major order, converted to out's dtype (bool is value !== 0). */
  copy(a: ArrayOperand, out: TypedArray): void;
  /** target[i] = source[i], both strided, same shape and dtype. */
  assign(target: ArrayOperand, source: ArrayOperand): void;
  /** out = op(a), elementwise. */
  unary(op: UnaryOp, a: ArrayOperand, out: TypedArray): void;
  /** out = a op b, elementwise over operands already broadcast to one shape. */
  binary(op: BinaryOp, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void;
  /** out = condition ? a : b, elementwise. */
  where(condition: ArrayOperand, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void;
  /** out = the reduction of a over `axes`. */
  reduce(op: ReduceOp, a: ArrayOperand, axes: readonly number[], out: TypedArray): void;
  /** out = the index of the largest (smallest) value along `axis`. */
  argReduce(op: ArgReduceOp, a: ArrayOperand, axis: number, out: Int32Array): void;
  /** out = a @ b for [batch, m, k] and [batch, k, n] operands. */
  matmul(a: ArrayOperand, b: ArrayOperand, out: TypedArray): void;
  /** out = a's values along `dim` at `index`. */
  gather(a: ArrayOperand, dim: number, index: ArrayOperand, out: TypedArray): void;
  /** out (zeroed, of `shape`) += source at `index` along `dim`. */
  scatterAdd(dim: number, index: ArrayOperand, source: ArrayOperand, shape: Shape, out: TypedArray): void;
  /** out = a's slices along `dim` at the 1-D `index`. */
  indexSelect(a: ArrayOperand, dim: number, index: ArrayOperand, shape: Shape, out: TypedArray): void;
  /** out (zeroed, of `shape`) += source's slices at the 1-D `index` along `dim`. */
  indexAdd(dim: number, index: ArrayOperand, source: ArrayOperand, shape: Shape, out: TypedArray): void;
  /** out = im2col of x: each sliding window as a column. */
  unfold(x: ArrayOperand, window: Window, padValue: number, shape: Shape, out: TypedArray): void;
  /** out = col2im: the columns summed back into the image (unfold's adjoint). */
  fold(cols: ArrayOperand, window: Window, shape: Shape, out: TypedArray): void;
  /** out = the flat index within its window of each window's largest value. */
  maxPoolIndices(x: ArrayOperand, window: Window, shape: Shape, out: Int32Array): void;
}

/** The view as the loops see it: its typed array plus shape, strides and offset. */
export function hostOperand(backend: Backend, view: NDArray): ArrayOperand {
  const storage = view.storage;
  if (storage.backend !== backend || !(storage instanceof TypedArrayStorage)) {
    throw new TypeError(
      `${backend.name} backend: got a tensor stored on the '${storage.backend.name}' backend`,
    );
  }
  return { data: storage.data, shape: view.shape, strides: view.strides, offset: view.offset };
}

/**
 * A backend over typed arrays in this process: every method hands its views to one loop of
 * `loops` and returns the array the loop filled.
 */
export class HostBackend implements Backend {
  readonly host = true;

  constructor(
    readonly name: string,
    private readonly loops: HostLoops,
  ) {}

  private operand(view: NDArray): ArrayOperand {
    return hostOperand(this, view);
  }

  /** A fresh zero-filled contiguous array for `out`, filled by `loop`. */
  private run(out: Output, loop: (data: TypedArray) => void): NDArray {
    const data = typedArrayFor(out.dtype, sizeOf(out.shape));
    loop(data);
    const storage = new TypedArrayStorage(this, data);
    return new NDArray(storage, [...out.shape], contiguousStrides(out.shape), 0);
  }

  upload(data: TypedArray): Storage {
    return new TypedArrayStorage(this, data.slice());
  }

  /** Adopts a typed array without copying (for arrays this process just made). */
  adopt(data: TypedArray): Storage {
    return new TypedArrayStorage(this, data);
  }

  zeros(dtype: DType, length: number): Storage {
    return new TypedArrayStorage(this, typedArrayFor(dtype, length));
  }

  read(view: NDArray): TypedArray {
    const a = this.operand(view);
    if (view.isContiguous()) return a.data.slice(view.offset, view.offset + view.size);
    const out = typedArrayFor(view.dtype, view.size);
    this.loops.copy(a, out);
    return out;
  }

  copy(view: NDArray, dtype: DType): NDArray {
    return this.run({ shape: view.shape, dtype }, (out) => this.loops.copy(this.operand(view), out));
  }

  assign(target: NDArray, source: NDArray): void {
    this.loops.assign(this.operand(target), this.operand(source));
  }

  unary(op: UnaryOp, a: NDArray, out: Output): NDArray {
    return this.run(out, (data) => this.loops.unary(op, this.operand(a), data));
  }

  binary(op: BinaryOp, a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) => this.loops.binary(op, this.operand(a), this.operand(b), data));
  }

  where(condition: NDArray, a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      this.loops.where(this.operand(condition), this.operand(a), this.operand(b), data),
    );
  }

  reduce(op: ReduceOp, a: NDArray, axes: readonly number[], out: Output): NDArray {
    return this.run(out, (data) => this.loops.reduce(op, this.operand(a), axes, data));
  }

  argReduce(op: ArgReduceOp, a: NDArray, axis: number, out: Output): NDArray {
    return this.run(out, (data) => this.loops.argReduce(op, this.operand(a), axis, data as Int32Array));
  }

  matmul(a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) => this.loops.matmul(this.operand(a), this.operand(b), data));
  }

  gather(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    return this.run(out, (data) => this.loops.gather(this.operand(a), dim, this.operand(index), data));
  }

  scatterAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      this.loops.scatterAdd(dim, this.operand(index), this.operand(source), out.shape, data),
    );
  }

  indexSelect(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      this.loops.indexSelect(this.operand(a), dim, this.operand(index), out.shape, data),
    );
  }

  indexAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      this.loops.indexAdd(dim, this.operand(index), this.operand(source), out.shape, data),
    );
  }

  unfold(x: NDArray, window: Window, padValue: number, out: Output): NDArray {
    return this.run(out, (data) => this.loops.unfold(this.operand(x), window, padValue, out.shape, data));
  }

  fold(cols: NDArray, window: Window, out: Output): NDArray {
    return this.run(out, (data) => this.loops.fold(this.operand(cols), window, out.shape, data));
  }

  maxPoolIndices(x: NDArray, window: Window, out: Output): NDArray {
    return this.run(out, (data) =>
      this.loops.maxPoolIndices(this.operand(x), window, out.shape, data as Int32Array),
    );
  }
}
