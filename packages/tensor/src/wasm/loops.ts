import { decodeBase64 } from './bytes.js';
import { loopsWasmBase64 } from './loops-binary.js';

/**
 * The optimizer's hot float32 loops in WebAssembly SIMD (source: ../../wasm/loops.ts,
 * AssemblyScript), four lanes at a time. V8 runs a plain JavaScript loop over a Float32Array at
 * about 2 ns per element on this project's machines; the SIMD loops run at a fraction of that.
 * Adam's and the affine loops equal the composed rule bit for bit (they compute in float32 as it
 * does); AGR's equal its JavaScript loop. Where the engine lacks WebAssembly SIMD, `simdLoops()`
 * is null and the blocks run their JavaScript loops.
 *
 * Operands live in the module's memory. An array already there (a scratch array, see below) is
 * used where it is; any other goes through small staging slots piece by piece (CHUNK elements):
 * copied in, run, copied out, while the piece is in the core's cache. During an Optimizer step
 * the fused loops write the updates they make into scratch arrays in the module's memory
 * (`scratch`), so an update passed from block to block (AGR's output into Adam, Adam's into the
 * weight decay, ...) is never copied: per parameter an AdamW step copies in the gradient, the
 * moments and the parameter (twice: weight decay, then the update), and copies out the moments
 * and the parameter.
 */
export interface LoopExports {
  /** AdamW's whole update of one parameter in one pass (moments, bias corrections, decay). */
  adam(
    g: number,
    m: number,
    v: number,
    mOut: number,
    vOut: number,
    u: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    correction1: number,
    correction2: number,
    eps: number,
  ): void;
  /** out = u * factor. */
  scale(u: number, out: number, n: number, factor: number): void;
  /** out = u + decay * p. */
  addScaled(u: number, p: number, out: number, n: number, decay: number): void;
  /** Adds |g| into the float64 partial sums at `sums` (pairs added in float32 first): AGR's L1 mass. */
  absoluteSum(g: number, n: number, sums: number): void;
  /** out = g * (1 - |g| * reciprocal): AGR's update with reciprocal = 1 / sum|g|. */
  agrScale(g: number, out: number, n: number, reciprocal: number): void;
  /** out = a op b over n contiguous elements (b a scalar when flagged). */
  arithmetic(op: number, a: number, b: number, out: number, n: number, scalar: number): void;
  /** out = a op b row by row, b one row broadcast over a's rows. */
  arithmeticRows(
    op: number,
    a: number,
    b: number,
    out: number,
    rows: number,
    cols: number,
    perRow: number,
  ): void;
  /** out = max(a, 0). */
  relu(a: number, out: number, n: number): void;
  /** out = y > 0 ? g : 0. */
  reluBackward(g: number, y: number, out: number, n: number): void;
}

/** The arithmetic the module runs for the CPU backend, by its code there. */
const ARITHMETIC = ['add', 'sub', 'mul', 'div'] as const;
export type SimdArithmetic = (typeof ARITHMETIC)[number];
export const isSimdArithmetic = (op: string): op is SimdArithmetic =>
  (ARITHMETIC as readonly string[]).includes(op);

/** Adam's constants for one step; the call rounds each to float32, as the composed rule's scalars are. */
export interface AdamConstants32 {
  b1: number;
  b2: number;
  eps: number;
  /** 1 - b1^t */
  correction1: number;
  /** sqrt(1 - b2^t) */
  correction2: number;
}

// Below this length a call, and its copies, cost more than the JavaScript loop.
const MIN_LENGTH = 256;
const PAGE = 65536;
// Staging slots: as many as one call copies in or out at most (Adam: g, m, v in; m, v, u out).
const SLOTS = 6;
// Arrays go through the slots in pieces of this many floats: six slots of 32 KB stay in the
// core's cache, so the loop's own reads and writes never reach main memory. A multiple of 16, so
// AGR's eight running sums keep their phase from piece to piece.
const CHUNK = 8192;

/** The SIMD loops on float32 arrays. */
export class SimdLoops {
  private heap: Float32Array;
  /** Scratch arrays are bump-allocated in [0, scratchEnd) while a scope is open. */
  private scratchEnd = 0;
  private scratchTop = 0;
  private scoped = false;
  /** Byte offset of the staging slots, after the scratch region, and of AGR's eight sums. */
  private slotBase = STAGGER;

  constructor(
    private readonly exports: LoopExports,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.heap = new Float32Array(memory.buffer);
    this.ensure(slotsEnd(this.slotBase));
  }

  /** Whether an array of this length is worth the call. */
  suits(n: number): boolean {
    return n >= MIN_LENGTH;
  }

