/**
 * @agrad/nn: modules and layers with PyTorch's names, layouts, initialisations and state-dict
 * keys; the functional namespace F; losses; safetensors checkpoints.
 *
 * @example
 * import { Linear, ReLU, Sequential, F } from '@agrad/nn';
 * const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * const loss = F.crossEntropy(model.forward(x), labels);
 */

export { type LoadCheckpointOptions, loadCheckpoint, type Stateful, saveCheckpoint } from './checkpoint.js';
export {
  type AsyncDataset,
  type BatchedDataset,
  type Collated,
  DataLoader,
  type DataLoaderOptions,
  type Dataset,
  defaultCollate,
  randomSplit,
  Subset,
  TensorDataset,
} from './data.js';
export { writeFileAtomic } from './files.js';
export * as F from './functional.js';
export * as init from './init.js';
export {
  GELU,
  LeakyReLU,
  LogSoftmax,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Softplus,
  Tanh,
} from './layers/activation.js';
export {
  MultiheadAttention,
  type MultiheadAttentionCall,
  type MultiheadAttentionOptions,
  TransformerEncoderLayer,
  type TransformerEncoderLayerOptions,
} from './layers/attention.js';
export {
  Dropout,
  Embedding,
  type EmbeddingOptions,
  Flatten,
  Identity,
  Layer,
  Linear,
  type LinearOptions,
} from './layers/basic.js';
export { ModuleList, Sequential } from './layers/container.js';
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Conv1d,
  type Conv1dOptions,
  Conv2d,
  type Conv2dOptions,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  MaxPool2d,
  Upsample,
} from './layers/conv.js';
export {
  BatchNorm1d,
  BatchNorm2d,
  type BatchNormOptions,
  GroupNorm,
  LayerNorm,
  type LayerNormOptions,
  RMSNorm,
  type RMSNormOptions,
} from './layers/norm.js';
export { GRU, LSTM, type RecurrentOptions } from './layers/recurrent.js';
export { type LoadResult, Module, Parameter } from './module.js';
export { deserialize, load, loadFile, type SafetensorsFile, save, serialize } from './safetensors.js';
