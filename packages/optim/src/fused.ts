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

/** u * factor + p * decay (the weight-decay and learning-rate tail of a chain). */
export function scaleAndDecay(u: Tensor, factor: number, p: Tensor | null, decay: number): Tensor {
  const U = values(u);
  const out = like(u);
  if (p && decay !== 0) {
    const P = values(p);
    for (let i = 0; i < out.length; i++) out[i] = U[i] * factor + P[i] * decay;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = U[i] * factor;
  }
  return wrap(out, u);
}
