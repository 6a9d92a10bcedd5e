import { decodeBase64 } from '@agrad/tensor';
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
 * used where it is; any other is copied in, and results copied out, about 0.1 ns per element each
 * way. During an Optimizer step the fused loops write the updates they make into scratch arrays
 * in the module's memory (`scratch`), so an update passed from block to block (AGR's output into
 * Adam, Adam's into the weight decay, ...) is never copied: per parameter a step copies in the
 * gradient, the moments and the parameter, and copies out the moments and the parameter.
 */
interface LoopExports {
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
  scale(u: number, out: number, n: number, factor: number): void;
  addScaled(u: number, p: number, out: number, n: number, decay: number): void;
  absoluteSum(g: number, n: number): number;
  agrScale(g: number, out: number, n: number, reciprocal: number): void;
}

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

/** The SIMD loops on float32 arrays. */
export class SimdLoops {
  private heap: Float32Array;
  /** Scratch arrays are bump-allocated in [0, scratchEnd) while a scope is open. */
  private scratchEnd = 0;
  private scratchTop = 0;
  private scoped = false;
  /** Byte offset of the staging slots (after the scratch region) and their size in floats. */
  private slotBase = 0;
  private slotFloats = 0;
  /** The array whose values are in slot 0 since the last absoluteSum, if no call came between. */
  private staged: Float32Array | null = null;

  constructor(
    private readonly exports: LoopExports,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.heap = new Float32Array(memory.buffer);
  }

  /** Whether an array of this length is worth the call. */
  suits(n: number): boolean {
    return n >= MIN_LENGTH;
  }

  /**
   * Runs `body` with a scratch region of `floats` floats and staging slots for arrays of up to
   * `largest` elements, then frees the region: every scratch array handed out in `body` must be
   * dead or moved out (see `isScratch`) by then. The memory grows here, never inside: growing
   * detaches the old buffer, and with it every scratch array.
   */
  scope<T>(floats: number, largest: number, body: () => T): T {
    if (this.scoped) return body();
    const [scratchEnd, slotFloats] = [align(floats * 4), Math.ceil(largest / 4) * 4];
    try {
      this.ensure(scratchEnd + SLOTS * slotFloats * 4);
    } catch {
      return body(); // no room to grow: every array stays on the heap and is copied in and out
    }
    [this.scratchEnd, this.slotBase, this.slotFloats, this.scratchTop] = [
      scratchEnd,
      scratchEnd,
      slotFloats,
      0,
    ];
    this.scoped = true;
    try {
      return body();
    } finally {
      this.scoped = false;
      this.scratchTop = 0;
      this.scratchEnd = 0;
      this.slotBase = 0;
      this.slotFloats = 0;
    }
  }

  /** A float32 array of n elements in the module's memory (not zeroed), or null outside a scope or when full. */
  scratch(n: number): Float32Array | null {
    if (!this.scoped || this.scratchTop + n * 4 > this.scratchEnd) return null;
    const view = new Float32Array(this.memory.buffer, this.scratchTop, n);
    this.scratchTop = align(this.scratchTop + n * 4);
    return view;
  }

  /** Whether `a` lives in the module's memory (a scratch array, or a view of one). */
  isScratch(a: ArrayBufferView): boolean {
    return a.buffer === this.memory.buffer;
  }

  /** Adam's moments and direction over [g, m, v, m2, v2, u]: m2, v2 (which may be m, v) and u written. */
  adam([G, M, V, m2, v2, u]: Float32Array[], c: AdamConstants32): void {
    this.startCall(G.length);
    const [g, m, v] = [this.input(G, 0), this.input(M, 1), this.input(V, 2)];
    const [mOut, vOut, out] = [this.output(m2, 0), this.output(v2, 1), this.output(u, 2)];
    this.exports.adam(
      g,
      m,
      v,
      mOut,
      vOut,
      out,
      G.length,
      c.b1,
      1 - c.b1,
      c.b2,
      1 - c.b2,
      c.correction1,
      c.correction2,
      c.eps,
    );
    this.finish(mOut, m2);
    this.finish(vOut, v2);
    this.finish(out, u);
  }

  /** out = u * factor (out may be u). */
  scale(U: Float32Array, out: Float32Array, factor: number): void {
    this.startCall(U.length);
    const [u, o] = [this.input(U, 0), this.output(out, 0)];
    this.exports.scale(u, o, U.length, factor);
    this.finish(o, out);
  }

  /** out = u + p * decay (out may be u or p). */
  addScaled(U: Float32Array, P: Float32Array, out: Float32Array, decay: number): void {
    this.startCall(U.length);
    const [u, p, o] = [this.input(U, 0), this.input(P, 1), this.output(out, 0)];
    this.exports.addScaled(u, p, o, U.length, decay);
    this.finish(o, out);
  }

  /** AGR's L1 sum: sum |g| in float64, in the order of its JavaScript loop. */
  absoluteSum(G: Float32Array): number {
    this.startCall(G.length);
    const g = this.input(G, 0);
    this.staged = G;
    return this.exports.absoluteSum(g, G.length);
  }

  /** out = g (1 - |g| r) in float64 (out may be g); g is still in place after absoluteSum(g). */
  agrScale(G: Float32Array, out: Float32Array, reciprocal: number): void {
    const staged = this.staged === G;
    this.startCall(G.length);
    const g = staged || this.isScratch(G) ? this.address(G, 0) : this.input(G, 0);
    const o = this.output(out, 1);
    this.exports.agrScale(g, o, G.length, reciprocal);
    this.finish(o, out);
  }

  /** Makes room for this call's slots when no scope sized them (outside an Optimizer step). */
  private startCall(n: number): void {
    this.staged = null;
    if (this.scoped && n <= this.slotFloats) return;
    if (this.scoped) throw new RangeError(`SimdLoops: an array of ${n} elements exceeds the step's slots`);
    this.slotFloats = Math.ceil(n / 4) * 4;
    this.ensure(SLOTS * this.slotFloats * 4);
  }

  /** Where the kernel reads `a`: where it lives, or slot k after copying it in. */
  private input(a: Float32Array, k: number): number {
    if (this.isScratch(a)) return a.byteOffset;
    const at = this.slotBase + k * this.slotFloats * 4;
    this.heap.set(a, at >> 2);
    return at;
  }

  /** The address of slot k, or of `a` itself when it lives in the module's memory. */
  private address(a: Float32Array, k: number): number {
    return this.isScratch(a) ? a.byteOffset : this.slotBase + k * this.slotFloats * 4;
  }

  /** Where the kernel writes `a`: in place when it lives in the module's memory, else slot 3 + k. */
  private output(a: Float32Array, k: number): number {
    return this.isScratch(a) ? a.byteOffset : this.slotBase + (3 + k) * this.slotFloats * 4;
  }

  /** Copies a result out of its slot into `target`, unless it was written in place. */
  private finish(at: number, target: Float32Array): void {
    if (this.isScratch(target)) return;
    target.set(this.heap.subarray(at >> 2, (at >> 2) + target.length));
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
  }
}

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

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
