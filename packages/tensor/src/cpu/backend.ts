import type {
  ArgReduceOp,
  Backend,
  BinaryOp,
  HostStorage,
  ReduceOp,
  Storage,
  UnaryOp,
  Window,
} from '../backend.js';
import { type DType, dtypeOfTypedArray, type TypedArray, typedArrayFor } from '../dtype.js';
import { NDArray } from '../ndarray.js';
import { contiguousStrides } from '../shape.js';
import { wasmGemm } from '../wasm/gemm.js';
import { type ArrayOperand, fastBinary, fastCopy, fastUnary, fastWhere } from './elementwise.js';
import * as indexing from './indexing.js';
import { blockedMatmul } from './matmul.js';
import { argReduce, fastReduce } from './reduce.js';
import { fold as foldKernel, outputSize, unfold as unfoldKernel } from './unfold.js';

/** CPU storage: one typed array. */
export class CpuStorage implements HostStorage {
  version = 0;

  constructor(
    readonly backend: CpuBackend,
    readonly data: TypedArray,
  ) {}

  get dtype(): DType {
    return dtypeOfTypedArray(this.data);
  }

  get length(): number {
    return this.data.length;
  }
}

/** The view as the kernels see it: its typed array plus shape, strides and offset. */
export function operand(view: NDArray): ArrayOperand {
  const storage = view.storage;
  if (!(storage instanceof CpuStorage)) {
    throw new TypeError(`cpu backend: got a tensor stored on the '${storage.backend.name}' backend`);
  }
  return { data: storage.data, shape: view.shape, strides: view.strides, offset: view.offset };
}

/** The CPU backend: typed arrays in this process, the fast kernels of ./cpu. */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly host = true;

  private output(dtype: DType, shape: readonly number[]): { array: NDArray; data: TypedArray } {
    const data = typedArrayFor(
      dtype,
      shape.reduce((p, d) => p * d, 1),
    );
    return { array: new NDArray(new CpuStorage(this, data), [...shape], contiguousStrides(shape), 0), data };
  }

  upload(data: TypedArray): Storage {
    return new CpuStorage(this, data.slice());
  }

  /** Adopts a typed array without copying (for arrays this process just made). */
  adopt(data: TypedArray): CpuStorage {
    return new CpuStorage(this, data);
  }

  zeros(dtype: DType, length: number): Storage {
    return new CpuStorage(this, typedArrayFor(dtype, length));
  }

  read(view: NDArray): TypedArray {
    const a = operand(view);
    if (view.isContiguous()) return a.data.slice(view.offset, view.offset + view.size);
    const out = typedArrayFor(view.dtype, view.size);
    fastCopy(a, out);
    return out;
  }

  copy(view: NDArray, dtype: DType): NDArray {
    const { array, data } = this.output(dtype, view.shape);
    fastCopy(operand(view), data);
    return array;
  }

  assign(target: NDArray, source: NDArray): void {
    const t = operand(target);
    fastCopy(operand(source), t.data, { strides: t.strides, offset: t.offset });
  }

  unary(op: UnaryOp, a: NDArray): NDArray {
    const { array, data } = this.output(a.dtype, a.shape);
    fastUnary(op, operand(a), data);
    return array;
  }

  binary(op: BinaryOp, a: NDArray, b: NDArray): NDArray {
    const comparison = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or'].includes(op);
    const { array, data } = this.output(comparison ? 'bool' : a.dtype, a.shape);
    fastBinary(op, operand(a), operand(b), data);
    return array;
  }

  where(condition: NDArray, a: NDArray, b: NDArray): NDArray {
    const { array, data } = this.output(a.dtype, a.shape);
    fastWhere(operand(condition), operand(a), operand(b), data);
    return array;
  }

  reduce(op: ReduceOp, a: NDArray, axes: readonly number[]): NDArray {
    const reduced = new Set(axes);
    const shape = a.shape.map((d, i) => (reduced.has(i) ? 1 : d));
    // Sums of bool and int32 count in int32, as torch.sum does (in int64 there).
    const dtype = op === 'sum' && a.dtype === 'bool' ? 'int32' : a.dtype;
    const { array, data } = this.output(dtype, shape);
    fastReduce(op, operand(a), axes, data);
    return array;
  }

  argReduce(op: ArgReduceOp, a: NDArray, axis: number): NDArray {
    const shape = a.shape.map((d, i) => (i === axis ? 1 : d));
    const { array, data } = this.output('int32', shape);
    argReduce(op, operand(a), axis, data as Int32Array);
    return array;
  }

  matmul(a: NDArray, b: NDArray): NDArray {
    const { array, data } = this.output(a.dtype, [a.shape[0], a.shape[1], b.shape[2]]);
    if (data instanceof Float32Array && wasmGemm && a.size > 0 && b.size > 0)
      wasmGemm.matmul(operand(a), operand(b), data);
    else blockedMatmul(operand(a), operand(b), data);
    return array;
  }

  gather(a: NDArray, dim: number, index: NDArray): NDArray {
    const { array, data } = this.output(a.dtype, index.shape);
    indexing.gather(operand(a), dim, operand(index), data);
    return array;
  }

  scatterAdd(shape: readonly number[], dim: number, index: NDArray, source: NDArray): NDArray {
    const { array, data } = this.output(source.dtype, shape);
    indexing.scatterAdd(shape, dim, operand(index), operand(source), data);
    return array;
  }

  indexSelect(a: NDArray, dim: number, index: NDArray): NDArray {
    const { array, data } = this.output(
      a.dtype,
      a.shape.map((d, i) => (i === dim ? index.size : d)),
    );
    indexing.indexSelect(operand(a), dim, operand(index), data);
    return array;
  }

  indexAdd(shape: readonly number[], dim: number, index: NDArray, source: NDArray): NDArray {
    const { array, data } = this.output(source.dtype, shape);
    indexing.indexAdd(shape, dim, operand(index), operand(source), data);
    return array;
  }

  unfold(x: NDArray, window: Window, padValue: number): NDArray {
    const [N, C, H, W] = x.shape;
    const [kh, kw] = window.kernel;
    const outH = outputSize(H, kh, window.stride[0], window.padding[0], window.dilation[0]);
    const outW = outputSize(W, kw, window.stride[1], window.padding[1], window.dilation[1]);
    const { array, data } = this.output(x.dtype, [N, C * kh * kw, outH * outW]);
    unfoldKernel(operand(x), window, padValue, data);
    return array;
  }

  fold(cols: NDArray, shape: readonly number[], window: Window): NDArray {
    const { array, data } = this.output(cols.dtype, shape);
    foldKernel(operand(cols), shape, window, data);
    return array;
  }
}

export const cpuBackend = new CpuBackend();
