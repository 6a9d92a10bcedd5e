import { type DType, formatShape, ones, type Tensor, tensor, zeros } from '@agrad/autograd';
import * as F from '../functional.js';
import { Layer } from './basic.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics (default 0.1). */
  momentum?: number;
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
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    private readonly expectedDims: readonly number[],
    options: BatchNormOptions = {},
  ) {
    super();
    const dtype = options.dtype ?? 'float32';
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.registerParameter('weight', affine ? ones([numFeatures], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numFeatures], { dtype }) : null);
    if (options.trackRunningStats ?? true) {
      this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
      this.registerBuffer('running_var', ones([numFeatures], { dtype }));
      this.registerBuffer('num_batches_tracked', tensor(0, { dtype: 'int32' }));
    }
  }

  forward(x: Tensor): Tensor {
    if (!this.expectedDims.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${this.constructor.name}(${this.numFeatures}): expected ${this.expectedDims.join(' or ')}-D input with ${this.numFeatures} channels in dim 1, got ${formatShape(x.shape)}`,
      );
    }
    const runningMean = this.optionalBuffer('running_mean');
    const runningVar = this.optionalBuffer('running_var');
    const counter = this.optionalBuffer('num_batches_tracked');
    if (this.training && counter) counter.copy_(counter.add(1));
    return F.batchNorm(x, runningMean, runningVar, this.optionalParam('weight'), this.optionalParam('bias'), {
      training: this.training || !runningMean,
      momentum: this.momentum,
      eps: this.eps,
    });
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

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
  dtype?: DType;
}

/** Normalizes over the trailing `normalizedShape` dims; weight 1 and bias 0 to start. */
export class LayerNorm extends Layer {
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    const affine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', affine ? ones(this.normalizedShape, { dtype }) : null);
    this.registerParameter(
      'bias',
      affine && options.bias !== false ? zeros(this.normalizedShape, { dtype }) : null,
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
}

/** Root-mean-square normalization (torch.nn.RMSNorm); eps defaults to the dtype's epsilon. */
export class RMSNorm extends Layer {
  readonly normalizedShape: number[];

  constructor(
    normalizedShape: number | readonly number[],
    readonly options: { eps?: number | null; elementwiseAffine?: boolean; dtype?: DType } = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = options.elementwiseAffine ?? true;
    this.registerParameter(
      'weight',
      affine ? ones(this.normalizedShape, { dtype: options.dtype ?? 'float32' }) : null,
    );
  }

  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, this.optionalParam('weight'), this.options.eps);
  }
}

/** Group normalization over [N, C, ...] with per-channel affine. */
export class GroupNorm extends Layer {
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: { eps?: number; affine?: boolean; dtype?: DType } = {},
  ) {
    super();
    if (numChannels % numGroups !== 0) {
      throw new RangeError(`GroupNorm: ${numChannels} channels cannot be split into ${numGroups} groups`);
    }
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    const affine = options.affine ?? true;
    this.registerParameter('weight', affine ? ones([numChannels], { dtype }) : null);
    this.registerParameter('bias', affine ? zeros([numChannels], { dtype }) : null);
  }

  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.optionalParam('weight'), this.optionalParam('bias'), this.eps);
  }
}
