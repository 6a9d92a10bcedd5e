import { fromTypedArray, type Tensor } from '@agrad/autograd';
import { ops, type SimdLoops, simdLoops } from '@agrad/tensor';

/**
 * What the fused loops of the blocks (see ./block.ts) share: flat host arrays in, a tensor out. A
 * fused loop runs a block's rule in one pass over plain typed arrays, instead of one tensor op
 * (and one allocation) per term. The arithmetic is the same, term for term; float32 results of
 * the JavaScript loops may differ from the composed version in the last bit, because there
 * intermediates stay in double. Large enough float32 arrays run in WebAssembly SIMD instead
 * (@agrad/tensor's src/wasm/loops.ts), which rounds as the composed version does.
 */
export type FloatArray = Float32Array | Float64Array;

/** Values of a float tensor as a flat array (a view when contiguous on the CPU, else a copy). */
export function values(t: Tensor): FloatArray {
  return (ops.hostView(t.array) ?? t.array.read()) as FloatArray;
}

export function like(t: Tensor): FloatArray {
  return t.dtype === 'float64' ? new Float64Array(t.size) : new Float32Array(t.size);
}

export function wrap(data: FloatArray, t: Tensor): Tensor {
  return fromTypedArray(data, t.shape, t.array.backend);
}

/**
 * Where a fused loop writes the successor of `t` (its next value: a moment, an update): into t's
 * own array when `reuse` allows it (a donated buffer, see ../transform.ts) and t is a contiguous
 * host array, t itself then being the result, its version bumped; otherwise into a fresh array.
 * Each loop reads element i of every input before it writes element i, so writing over an input
 * is safe.
 */
export function successor(t: Tensor, reuse: boolean): { data: FloatArray; tensor: () => Tensor } {
  const own = reuse ? (ops.hostView(t.array) as FloatArray | null) : null;
  if (own) {
    return {
      data: own,
      tensor: () => {
        t.array.storage.version++;
        return t;
      },
    };
  }
  // A fresh array for the successor: in the SIMD loops' memory during an Optimizer step (see
  // @agrad/tensor's src/wasm/loops.ts), where the next block's loop reads it without a copy; not zeroed, as every
  // loop writes each element.
  const data = (t.dtype === 'float32' ? simdLoops()?.scratch(t.size) : null) ?? like(t);
  return { data, tensor: () => wrap(data, t) };
}

/** u * factor (the learning rate's scaling), over u if reusable. */
export function scaled(u: Tensor, factor: number, reuse: boolean): Tensor {
  const U = values(u);
  const out = successor(u, reuse);
  const O = out.data;
  const simd = float32Loops(U, O);
  if (simd) simd.scale(U as Float32Array, O as Float32Array, factor);
  else for (let i = 0; i < O.length; i++) O[i] = U[i] * factor;
  return out.tensor();
}

/** u + p * decay (decoupled weight decay), over u if reusable. */
export function decayed(u: Tensor, p: Tensor, decay: number, reuse: boolean): Tensor {
  const [U, P] = [values(u), values(p)];
  const out = successor(u, reuse);
  const O = out.data;
  const simd = float32Loops(U, P, O);
  if (simd) simd.addScaled(U as Float32Array, P as Float32Array, O as Float32Array, decay);
  else for (let i = 0; i < O.length; i++) O[i] = U[i] + P[i] * decay;
  return out.tensor();
}

/** The SIMD loops (@agrad/tensor's src/wasm/loops.ts) where they run these float32 arrays, else null. */
export function float32Loops(...arrays: FloatArray[]): SimdLoops | null {
  const simd = simdLoops();
  if (!simd?.suits(arrays[0].length)) return null;
  return arrays.every((a) => a instanceof Float32Array) ? simd : null;
}
