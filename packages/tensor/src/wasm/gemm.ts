import type { ArrayOperand } from '../cpu/elementwise.js';
import { fastCopy } from '../cpu/elementwise.js';
import { gemmWasmBase64 } from './gemm-binary.js';

/**
 * The float32 matmul fast path: a WebAssembly SIMD GEMM (source: wasm/gemm.ts, AssemblyScript).
 * Operands are copied (and so made contiguous) into the module's memory, multiplied there, and
 * the product copied out. When WebAssembly SIMD is missing, `wasmGemm` is null and the CPU
 * backend uses its JavaScript blocked GEMM.
 */
interface GemmExports {
  gemm(
    a: number,
    b: number,
    c: number,
    M: number,
    N: number,
    K: number,
    rowStart: number,
    rowEnd: number,
    work: number,
  ): void;
  workspaceBytes(): number;
}

const PAGE = 65536;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return Uint8Array.from(Buffer.from(text, 'base64'));
  const binary = atob(text);
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

class WasmGemm {
  readonly memory: WebAssembly.Memory;
  private readonly exports: GemmExports;
  private readonly workBytes: number;

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const module = new WebAssembly.Module(decodeBase64(gemmWasmBase64));
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory, abort: () => {} } });
    this.exports = instance.exports as unknown as GemmExports;
    this.workBytes = align(this.exports.workspaceBytes());
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** out[b] = a[b] @ b[b] for [batch, M, K] @ [batch, K, N] float32 operands of any strides. */
  matmul(a: ArrayOperand, b: ArrayOperand, out: Float32Array): void {
    const [batch, M, K] = a.shape;
    const N = b.shape[2];
    const aBytes = align(M * K * 4);
    const bBytes = align(K * N * 4);
    const cBytes = align(M * N * 4);
    const aPtr = this.workBytes;
    const bPtr = aPtr + aBytes;
    const cPtr = bPtr + bBytes;
    this.ensure(cPtr + cBytes);
    const buffer = this.memory.buffer;
    const aView = new Float32Array(buffer, aPtr, M * K);
    const bView = new Float32Array(buffer, bPtr, K * N);
    const cView = new Float32Array(buffer, cPtr, M * N);
    for (let p = 0; p < batch; p++) {
      // A broadcast over the batch (stride 0, as conv's weight) is copied once.
      if (p === 0 || a.strides[0] !== 0) fastCopy(matrix(a, p), aView);
      if (p === 0 || b.strides[0] !== 0) fastCopy(matrix(b, p), bView);
      cView.fill(0);
      this.exports.gemm(aPtr, bPtr, cPtr, M, N, K, 0, M, 0);
      out.set(cView, p * M * N);
    }
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Matrix p of a [batch, rows, cols] operand, as a 2-D operand. */
function matrix(x: ArrayOperand, p: number): ArrayOperand {
  return {
    data: x.data,
    shape: [x.shape[1], x.shape[2]],
    strides: [x.strides[1], x.strides[2]],
    offset: x.offset + p * x.strides[0],
  };
}

function create(): WasmGemm | null {
  try {
    return new WasmGemm();
  } catch {
    return null; // no WebAssembly SIMD or shared memory here: the JavaScript GEMM takes over
  }
}

export const wasmGemm: WasmGemm | null = create();
