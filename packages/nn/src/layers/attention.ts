import { type DType, formatShape, type Tensor, where, zeros } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import { floatDtype, optionalTensor, requireTensor } from '../check.js';
import * as F from '../functional.js';
import { xavierUniform } from '../init.js';
import { Module } from '../module.js';
import { GELU, ReLU } from './activation.js';
import { Dropout, Layer, Linear } from './basic.js';
import { LayerNorm } from './norm.js';

/** MultiheadAttention's dropout on the attention weights, biases, batch-first layout and dtype. */
export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  /** Inputs as [N, L, E] instead of PyTorch's default [L, N, E]. */
  batchFirst?: boolean;
  dtype?: DType;
}

const multiheadCallRules = {
  attnMask: optionalTensor,
  keyPaddingMask: optionalTensor,
  needWeights: rules.boolean,
  averageAttnWeights: rules.boolean,
  isCausal: rules.boolean,
};

/** The options of one MultiheadAttention call, as PyTorch's forward arguments: masks, whether to return the attention weights (averaged over heads or not), causal masking. */
export interface MultiheadAttentionCall {
  /** nn.MultiheadAttention's convention: bool true = NOT allowed; float = added. [L, S] or [N*H, L, S]. */
  attnMask?: Tensor | null;
  /** [N, S] bool, true = this key is padding and is ignored. */
  keyPaddingMask?: Tensor | null;
  needWeights?: boolean;
  averageAttnWeights?: boolean;
  isCausal?: boolean;
}

/**
 * Multi-head attention with PyTorch's parameter layout: `in_proj_weight` [3E, E] (q, k, v
 * stacked), `in_proj_bias` [3E], `out_proj.weight`, `out_proj.bias`. Returns [output, weights]
 * where weights are averaged over heads (or null when needWeights is false).
 */
export class MultiheadAttention extends Module {
  readonly headDim: number;
  readonly batchFirst: boolean;
  readonly dropout: number;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: MultiheadAttentionOptions = {},
  ) {
    super();
    checkValue('MultiheadAttention', 'embedDim', embedDim, rules.positiveInteger);
    checkValue('MultiheadAttention', 'numHeads', numHeads, rules.positiveInteger);
    checkOptions('MultiheadAttention', options, {
      dropout: rules.probability,
      bias: rules.boolean,
      batchFirst: rules.boolean,
      dtype: floatDtype,
    });
    if (embedDim % numHeads !== 0) {
      throw new RangeError(
        `MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`,
      );
    }
    const dtype = options.dtype ?? 'float32';
    this.headDim = embedDim / numHeads;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    const bias = options.bias ?? true;
    this.registerParameter('in_proj_weight', xavierUniform([3 * embedDim, embedDim], { dtype }));
    this.registerParameter('in_proj_bias', bias ? zeros([3 * embedDim], { dtype }) : null);
    const outProj = new Linear(embedDim, embedDim, { bias, dtype });
    if (bias) outProj.registerParameter('bias', zeros([embedDim], { dtype }));
    this.registerModule('out_proj', outProj);
  }

  private project(x: Tensor, index: number): Tensor {
    const e = this.embedDim;
    const weight = this.param('in_proj_weight').narrow(0, index * e, e);
    const bias = this.optionalParam('in_proj_bias')?.narrow(0, index * e, e);
    return F.linear(x, weight, bias);
  }

  /** [N, L, E] -> [N, H, L, Dh] */
  private splitHeads(x: Tensor): Tensor {
    const [n, l] = x.shape;
    return x.reshape([n, l, this.numHeads, this.headDim]).permute([0, 2, 1, 3]);
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    call: MultiheadAttentionCall = {},
  ): [Tensor, Tensor | null] {
    const op = 'MultiheadAttention';
    checkOptions(op, call, multiheadCallRules);
    const layout = this.batchFirst ? 'N, L' : 'L, N';
    for (const [name, t] of [
      ['query', query],
      ['key', key],
      ['value', value],
    ] as const) {
      requireTensor(op, name, t);
      if (t.ndim !== 3 || t.shape[2] !== this.embedDim) {
        throw new RangeError(
          `${op}: expected ${name} [${layout}, ${this.embedDim}], got ${formatShape(t.shape)}`,
        );
      }
    }
    const toBatchFirst = (t: Tensor) => (this.batchFirst ? t : t.transpose(0, 1));
    const [q, k, v] = [toBatchFirst(query), toBatchFirst(key), toBatchFirst(value)];
    const [n, l] = q.shape;
    const s = k.shape[1];
    if (k.shape[0] !== n || v.shape[0] !== n || v.shape[1] !== s) {
      throw new RangeError(
        `${op}: query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} need one batch size, and key and value one length`,
      );
    }
    const maskShapes = [formatShape([l, s]), formatShape([n * this.numHeads, l, s])];
    if (call.attnMask && ![maskShapes[0], maskShapes[1]].includes(formatShape(call.attnMask.shape))) {
      throw new RangeError(
        `${op}: attnMask has shape ${formatShape(call.attnMask.shape)}, expected ${maskShapes.join(' or ')}`,
      );
    }
    if (call.keyPaddingMask && formatShape(call.keyPaddingMask.shape) !== formatShape([n, s])) {
      throw new RangeError(
        `${op}: keyPaddingMask has shape ${formatShape(call.keyPaddingMask.shape)}, expected ${formatShape([n, s])} (batch, key length)`,
      );
    }
    const heads = [this.project(q, 0), this.project(k, 1), this.project(v, 2)].map((t) => this.splitHeads(t));
    let scores = heads[0].matmul(heads[1].transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim)); // [N, H, L, S]
    if (call.isCausal) scores = where(F.causalMask(l, s), scores, Number.NEGATIVE_INFINITY);
    if (call.attnMask) {
      const mask = call.attnMask.ndim === 3 ? call.attnMask.reshape([n, this.numHeads, l, s]) : call.attnMask;
      scores = mask.dtype === 'bool' ? where(mask, Number.NEGATIVE_INFINITY, scores) : scores.add(mask);
    }
    if (call.keyPaddingMask) {
      const padding = call.keyPaddingMask.reshape([n, 1, 1, s]);
      scores =
        padding.dtype === 'bool' ? where(padding, Number.NEGATIVE_INFINITY, scores) : scores.add(padding);
    }
    let weights = scores.softmax(-1);
    const attended = F.dropout(weights, this.dropout, this.training).matmul(heads[2]); // [N, H, L, Dh]
    const merged = attended.permute([0, 2, 1, 3]).reshape([n, l, this.embedDim]);
    const output = this.module<Linear>('out_proj').forward(merged);
    if (call.needWeights === false) return [toBatchFirst(output), null];
    if (call.averageAttnWeights ?? true) weights = weights.mean(1);
    return [toBatchFirst(output), weights];
  }
}

