import { noGrad, randn, type Tensor, tensor, zeros, zerosLike } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adagrad,
  adam,
  adamw,
  adan,
  adaptiveGradClip,
  addDecayedWeights,
  agr,
  centralize,
  chain,
  clipByGlobalNorm,
  constant,
  cosineDecay,
  type GradientTransformation,
  linearWarmup,
  lion,
  masked,
  nadam,
  Optimizer,
  radam,
  rmsprop,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  stepDecay,
  warmupCosineDecay,
} from '../src/index.js';

/** optax's transform tests: shapes preserved, purity, chain == manual application, convergence. */
const optimizers: [string, (problem?: 'rosenbrock') => GradientTransformation][] = [
  // Rosenbrock's gradients reach the hundreds: plain SGD needs a smaller step there.
  ['sgd', (problem) => sgd({ lr: problem === 'rosenbrock' ? 1e-3 : 0.01, momentum: 0.9 })],
  ['adam', () => adam({ lr: 0.02 })],
  ['adamw', () => adamw({ lr: 0.02, weightDecay: 1e-4 })],
  ['adan', () => adan({ lr: 0.02 })],
  ['lion', () => lion({ lr: 0.003 })],
  ['rmsprop', () => rmsprop({ lr: 0.003 })],
  ['adagrad', () => adagrad({ lr: 0.3 })],
  ['nadam', () => nadam({ lr: 0.02 })],
  // RAdam's first steps (rho_t <= 5: five of them) are plain momentum SGD: on Rosenbrock, a
  // smaller step, and b2 0.99 for a second moment that keeps up with its steep start.
  ['radam', (problem) => radam(problem === 'rosenbrock' ? { lr: 5e-3, betas: [0.9, 0.99] } : { lr: 0.02 })],
];
const transforms: [string, () => GradientTransformation][] = [
  ...optimizers,
  ['agr', () => agr()],
  ['centralize', () => centralize()],
  ['adaptiveGradClip', () => adaptiveGradClip(0.01)],
  ['clipByGlobalNorm', () => clipByGlobalNorm(0.5)],
  ['addDecayedWeights', () => addDecayedWeights(0.1)],
  ['masked', () => masked(agr(), (p) => p.ndim > 1)],
];

function problem(): { params: Record<string, Tensor>; grads: Record<string, Tensor> } {
  const params = {
    'layer.weight': randn([3, 4], { dtype: 'float64' }),
    'layer.bias': randn([4], { dtype: 'float64' }),
  };
  const grads = {
    'layer.weight': randn([3, 4], { dtype: 'float64' }),
    'layer.bias': randn([4], { dtype: 'float64' }),
  };
  return { params, grads };
}
const snapshot = (record: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(record).map(([k, t]) => [k, Array.from(t.data)]));

describe('every transform', () => {
  for (const [name, make] of transforms) {
    it(`${name}: preserves shapes and dtypes and mutates nothing it is given`, () => {
      const t = make();
      const { params, grads } = problem();
      const before = [snapshot(params), snapshot(grads)];
      const state = t.init(params);
      const stateBefore = JSON.stringify(state, (_, v) => (v?.data ? Array.from(v.data) : v));
      const { updates } = t.update(grads, state, params);
      for (const key of Object.keys(grads)) {
        expect(updates[key].shape).toEqual(grads[key].shape);
        expect(updates[key].dtype).toBe(grads[key].dtype);
      }
      expect([snapshot(params), snapshot(grads)]).toEqual(before);
      expect(JSON.stringify(state, (_, v) => (v?.data ? Array.from(v.data) : v))).toBe(stateBefore);
    });
  }

  it('chain equals applying its transforms one after another', () => {
    const { params, grads } = problem();
    const parts: GradientTransformation<unknown>[] = [
      agr(),
      scaleByAdam(),
      addDecayedWeights(0.01),
      scaleByLearningRate(0.1),
    ];
    const chained = chain(...parts);
    const viaChain = chained.update(grads, chained.init(params), params).updates;
    let manual: Record<string, Tensor> = grads;
    for (const part of parts) manual = part.update(manual, part.init(params), params).updates;
    expect(snapshot(viaChain)).toEqual(snapshot(manual));
  });

  it('advances only the state of parameters that got an update', () => {
    const { params, grads } = problem();
    const t = adam();
    type AdamChainState = [null, Record<string, { step: number }>, Record<string, { step: number }>];
    const state = t.init(params) as AdamChainState;
    const next = t.update({ 'layer.weight': grads['layer.weight'] }, state, params).state as AdamChainState;
    expect(next[1]['layer.weight'].step).toBe(1);
    expect(next[1]['layer.bias']).toBe(state[1]['layer.bias']);
  });
});

