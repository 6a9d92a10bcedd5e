import { cat, customOp, manualSeed, noGrad, rand, randn, type Tensor, tensor, where } from '@agrad/autograd';
import { F, Module } from '@agrad/nn';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/index.js';
import { checkModel, expectClose, onnxChecker, runOnnx } from './helpers.js';

/** A model that is one function of its inputs. */
class Fn extends Module {
  constructor(private readonly fn: (...xs: Tensor[]) => Tensor) {
    super();
  }
  forward(...xs: Tensor[]): Tensor {
    return this.fn(...xs);
  }
}

interface Case {
  name: string;
  fn: (...xs: Tensor[]) => Tensor;
  /** Input makers (called after seeding). */
  inputs: (() => Tensor)[];
}

const image =
  (shape = [2, 3, 7, 6]) =>
  () =>
    randn(shape);
const positive = (shape: number[]) => () => rand(shape).add(0.5);

// Each case runs through exportOnnx, onnx.checker and onnxruntime, and must equal agrad's forward.
const CASES: Case[] = [
  {
    name: 'arithmetic with broadcasting and scalars',
    fn: (a, b) => a.add(b).mul(2).sub(b.div(3)).neg(),
    inputs: [() => randn([3, 4]), () => randn([4])],
  },
  {
    name: 'pow, sqrt, log, log1p, exp',
    fn: (a) => a.pow(1.5).add(a.sqrt()).add(a.log()).add(a.log1p()).add(a.exp()),
    inputs: [positive([2, 5])],
  },
  {
    name: 'sin, cos, tanh, sigmoid, erf, abs',
    fn: (a) => a.sin().add(a.cos()).mul(a.tanh()).add(a.sigmoid()).add(a.erf()).add(a.abs()),
    inputs: [() => randn([4, 3])],
  },
  {
    name: 'relu, gelu, silu, softplus, leakyRelu',
    fn: (a) => a.relu().add(a.gelu()).add(a.silu()).add(a.softplus()).add(a.leakyRelu(0.1)),
    inputs: [() => randn([3, 6])],
  },
  {
    name: 'clamp, maximum, minimum',
    fn: (a, b) => a.clamp(-0.5, 0.7).add(a.maximum(b)).add(a.minimum(b)),
    inputs: [() => randn([5]), () => randn([5])],
  },
  {
    name: 'comparisons and where',
    fn: (a, b) => where(a.gt(b).logicalOr(a.le(-1)).logicalAnd(a.ne(0)), a, b.mul(a.eq(b).logicalNot())),
    inputs: [() => randn([3, 4]), () => randn([3, 4])],
  },
  {
    name: 'sum, mean, amax, amin over dims (kept or not)',
    fn: (a) =>
      a
        .sum(1)
        .add(a.mean([0, 1]))
        .add(a.amax(1, false))
        .add(a.amin(0, true).sum(1)),
    inputs: [() => randn([3, 4, 2])],
  },
  {
    name: 'var, std, logsumexp',
    fn: (a) => a.var(1).add(a.std(1)).add(a.logsumexp(1)),
    inputs: [() => randn([3, 5])],
  },
  {
    name: 'max and min along a dim (values and argmax as a float)',
    fn: (a) => a.max(1).values.add(a.argmax(1).to('float32')).add(a.min(1).values),
    inputs: [() => randn([4, 5])],
  },
  { name: 'argmax over everything', fn: (a) => a.argmax().to('float32'), inputs: [() => randn([3, 4])] },
  {
    name: 'softmax and logSoftmax',
    fn: (a) => a.softmax(1).add(a.logSoftmax(-1)),
    inputs: [() => randn([2, 3, 4])],
  },
  {
    name: 'reshape, permute, transpose, flatten, squeeze, unsqueeze',
    fn: (a) => a.reshape([6, 4]).t().reshape([2, 2, 6]).permute([2, 0, 1]).flatten(1).unsqueeze(0).squeeze(0),
    inputs: [() => randn([2, 3, 4])],
  },
  {
    name: 'narrow, slice with a step, cat, expand',
    fn: (a) =>
      cat([a.narrow(1, 1, 2), a.slice(1, 0, 4, 2)], 0).add(a.narrow(0, 0, 1).expand([4, 4]).narrow(1, 0, 2)),
    inputs: [() => randn([2, 4])],
  },
  {
    name: 'gather and indexSelect with constant indices',
    fn: (a) => a.gather(1, a.argmax(1, true)).add(a.indexSelect(0, a.argmin(0))),
    inputs: [() => randn([3, 3])],
  },
  { name: 'cumsum', fn: (a) => a.cumsum(1), inputs: [() => randn([2, 5])] },
  {
    name: 'matmul: vector, matrix and batched',
    fn: (a, b) => a.matmul(b).sum(0).add(b.matmul(b.t()).sum()),
    inputs: [() => randn([2, 3, 4]), () => randn([4, 5])],
  },
  {
    name: 'dtype casts',
    fn: (a) => a.to('int32').to('float32').add(a.gt(0).to('float32')),
    inputs: [() => randn([6]).mul(3)],
  },
  {
    name: 'conv2d with stride, dilation, groups and bias',
    fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, dilation: [1, 2], padding: [1, 2], groups: 3 }),
    inputs: [image([2, 6, 9, 8]), () => randn([3, 2, 3, 2]), () => randn([3])],
  },
  {
    name: 'conv2d with padding same (an odd total)',
    fn: (x, w) => F.conv2d(x, w, null, { padding: 'same' }),
    inputs: [image(), () => randn([4, 3, 2, 3])],
  },
  {
    name: 'conv1d',
    fn: (x, w) => F.conv1d(x, w, null, { stride: 2, padding: 1 }),
    inputs: [() => randn([2, 3, 9]), () => randn([4, 3, 3])],
  },
  {
    name: 'convTranspose2d with output padding and groups',
    fn: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
    inputs: [() => randn([2, 4, 3, 4]), () => randn([4, 3, 3, 3]), () => randn([6])],
  },
  {
    name: 'maxPool2d with padding, dilation and ceil mode',
    fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, dilation: [1, 2], ceilMode: true }),
    inputs: [image([2, 3, 9, 10])],
  },
  {
    name: 'avgPool2d with and without counting padding, ceil mode',
    fn: (x) =>
      F.avgPool2d(x, 3, { stride: 2, padding: 1 }).add(
        F.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
      ),
    inputs: [image([2, 3, 9, 9])],
  },
  {
    name: 'avgPool2d in ceil mode',
    fn: (x) => F.avgPool2d(x, 2, { stride: 2, ceilMode: true }),
    inputs: [image([1, 2, 7, 7])],
  },
  {
    name: 'adaptiveAvgPool2d to 1x1 and to a divisor',
    fn: (x) => F.adaptiveAvgPool2d(x, [2, 3]).mean([2, 3]).add(F.adaptiveAvgPool2d(x, 1).flatten(1)),
    inputs: [image([2, 3, 8, 6])],
  },
  {
    name: 'layerNorm without an affine, batchNorm in eval with one',
    fn: (x, m, v, w) => F.layerNorm(x, [5, 6]).add(F.batchNorm(x, m, v, w, null)),
    inputs: [image([2, 4, 5, 6]), () => randn([4]), positive([4]), () => randn([4])],
  },
  {
    name: 'scaled dot-product attention with a causal mask',
    fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
    inputs: [() => randn([2, 3, 4, 8]), () => randn([2, 3, 4, 8]), () => randn([2, 3, 4, 8])],
  },
  {
    name: 'a constant made inside forward (folded into one initializer)',
    fn: (a) => a.add(F.causalMask(3, 3).to('float32').cumsum(0)),
    inputs: [() => randn([3, 3])],
  },
  {
    name: 'rmsNorm and groupNorm (composed)',
    fn: (x, w) => F.rmsNorm(x, [6], null).add(F.groupNorm(x, 2, w, w)),
    inputs: [image([2, 4, 5, 6]), () => randn([4])],
  },
  {
    name: 'pad, then interpolate nearest and bilinear',
    fn: (x) =>
      F.interpolate(F.pad(x, [1, 2, 0, 1], { value: 0.5 }), { scaleFactor: 2 })
        .mean([2, 3])
        .add(F.interpolate(x, { size: [7, 9], mode: 'bilinear' }).mean([2, 3])),
    inputs: [image([1, 2, 4, 5])],
  },
  {
    name: 'multi-head attention with a float mask',
    fn: (q, m) => F.scaledDotProductAttention(q, q, q, { attnMask: m }),
    inputs: [() => randn([2, 2, 5, 4]), () => randn([5, 5])],
  },
  {
    name: 'float64 throughout',
    fn: (a, b) => a.matmul(b).tanh().softmax(1),
    inputs: [() => randn([3, 4], { dtype: 'float64' }), () => randn([4, 5], { dtype: 'float64' })],
  },
  { name: 'a 0-d tensor made inside forward', fn: (a) => a.mul(tensor(2.5)), inputs: [() => randn([2])] },
  { name: 'an input returned as it is', fn: (a) => a, inputs: [() => randn([2])] },
  {
    name: 'a custom op, through its forward',
    fn: customOp('cube', {
      forward: (a: Tensor) => a.mul(a).mul(a),
      backward: (g, { inputs: [a] }) => [g.mul(a.mul(a)).mul(3)],
    }),
    inputs: [() => randn([3])],
  },
];

