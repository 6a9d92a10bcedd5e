import { randn, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import {
  adagrad,
  adam,
  adamw,
  adan,
  agr,
  agrCoefficients,
  chain,
  clipByGlobalNorm,
  lion,
  Optimizer,
  regularize,
  rmsprop,
  sgd,
  stepDecay,
  warmupCosineDecay,
} from '../src/index.js';

describe('every optimizer option is checked', () => {
  it('refuses infinite and NaN values and out-of-range ones, naming option, value and rule', () => {
    expect(() => adamw({ lr: Number.POSITIVE_INFINITY })).toThrow(
      'adamw: option lr must be a finite number >= 0 or a function, got Infinity',
    );
    expect(() => adam({ eps: Number.POSITIVE_INFINITY })).toThrow(
      'adam: option eps must be a finite number > 0, got Infinity',
    );
    expect(() => adamw({ weightDecay: Number.POSITIVE_INFINITY })).toThrow(
      'adamw: option weightDecay must be a finite number >= 0, got Infinity',
    );
    expect(() => sgd({ lr: 0.1, momentum: 0.9, dampening: Number.NaN })).toThrow(
      'sgd: option dampening must be a finite number in [0, 1], got NaN',
    );
    expect(() => rmsprop({ alpha: 2 })).toThrow(
      'rmsprop: option alpha must be a finite number in [0, 1], got 2',
    );
    expect(() => adagrad({ lrDecay: -1 })).toThrow(
      'adagrad: option lrDecay must be a finite number >= 0, got -1',
    );
  });

  it('refuses betas of the wrong length or type', () => {
    expect(() => adam({ betas: [0.9] as never })).toThrow(
      'adam: option betas must be an array of 2 values, each a finite number in [0, 1), got [0.9]',
    );
    expect(() => adan({ betas: [0.98, 0.92] as never })).toThrow(
      /adan: option betas must be an array of 3 values/,
    );
    expect(() => lion({ betas: '0.9,0.99' as never })).toThrow(
      /lion: option betas must be an array of 2 values/,
    );
  });

  it('says when lr is missing or a string', () => {
    expect(() => sgd({} as never)).toThrow('sgd: option lr is required (a finite number >= 0 or a function)');
    expect(() => sgd({ lr: '0.1' } as never)).toThrow(
      'sgd: option lr must be a finite number >= 0 or a function, got "0.1"',
    );
    expect(() => sgd(undefined as never)).toThrow('sgd: option lr is required');
  });

  it('refuses unknown keys, suggesting the one meant', () => {
    expect(() => adamw({ weight_decay: 0.1 } as never)).toThrow(
      "adamw: unknown option 'weight_decay' (did you mean 'weightDecay'?); accepted options: lr, betas, eps, weightDecay, amsgrad",
    );
    expect(() => sgd({ lr: 0.1, momentun: 0.9 } as never)).toThrow(
      "sgd: unknown option 'momentun' (did you mean 'momentum'?)",
    );
    expect(() => agr({ exemptBelow: 2 } as never)).toThrow(
      "agr: unknown option 'exemptBelow'; accepted options: exemptSmallerThan",
    );
    expect(
      () => new Optimizer([tensor([1], { requiresGrad: true })], sgd({ lr: 1 }), { skipNaN: true } as never),
    ).toThrow("Optimizer: unknown option 'skipNaN'");
  });

  it('checks a schedule’s value at every step, not only the first', () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const schedule = (step: number) => (step < 2 ? 0.1 : Number.NaN);
    const optimizer = new Optimizer([p], sgd({ lr: schedule }));
    for (let i = 0; i < 2; i++) {
      p.grad = tensor([1, 1]);
      optimizer.step();
    }
    p.grad = tensor([1, 1]);
    expect(() => optimizer.step()).toThrow(
      'scaleByLearningRate: the learning rate at step 2 must be a finite number >= 0, got NaN',
    );
    expect(() => stepDecay(0.1, 0)).toThrow('stepDecay: stepSize must be an integer >= 1, got 0');
    expect(() => warmupCosineDecay({ peak: 1, warmupSteps: 10 } as never)).toThrow(
      'warmupCosineDecay: option decaySteps is required',
    );
    expect(() => chain(agr(), 'adamw' as never)).toThrow(
      'chain: transform 1 must be a GradientTransformation',
    );
    expect(() => new Optimizer([p], { lr: 0.1 } as never)).toThrow(
      /Optimizer: the transform .* must be a GradientTransformation/,
    );
  });
});