/** Runs an optimizer on f(x) from x0 and returns the final loss. */
function minimize(
  transform: GradientTransformation,
  f: (x: Tensor) => Tensor,
  x0: number[],
  shape: number[],
  steps: number,
): number {
  const x = tensor(Float64Array.from(x0), { shape, requiresGrad: true });
  const optimizer = new Optimizer([x], transform);
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    f(x).backward();
    optimizer.step();
  }
  return noGrad(() => f(x).item());
}

// AGR works per tensor and is strong on tiny tensors (on two entries it scales both by
// |g1||g2|/s), so the test problems are 64-element tensors, as in a real layer: a quadratic with
// curvatures 0.5..4, and 32 independent 2-D Rosenbrock problems.
const centers = tensor(Float64Array.from({ length: 64 }, (_, i) => Math.sin(i) * 2));
const curvatures = tensor(Float64Array.from({ length: 64 }, (_, i) => 0.5 + (3.5 * i) / 63));
const quadratic = (x: Tensor) => x.sub(centers).pow(2).mul(curvatures).sum();
const rosenbrock = (x: Tensor) => {
  const a = x.narrow(1, 0, 1);
  const b = x.narrow(1, 1, 1);
  return a
    .neg()
    .add(1)
    .pow(2)
    .add(b.sub(a.pow(2)).pow(2).mul(100))
    .sum();
};
const rosenbrockStart = Array.from({ length: 32 }, (_, i) => [-1.2 + 0.01 * i, 1]).flat();

describe('every optimizer converges, with and without AGR in front', () => {
  for (const [name, make] of optimizers) {
    for (const withAgr of [false, true]) {
      const label = `${withAgr ? 'agr -> ' : ''}${name}`;
      it(`${label} on a quadratic`, () => {
        const start = quadratic(zeros([64], { dtype: 'float64' })).item();
        const final = minimize(
          withAgr ? chain(agr(), make()) : make(),
          quadratic,
          new Array(64).fill(0),
          [64],
          1500,
        );
        expect(final).toBeLessThan(start * 1e-3);
      });
      it(`${label} on Rosenbrock`, () => {
        const start = rosenbrock(tensor(rosenbrockStart, { shape: [32, 2], dtype: 'float64' })).item();
        const final = minimize(
          withAgr ? chain(agr(), make('rosenbrock')) : make('rosenbrock'),
          rosenbrock,
          rosenbrockStart,
          [32, 2],
          3000,
        );
        expect(final).toBeLessThan(start * 0.01);
      });
    }
  }
});

