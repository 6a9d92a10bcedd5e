import { type ArithmeticOp, ops } from '@agrad/tensor';
import { scalarTensor } from '../creation.js';
import { record, type Saved } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { where } from './where.js';

/**
 * Elementwise binary primitives (sub and minimum are composed from these in ../functions.ts). Operands arrive with one shape and one dtype: broadcasting is an
 * explicit expand (whose vjp sums) and promotion an explicit cast, both done by the callers in
 * ../functions.ts, so no vjp here ever re-derives broadcast axes.
 */
function binary(
  op: ArithmeticOp,
  a: Tensor,
  b: Tensor,
  saves: Saved,
  vjp: (grad: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
): Tensor {
  const out: Tensor = record(op, [a, b], ops.binary(op, a.array, b.array), (grad) => vjp(grad, out), saves);
  return out;
}

// d(a+b) = da + db
export const add = (a: Tensor, b: Tensor) => binary('add', a, b, [], (g) => [g, g]);
// d(ab) = b da + a db
export const mul = (a: Tensor, b: Tensor) =>
  binary('mul', a, b, [a, b], (g) => [a.requiresGrad ? g.mul(b) : null, b.requiresGrad ? g.mul(a) : null]);
// d(a/b) = da/b - a/b^2 db
export const div = (a: Tensor, b: Tensor) =>
  binary('div', a, b, [a, b], (g) => [
    a.requiresGrad ? g.div(b) : null,
    b.requiresGrad ? g.mul(a).div(b.mul(b)).neg() : null,
  ]);
// d(a^b) = b a^(b-1) da + a^b ln(a) db   (the db term is 0 where a = 0 and b >= 0, as in PyTorch)
export const pow = (a: Tensor, b: Tensor) =>
  binary('pow', a, b, [a, b, 'output'], (g, out) => [
    a.requiresGrad ? g.mul(b).mul(a.pow(b.sub(1))) : null,
    b.requiresGrad
      ? where(a.eq(0).logicalAnd(b.ge(0)), scalarTensor(0, g.dtype), g.mul(out).mul(a.log()))
      : null,
  ]);
// d max(a,b): the larger input gets the gradient; on a tie each gets half (as torch.maximum)
export const maximum = (a: Tensor, b: Tensor) =>
  binary('maximum', a, b, [a, b], (g) => {
    const [aWins, tie] = [a.gt(b), a.eq(b)];
    const zero = scalarTensor(0, g.dtype);
    const half = g.mul(0.5);
    return [where(aWins, g, where(tie, half, zero)), where(aWins, zero, where(tie, half, g))];
  });

// relu's vector-Jacobian product in one pass (./unary.ts): g where x > 0, else 0. It is linear in
// g, so its own vjp is itself at the same x; x gets none (relu's second derivative is 0 off the kink).
export const reluBackward = (g: Tensor, x: Tensor): Tensor =>
  binary('reluBackward', g, x, [x], (gg) => [reluBackward(gg, x), null]);
