import { Generator, manualSeed, noGrad, ones, randn, type Tensor, tensor } from '@agrad/autograd';
import { expectGradients, tensorArb } from '@agrad/autograd/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  Conv2d,
  Dropout,
  Embedding,
  F,
  Flatten,
  Linear,
  MaxPool2d,
  ModuleList,
  MultiheadAttention,
  ReLU,
  Sequential,
  TransformerEncoderLayer,
} from '../src/index.js';

describe('Module', () => {
  const model = () =>
    new Sequential(
      new Conv2d(1, 2, 3),
      new BatchNorm2d(2),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(2, 3),
    );

  it('names parameters and buffers as PyTorch does', () => {
    const m = model();
    expect([...m.namedParameters()].map(([n]) => n)).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '5.weight',
      '5.bias',
    ]);
    expect(Object.keys(m.stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
      '5.weight',
      '5.bias',
    ]);
    const attention = new TransformerEncoderLayer(8, 2);
    expect(Object.keys(attention.stateDict())).toEqual([
      'self_attn.in_proj_weight',
      'self_attn.in_proj_bias',
      'self_attn.out_proj.weight',
      'self_attn.out_proj.bias',
      'linear1.weight',
      'linear1.bias',
      'linear2.weight',
      'linear2.bias',
      'norm1.weight',
      'norm1.bias',
      'norm2.weight',
      'norm2.bias',
    ]);
    const list = new ModuleList([new Linear(2, 2), new Linear(2, 2, { bias: false })]);
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '1.weight']);
  });

  it('train() and eval() reach every sub-module', () => {
    const m = model().eval();
    expect([...m.modules()].every((x) => !x.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((x) => x.training)).toBe(true);
  });

  it('to(dtype) converts float parameters and buffers but not integer buffers', () => {
    const m = model().to('float64');
    for (const [, p] of m.namedParameters()) expect(p.dtype).toBe('float64');
    expect(m.stateDict()['1.running_mean'].dtype).toBe('float64');
    expect(m.stateDict()['1.num_batches_tracked'].dtype).toBe('int32');
    const y = m.forward(randn([2, 1, 4, 4], { dtype: 'float64' }));
    expect(y.dtype).toBe('float64');
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('loadStateDict is strict and names missing, unexpected and mismatched keys', () => {
    const m = model();
    const state = m.stateDict();
    const { '5.bias': _removed, ...partial } = state;
    expect(() => m.loadStateDict({ ...partial, extra: ones([1]) })).toThrow(
      'loadStateDict: nothing was loaded: unexpected keys [extra]; missing keys [5.bias]',
    );
    expect(() => m.loadStateDict({ ...state, '5.weight': ones([2, 3]) })).toThrow(
      "loadStateDict: nothing was loaded: size mismatch for '5.weight': the state dict has [2,3], the module [3,2]",
    );
    m.loadStateDict({ ...partial }, { strict: false });
  });

  it('loadStateDict copies values into the existing tensors', () => {
    const a = model();
    const b = model();
    b.loadStateDict(a.stateDict());
    const x = randn([2, 1, 4, 4]);
    expect(Array.from(b.eval().forward(x).data)).toEqual(Array.from(a.eval().forward(x).data));
  });

  it('zeroGrad clears every gradient', () => {
    const m = model();
    m.forward(randn([2, 1, 4, 4]))
      .sum()
      .backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('PyTorch default initialisations', () => {
  it('Linear and Conv2d: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias', () => {
    manualSeed(0);
    const linear = new Linear(100, 50);
    const conv = new Conv2d(4, 8, 3, { groups: 2 });
    const within = (t: Tensor, bound: number) => {
      expect(t.abs().max().item()).toBeLessThanOrEqual(bound);
      expect(t.abs().max().item()).toBeGreaterThan(bound * 0.9);
      expect(Math.abs(t.mean().item())).toBeLessThan(bound * 0.1);
    };
    within(linear.weight, 1 / 10);
    within(linear.bias!, 1 / 10);
    within(conv.weight, 1 / Math.sqrt(2 * 9));
    expect(conv.weight.shape).toEqual([8, 2, 3, 3]);
  });
  it('Embedding: N(0, 1); padding row zero', () => {
    manualSeed(0);
    const e = new Embedding(1000, 16, { paddingIdx: 3 });
    expect(Math.abs(e.weight.std().item() - 1)).toBeLessThan(0.02);
    expect(Array.from(e.weight.narrow(0, 3, 1).data, (v) => v + 0)).toEqual(new Array(16).fill(0));
    e.forward(tensor([[3, 4]], { dtype: 'int32' }))
      .sum()
      .backward();
    expect(Array.from(e.weight.grad!.narrow(0, 3, 1).data)).toEqual(new Array(16).fill(0));
    expect(Array.from(e.weight.grad!.narrow(0, 4, 1).data)).toEqual(new Array(16).fill(1));
  });
  it('MultiheadAttention: xavier-uniform in-projection, zero biases', () => {
    manualSeed(0);
    const mha = new MultiheadAttention(32, 4);
    const bound = Math.sqrt(6 / (32 + 96));
    expect(mha.param('in_proj_weight').abs().max().item()).toBeLessThanOrEqual(bound);
    expect(mha.param('in_proj_bias').abs().max().item()).toBe(0);
    expect(mha.module<Linear>('out_proj').bias!.abs().max().item()).toBe(0);
  });
});

describe('Dropout', () => {
  it('zeroes about p of the elements, keeps the mean, and is the identity in eval mode', () => {
    manualSeed(1);
    const d = new Dropout(0.3);
    const x = ones([100_000]);
    const y = d.forward(x);
    const zeros = y.eq(0).to('float32').mean().item();
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(y.mean().item() - 1)).toBeLessThan(0.02);
    expect(d.eval().forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow('Dropout: p must be a finite number in [0, 1], got 1.5');
  });
});

describe('functional ops match finite differences', () => {
  const runs = { numRuns: 15 };
  it('conv2d with random stride, padding, dilation and groups', () => {
    const arb = fc
      .record({
        n: fc.integer({ min: 1, max: 2 }),
        groups: fc.integer({ min: 1, max: 2 }),
        inPer: fc.integer({ min: 1, max: 2 }),
        outPer: fc.integer({ min: 1, max: 2 }),
        k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.integer({ min: 0, max: 1 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        size: fc.integer({ min: 4, max: 6 }),
      })
      .filter((c) => c.size + 2 * c.padding >= c.dilation * (c.k - 1) + 1)
      .chain((c) =>
        fc.tuple(
          fc.constant(c),
          tensorArb([c.n, c.groups * c.inPer, c.size, c.size]),
          tensorArb([c.groups * c.outPer, c.inPer, c.k, c.k]),
          tensorArb([c.groups * c.outPer]),
        ),
      );
    fc.assert(
      fc.property(arb, ([c, x, w, b]) => {
        const options = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
        expectGradients((xx, ww, bb) => F.conv2d(xx, ww, bb, options), [x, w, b]);
      }),
      runs,
    );
  });
  it('maxPool2d (distinct values) and avgPool2d', () => {
    const distinct = fc.integer({ min: 4, max: 6 }).chain((size) =>
      fc
        .shuffledSubarray([...Array(2 * size * size).keys()], {
          minLength: 2 * size * size,
          maxLength: 2 * size * size,
        })
        .map((perm) =>
          tensor(
            Float64Array.from(perm, (v) => v * 0.1),
            { shape: [1, 2, size, size] },
          ),
        ),
    );
    fc.assert(
      fc.property(distinct, fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 2 }), (x, k, s) => {
        expectGradients((a) => F.maxPool2d(a, k, { stride: s, padding: 1 }), [x]);
        expectGradients((a) => F.avgPool2d(a, k, { stride: s, padding: 1 }), [x]);
      }),
      runs,
    );
  });
  it('batchNorm, layerNorm, groupNorm, rmsNorm', () => {
    fc.assert(
      fc.property(normalInput([3, 4, 2, 2]), tensorArb([4]), tensorArb([4]), (x, w, b) => {
        // Central differences are only trustworthy where the function is smooth at the step's
        // scale: a group of nearly equal values (variance near 0) puts 1/sqrt(var + eps) on a
        // steep slope. fast-check's doubles favour exactly such groups (zeros, subnormals, repeated
        // bounds), so x is drawn from a seeded normal distribution and the rare flat group is
        // skipped, not compared with a widened tolerance.
        fc.pre(normGroupsSpread(x.data as Float64Array) >= 0.05);
        expectGradients((a, ww, bb) => F.batchNorm(a, null, null, ww, bb, { training: true }), [x, w, b]);
        expectGradients((a) => F.layerNorm(a, [2, 2]), [x]);
        expectGradients((a, ww, bb) => F.groupNorm(a, 2, ww, bb), [x, w, b]);
        expectGradients((a) => F.rmsNorm(a, 2, null, 1e-6), [x]);
      }),
      runs,
    );
  });
  it('losses', () => {
    fc.assert(
      fc.property(
        tensorArb([4, 3]),
        tensorArb([4, 3]),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
        (x, y, t) => {
          const target = tensor(Int32Array.from(t));
          expectGradients((a) => F.crossEntropy(a, target, { labelSmoothing: 0.1 }), [x]);
          expectGradients((a, bb) => F.mseLoss(a, bb), [x, y]);
          expectGradients((a, bb) => F.binaryCrossEntropyWithLogits(a, bb.sigmoid()), [x, y]);
        },
      ),
      runs,
    );
  });
});

describe('bad input to layers', () => {
  it('conv2d names channels and groups', () => {
    const conv = new Conv2d(3, 4, 3);
    expect(() => conv.forward(randn([1, 4, 5, 5]))).toThrow(
      'conv2d: input has 4 channels but weight [4,3,3,3] expects 3 (groups=1)',
    );
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/groups=2 must divide in channels \(3\)/);
    expect(() => conv.forward(randn([1, 3, 2, 2]))).toThrow(
      /conv2d: input \[1,3,2,2\] is too small for kernel \[3,3\]/,
    );
  });
  it('linear, batch norm and cross entropy name the shapes', () => {
    expect(() => new Linear(4, 2).forward(randn([3, 5]))).toThrow(
      'linear: input [3,5] has 5 features but weight [2,4] expects 4',
    );
    expect(() => new BatchNorm2d(3).forward(randn([2, 4, 2, 2]))).toThrow(
      /BatchNorm2d\(3\): expected 4-D input with 3 channels/,
    );
    expect(() => F.crossEntropy(randn([2, 3]), tensor([0, 3], { dtype: 'int32' }))).toThrow(
      'crossEntropy: target 3 is out of bounds for 3 classes',
    );
    expect(() => F.crossEntropy(randn([2, 3]), tensor([0, 1]))).toThrow(
      /target must hold int32 class ids, got float32/,
    );
  });
  it('batch norm in training refuses a single value per channel', () => {
    expect(() => noGrad(() => new BatchNorm2d(2).forward(randn([1, 2, 1, 1])))).toThrow(
      /more than 1 value per channel/,
    );
  });
});

describe('layers match finite differences (float64)', () => {
  it('Linear and Embedding through F, with respect to weights too', () => {
    fc.assert(
      fc.property(
        tensorArb([3, 4]),
        tensorArb([2, 4]),
        tensorArb([2]),
        tensorArb([5, 3]),
        (x, w, b, table) => {
          expectGradients((xx, ww, bb) => F.linear(xx, ww, bb), [x, w, b]);
          const ids = tensor([[0, 4, 4]], { dtype: 'int32' });
          expectGradients((t) => F.embedding(ids, t).pow(2), [table]);
        },
      ),
      { numRuns: 10 },
    );
  });
  it('MultiheadAttention (with a causal mask) and TransformerEncoderLayer, with respect to the input', () => {
    manualSeed(3);
    const mha = new MultiheadAttention(8, 2, { batchFirst: true, dtype: 'float64' });
    const layer = new TransformerEncoderLayer(8, 2, {
      dimFeedforward: 12,
      dropout: 0,
      normFirst: true,
      batchFirst: true,
      dtype: 'float64',
    });
    const x = randn([2, 3, 8], { dtype: 'float64' });
    expectGradients((a) => mha.forward(a, a, a, { isCausal: true })[0], [x]);
    expectGradients((a) => layer.forward(a), [x]);
  });
});

/**
 * The smallest spread among the groups the four norms of [3, 4, 2, 2] normalize over: variance per
 * channel over (N, H, W) (batchNorm), per (n, c) (layerNorm), per (n, pair of channels)
 * (groupNorm with 2 groups), and mean square per (n, c, h) over W (rmsNorm over the last dim).
 */
function normGroupsSpread(x: Float64Array): number {
  const at = (n: number, c: number, h: number, w: number) => x[((n * 4 + c) * 2 + h) * 2 + w];
  const variance = (values: number[]) => {
    const mean = values.reduce((a, v) => a + v, 0) / values.length;
    return values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  };
  const range = (k: number) => Array.from({ length: k }, (_, i) => i);
  const spreads: number[] = [];
  for (const c of range(4)) spreads.push(variance(range(12).map((i) => at(i >> 2, c, (i >> 1) & 1, i & 1))));
  for (const n of range(3)) {
    for (const c of range(4)) spreads.push(variance(range(4).map((i) => at(n, c, i >> 1, i & 1))));
    for (const g of range(2))
      spreads.push(variance(range(8).map((i) => at(n, 2 * g + (i >> 2), (i >> 1) & 1, i & 1))));
    for (const c of range(4))
      for (const h of range(2)) spreads.push((at(n, c, h, 0) ** 2 + at(n, c, h, 1) ** 2) / 2);
  }
  return Math.min(...spreads);
}

/** A float64 tensor of normal values (sd 1.5) from a seed that fast-check draws and shrinks. */
function normalInput(shape: number[]): fc.Arbitrary<Tensor> {
  const size = shape.reduce((p, d) => p * d, 1);
  return fc.integer({ min: 0, max: 2 ** 31 - 1 }).map((seed) => {
    const g = new Generator(seed);
    return tensor(
      Float64Array.from({ length: size }, () => 1.5 * g.normal()),
      { shape },
    );
  });
}
