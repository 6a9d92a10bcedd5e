/**
 * The fast CPU kernels and their reference loops side by side, for tests and for readers who
 * want to see both versions of each. Not part of the everyday API.
 */
export {
  referenceArgReduce,
  referenceBinary,
  referenceCopy,
  referenceFold,
  referenceGather,
  referenceIndexAdd,
  referenceIndexSelect,
  referenceMatmul,
  referenceMaxPoolIndices,
  referenceReduce,
  referenceScatterAdd,
  referenceUnary,
  referenceUnfold,
  referenceWhere,
} from '../reference/backend.js';
export { fastBinary, fastCopy, fastUnary, fastWhere } from './elementwise.js';
export { gather, indexAdd, indexSelect, scatterAdd } from './indexing.js';
export { blockedMatmul } from './matmul.js';
export { argReduce, fastReduce } from './reduce.js';
export { fold, maxPoolIndices, unfold } from './unfold.js';