/** TransformerEncoderLayer's feed-forward width, dropout, activation, LayerNorm eps, batch-first layout, pre-norm (`normFirst`), biases and dtype, as PyTorch's. */
export interface TransformerEncoderLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: 'relu' | 'gelu';
  layerNormEps?: number;
  batchFirst?: boolean;
  /** Pre-norm (x + f(norm(x))) instead of PyTorch's default post-norm (norm(x + f(x))). */
  normFirst?: boolean;
  bias?: boolean;
  dtype?: DType;
}

/**
 * torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a
 * residual connection and LayerNorm; `normFirst: true` gives the pre-norm variant. Sub-modules
 * and their keys are PyTorch's: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2.
 */
export class TransformerEncoderLayer extends Layer {
  readonly normFirst: boolean;

  constructor(
    readonly dModel: number,
    readonly nhead: number,
    options: TransformerEncoderLayerOptions = {},
  ) {
    super();
    checkValue('TransformerEncoderLayer', 'dModel', dModel, rules.positiveInteger);
    checkValue('TransformerEncoderLayer', 'nhead', nhead, rules.positiveInteger);
    checkOptions('TransformerEncoderLayer', options, {
      dimFeedforward: rules.positiveInteger,
      dropout: rules.probability,
      activation: rules.oneOf('relu', 'gelu'),
      layerNormEps: rules.nonNegative,
      batchFirst: rules.boolean,
      normFirst: rules.boolean,
      bias: rules.boolean,
      dtype: floatDtype,
    });
    const {
      dimFeedforward = 2048,
      dropout = 0.1,
      layerNormEps = 1e-5,
      batchFirst = false,
      bias = true,
    } = options;
    const dtype = options.dtype ?? 'float32';
    this.normFirst = options.normFirst ?? false;
    this.registerModule(
      'self_attn',
      new MultiheadAttention(dModel, nhead, { dropout, bias, batchFirst, dtype }),
    );
    this.registerModule('linear1', new Linear(dModel, dimFeedforward, { bias, dtype }));
    this.registerModule('dropout', new Dropout(dropout));
    this.registerModule('linear2', new Linear(dimFeedforward, dModel, { bias, dtype }));
    this.registerModule('norm1', new LayerNorm(dModel, { eps: layerNormEps, bias, dtype }));
    this.registerModule('norm2', new LayerNorm(dModel, { eps: layerNormEps, bias, dtype }));
    this.registerModule('dropout1', new Dropout(dropout));
    this.registerModule('dropout2', new Dropout(dropout));
    this.registerModule('activation', options.activation === 'gelu' ? new GELU() : new ReLU());
  }

  private selfAttention(x: Tensor, call: MultiheadAttentionCall): Tensor {
    const [out] = this.module<MultiheadAttention>('self_attn').forward(x, x, x, {
      ...call,
      needWeights: false,
    });
    return this.module<Dropout>('dropout1').forward(out);
  }

  private feedForward(x: Tensor): Tensor {
    const hidden = this.module<Layer>('activation').forward(this.module<Linear>('linear1').forward(x));
    const out = this.module<Linear>('linear2').forward(this.module<Dropout>('dropout').forward(hidden));
    return this.module<Dropout>('dropout2').forward(out);
  }

  forward(
    src: Tensor,
    call: { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {},
  ): Tensor {
    checkOptions('TransformerEncoderLayer', call, {
      srcMask: optionalTensor,
      srcKeyPaddingMask: optionalTensor,
      isCausal: rules.boolean,
    });
    const attentionCall = {
      attnMask: call.srcMask,
      keyPaddingMask: call.srcKeyPaddingMask,
      isCausal: call.isCausal,
    };
    const norm1 = this.module<LayerNorm>('norm1');
    const norm2 = this.module<LayerNorm>('norm2');
    if (this.normFirst) {
      const x = src.add(this.selfAttention(norm1.forward(src), attentionCall));
      return x.add(this.feedForward(norm2.forward(x)));
    }
    const x = norm1.forward(src.add(this.selfAttention(src, attentionCall)));
    return norm2.forward(x.add(this.feedForward(x)));
  }
}
