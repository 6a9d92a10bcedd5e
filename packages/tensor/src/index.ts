/**
 * @agrad/tensor: n-dimensional arrays on typed arrays, with strided views, broadcasting, a seeded
 * generator and one narrow Backend interface (the CPU backend lives in ./cpu).
 */
export type {
  ArgReduceOp,
  ArithmeticOp,
  Backend,
  BinaryOp,
  ComparisonOp,
  HostStorage,
  ReduceOp,
  Storage,
  UnaryOp,
  Window,
} from './backend.js';
export { CpuBackend, CpuStorage, cpuBackend } from './cpu/backend.js';
export * as cpuKernels from './cpu/kernels.js';
export {
  assertDType,
  DTYPES,
  type DType,
  dtypeOfTypedArray,
  isFloating,
  promoteTypes,
  promoteWithScalar,
  type TypedArray,
  typedArrayFor,
} from './dtype.js';
export { erf } from './math.js';
export { NDArray } from './ndarray.js';
export * as ops from './ops.js';
export { backendNames, getBackend, registerBackend, resolveBackend, setBackend } from './ops.js';
export * as rules from './options.js';
export { checkOptions, checkValue, describeValue, type Rule } from './options.js';
export { defaultGenerator, Generator, manualSeed } from './random.js';
export {
  assertValidShape,
  broadcastShapes,
  contiguousStrides,
  formatShape,
  normalizeDim,
  normalizeDims,
  type Shape,
  shapesEqual,
  sizeOf,
  viewOverlaps,
} from './shape.js';
export { getNumThreads, setNumThreads } from './wasm/gemm.js';
