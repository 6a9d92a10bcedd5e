import { cat, type Tensor, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  Embedding,
  F,
  GELU,
  GRU,
  GroupNorm,
  LayerNorm,
  LeakyReLU,
  Linear,
  LSTM,
  MaxPool2d,
  Module,
  MultiheadAttention,
  ReLU,
  RMSNorm,
  Sequential,
  Sigmoid,
  SiLU,
  Softplus,
  Tanh,
  TransformerEncoderLayer,
  Upsample,
} from '../src/index.js';
import fixture from './fixtures/layers.json' with { type: 'json' };

/**
 * Every layer and loss against PyTorch (float64): scripts/golden/nn.py writes each module's
 * state dict, which the agrad module loads as is (strict: so the keys must be PyTorch's), then
 * the output, the gradients of sum(output * w) for inputs and parameters, and the state after
 * the call (running statistics).
 */
const dtype = 'float64' as const;

/** A parameter-free function in module form. */
class Fn extends Module {
  constructor(private readonly fn: (...xs: Tensor[]) => Tensor) {
    super();
  }
  forward(...xs: Tensor[]): Tensor {
    return this.fn(...xs);
  }
}

const sdpaMask = (q: Tensor, k: Tensor, v: Tensor, m: Tensor) =>
  F.scaledDotProductAttention(q, k, v, { attnMask: m });

