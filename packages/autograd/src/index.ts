/**
 * @agrad/autograd: the user-facing Tensor with reverse-mode automatic differentiation.
 *
 * @example
 * import { tensor } from '@agrad/autograd';
 * const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const loss = w.matmul(tensor([1, 1])).pow(2).sum();
 * loss.backward();
 * w.grad?.toArray(); // [[6, 6], [14, 14]]
 */
export { manualSeed, Generator, type DType } from '@agrad/tensor';
export {
  arange,
  eye,
  full,
  fullLike,
  linspace,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  tensor,
  zeros,
  zerosLike,
  type RandomOptions,
  type TensorOptions,
} from './creation.js';
export { type BackwardOptions, type Node, type VectorJacobianProduct, enableGrad, isGradEnabled, noGrad } from './engine.js';
export { customOp, grad, gradients, type GradOptions, valueAndGrad } from './functional.js';
export {
  abs,
  add,
  argmax,
  argmin,
  cat,
  clamp,
  cos,
  div,
  eq,
  erf,
  exp,
  flatten,
  gather,
  ge,
  gelu,
  gt,
  indexSelect,
  le,
  leakyRelu,
  log,
  log1p,
  logSoftmax,
  logicalAnd,
  logicalNot,
  logicalOr,
  logsumexp,
  lt,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  narrow,
  ne,
  neg,
  permute,
  pow,
  relu,
  reshape,
  sigmoid,
  sign,
  silu,
  sin,
  softmax,
  softplus,
  sqrt,
  squeeze,
  stack,
  std,
  sub,
  sum,
  tanh,
  transpose,
  unsqueeze,
  variance as var,
  where,
} from './functions.js';
export { gradcheck, type GradcheckFailure, type GradcheckOptions, type GradcheckReport } from './gradcheck.js';
export { type Dims, type GradHook, type NestedArray, Tensor, type TensorLike } from './tensor.js';
