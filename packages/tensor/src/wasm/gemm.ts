import { fastCopy } from '../cpu/elementwise.js';
import type { ArrayOperand } from '../layout.js';
import { decodeBase64 } from './bytes.js';
import { gemmWasmBase64 } from './gemm-binary.js';
import { gemmRelaxedWasmBase64 } from './gemm-relaxed-binary.js';

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
    aRowStride: number,
    aColStride: number,
    bRowStride: number,
    bColStride: number,
  ): void;
  workspaceBytes(): number;
}

const PAGE = 65536;
// Products smaller than this many multiply-adds run on one thread: a hand-off costs more.
const PARALLEL_THRESHOLD = 1 << 18;

// Control block, a small SharedArrayBuffer of its own (Int32 slots): the helper sleeps on
// GENERATION, claims a job by moving CLAIM from generation-1 to generation (so exactly one thread
// runs it), and signals DONE; PARAMS holds the call's arguments (gemm's thirteen), then the
// job's product count and the byte distance between consecutive products' A, B and C.
const GEMM_ARGS = 13;
const GENERATION = 0;
const DONE = 1;
const PARAMS = 2; // GEMM_ARGS + 4 slots
const FAILED = PARAMS + GEMM_ARGS + 4;
const READY = FAILED + 1;
const REQUIRED_BYTES = READY + 1;
const CLAIM = REQUIRED_BYTES + 1;
const CONTROL_BYTES = (CLAIM + 1) * 4;
// A batch is copied into wasm memory at most this many bytes at a time.
const CHUNK_BYTES = 64 << 20;
// If the helper has not claimed a job after this long, this thread runs it.
const CLAIM_TIMEOUT_MS = 2000;

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
    const args = Array.from(p.subarray(${PARAMS}, ${PARAMS + GEMM_ARGS}));
    const [count, aStep, bStep, cStep] = p.subarray(${PARAMS + GEMM_ARGS}, ${PARAMS + GEMM_ARGS + 4});
    for (let q = 0; q < count; q++) {
      exports.gemm(args[0] + q * aStep, args[1] + q * bStep, args[2] + q * cStep, ...args.slice(3));
    }
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

// worker_threads exists only in Node; elsewhere the GEMM runs on one thread. It is fetched with
// process.getBuiltinModule (Node 20.16+), synchronously, so that the module needs no top-level
// await and builds as CommonJS too; an older Node also multiplies on one thread.
const NodeWorker: WorkerConstructor | null = (() => {
  if (typeof process === 'undefined') return null;
  const node = process as { getBuiltinModule?: (id: string) => unknown };
  if (typeof node.getBuiltinModule !== 'function') return null;
  const workerThreads = node.getBuiltinModule('node:worker_threads') as
    | { Worker?: WorkerConstructor }
    | undefined;
  return workerThreads?.Worker ?? null;
})();