describe('every supported op, exported and run in onnxruntime', () => {
  for (const { name, fn, inputs } of CASES) {
    it(name, async () => {
      manualSeed(11);
      const xs = inputs.map((make) => make());
      const model = new Fn(fn).eval();
      const bytes = exportOnnx(model, xs);
      if (onnxChecker) expect(checkModel(bytes)).toBe('');
      const names = xs.length === 1 ? ['input'] : xs.map((_, i) => `input${i}`);
      const outputs = await runOnnx(bytes, Object.fromEntries(names.map((n, i) => [n, xs[i]])));
      expectClose(
        outputs.output,
        noGrad(() => fn(...xs)),
      );
    });
  }
});

describe('what is refused, with the op and where it was met', () => {
  const x = () => randn([2, 3]);

  it('a model in training mode', () => {
    expect(() => exportOnnx(new Fn((a) => a.relu()), x())).toThrow(/training mode .*model\.eval\(\)/);
  });

  it('an op with no ONNX equivalent names the op and the module path', () => {
    class Inner extends Module {
      forward(a: Tensor): Tensor {
        return a.scatterAdd(1, a.argmax(1, true), a.narrow(1, 0, 1));
      }
    }
    class Outer extends Module {
      block = new Inner();
      forward(a: Tensor): Tensor {
        return this.block.forward(a).relu();
      }
    }
    expect(() => exportOnnx(new Outer().eval(), x())).toThrow(
      /cannot export op 'scatterAdd' \(in module 'block'\)/,
    );
  });

  it('control flow that depends on input values', () => {
    const model = new Fn((a) => (a.amax().item() > 1.5 ? a.exp() : a.sin())).eval();
    expect(() => exportOnnx(model, randn([2, 3]).mul(0).add(2))).toThrow(
      /did different things .*branches on input/,
    );
  });

  it('a value computed from the input through JavaScript numbers', () => {
    const model = new Fn((a) => a.sub(a.sum().item())).eval();
    expect(() => exportOnnx(model, x())).toThrow(/depends on the input .*outside the traced ops/);
  });

  it('sort and topk, whose order ONNX does not promise', () => {
    const model = new Fn((a) => a.topk(2, 1)[0]).eval();
    expect(() => exportOnnx(model, x())).toThrow(/cannot export op 'sort' .*TopK/);
  });

  it('options: unknown keys, bad opsets, mismatched names, unknown dynamic inputs', () => {
    const model = new Fn((a) => a.relu()).eval();
    expect(() => exportOnnx(model, x(), { opset: 16 })).toThrow(/opset must be/);
    expect(() => exportOnnx(model, x(), { dynamicAxis: {} } as never)).toThrow(
      /unknown option 'dynamicAxis' \(did you mean 'dynamicAxes'\?\)/,
    );
    expect(() => exportOnnx(model, x(), { inputNames: ['a', 'b'] })).toThrow(
      /2 inputNames for 1 example inputs/,
    );
    expect(() => exportOnnx(model, x(), { dynamicAxes: { images: { 0: 'batch' } } })).toThrow(
      /names input 'images'/,
    );
    expect(() => exportOnnx(model, [x(), 3 as never])).toThrow(/example input 1 must be a Tensor, got 3/);
    const two = new Fn((a, b) => a.add(b.sum()));
    expect(() =>
      exportOnnx(two.eval(), [randn([2, 3]), randn([3, 3])], {
        dynamicAxes: { input0: { 0: 'n' }, input1: { 0: 'n' } },
      }),
    ).toThrow(/'n' is 2 long in input 'input0' but 3 in input 'input1'/);
    expect(() => exportOnnx(model, x(), { dynamicAxes: { input: { 2: 'batch' } } })).toThrow(
      /axis 2 of input 'input'/,
    );
    expect(() => exportOnnx(model, x(), { outputNames: ['input'] })).toThrow(
      /'input' is given to two graph values/,
    );
    expect(() => exportOnnx(model, randn([1, 3]), { dynamicAxes: { input: { 0: 'batch' } } })).toThrow(
      /has size 1 in the example; give an example with at least 2/,
    );
  });

  it('adaptive pooling into cells of unequal size', () => {
    const model = new Fn((a) => F.adaptiveAvgPool2d(a, 3)).eval();
    expect(() => exportOnnx(model, randn([1, 2, 5, 5]))).toThrow(
      /cannot export op 'adaptiveAvgPool2d' .*output 3x3 does not divide input 5x5/,
    );
  });

  it('a constant whose shape follows a dynamic axis', () => {
    const model = new Fn((a) => a.add(rand([a.shape[0], 3]).mul(0))).eval();
    expect(() => exportOnnx(model, x(), { dynamicAxes: { input: { 0: 'batch' } } })).toThrow(
      /has shape \[2,3\] on the example and \[3,3\] when a dynamic axis grows/,
    );
  });
});

describe('the checker itself', () => {
  it.runIf(onnxChecker)('rejects a model whose node reads a value nothing defines', async () => {
    const { GraphBuilder } = await import('../src/graph.js');
    const graph = new GraphBuilder();
    graph.node('Relu', ['missing'], {}, ['output']);
    const bytes = graph.encode({
      name: 'broken',
      opset: 17,
      inputs: [{ name: 'input', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'output', dtype: 'float32', shape: [2] }],
      producerVersion: '0',
    });
    expect(checkModel(bytes)).toMatch(/missing/);
  });
});
