/**
 * @agrad/tensor: n-dimensional arrays on typed arrays, with strided views, broadcasting, a seeded
 * generator and one narrow Backend interface. ops.ts is the op spec above the backends; the fast
 * CPU backend lives in ./cpu, the plain-loop reference backend in ./reference, and the math of
 * every elementwise op in ./elementwise.ts.
 */
export type {
  ArgReduceOp,
  ArithmeticOp,
  Backend,
  BinaryOp,
  ComparisonOp,
  HostStorage,
  Output,
  ReduceOp,
  Storage,
  UnaryOp,
  ValueRange,
  Window,
} from './backend.js';
export { CpuBackend, cpuBackend, cpuLoops } from './cpu/backend.js';
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
export * as elementwise from './elementwise.js';
export { HostBackend, type HostLoops, hostOperand, TypedArrayStorage } from './host.js';
export * as layout from './layout.js';
export { erf } from './math.js';
export { NDArray } from './ndarray.js';
export * as ops from './ops.js';
export { backendNames, getBackend, registerBackend, resolveBackend, setBackend } from './ops.js';
export * as rules from './options.js';
export { checkOptions, checkValue, describeValue, type Rule } from './options.js';
export { defaultGenerator, Generator, manualSeed } from './random.js';
export { ReferenceBackend, referenceBackend, referenceLoops } from './reference/backend.js';
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
export { decodeBase64 } from './wasm/bytes.js';
export { type GemmKind, gemmKind, getNumThreads, setNumThreads, threadsReady } from './wasm/gemm.js';
export { type AdamConstants32, type LoopExports, SimdLoops, simdLoops, useSimdLoops } from './wasm/loops.js';