const cases: Record<string, { make: () => Module; call?: (m: Module, xs: Tensor[]) => Tensor }> = {
  linear: { make: () => new Linear(4, 3, { dtype }) },
  linear_no_bias_3d: { make: () => new Linear(4, 3, { bias: false, dtype }) },
  conv2d: { make: () => new Conv2d(2, 4, 3, { padding: 1, dtype }) },
  conv2d_strided_grouped: {
    make: () =>
      new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, dtype }),
  },
  conv2d_no_bias: { make: () => new Conv2d(3, 2, 1, { bias: false, dtype }) },
  maxpool2d: { make: () => new MaxPool2d(2) },
  maxpool2d_padded: { make: () => new MaxPool2d(3, { stride: 2, padding: 1 }) },
  avgpool2d: { make: () => new AvgPool2d(2) },
  avgpool2d_padded: { make: () => new AvgPool2d(3, { stride: 2, padding: 1 }) },
  batchnorm1d_train: { make: () => new BatchNorm1d(3, { dtype }) },
  batchnorm1d_train_3d: { make: () => new BatchNorm1d(3, { dtype }) },
  batchnorm2d_train: { make: () => new BatchNorm2d(3, { dtype }) },
  batchnorm2d_eval: { make: () => new BatchNorm2d(3, { dtype }) },
  layernorm: { make: () => new LayerNorm([3, 4], { dtype }) },
  rmsnorm: { make: () => new RMSNorm(4, { dtype }) },
  groupnorm: { make: () => new GroupNorm(2, 4, { dtype }) },
  embedding: { make: () => new Embedding(10, 4, { dtype }) },
  embedding_padding: { make: () => new Embedding(10, 4, { paddingIdx: 0, dtype }) },
  multihead_attention: {
    make: () => new MultiheadAttention(8, 2, { dtype }),
    call: (m, [x]) => {
      const [out, weights] = (m as MultiheadAttention).forward(x, x, x);
      return cat([out.reshape([-1]), weights!.reshape([-1])]);
    },
  },
  multihead_attention_masked: {
    make: () => new MultiheadAttention(8, 2, { batchFirst: true, dtype }),
    call: (m, [x, attnMask, keyPaddingMask]) => {
      const [out, weights] = (m as MultiheadAttention).forward(x, x, x, { attnMask, keyPaddingMask });
      return cat([out.reshape([-1]), weights!.reshape([-1])]);
    },
  },
  transformer_prenorm: {
    make: () =>
      new TransformerEncoderLayer(8, 2, {
        dimFeedforward: 16,
        dropout: 0,
        normFirst: true,
        batchFirst: true,
        dtype,
      }),
  },
  transformer_postnorm_gelu: {
    make: () =>
      new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: 'gelu', dtype }),
  },
  sequential_mlp: {
    make: () =>
      new Sequential(new Linear(4, 5, { dtype }), new ReLU(), new Linear(5, 3, { dtype }), new Tanh()),
  },
  activations: {
    make: () => new Sequential(new GELU(), new SiLU(), new LeakyReLU(0.2), new Softplus(), new Sigmoid()),
  },
  sdpa_causal: { make: () => new Fn((q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true })) },
  sdpa_mask: { make: () => new Fn(sdpaMask) },
  cross_entropy: { make: () => new Fn((x, t) => F.crossEntropy(x, t)) },
  cross_entropy_smoothing_ignore: {
    make: () => new Fn((x, t) => F.crossEntropy(x, t, { labelSmoothing: 0.1 })),
  },
  cross_entropy_spatial_sum: { make: () => new Fn((x, t) => F.crossEntropy(x, t, { reduction: 'sum' })) },
  cross_entropy_none: {
    make: () => new Fn((x, t) => F.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.2 })),
  },
  nll_loss: { make: () => new Fn((x, t) => F.nllLoss(x.logSoftmax(1), t)) },
  mse_loss: { make: () => new Fn((x, y) => F.mseLoss(x, y)) },
  l1_loss_sum: { make: () => new Fn((x, y) => F.l1Loss(x, y, { reduction: 'sum' })) },
  bce_with_logits: { make: () => new Fn((x, y) => F.binaryCrossEntropyWithLogits(x.mul(3), y.sigmoid())) },
  bce_with_logits_pos_weight: {
    make: () =>
      new Fn((x, y, w) =>
        F.binaryCrossEntropyWithLogits(x.mul(3), y.sigmoid(), {
          posWeight: w.abs().detach(),
          reduction: 'none',
        }),
      ),
  },
  embedding_padding_pretrained: { make: () => new Embedding(10, 4, { paddingIdx: 2, dtype }) },
  cross_entropy_weighted: { make: () => new Fn((x, t) => F.crossEntropy(x, t, { weight: classWeight() })) },
  cross_entropy_weighted_smoothing_ignore: {
    make: () =>
      new Fn((x, t) => F.crossEntropy(x, t, { weight: classWeight(), labelSmoothing: 0.1, ignoreIndex: 3 })),
  },
  cross_entropy_weighted_spatial_none: {
    make: () =>
      new Fn((x, t) =>
        F.crossEntropy(x, t, { weight: classWeight(), reduction: 'none', labelSmoothing: 0.2 }),
      ),
  },
  nll_loss_weighted_sum: {
    make: () =>
      new Fn((x, t) =>
        F.nllLoss(x.logSoftmax(1), t, { weight: classWeight(), reduction: 'sum', ignoreIndex: 0 }),
      ),
  },
  maxpool2d_ceil: { make: () => new MaxPool2d(3, { stride: 2, ceilMode: true }) },
  maxpool2d_ceil_padded_dilated: {
    make: () => new MaxPool2d(2, { stride: 2, padding: 1, dilation: 2, ceilMode: true }),
  },
  maxpool2d_ties_overlapping: { make: () => new MaxPool2d(3, { stride: 1, padding: 1 }) },
  maxpool2d_ties_ceil_dilated: {
    make: () => new MaxPool2d(2, { stride: 2, padding: 1, dilation: 2, ceilMode: true }),
  },
  avgpool2d_ceil: { make: () => new AvgPool2d(3, { stride: 2, ceilMode: true }) },
  avgpool2d_exclude_pad: { make: () => new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }) },
  avgpool2d_ceil_padded: { make: () => new AvgPool2d(2, { stride: 2, padding: 1, ceilMode: true }) },
  avgpool2d_ceil_padded_exclude: {
    make: () => new AvgPool2d(2, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  avgpool2d_divisor: { make: () => new AvgPool2d([2, 3], { stride: [1, 2], divisorOverride: 4 }) },
  pad: { make: () => new Fn((x) => F.pad(x, [1, 2, 0, -1, 2, 0], { value: 0.5 })) },
  conv2d_same: { make: () => new Conv2d(2, 3, [2, 3], { padding: 'same', dilation: [1, 2], dtype }) },
  conv2d_valid: { make: () => new Conv2d(2, 3, 3, { padding: 'valid', dtype }) },
  batchnorm1d_cumulative: { make: () => new BatchNorm1d(3, { momentum: null, dtype }) },
  lstm: { make: () => new LSTM(3, 4, { dtype }), call: (m, xs) => lstmCall(m, xs) },
  lstm_stacked_bidirectional_batch_first_state: {
    make: () => new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true, dtype }),
    call: (m, xs) => lstmCall(m, xs),
  },
  lstm_unbatched_no_bias: {
    make: () => new LSTM(3, 2, { bias: false, dtype }),
    call: (m, xs) => lstmCall(m, xs),
  },
  gru: { make: () => new GRU(3, 4, { dtype }), call: (m, xs) => gruCall(m, xs) },
  gru_stacked_bidirectional_batch_first_state: {
    make: () => new GRU(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true, dtype }),
    call: (m, xs) => gruCall(m, xs),
  },
  gru_unbatched_state: {
    make: () => new GRU(2, 3, { numLayers: 3, dtype }),
    call: (m, xs) => gruCall(m, xs),
  },
  conv1d: { make: () => new Conv1d(2, 4, 3, { padding: 1, dtype }) },
  conv1d_strided_grouped_dilated: {
    make: () => new Conv1d(4, 6, 3, { stride: 2, dilation: 2, groups: 2, bias: false, dtype }),
  },
  conv1d_same_unbatched: { make: () => new Conv1d(3, 2, 4, { padding: 'same', dtype }) },
  adaptive_avgpool2d: { make: () => new AdaptiveAvgPool2d([3, 2]) },
  adaptive_avgpool2d_none_unbatched: { make: () => new AdaptiveAvgPool2d([null, 4]) },
  adaptive_avgpool2d_global: { make: () => new AdaptiveAvgPool2d(1) },
  upsample_nearest_2x: { make: () => new Upsample({ scaleFactor: 2, mode: 'nearest' }) },
  upsample_nearest_size: { make: () => new Upsample({ size: [5, 7], mode: 'nearest' }) },
  upsample_nearest_fraction: { make: () => new Fn((x) => F.interpolate(x, { scaleFactor: [1.5, 0.75] })) },
  upsample_bilinear: { make: () => new Upsample({ scaleFactor: 2, mode: 'bilinear' }) },
  upsample_bilinear_align_corners: {
    make: () => new Upsample({ size: [5, 3], mode: 'bilinear', alignCorners: true }),
  },
  upsample_bilinear_down_unbatched: {
    make: () => new Fn((x) => F.interpolate(x, { size: [2, 5], mode: 'bilinear' })),
  },
  conv_transpose2d: { make: () => new ConvTranspose2d(2, 3, 3, { dtype }) },
  conv_transpose2d_strided_padded_output_padding: {
    make: () =>
      new ConvTranspose2d(3, 2, [3, 2], { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dtype }),
  },
  conv_transpose2d_grouped_dilated_no_bias: {
    make: () => new ConvTranspose2d(4, 6, 2, { stride: 2, dilation: 2, groups: 2, bias: false, dtype }),
  },
  conv_transpose2d_unbatched: { make: () => new ConvTranspose2d(2, 2, 2, { stride: 2, dtype }) },
};

