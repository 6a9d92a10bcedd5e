import type {
  ArgReduceOp,
  Backend,
  BinaryOp,
  Output,
  ReduceOp,
  Storage,
  UnaryOp,
  Window,
} from '../backend.js';
import { type DType, type TypedArray, typedArrayFor } from '../dtype.js';
import { hostOperand, hostOutput, TypedArrayStorage } from '../host.js';
import type { ArrayOperand } from '../layout.js';
import type { NDArray } from '../ndarray.js';
import { wasmGemm } from '../wasm/gemm.js';
import { fastBinary, fastCopy, fastUnary, fastWhere } from './elementwise.js';
import * as indexing from './indexing.js';
import { blockedMatmul } from './matmul.js';
import { argReduce, fastReduce } from './reduce.js';
import { fold as foldKernel, unfold as unfoldKernel } from './unfold.js';

/**
 * The CPU backend: typed arrays in this process, the fast kernels of ./cpu (compiled row loops, a
 * blocked GEMM and the WebAssembly SIMD GEMM). Each method allocates the output ops.ts resolved
 * and runs one kernel; the reference backend (../reference) states what each must compute.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly host = true;

  private operand(view: NDArray): ArrayOperand {
    return hostOperand(this, view);
  }

  private run(out: Output, kernel: (data: TypedArray) => void): NDArray {
    const { array, data } = hostOutput(this, out);
    kernel(data);
    return array;
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
    fastCopy(a, out);
    return out;
  }

  copy(view: NDArray, dtype: DType): NDArray {
    return this.run({ shape: view.shape, dtype }, (out) => fastCopy(this.operand(view), out));
  }

  assign(target: NDArray, source: NDArray): void {
    const t = this.operand(target);
    fastCopy(this.operand(source), t.data, { strides: t.strides, offset: t.offset });
  }

  unary(op: UnaryOp, a: NDArray, out: Output): NDArray {
    return this.run(out, (data) => fastUnary(op, this.operand(a), data));
  }

  binary(op: BinaryOp, a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) => fastBinary(op, this.operand(a), this.operand(b), data));
  }

  where(condition: NDArray, a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      fastWhere(this.operand(condition), this.operand(a), this.operand(b), data),
    );
  }

  reduce(op: ReduceOp, a: NDArray, axes: readonly number[], out: Output): NDArray {
    return this.run(out, (data) => fastReduce(op, this.operand(a), axes, data));
  }

  argReduce(op: ArgReduceOp, a: NDArray, axis: number, out: Output): NDArray {
    return this.run(out, (data) => argReduce(op, this.operand(a), axis, data as Int32Array));
  }

  matmul(a: NDArray, b: NDArray, out: Output): NDArray {
    return this.run(out, (data) => {
      if (data instanceof Float32Array && wasmGemm && a.size > 0 && b.size > 0)
        wasmGemm.matmul(this.operand(a), this.operand(b), data);
      else blockedMatmul(this.operand(a), this.operand(b), data);
    });
  }

  gather(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    return this.run(out, (data) => indexing.gather(this.operand(a), dim, this.operand(index), data));
  }

  scatterAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      indexing.scatterAdd(out.shape, dim, this.operand(index), this.operand(source), data),
    );
  }

  indexSelect(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    return this.run(out, (data) => indexing.indexSelect(this.operand(a), dim, this.operand(index), data));
  }

  indexAdd(dim: number, index: NDArray, source: NDArray, out: Output): NDArray {
    return this.run(out, (data) =>
      indexing.indexAdd(out.shape, dim, this.operand(index), this.operand(source), data),
    );
  }

  unfold(x: NDArray, window: Window, padValue: number, out: Output): NDArray {
    return this.run(out, (data) => unfoldKernel(this.operand(x), window, padValue, data));
  }

  fold(cols: NDArray, window: Window, out: Output): NDArray {
    return this.run(out, (data) => foldKernel(this.operand(cols), out.shape, window, data));
  }
}

export const cpuBackend = new CpuBackend();
