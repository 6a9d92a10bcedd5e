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
export {
  type DType,
  defaultGenerator,
  formatShape,
  Generator,
  isFloating,
  manualSeed,
  type Shape,
} from '@agrad/tensor';
export {
  arange,
  eye,
  fromTypedArray,
  full,
  fullLike,
  linspace,
  ones,
  onesLike,
  type RandomOptions,
  rand,
  randint,
  randn,
  randperm,
  type TensorOptions,
  tensor,
  zeros,
  zerosLike,
} from './creation.js';
export { einsum } from './einsum.js';
export {
  type BackwardOptions,
  enableGrad,
  isGradEnabled,
  type Node,
  noGrad,
  type SavedTensor,
  type VectorJacobianProduct,
} from './engine.js';
export { formatExponential, formatFixed, formatTensor, pythonFloat } from './format.js';
export { customOp, type GradOptions, grad, gradients, valueAndGrad } from './functional.js';
export {
  abs,
  add,
  amax,
  amin,
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
  logicalAnd,
  logicalNot,
  logicalOr,
  logSoftmax,
  logsumexp,
  lt,
  matmul,
  max,
  maximum,
  maxPoolIndices,
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
  slice,
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
  type ValuesAndIndices,
  variance as var,
  where,
} from './functions.js';
export {
  type GradcheckFailure,
  type GradcheckOptions,
  type GradcheckReport,
  gradcheck,
} from './gradcheck.js';
export {
  type AutogradGraph,
  autogradGraph,
  type GraphNode,
  type GraphNodeKind,
  type GraphOptions,
  toDot,
  toMermaid,
} from './graph.js';
export { dispose, keep, storagesIn, tidy } from './memory.js';
export { cumsum, scatter, scatterAdd, sort, type TopkOptions, topk } from './ordering.js';
export { fold, unfold } from './primitives/window.js';
export { type Dims, type GradHook, type NestedArray, Tensor, type TensorLike } from './tensor.js';
export { isTracing, type TraceAttributes, type TracedOp, trace, traceAs, traceScope } from './trace.js';
