/**
 * @agrad/optim: optimizers built from composable gradient transforms (optax's design), with
 * Adaptive Gradient Regularization as one transform that chains in front of any optimizer:
 *
 *     import { Optimizer, adamw, agr, chain } from '@agrad/optim';
 *     const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 1e-3 })));
 *     loss.backward(); optimizer.step(); optimizer.zeroGrad();
 */

export { BLOCKS, type Block, type BlockDefinition, type BlockTransform, defineBlock } from './block.js';
export { Optimizer, type OptimizerOptions, type StepReport } from './optimizer.js';
export {
  type AdagradOptions,
  type AdamOptions,
  type AdanOptions,
  adagrad,
  adam,
  adamw,
  adan,
  type LionOptions,
  lion,
  type NadamOptions,
  nadam,
  type RadamOptions,
  type RmspropOptions,
  radam,
  rmsprop,
  type SgdOptions,
  sgd,
} from './optimizers.js';
export type { ParamSource } from './params.js';
export {
  constant,
  cosineDecay,
  exponentialLR,
  linearLR,
  linearWarmup,
  type OneCycleOptions,
  oneCycle,
  stepDecay,
  warmupCosineDecay,
} from './schedules.js';
export {
  chain,
  type Donation,
  type GradientTransformation,
  identity,
  type LearningRate,
  masked,
  type ParamPredicate,
  type Params,
  perParameter,
  type Reuse,
  type Schedule,
  stateless,
  toSchedule,
} from './transform.js';
export { type AgrOptions, agr, agrCoefficients, regularize } from './transforms/agr.js';
export {
  type AdagradScalingOptions,
  type AdamScalingOptions,
  type AdamState,
  type AdanScalingOptions,
  type AdanState,
  addDecayedWeights,
  type LionScalingOptions,
  type NadamScalingOptions,
  type RadamScalingOptions,
  type RmsScalingOptions,
  reference,
  scale,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdan,
  scaleByLearningRate,
  scaleByLearningRateProximal,
  scaleByLion,
  scaleByNadam,
  scaleByRadam,
  scaleByRms,
  type TraceOptions,
  trace,
} from './transforms/blocks.js';
export { centralize } from './transforms/centralize.js';
export {
  adaptiveGradClip,
  type ClipGradNormOptions,
  clipByGlobalNorm,
  clipGradNorm,
} from './transforms/clipping.js';
