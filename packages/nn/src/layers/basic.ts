import { type DType, noGrad, type Tensor } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import { floatDtype, pythonBool, requireTensor } from '../check.js';
import * as F from '../functional.js';
import { kaimingUniform, normal, uniform } from '../init.js';
import { Module } from '../module.js';

/** A module whose forward maps one tensor to one tensor (what Sequential chains). */
export abstract class Layer extends Module {
  /** The layer applied to `x`; the class documents the shapes it takes and gives. */
  abstract override forward(x: Tensor): Tensor;
}

/** Linear's options: whether it has a bias (default true), and the parameters' dtype. */
export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
}

/** y = x W^T + b, W [out, in]; PyTorch's init: W, b ~ U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Layer {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkValue('Linear', 'inFeatures', inFeatures, rules.count);
    checkValue('Linear', 'outFeatures', outFeatures, rules.count);
    checkOptions('Linear', options, { bias: rules.boolean, dtype: floatDtype });
    const dtype = options.dtype ?? 'float32';
    this.registerParameter('weight', kaimingUniform([outFeatures, inFeatures], { dtype }));
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.registerParameter(
      'bias',
      options.bias === false ? null : uniform([outFeatures], -bound, bound, dtype),
    );
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pythonBool(this.bias !== null)}`;
  }
}

/** Returns its input. */
export class Identity extends Layer {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Merges dims startDim..endDim (default 1..-1, keeping the batch dim). */
export class Flatten extends Layer {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    checkValue('Flatten', 'startDim', startDim, rules.inRange(-64, 64, { integer: true }));
    checkValue('Flatten', 'endDim', endDim, rules.inRange(-64, 64, { integer: true }));
  }
  forward(x: Tensor): Tensor {
    requireTensor('Flatten', 'input', x);
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Zeroes elements with probability p in training mode, scaling the rest by 1/(1-p). */
export class Dropout extends Layer {
  constructor(readonly p = 0.5) {
    super();
    checkValue('Dropout', 'p', p, rules.probability);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/** Embedding's padding index (its row starts at 0 and gets no gradient) and dtype. */
export interface EmbeddingOptions {
  /**
   * Lookups of this row pass its stored value forward but no gradient back, so it never trains
   * (torch's padding_idx); it starts at zero.
   */
  paddingIdx?: number | null;
  dtype?: DType;
}

/** A lookup table [numEmbeddings, embeddingDim], initialised N(0, 1) as PyTorch. */
export class Embedding extends Layer {
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    checkValue('Embedding', 'numEmbeddings', numEmbeddings, rules.positiveInteger);
    checkValue('Embedding', 'embeddingDim', embeddingDim, rules.count);
    checkOptions('Embedding', options, {
      paddingIdx: rules.nullable(
        rules.inRange(-numEmbeddings, numEmbeddings, { integer: true, below: true }),
      ),
      dtype: floatDtype,
    });
    const dtype = options.dtype ?? 'float32';
    const padding = options.paddingIdx ?? null;
    this.paddingIdx = padding !== null && padding < 0 ? padding + numEmbeddings : padding;
    const weight = normal([numEmbeddings, embeddingDim], 0, 1, dtype);
    if (this.paddingIdx !== null) noGrad(() => weight.narrow(0, this.paddingIdx as number, 1).copy_(0));
    this.registerParameter('weight', weight);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, padding_idx=${this.paddingIdx}`}`;
  }
}