class WasmGemm {
  readonly memory: WebAssembly.Memory;
  private readonly module: WebAssembly.Module;
  private readonly exports: GemmExports;
  private readonly workBytes: number;
  private helper: WorkerLike | null = null;
  private threads = 1;
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_BYTES));

  constructor(readonly kind: GemmKind) {
    this.memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    this.module = new WebAssembly.Module(decodeBase64(GEMM_BINARIES[kind]));
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

  /**
   * out[p] = a[p] @ b[p] for [batch, M, K] @ [batch, K, N] float32 operands of any strides. The
   * products are copied into wasm memory a chunk of the batch at a time; with two threads, a
   * batch of several products is split by products (one hand-off per chunk, as for a
   * convolution's per-image products), a single product by rows of C.
   */
  matmul(a: ArrayOperand, b: ArrayOperand, out: Float32Array): void {
    const [batch, M, K] = a.shape;
    const N = b.shape[2];
    // A broadcast over the batch (stride 0, as conv's weight) is copied once.
    const [aShared, bShared] = [batch > 1 && a.strides[0] === 0, batch > 1 && b.strides[0] === 0];
    const [aBytes, bBytes, cBytes] = [align(M * K * 4), align(K * N * 4), align(M * N * 4)];
    const perProduct = (aShared ? 0 : aBytes) + (bShared ? 0 : bBytes) + cBytes;
    const chunk = Math.max(1, Math.min(batch, Math.floor(CHUNK_BYTES / perProduct)));
    for (let first = 0; first < batch; first += chunk) {
      this.products(a, b, out, first, Math.min(chunk, batch - first), aShared, bShared);
    }
  }

  /** Products first .. first + count - 1 of matmul, in one layout of wasm memory. */
  private products(
    a: ArrayOperand,
    b: ArrayOperand,
    out: Float32Array,
    first: number,
    count: number,
    aShared: boolean,
    bShared: boolean,
  ): void {
    const [, M, K] = a.shape;
    const N = b.shape[2];
    const [aBytes, bBytes, cBytes] = [align(M * K * 4), align(K * N * 4), align(M * N * 4)];
    // Layout: this thread's workspace, the helper's workspace, then every A, B and C of the chunk.
    const work = 0;
    const helperWork = work + this.workBytes;
    const [aStep, bStep] = [aShared ? 0 : aBytes, bShared ? 0 : bBytes];
    const aPtr = helperWork + this.workBytes;
    const bPtr = aPtr + (aShared ? aBytes : aBytes * count);
    const cPtr = bPtr + (bShared ? bBytes : bBytes * count);
    const requiredBytes = cPtr + cBytes * count;
    this.ensure(requiredBytes);
    const buffer = this.memory.buffer;
    const view = (ptr: number, length: number) => new Float32Array(buffer, ptr, length);
    let strides: number[] = [];
    for (let q = 0; q < count; q++) {
      const aLayout = q === 0 || !aShared ? place(matrix(a, first + q), view(aPtr + q * aStep, M * K)) : null;
      const bLayout = q === 0 || !bShared ? place(matrix(b, first + q), view(bPtr + q * bStep, K * N)) : null;
      if (q === 0) strides = [...aLayout!, ...bLayout!];
    }
    view(cPtr, (cBytes / 4) * count).fill(0);
    const [ars, acs, brs, bcs] = strides;
    const run = (from: number, to: number, rowStart: number, rowEnd: number) => {
      for (let q = from; q < to; q++) {
        const [aq, bq, cq] = [aPtr + q * aStep, bPtr + q * bStep, cPtr + q * cBytes];
        this.exports.gemm(aq, bq, cq, M, N, K, rowStart, rowEnd, work, ars, acs, brs, bcs);
      }
    };
    // The helper takes work only once it has said it is ready, so this thread never blocks on a
    // thread that is still starting.
    const parallel = this.helperReady && M * N * K * count >= PARALLEL_THRESHOLD;
    if (parallel && count >= 2) {
      // By products: the helper takes the second half of the chunk, all rows.
      const half = Math.ceil(count / 2);
      this.handOff(
        [
          aPtr + half * aStep,
          bPtr + half * bStep,
          cPtr + half * cBytes,
          M,
          N,
          K,
          0,
          M,
          helperWork,
          ...strides,
        ],
        [count - half, aStep, bStep, cBytes],
        requiredBytes,
        () => run(0, half, 0, M),
        () => {
          view(cPtr + half * cBytes, (cBytes / 4) * (count - half)).fill(0);
          run(half, count, 0, M);
        },
      );
    } else if (parallel && M >= 8) {
      // By rows of the single product.
      const split = Math.ceil(M / 8) * 4;
      this.handOff(
        [aPtr, bPtr, cPtr, M, N, K, split, M, helperWork, ...strides],
        [1, 0, 0, 0],
        requiredBytes,
        () => run(0, 1, 0, split),
        () => {
          view(cPtr + split * N * 4, (M - split) * N).fill(0);
          run(0, 1, split, M);
        },
      );
    } else run(0, count, 0, M);
    for (let q = 0; q < count; q++) out.set(view(cPtr + q * cBytes, M * N), (first + q) * M * N);
  }

  /**
   * Runs `mine` here while the helper runs the job `gemm` (its arguments) repeated as
   * `repeat` says ([count, A step, B step, C step]); if the helper did not take or could not
   * finish it, `theirs` computes it here and the helper is no longer used.
   */
  private handOff(
    gemm: number[],
    repeat: number[],
    requiredBytes: number,
    mine: () => void,
    theirs: () => void,
  ): void {
    const control = this.control;
    control.set([...gemm, ...repeat], PARAMS);
    Atomics.store(control, REQUIRED_BYTES, requiredBytes);
    const generation = Atomics.add(control, GENERATION, 1) + 1;
    Atomics.notify(control, GENERATION);
    mine();
    if (!this.awaitHelper(generation)) {
      theirs();
      this.setThreads(1);
    }
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/**
 * Copies a matrix into wasm memory without transposing it: row-major as it is, column-major (a
 * transposed view) as it is too, since the GEMM packs either; anything else is gathered
 * row-major. Returns the copy's row and column strides.
 */
function place(x: ArrayOperand, into: Float32Array): [number, number] {
  const [rows, cols] = x.shape;
  const [rs, cs] = x.strides;
  if (rows > 1 && cols > 1 && rs === 1 && cs === rows && x.data instanceof Float32Array) {
    into.set(x.data.subarray(x.offset, x.offset + rows * cols));
    return [1, rows];
  }
  fastCopy(x, into);
  return [cols, 1];
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

/**
 * The two builds of wasm/gemm.ts: with relaxed SIMD's fused multiply-add (Chromium; Node 20 with
 * --experimental-wasm-relaxed-simd), and with SIMD128 alone, for every other engine. Results of
 * the two differ in rounding (a fused multiply-add rounds once), each within the GEMM's error
 * bound; on one machine and engine they are deterministic.
 */
export type GemmKind = 'relaxed-simd' | 'simd128';
const GEMM_BINARIES: Record<GemmKind, string> = {
  'relaxed-simd': gemmRelaxedWasmBase64,
  simd128: gemmWasmBase64,
};

/** The builds this engine can run, best first (it validates the relaxed one, or not). */
export function gemmKinds(): GemmKind[] {
  if (typeof WebAssembly !== 'object') return [];
  const valid = (kind: GemmKind) => WebAssembly.validate(decodeBase64(GEMM_BINARIES[kind]));
  return (['relaxed-simd', 'simd128'] as const).filter(valid);
}

/** A GEMM of the given build, on one thread, or null where it cannot run (for tests and benches). */
export function createWasmGemm(kind: GemmKind, threads = 1): WasmGemm | null {
  try {
    const gemm = new WasmGemm(kind);
    gemm.setThreads(threads);
    return gemm;
  } catch {
    return null; // no WebAssembly SIMD or shared memory here: the JavaScript GEMM takes over
  }
}

function create(): WasmGemm | null {
  for (const kind of gemmKinds()) {
    const gemm = createWasmGemm(kind, defaultThreads());
    if (gemm) return gemm;
  }
  return null;
}

export const wasmGemm: WasmGemm | null = create();

/**
 * Sets how many threads the float32 matmul uses (1 or 2; default 2, or AGRAD_THREADS). Results are
 * bit-identical for any setting.
 */
export function setNumThreads(count: number): void {
  wasmGemm?.setThreads(count);
}

/** How many threads the WebAssembly GEMM uses (1 or 2). */
export function getNumThreads(): number {
  return wasmGemm?.threadCount ?? 1;
}

/**
 * Whether the GEMM's second thread has started and takes work (it starts asynchronously after
 * setNumThreads(2)); until then products run on one thread, with the same results.
 */
export function threadsReady(): boolean {
  return wasmGemm?.helperReady ?? false;
}

/** Which float32 matmul runs: a WebAssembly build (see GemmKind), or the JavaScript GEMM. */
export function gemmKind(): GemmKind | 'javascript' {
  return wasmGemm?.kind ?? 'javascript';
}
