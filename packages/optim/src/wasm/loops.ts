import { decodeBase64 } from '@agrad/tensor';
import { loopsWasmBase64 } from './loops-binary.js';

/**
 * The optimizer's hot float32 loops in WebAssembly SIMD (source: ../../wasm/loops.ts,
 * AssemblyScript), four lanes at a time. V8 runs a plain JavaScript loop over a Float32Array at
 * about 2 ns per element on this project's machines, the SIMD loops at a fraction of that, so
 * copying the arrays into the module's memory and back (about 0.1 ns per element each way) still
 * pays for arrays of any size worth the call. Adam's and the affine loops equal the composed rule
 * bit for bit (they compute in float32 as it does); AGR's equal its JavaScript loop. Where the
 * engine lacks WebAssembly SIMD, `simd` is null and the blocks run their JavaScript loops.
 */
interface LoopExports {
  adam(
    g: number,
    m: number,
    v: number,
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
  agrScale(g: number, out: number, n: number, sum: number): void;
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

/** The SIMD loops on float32 arrays, each copying its operands in and its results out. */
export class SimdLoops {
  private memory: WebAssembly.Memory;
  private heap: Float32Array;
  /** The array whose values are in slot 0 since the last absoluteSum, if no call came between. */
  private staged: Float32Array | null = null;

  constructor(
    private readonly exports: LoopExports,
    memory: WebAssembly.Memory,
  ) {
    this.memory = memory;
    this.heap = new Float32Array(memory.buffer);
  }

  /** Whether an array of this length is worth the call. */
  suits(n: number): boolean {
    return n >= MIN_LENGTH;
  }

  /** Adam's moments and direction over [g, m, v, m2, v2, u]: m2, v2 (which may be m, v) and u written. */
  adam([G, M, V, m2, v2, u]: Float32Array[], c: AdamConstants32): void {
    const [g, m, v, out] = this.slots(G.length, 4);
    this.put(g, G);
    this.put(m, M);
    this.put(v, V);
    this.exports.adam(
      g,
      m,
      v,
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
    this.get(m, m2);
    this.get(v, v2);
    this.get(out, u);
  }

  /** out = u * factor. */
  scale(U: Float32Array, out: Float32Array, factor: number): void {
    const [u] = this.slots(U.length, 1);
    this.put(u, U);
    this.exports.scale(u, u, U.length, factor);
    this.get(u, out);
  }

  /** out = u + p * decay (out may be u or p). */
  addScaled(U: Float32Array, P: Float32Array, out: Float32Array, decay: number): void {
    const [u, p] = this.slots(U.length, 2);
    this.put(u, U);
    this.put(p, P);
    this.exports.addScaled(u, p, u, U.length, decay);
    this.get(u, out);
  }

  /** AGR's L1 sum: sum |g| in float64, in the order of its JavaScript loop. */
  absoluteSum(G: Float32Array): number {
    const [g] = this.slots(G.length, 1);
    this.put(g, G);
    this.staged = G;
    return this.exports.absoluteSum(g, G.length);
  }

  /** out = g (1 - |g| / sum) in float64 (out may be g); g is still in place after absoluteSum(g). */
  agrScale(G: Float32Array, out: Float32Array, sum: number): void {
    const staged = this.staged === G;
    const [g] = this.slots(G.length, 1);
    if (!staged) this.put(g, G);
    this.exports.agrScale(g, g, G.length, sum);
    this.staged = null;
    this.get(g, out);
  }

  /** Byte offsets of `count` slots of n floats, each 16-byte aligned; grows the memory to fit. */
  private slots(n: number, count: number): number[] {
    const stride = Math.ceil(n / 4) * 16;
    const bytes = stride * count;
    if (bytes > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / PAGE));
      this.heap = new Float32Array(this.memory.buffer);
    }
    return Array.from({ length: count }, (_, i) => i * stride);
  }

  private put(at: number, source: Float32Array): void {
    this.staged = null;
    this.heap.set(source, at >> 2);
  }

  private get(at: number, target: Float32Array): void {
    target.set(this.heap.subarray(at >> 2, (at >> 2) + target.length));
  }
}

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
