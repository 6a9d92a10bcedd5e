import { ops, type UnaryOp } from '@agrad/tensor';
import { record, type Saved } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { reluBackward } from './binary.js';

/**
 * Elementwise unary primitives. Each line states the derivative it implements; `out` is the
 * forward result, saved when the derivative is cheapest in terms of it.
 */
function unary(op: UnaryOp, x: Tensor, saves: Saved, vjp: (grad: Tensor, out: Tensor) => Tensor): Tensor {
  const out: Tensor = record(op, [x], ops.unary(op, x.array), (grad) => [vjp(grad, out)], saves);
  return out;
}

// d(e^x)/dx = e^x
export const exp = (x: Tensor) => unary('exp', x, ['output'], (g, out) => g.mul(out));
// d(ln x)/dx = 1/x
export const log = (x: Tensor) => unary('log', x, [x], (g) => g.div(x));
// d(ln(1+x))/dx = 1/(1+x)
export const log1p = (x: Tensor) => unary('log1p', x, [x], (g) => g.div(x.add(1)));
// d(sqrt x)/dx = 1/(2 sqrt x)
export const sqrt = (x: Tensor) => unary('sqrt', x, ['output'], (g, out) => g.div(out.mul(2)));
// d sin(x)/dx = cos(x)
export const sin = (x: Tensor) => unary('sin', x, [x], (g) => g.mul(x.cos()));
// d cos(x)/dx = -sin(x)
export const cos = (x: Tensor) => unary('cos', x, [x], (g) => g.mul(x.sin()).neg());
// d tanh(x)/dx = 1 - tanh(x)^2
export const tanh = (x: Tensor) => unary('tanh', x, ['output'], (g, out) => g.mul(out.mul(out).neg().add(1)));
// d relu(x)/dx = 1 for x > 0, else 0 (0 at 0, as PyTorch)
export const relu = (x: Tensor) => unary('relu', x, [x], (g) => reluBackward(g, x));
// d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x))
export const sigmoid = (x: Tensor) =>
  unary('sigmoid', x, ['output'], (g, out) => g.mul(out.mul(out.neg().add(1))));
// d erf(x)/dx = 2/sqrt(pi) e^(-x^2)
export const erf = (x: Tensor) =>
  unary('erf', x, [x], (g) =>
    g.mul(
      x
        .mul(x)
        .neg()
        .exp()
        .mul(2 / Math.sqrt(Math.PI)),
    ),
  );