describe('Optimizer.loadStateDict is all or nothing', () => {
  const setup = () => {
    const p = tensor([1, -2, 3], { requiresGrad: true });
    const optimizer = new Optimizer({ w: p }, chain(agr(), adamw({ lr: 0.1 })));
    p.grad = tensor([0.5, 0.25, -1]);
    optimizer.step();
    return { p, optimizer };
  };

  it('refuses a step count of NaN or -5, and a per-parameter step that is not a count', () => {
    const { optimizer } = setup();
    const state = optimizer.stateDict();
    const before = JSON.stringify(Object.entries(state).map(([k, v]) => [k, v.toArray()]));
    for (const bad of [Number.NaN, -5, 1.5]) {
      const dict = { ...state, _steps: tensor(bad, { dtype: 'float64' }) };
      expect(() => optimizer.loadStateDict(dict)).toThrow(
        `Optimizer.loadStateDict: nothing was loaded: '_steps' is ${bad}, expected a count (an integer >= 0)`,
      );
    }
    const dict = { ...state, '1/0/w/step': tensor(-1, { dtype: 'float64' }) };
    expect(() => optimizer.loadStateDict(dict)).toThrow("'1/0/w/step' is -1, expected a count");
    const after = JSON.stringify(Object.entries(optimizer.stateDict()).map(([k, v]) => [k, v.toArray()]));
    expect(after).toBe(before);
  });

  it('refuses null, wrong shapes and a momentum buffer that does not fit its parameter', () => {
    const { optimizer } = setup();
    const state = optimizer.stateDict();
    expect(() => optimizer.loadStateDict({ ...state, '1/0/w/expAvg': null } as never)).toThrow(
      "'1/0/w/expAvg' is null, expected a Tensor",
    );
    expect(() => optimizer.loadStateDict({ ...state, '1/0/w/expAvg': randn([4]) })).toThrow(
      "'1/0/w/expAvg' has float32 [4], expected float32 [3]",
    );
    const p = tensor([1, 2], { requiresGrad: true });
    const momentum = new Optimizer({ p }, sgd({ lr: 0.1, momentum: 0.9 }));
    const fresh = momentum.stateDict();
    // The buffer slot is empty before the first step; a loaded one must still fit p.
    expect(() => momentum.loadStateDict({ ...fresh, '1/p/buffer': randn([5]) })).toThrow(
      "'1/p/buffer' has float32 [5], expected float32 [2]",
    );
    momentum.loadStateDict({ ...fresh, '1/p/buffer': tensor([0.5, 0.5]) });
  });
});

describe('AGR where sum|g| overflows', () => {
  it('is right for float64 gradients near the largest double, in agr() and regularize alike', () => {
    const g = tensor([1e308, 1e308, -5e307], { dtype: 'float64' });
    // s = 2.5e308 overflows; alpha = [0.4, 0.4, 0.2], g' = g (1 - alpha)
    const expected = [6e307, 6e307, -4e307];
    const p = tensor([0, 0, 0], { dtype: 'float64', requiresGrad: true });
    const transform = agr();
    const fused = transform.update({ p: g }, transform.init({ p }), { p }).updates.p.toArray() as number[];
    const composed = regularize(g).toArray() as number[];
    for (const out of [fused, composed]) {
      out.forEach((v, i) => expect(Math.abs(v - expected[i]) / Math.abs(expected[i])).toBeLessThan(1e-15));
    }
    expect(agrCoefficients(g).toArray()).toEqual([0.4, 0.4, 0.2]);
  });

  it('is right for float32 gradients whose sum passes 3.4e38', () => {
    const g = tensor([3e38, 3e38, 1e38]);
    const expected = [3e38 * (1 - 3 / 7), 3e38 * (1 - 3 / 7), 1e38 * (1 - 1 / 7)];
    const out = regularize(g).toArray() as number[];
    out.forEach((v, i) => expect(Math.abs(v - expected[i]) / expected[i]).toBeLessThan(1e-6));
  });

  it('turns a gradient with NaN or infinity into NaN in both forms, never into a silent no-op', () => {
    const p = tensor([0, 0], { requiresGrad: true });
    const transform = agr();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const g = tensor([bad, 1]);
      const fused = transform.update({ p: g }, transform.init({ p }), { p }).updates.p.toArray() as number[];
      expect(fused.every(Number.isNaN)).toBe(true);
      expect((regularize(g).toArray() as number[]).every(Number.isNaN)).toBe(true);
    }
  });
});

describe('an optimizer step between forward and backward', () => {
  it('makes backward refuse, instead of returning the gradient of the old weights', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const optimizer = new Optimizer([w], chain(clipByGlobalNorm(1), sgd({ lr: 0.1 })));
    const loss = w.mul(w).sum();
    w.grad = tensor([1, 1]);
    optimizer.step();
    expect(() => loss.backward()).toThrow(
      /backward: 'mul' needs its input 0 .* modified in place afterwards/,
    );
  });
});

describe('the parameters an Optimizer takes', () => {
  it('refuses a tensor listed twice (it would move twice per step) and a non-leaf', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => new Optimizer({ a: w, b: w }, sgd({ lr: 0.1 }))).toThrow(
      "Optimizer: parameters 'a' and 'b' are the same tensor; list it once",
    );
    expect(() => new Optimizer([w.mul(2)], sgd({ lr: 0.1 }))).toThrow(
      "Optimizer: parameter '0' is not a leaf (it is the output of 'mul')",
    );
  });
});
