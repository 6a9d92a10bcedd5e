import { HostBackend, type HostLoops } from '../host.js';
import { sizeOf } from '../shape.js';
import { wasmGemm } from '../wasm/gemm.js';
import { fastBinary, fastCopy, fastUnary, fastWhere } from './elementwise.js';
import * as indexing from './indexing.js';
import { blockedMatmul } from './matmul.js';
import { argReduce, fastReduce } from './reduce.js';
import { fold, maxPoolIndices, unfold } from './unfold.js';

/**
 * The fast loops of the CPU backend: compiled row loops, a blocked GEMM and the WebAssembly SIMD
 * GEMM (./). The reference backend (../reference) states what each must compute.
 */
export const cpuLoops: HostLoops = {
  copy: (a, out) => fastCopy(a, out),
  assign: (target, source) =>
    fastCopy(source, target.data, { strides: target.strides, offset: target.offset }),
  unary: fastUnary,
  binary: fastBinary,
  where: fastWhere,
  reduce: fastReduce,
  argReduce,
  matmul(a, b, out) {
    if (out instanceof Float32Array && wasmGemm && sizeOf(a.shape) > 0 && sizeOf(b.shape) > 0)
      wasmGemm.matmul(a, b, out);
    else blockedMatmul(a, b, out);
  },
  gather: indexing.gather,
  scatterAdd: (dim, index, source, shape, out) => indexing.scatterAdd(shape, dim, index, source, out),
  indexSelect: (a, dim, index, _, out) => indexing.indexSelect(a, dim, index, out),
  indexAdd: (dim, index, source, shape, out) => indexing.indexAdd(shape, dim, index, source, out),
  unfold: (x, window, padValue, _, out) => unfold(x, window, padValue, out),
  fold: (cols, window, shape, out) => fold(cols, shape, window, out),
  maxPoolIndices,
};

/** The CPU backend: typed arrays in this process, run by the fast loops. */
export class CpuBackend extends HostBackend {
  constructor() {
    super('cpu', cpuLoops);
  }
}

/** The CPU backend, the default. */
export const cpuBackend = new CpuBackend();