  /**
   * Runs `body` with a scratch region of `floats` floats, then frees the region: every scratch
   * array handed out in `body` must be dead or moved out (see `isScratch`) by then. The memory
   * grows here, never inside: growing detaches the old buffer, and with it every scratch array.
   */
  scope<T>(floats: number, body: () => T): T {
    if (this.scoped) return body();
    const scratchEnd = align(floats * 4) + SCRATCH_SLACK;
    try {
      this.ensure(slotsEnd(scratchEnd + STAGGER));
    } catch {
      return body(); // no room to grow: every array stays on the heap and is copied in and out
    }
    [this.scratchEnd, this.scratchTop, this.slotBase] = [scratchEnd, 0, scratchEnd + STAGGER];
    this.scoped = true;
    try {
      return body();
    } finally {
      [this.scoped, this.scratchEnd, this.scratchTop, this.slotBase] = [false, 0, 0, STAGGER];
    }
  }

  /** A float32 array of n elements in the module's memory (not zeroed), or null outside a scope or when full. */
  scratch(n: number): Float32Array | null {
    if (!this.scoped || this.scratchTop + n * 4 > this.scratchEnd) return null;
    const view = new Float32Array(this.memory.buffer, this.scratchTop, n);
    this.scratchTop = align(this.scratchTop + n * 4) + STAGGER;
    return view;
  }

