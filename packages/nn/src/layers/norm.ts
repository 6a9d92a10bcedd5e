import { type DType, formatShape, ones, pythonFloat, type Tensor, tensor, zeros } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import { floatDtype, normalizedShapeOf, pythonBool } from '../check.js';
import * as F from '../functional.js';
import { Layer } from './basic.js';

/** BatchNorm's eps, momentum (null: a cumulative average), learnable affine scale and shift, whether running statistics are kept, and dtype, as PyTorch's. */
export interface BatchNormOptions {
  eps?: number;
  /**
   * Weight of the newest batch in the running statistics (default 0.1); null gives every batch
   * the same weight (a cumulative average, as PyTorch's momentum=None).
   */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
  dtype?: DType;
}

/**
 * Batch normalization with running statistics, buffers named as PyTorch's (`running_mean`,
 * `running_var`, `num_batches_tracked`) so state dicts move between the two.
 */
abstract class BatchNorm extends Layer {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    private readonly expectedDims: readonly number[],
    options: BatchNormOptions = {},
  ) {
    super();
    const op = new.target.name;
    checkValue(op, 'numFeatures', numFeatures, rules.positiveInteger);
    checkOptions(op, options, {
      eps: rules.nonNegative,
      momentum: rules.nullable(rules.probability),
      affine: rules.boolean,
      trackRunningStats: rules.boolean,
      dtype: floatDtype,
    });
    const dtype = options.dtype ?? 'float32';
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.registerParameter('weight', this.affine ? ones([numFeatures], { dtype }) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures], { dtype }) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
      this.registerBuffer('running_var', ones([numFeatures], { dtype }));
      this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int32' }));
    }
  }

  forward(x: Tensor): Tensor {
    if (!this.expectedDims.includes(x?.ndim) || x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${this.constructor.name}(${this.numFeatures}): expected ${this.expectedDims.join(' or ')}-D input with ${this.numFeatures} channels in dim 1, got ${x?.shape ? formatShape(x.shape) : String(x)}`,
      );
    }
    const runningMean = this.optionalBuffer('running_mean');
    const runningVar = this.optionalBuffer('running_var');
    const counter = this.optionalBuffer('num_batches_tracked');
    let momentum = this.momentum ?? 0;
    if (this.training && counter) {
      counter.copy_(counter.add(1));
      // momentum=None: the running statistics are the plain average of every batch so far.
      if (this.momentum === null) momentum = 1 / counter.item();
    }
    return F.batchNorm(x, runningMean, runningVar, this.optionalParam('weight'), this.optionalParam('bias'), {
      training: this.training || !runningMean,
      momentum,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    const momentum = this.momentum === null ? 'None' : pythonFloat(this.momentum);
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${momentum}, affine=${pythonBool(this.affine)}, track_running_stats=${pythonBool(this.trackRunningStats)}`;
  }
}

/** BatchNorm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], options);
  }
}

/** BatchNorm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, [4], options);
  }
}

/** LayerNorm's eps, learnable scale (and shift, unless `bias: false`), and dtype, as PyTorch's. */
export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
  dtype?: DType;
}

/** PyTorch prints a normalized shape as a tuple: (64,) or (3, 4). */
function shapeTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Normalizes over the trailing `normalizedShape` dims; weight 1 and bias 0 to start. */
export class LayerNorm extends Layer {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf('LayerNorm', normalizedShape);
    checkOptions('LayerNorm', options, {
      eps: rules.nonNegative,
      elementwiseAffine: rules.boolean,
      bias: rules.boolean,
      dtype: floatDtype,
    });
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, { dtype }) : null);
    this.registerParameter(
      'bias',
      this.elementwiseAffine && options.bias !== false ? zeros(this.normalizedShape, { dtype }) : null,
    );
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(
      x,
      this.normalizedShape,
      this.optionalParam('weight'),
      this.optionalParam('bias'),
      this.eps,
    );
  }

  override extraRepr(): string {
    return `${shapeTuple(this.normalizedShape)}, eps=${pythonFloat(this.eps)}, elementwise_affine=${pythonBool(this.elementwiseAffine)}`;
  }
}

/** RMSNorm's eps (null: the dtype's machine epsilon, as PyTorch), learnable scale, and dtype. */
export interface RMSNormOptions {
  /** Default null: the dtype's machine epsilon. */
  eps?: number | null;
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/** Root-mean-square normalization (torch.nn.RMSNorm); eps defaults to the dtype's epsilon. */
export class RMSNorm extends Layer {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf('RMSNorm', normalizedShape);
    checkOptions('RMSNorm', options, {
      eps: rules.nullable(rules.nonNegative),
      elementwiseAffine: rules.boolean,
      dtype: floatDtype,
    });
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.registerParameter(
      'weight',
      this.elementwiseAffine ? ones(this.normalizedShape, { dtype: options.dtype ?? 'float32' }) : null,
    );
  }

  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, this.optionalParam('weight'), this.eps);
  }

  override extraRepr(): string {
    const eps = this.eps === null ? 'None' : pythonFloat(this.eps);
    return `${shapeTuple(this.normalizedShape)}, eps=${eps}, elementwise_affine=${pythonBool(this.elementwiseAffine)}`;
  }
}

/** Group normalization over [N, C, ...] with per-channel affine. */
export class GroupNorm extends Layer {
  readonly eps: number;
  readonly affine: boolean;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: { eps?: number; affine?: boolean; dtype?: DType } = {},
  ) {
    super();
    checkValue('GroupNorm', 'numGroups', numGroups, rules.positiveInteger);
    checkValue('GroupNorm', 'numChannels', numChannels, rules.positiveInteger);
    checkOptions('GroupNorm', options, { eps: rules.nonNegative, affine: rules.boolean, dtype: floatDtype });
    if (numChannels % numGroups !== 0) {
      throw new RangeError(`GroupNorm: ${numChannels} channels cannot be split into ${numGroups} groups`);
    }
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    this.affine = options.affine ?? true;
    this.registerParameter('weight', this.affine ? ones([numChannels], { dtype }) : null);
    this.registerParameter('bias', this.affine ? zeros([numChannels], { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.optionalParam('weight'), this.optionalParam('bias'), this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pythonFloat(this.eps)}, affine=${pythonBool(this.affine)}`;
  }
}
