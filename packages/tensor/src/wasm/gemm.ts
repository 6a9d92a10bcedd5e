import { fastCopy } from '../cpu/elementwise.js';
import type { ArrayOperand } from '../layout.js';
import { gemmWasmBase64 } from './gemm-binary.js';

/**
 * The float32 matmul fast path: a WebAssembly SIMD GEMM (source: wasm/gemm.ts, AssemblyScript).
 * Operands are copied (and so made contiguous) into the module's shared memory and multiplied
 * there; in Node a second thread (worker_threads) computes half of the rows of C in the same
 * memory. Each element of C is computed in the same order whatever the split, so results do not
 * depend on the thread count. Without WebAssembly SIMD, `wasmGemm` is null and the CPU backend
 * uses its JavaScript blocked GEMM.
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
// Products smaller than this many multiply-adds run on one thread: a hand-off costs more.
const PARALLEL_THRESHOLD = 1 << 18;

// Control block, a small SharedArrayBuffer of its own (Int32 slots): the helper sleeps on
// GENERATION, claims a job by moving CLAIM from generation-1 to generation (so exactly one thread
// runs it), and signals DONE; PARAMS holds the call's arguments.
const GENERATION = 0;
const DONE = 1;
const PARAMS = 2; // 9 slots
const FAILED = 11;
const READY = 12;
const REQUIRED_BYTES = 13;
const CLAIM = 14;
const CONTROL_BYTES = 64;
// If the helper has not claimed a job after this long, this thread runs it.
const CLAIM_TIMEOUT_MS = 2000;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof Buffer !== 'undefined') return Uint8Array.from(Buffer.from(text, 'base64'));
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}

// The helper thread: instantiates the same module over the same memory and runs gemm on the rows
// it is handed, forever (it is unref'd, so it never keeps a process alive).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, module, controlBuffer } = workerData;
const { exports } = new WebAssembly.Instance(module, { env: { memory, abort() {} } });
const control = new Int32Array(controlBuffer);
let seen = Atomics.load(control, ${GENERATION});
Atomics.store(control, ${READY}, 1);
for (;;) {
  // Short waits, so that terminating this thread at process exit never meets an endless wait.
  if (Atomics.wait(control, ${GENERATION}, seen, 100) === 'timed-out') continue;
  seen = Atomics.load(control, ${GENERATION});
  if (Atomics.compareExchange(control, ${CLAIM}, seen - 1, seen) !== seen - 1) continue; // the caller took it
  let failed = 0;
  try {
    // Memory grown by the other thread becomes visible here once this thread looks at it again.
    for (let i = 0; i < 1000 && memory.buffer.byteLength < control[${REQUIRED_BYTES}]; i++) Atomics.wait(control, ${FAILED}, 0, 1);
    const p = control;
    exports.gemm(p[${PARAMS}], p[${PARAMS + 1}], p[${PARAMS + 2}], p[${PARAMS + 3}], p[${PARAMS + 4}], p[${PARAMS + 5}], p[${PARAMS + 6}], p[${PARAMS + 7}], p[${PARAMS + 8}]);
  } catch {
    failed = 1;
  }
  Atomics.store(control, ${FAILED}, failed);
  Atomics.store(control, ${DONE}, seen);
  Atomics.notify(control, ${DONE});
}
`;

interface WorkerLike {
  unref(): void;
  terminate(): unknown;
}
type WorkerConstructor = new (
  source: string,
  options: { eval: true; workerData: unknown; execArgv: string[] },
) => WorkerLike;

// worker_threads exists only in Node; elsewhere the GEMM runs on one thread.
const NodeWorker: WorkerConstructor | null = await (async () => {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  try {
    return (await import('node:worker_threads')).Worker as unknown as WorkerConstructor;
  } catch {
    return null;
  }
})();

class WasmGemm {
  readonly memory: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly exports: GemmExports;
  private readonly workBytes: number;
  private helper: WorkerLike | null = null;
  private threads = 1;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));

  constructor() {
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    this.module = new WebAssembly.Module(decodeBase64(gemmWasmBase64));
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory, abort: () => {} } });
    this.exports = instance.exports as unknown as GemmExports;
    this.workBytes = align(this.exports.workspaceBytes());
  }

  /** How many threads multiply (1 or 2); 2 needs Node's worker_threads. */
  get threadCount(): number {
    return this.threads;
  }

  /** Whether the helper thread is up and taking rows. */
  get helperReady(): boolean {
    return this.helper !== null && Atomics.load(this.control, READY) === 1;
  }

  setThreads(count: number): void {
    const wanted = count >= 2 && NodeWorker ? 2 : 1;
    if (wanted === this.threads) return;
    if (wanted === 2 && NodeWorker) {
      // No execArgv: the helper needs no loader hooks (a TypeScript runner's, say) of the parent.
      this.helper = new NodeWorker(WORKER_SOURCE, {
        eval: true,
        workerData: { memory: this.memory, module: this.module, controlBuffer: this.control.buffer },
        execArgv: [],
      });
      this.helper.unref();
      const helper = this.helper;
      process.once('exit', () => void helper.terminate());
    } else {
      this.helper?.terminate();
      this.helper = null;
      Atomics.store(this.control, READY, 0);
    }
    this.threads = wanted;
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /**
   * Waits for the helper to finish job `generation`; false when it failed, or never claimed the
   * job within CLAIM_TIMEOUT_MS (this thread then claims it, so the helper will skip it).
   */
  private awaitHelper(generation: number): boolean {
    const control = this.control;
    const started = Date.now();
    while (Atomics.load(control, DONE) !== generation) {
      Atomics.wait(control, DONE, Atomics.load(control, DONE), 50);
      if (
        Date.now() - started > CLAIM_TIMEOUT_MS &&
        Atomics.compareExchange(control, CLAIM, generation - 1, generation) === generation - 1
      ) {
        return false;
      }
    }
    return Atomics.load(control, FAILED) === 0;
  }

  /** out[b] = a[b] @ b[b] for [batch, M, K] @ [batch, K, N] float32 operands of any strides. */
  matmul(a: ArrayOperand, b: ArrayOperand, out: Float32Array): void {
    const [batch, M, K] = a.shape;
    const N = b.shape[2];
    // Layout: this thread's workspace, the helper's workspace, A, B, C.
    const work = 0;
    const helperWork = work + this.workBytes;
    const aPtr = helperWork + this.workBytes;
    const bPtr = aPtr + align(M * K * 4);
    const cPtr = bPtr + align(K * N * 4);
    const requiredBytes = cPtr + align(M * N * 4);
    this.ensure(requiredBytes);
    const buffer = this.memory.buffer;
    const aView = new Float32Array(buffer, aPtr, M * K);
    const bView = new Float32Array(buffer, bPtr, K * N);
    const cView = new Float32Array(buffer, cPtr, M * N);
    // The helper takes rows only once it has said it is ready, so this thread never blocks on a
    // thread that is still starting.
    const split = this.helperReady && M >= 8 && M * N * K >= PARALLEL_THRESHOLD ? Math.ceil(M / 8) * 4 : M;
    for (let p = 0; p < batch; p++) {
      // A broadcast over the batch (stride 0, as conv's weight) is copied once.
      if (p === 0 || a.strides[0] !== 0) fastCopy(matrix(a, p), aView);
      if (p === 0 || b.strides[0] !== 0) fastCopy(matrix(b, p), bView);
      cView.fill(0);
      if (split < M) {
        const control = this.control;
        control.set([aPtr, bPtr, cPtr, M, N, K, split, M, helperWork], PARAMS);
        Atomics.store(control, REQUIRED_BYTES, requiredBytes);
        const generation = Atomics.add(control, GENERATION, 1) + 1;
        Atomics.notify(control, GENERATION);
        this.exports.gemm(aPtr, bPtr, cPtr, M, N, K, 0, split, work);
        if (!this.awaitHelper(generation)) {
          // The helper did not take (or could not finish) its rows: compute them here and stop using it.
          cView.fill(0, split * N);
          this.exports.gemm(aPtr, bPtr, cPtr, M, N, K, split, M, work);
          this.setThreads(1);
        }
      } else {
        this.exports.gemm(aPtr, bPtr, cPtr, M, N, K, 0, M, work);
      }
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

function defaultThreads(): number {
  const fromEnvironment = typeof process !== 'undefined' ? Number(process.env?.AGRAD_THREADS) : Number.NaN;
  return Number.isFinite(fromEnvironment) && fromEnvironment > 0 ? fromEnvironment : 2;
}

function create(): WasmGemm | null {
  try {
    const gemm = new WasmGemm();
    gemm.setThreads(defaultThreads());
    return gemm;
  } catch {
    return null; // no WebAssembly SIMD or shared memory here: the JavaScript GEMM takes over
  }
}

export const wasmGemm: WasmGemm | null = create();

/**
 * Sets how many threads the float32 matmul uses (1 or 2; default 2, or AGRAD_THREADS). Results are
 * bit-identical for any setting.
 */
export function setNumThreads(count: number): void {
  wasmGemm?.setThreads(count);
}

export function getNumThreads(): number {
  return wasmGemm?.threadCount ?? 1;
}