  /** Whether `a` lives in the module's memory (a scratch array, or a view of one). */
  isScratch(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** Adam's moments and direction over [g, m, v, m2, v2, u]: m2, v2 (which may be m, v) and u written. */
  adam([G, M, V, m2, v2, u]: Float32Array[], c: AdamConstants32): void {
    const [b1, c1, b2, c2] = [c.b1, 1 - c.b1, c.b2, 1 - c.b2];
    this.pieces([G, M, V], [m2, v2, u], ([g, m, v, mOut, vOut, out], n) =>
      this.exports.adam(g, m, v, mOut, vOut, out, n, b1, c1, b2, c2, c.correction1, c.correction2, c.eps),
    );
  }

  /** out = u * factor (out may be u). */
  scale(U: Float32Array, out: Float32Array, factor: number): void {
    this.pieces([U], [out], ([u, o], n) => this.exports.scale(u, o, n, factor));
  }

  /** out = u + p * decay (out may be u or p). */
  addScaled(U: Float32Array, P: Float32Array, out: Float32Array, decay: number): void {
    this.pieces([U, P], [out], ([u, p, o], n) => this.exports.addScaled(u, p, o, n, decay));
  }

  /** out = a op b, b an array of a's length or one number (a float32 value) for every element. */
  arithmetic(op: SimdArithmetic, A: Float32Array, B: Float32Array | number, out: Float32Array): void {
    const code = ARITHMETIC.indexOf(op);
    if (typeof B === 'number') {
      const at = this.slot(SLOTS);
      this.heap[at >> 2] = B;
      this.pieces([A], [out], ([a, o], n) => this.exports.arithmetic(code, a, at, o, n, 1));
    } else {
      this.pieces([A, B], [out], ([a, b, o], n) => this.exports.arithmetic(code, a, b, o, n, 0));
    }
  }

  /** out = relu(a), as the CPU backend's loop computes it. */
  relu(A: Float32Array, out: Float32Array): void {
    this.pieces([A], [out], ([a, o], n) => this.exports.relu(a, o, n));
  }

  /** out = g where y > 0, else 0 (relu's vector-Jacobian product). */
  reluBackward(G: Float32Array, Y: Float32Array, out: Float32Array): void {
    this.pieces([G, Y], [out], ([g, y, o], n) => this.exports.reluBackward(g, y, o, n));
  }

  /** Whether rows of this many elements fit arithmeticRows' staging. */
  fitsRows(cols: number): boolean {
    return cols <= CHUNK;
  }

  /**
   * out = a op b over the rows of a (`cols` elements each, contiguous), b broadcast: one value per
   * row (`perRow`, b has a's row count) or one row for every row (b has `cols` values).
   */
  arithmeticRows(
    op: SimdArithmetic,
    A: Float32Array,
    B: Float32Array,
    out: Float32Array,
    cols: number,
    perRow: boolean,
  ): void {
    const code = ARITHMETIC.indexOf(op);
    const rows = A.length / cols;
    const rowsPerPiece = Math.floor(CHUNK / cols);
    const [a, b, o] = [this.slot(0), this.slot(1), this.slot(3)];
    if (!perRow) this.heap.set(B, b >> 2);
    for (let first = 0; first < rows; first += rowsPerPiece) {
      const count = Math.min(rowsPerPiece, rows - first);
      this.heap.set(A.subarray(first * cols, (first + count) * cols), a >> 2);
      if (perRow) this.heap.set(B.subarray(first, first + count), b >> 2);
      this.exports.arithmeticRows(code, a, b, o, count, cols, perRow ? 1 : 0);
      out.set(this.heap.subarray(o >> 2, (o >> 2) + count * cols), first * cols);
    }
  }

  /** AGR's L1 sum: sum |g| in float64, in the order of its JavaScript loop. */
  absoluteSum(G: Float32Array): number {
    const sums = this.slot(SLOTS);
    new Float64Array(this.memory.buffer, sums, 8).fill(0);
    this.pieces([G], [], ([g], n) => this.exports.absoluteSum(g, n, sums));
    const [s0, s1, s2, s3, s4, s5, s6, s7] = new Float64Array(this.memory.buffer, sums, 8);
    return s0 + s1 + (s2 + s3) + (s4 + s5 + (s6 + s7));
  }

  /** out = g (1 - |g| r) in float32, r a normal float32 value (out may be g). */
  agrScale(G: Float32Array, out: Float32Array, reciprocal: number): void {
    this.pieces([G], [out], ([g, o], n) => this.exports.agrScale(g, o, n, reciprocal));
  }

  /**
   * Runs `kernel` over the arrays piece by piece: for each piece of CHUNK elements, the inputs are
   * copied into slots 0-2 (or read where they live, if in this memory), the kernel gets their
   * addresses and then the outputs' (slots 3-5, or in place), and the outputs are copied back.
   */
  private pieces(
    inputs: Float32Array[],
    outputs: Float32Array[],
    kernel: (at: number[], n: number) => void,
  ): void {
    const length = inputs[0].length;
    for (let start = 0; start < length; start += CHUNK) {
      const n = Math.min(CHUNK, length - start);
      const at = inputs.map((a, k) => this.input(a, start, n, k));
      const written = outputs.map((a, k) => this.output(a, start, k));
      kernel([...at, ...written], n);
      outputs.forEach((a, k) => {
        if (!this.isScratch(a)) a.set(this.heap.subarray(written[k] >> 2, (written[k] >> 2) + n), start);
      });
    }
  }

  /** The byte offset of slot k: 0-2 hold inputs, 3-5 outputs; slot 6 holds AGR's sums. */
  private slot(k: number): number {
    return this.slotBase + k * SLOT_STRIDE;
  }

  /** Where the kernel reads elements [start, start + n) of `a`: where they live, or slot k after copying them in. */
  private input(a: Float32Array, start: number, n: number, k: number): number {
    if (this.isScratch(a)) return a.byteOffset + start * 4;
    const at = this.slot(k);
    this.heap.set(a.subarray(start, start + n), at >> 2);
    return at;
  }

  /** Where the kernel writes elements from `start` of `a`: in place when it lives in this memory, else slot 3 + k. */
  private output(a: Float32Array, start: number, k: number): number {
    return this.isScratch(a) ? a.byteOffset + start * 4 : this.slot(3 + k);
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
  }
}

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

// Arrays whose addresses are equal modulo 4096 bytes make the processor stall: a load from one
// looks, by its low 12 address bits, like it depends on a recent store to another ("4K
// aliasing"); copying out of a slot whose offset matched its target's ran about 15 times slower. Typed
// arrays and this memory start page-aligned, so consecutive slots and scratch arrays are set
// apart by a stagger that is not a multiple of the page (0, 1088, 2176, ... modulo 4096).
const STAGGER = 1088;
const SCRATCH_SLACK = 1 << 16; // room for the scratch arrays' staggers
const SLOT_STRIDE = CHUNK * 4 + STAGGER;
/** The end of the slots placed from byte `base`: the six staging slots, then AGR's eight float64 sums. */
const slotsEnd = (base: number) => base + SLOTS * SLOT_STRIDE + 64;

function instantiate(): SimdLoops | null {
  try {
    const bytes = decodeBase64(loopsWasmBase64);
    // Engines without SIMD refuse to compile the module: the JavaScript loops run instead.
    if (!WebAssembly.validate(bytes)) return null;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory, abort: () => {} },
    });
    return new SimdLoops(instance.exports as unknown as LoopExports, memory);
  } catch {
    return null;
  }
}

const available = typeof WebAssembly === 'object' ? instantiate() : null;
let enabled = true;

/** The SIMD loops when the engine has them and they are turned on, else null. */
export function simdLoops(): SimdLoops | null {
  return enabled ? available : null;
}

/**
 * Turns the SIMD loops on or off (on by default where available), returning the previous
 * setting: for tests of the JavaScript loops, and for comparing the two.
 */
export function useSimdLoops(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}
