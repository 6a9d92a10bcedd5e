/**
 * The CPU kernels, reference and fast side by side, for tests and for readers who want to see
 * both versions of each. Not part of the everyday API.
 */
export {
  type ArrayOperand,
  binaryOps,
  fastBinary,
  fastCopy,
  fastUnary,
  fastWhere,
  referenceBinary,
  referenceUnary,
  unaryOps,
} from './elementwise.js';
export { gather, indexAdd, indexSelect, scatterAdd } from './indexing.js';
export { collapseDims, forEachRow, offsetOf } from './iterate.js';
export { blockedMatmul, referenceMatmul } from './matmul.js';
export { argReduce, fastReduce, referenceReduce } from './reduce.js';
export { fold, outputSize, referenceUnfold, unfold } from './unfold.js';
