import { fromTypedArray, type Tensor } from '@agrad/autograd';
import { ops } from '@agrad/tensor';

/**
 * What the fused loops of the blocks (see ./block.ts) share: flat host arrays in, a tensor out. A
 * fused loop runs a block's rule in one pass over plain typed arrays, instead of one tensor op
 * (and one allocation) per term. The arithmetic is the same, term for term; float32 results may
 * differ from the composed version in the last bit, because here intermediates stay in double.
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
  const data = like(t);
  return { data, tensor: () => wrap(data, t) };
}

/** u * factor + p * decay (the weight-decay and learning-rate tail of a chain), over u if reusable. */
export function scaleAndDecay(
  u: Tensor,
  factor: number,
  p: Tensor | null,
  decay: number,
  reuse = false,
): Tensor {
  const U = values(u);
  const out = successor(u, reuse);
  const O = out.data;
  if (p && decay !== 0) {
    const P = values(p);
    for (let i = 0; i < O.length; i++) O[i] = U[i] * factor + P[i] * decay;
  } else {
    for (let i = 0; i < O.length; i++) O[i] = U[i] * factor;
  }
  return out.tensor();
}