/** [output, h_n, c_n] flattened and concatenated, as scripts/golden/nn.py's call does. */
function lstmCall(m: Module, [x, h0, c0]: Tensor[]): Tensor {
  const [out, [h, c]] = (m as LSTM).forward(x, h0 ? [h0, c0] : undefined);
  return cat([out.reshape([-1]), h.reshape([-1]), c.reshape([-1])]);
}

function gruCall(m: Module, [x, h0]: Tensor[]): Tensor {
  const [out, h] = (m as GRU).forward(x, h0);
  return cat([out.reshape([-1]), h.reshape([-1])]);
}

/** scripts/golden/nn.py's CLASS_WEIGHT. */
function classWeight(): Tensor {
  return tensor([0.5, 1.0, 2.0, 0.25, 1.5], { dtype });
}

interface Encoded {
  shape: number[];
  dtype: 'float64' | 'int32' | 'bool';
  data: number[];
}

interface GoldenCase {
  train: boolean;
  state_before: Record<string, Encoded>;
  inputs: Encoded[];
  output: Encoded;
  weight: Encoded;
  input_grads: (number[] | null)[];
  param_grads: Record<string, number[]>;
  state_after: Record<string, Encoded>;
}

const decode = (e: Encoded, requiresGrad = false) =>
  tensor(
    e.dtype === 'float64'
      ? Float64Array.from(e.data)
      : e.dtype === 'int32'
        ? Int32Array.from(e.data)
        : Uint8Array.from(e.data),
    {
      shape: e.shape,
      requiresGrad: requiresGrad && e.dtype === 'float64',
    },
  );

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > 1e-9 * Math.max(1, Math.abs(expected[i]))) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, PyTorch gives ${expected[i]}`);
    }
  }
}

describe('layers and losses match PyTorch (float64)', () => {
  const entries = Object.entries(fixture.cases as unknown as Record<string, GoldenCase>);
  it('covers every case the generator wrote', () => {
    expect(Object.keys(cases).sort()).toEqual(entries.map(([name]) => name).sort());
  });
  for (const [name, c] of entries) {
    it(name, () => {
      const module = cases[name].make();
      module.train(c.train);
      const state = Object.fromEntries(Object.entries(c.state_before).map(([k, v]) => [k, decode(v)]));
      module.loadStateDict(state);
      const inputs = c.inputs.map((e) => decode(e, true));
      const call = cases[name].call ?? ((m: Module, xs: Tensor[]) => (m as Fn).forward(...xs));
      const output = call(module, inputs);
      expect(output.shape).toEqual(c.output.shape);
      expectClose(output.data, c.output.data, `${name} output`);
      output.mul(decode(c.weight)).sum().backward();
      c.input_grads.forEach((expected, i) => {
        if (expected) expectClose(inputs[i].grad!.data, expected, `${name} gradient of input ${i}`);
      });
      const params = Object.fromEntries(module.namedParameters());
      for (const [key, expected] of Object.entries(c.param_grads)) {
        expect(params[key]?.grad, `${name}: ${key} got no gradient`).toBeTruthy();
        expectClose(params[key].grad!.data, expected, `${name} gradient of ${key}`);
      }
      const after = module.stateDict();
      for (const [key, expected] of Object.entries(c.state_after)) {
        expectClose(after[key].data, expected.data, `${name} state ${key} after the call`);
      }
    });
  }
});
