import { type DType, type Tensor, tensor } from '@agrad/autograd';
import * as F from '../functional.js';
import { kaimingUniform, normal, uniform } from '../init.js';
import { Module } from '../module.js';

/** A module whose forward maps one tensor to one tensor (what Sequential chains). */
export abstract class Layer extends Module {
  abstract override forward(x: Tensor): Tensor;
}

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
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Zeroes elements with probability p in training mode, scaling the rest by 1/(1-p). */
export class Dropout extends Layer {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export interface EmbeddingOptions {
  /** This row starts at zero and receives no gradient. */
  paddingIdx?: number;
  dtype?: DType;
}

/** A lookup table [numEmbeddings, embeddingDim], initialised N(0, 1) as PyTorch. */
export class Embedding extends Layer {
  readonly paddingIdx: number | null;
  private readonly gradientMask: Tensor | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    const dtype = options.dtype ?? 'float32';
    let padding = options.paddingIdx ?? null;
    if (padding !== null) {
      if (padding < -numEmbeddings || padding >= numEmbeddings) {
        throw new RangeError(
          `Embedding: paddingIdx ${padding} must be within [${-numEmbeddings}, ${numEmbeddings})`,
        );
      }
      if (padding < 0) padding += numEmbeddings;
    }
    this.paddingIdx = padding;
    let weight = normal([numEmbeddings, embeddingDim], 0, 1, dtype);
    if (padding !== null) {
      const rows = new Float64Array(numEmbeddings).fill(1);
      rows[padding] = 0;
      const keep = tensor(rows, { shape: [numEmbeddings, 1], dtype });
      weight = weight.mul(keep);
      this.gradientMask = keep;
    } else this.gradientMask = null;
    this.registerParameter('weight', weight);
  }

  get weight(): Tensor {
    return this.param('weight');
  }

  forward(ids: Tensor): Tensor {
    // Multiplying by a 0/1 row mask keeps the padding row's gradient at zero, as PyTorch does.
    const table = this.gradientMask ? this.weight.mul(this.gradientMask.to(this.weight.dtype)) : this.weight;
    return F.embedding(ids, table);
  }
}