describe('hyper-parameters are checked at construction', () => {
  it('names the value and the rule', () => {
    expect(() => sgd({ lr: -1 })).toThrow(
      'sgd: option lr must be a finite number >= 0 or a function, got -1',
    );
    expect(() => adam({ betas: [0.9, 1] })).toThrow(
      'adam: option betas must be an array of 2 values, each a finite number in [0, 1), got [0.9, 1]',
    );
    expect(() => adamw({ eps: 0 })).toThrow('adamw: option eps must be a finite number > 0, got 0');
    expect(() => adan({ betas: [0.98, -0.1, 0.99] })).toThrow(
      /adan: option betas must be .* got \[0.98, -0.1, 0.99\]/,
    );
    expect(() => sgd({ lr: 0.1, nesterov: true })).toThrow(
      /nesterov needs momentum > 0 and dampening = 0, got momentum 0/,
    );
    expect(() => sgd({ lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/dampening 0.1/);
    expect(() => rmsprop({ weightDecay: -0.1 })).toThrow(/rmsprop: option weightDecay must be .* got -0.1/);
    expect(() => clipByGlobalNorm(0)).toThrow(/maxNorm must be a finite number > 0, got 0/);
  });
});

describe('schedules', () => {
  it('have the documented values', () => {
    expect(constant(0.1)(50)).toBe(0.1);
    expect(linearWarmup(1, 10)(5)).toBe(0.5);
    expect(linearWarmup(1, 10)(20)).toBe(1);
    expect(cosineDecay(1, 100)(50)).toBeCloseTo(0.5, 12);
    expect(cosineDecay(1, 100, 0.1)(100)).toBeCloseTo(0.1, 12);
    const wc = warmupCosineDecay({ peak: 1, warmupSteps: 10, decaySteps: 110 });
    expect(wc(5)).toBe(0.5);
    expect(wc(10)).toBe(1);
    expect(wc(60)).toBeCloseTo(0.5, 12);
    expect(stepDecay(1, 30, 0.1)(65)).toBeCloseTo(0.01, 12);
  });
  it('drive the learning rate the Optimizer reports', () => {
    const p = tensor([1], { requiresGrad: true });
    const optimizer = new Optimizer(
      [p],
      chain(agr({ exemptSmallerThan: 2 }), sgd({ lr: linearWarmup(1, 4) })),
    );
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(optimizer.lr!);
      p.grad = tensor([1]);
      optimizer.step();
    }
    expect(seen).toEqual([0, 0.25, 0.5]);
    expect(p.item()).toBeCloseTo(1 - 0.75, 6);
  });
});

describe('the Optimizer wrapper', () => {
  it('skips parameters without a gradient, as PyTorch', () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const optimizer = new Optimizer({ a, b }, sgd({ lr: 0.5 }));
    a.grad = tensor([1]);
    optimizer.step();
    expect([a.item(), b.item()]).toEqual([0.5, 1]);
  });

  it('skipNonFinite leaves parameters and state untouched and reports the step', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const optimizer = new Optimizer([p], adam({ lr: 0.1 }), { skipNonFinite: true });
    p.grad = tensor([1, Number.NaN]);
    const before = optimizer.stateDict();
    expect(optimizer.step()).toEqual({ skipped: true, nonFinite: ['0'] });
    expect(Array.from(p.data)).toEqual([1, 2]);
    expect(snapshot(optimizer.stateDict())).toEqual(snapshot(before));
    expect(optimizer.stepCount).toBe(0);
  });

  it('without skipNonFinite, a NaN gradient reaches the parameters (documented, as PyTorch)', () => {
    const p = tensor([1], { requiresGrad: true });
    const optimizer = new Optimizer([p], sgd({ lr: 0.1 }));
    p.grad = tensor([Number.NaN]);
    expect(optimizer.step()).toEqual({ skipped: false, nonFinite: [] }); // not checked without the option
    expect(Number.isNaN(p.item())).toBe(true);
  });

  it('stateDict / loadStateDict resume bit-identically', () => {
    const make = () => chain(agr(), adan({ lr: 0.01, weightDecay: 0.01 }));
    const train = (p: Tensor, optimizer: Optimizer, steps: number) => {
      for (let i = 0; i < steps; i++) {
        optimizer.zeroGrad();
        rosenbrock(p).backward();
        optimizer.step();
      }
    };
    const straight = tensor(rosenbrockStart, { shape: [32, 2], dtype: 'float64', requiresGrad: true });
    train(straight, new Optimizer([straight], make()), 8);

    const first = tensor(rosenbrockStart, { shape: [32, 2], dtype: 'float64', requiresGrad: true });
    const firstOptimizer = new Optimizer([first], make());
    train(first, firstOptimizer, 4);
    const saved = firstOptimizer.stateDict();
    const resumed = first.detach().clone().requiresGrad_();
    const resumedOptimizer = new Optimizer([resumed], make());
    resumedOptimizer.loadStateDict(saved);
    train(resumed, resumedOptimizer, 4);
    expect(Array.from(resumed.data)).toEqual(Array.from(straight.data));
  });

  it('loadStateDict lists missing and unexpected keys', () => {
    const p = tensor([1], { requiresGrad: true });
    const optimizer = new Optimizer([p], adam());
    const dict = optimizer.stateDict();
    const { '1/0/expAvg': _dropped, ...rest } = dict;
    expect(() => optimizer.loadStateDict({ ...rest, bogus: zerosLike(p) })).toThrow(
      'Optimizer.loadStateDict: nothing was loaded: unexpected keys [bogus]; missing keys [1/0/expAvg]',
    );
  });

  it('masked applies a transform by predicate (no decay on biases)', () => {
    const { params, grads } = problem();
    const t = masked(addDecayedWeights(1), (_, name) => !name.endsWith('bias'));
    const { updates } = t.update(grads, t.init(params), params);
    expect(Array.from(updates['layer.bias'].data)).toEqual(Array.from(grads['layer.bias'].data));
    expect(Array.from(updates['layer.weight'].data)).toEqual(
      Array.from(grads['layer.weight'].add(params['layer.weight']).data),
    );
  });

  it('property: any random gradient sequence gives a finite trajectory for every optimizer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.nat(optimizers.length - 1),
        (g, k) => {
          const p = tensor([0, 0, 0, 0], { dtype: 'float64', requiresGrad: true });
          const optimizer = new Optimizer([p], chain(agr(), optimizers[k][1]()));
          for (let i = 0; i < 3; i++) {
            p.grad = tensor(Float64Array.from(g));
            optimizer.step();
          }
          for (const v of p.data) expect(Number.isFinite(v)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
