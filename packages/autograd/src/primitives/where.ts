import { ops } from '@agrad/tensor';
import { zerosLike } from '../creation.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';

// d where(c, a, b) = where(c, da, 0) + where(c, 0, db); the condition gets no gradient.
// Operands arrive with one shape and dtype (see ../functions.ts).
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor {
  return record('where', [a, b], ops.where(condition.array, a.array, b.array), (g) => {
    const zero = zerosLike(g);
    return [
      a.requiresGrad ? where(condition, g, zero) : null,
      b.requiresGrad ? where(condition, zero, g) : null,
    ];
  });
}
