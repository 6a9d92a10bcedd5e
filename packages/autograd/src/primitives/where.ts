import { ops } from '@agrad/tensor';
import { scalarTensor } from '../creation.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';

// d where(c, a, b) = where(c, da, 0) + where(c, 0, db); the condition gets no gradient.
// Operands arrive with one shape and dtype (see ../functions.ts).
export function where(condition: Tensor, a: Tensor, b: Tensor): Tensor {
  return record(
    'where',
    [a, b],
    ops.where(condition.array, a.array, b.array),
    (g) => {
      // A 0-d zero broadcasts: no zero-filled gradient-sized allocation.
      const zero = scalarTensor(0, g.dtype);
      return [
        a.requiresGrad ? where(condition, g, zero) : null,
        b.requiresGrad ? where(condition, zero, g) : null,
      ];
    },
    [condition],
    { condition },
  );
}
