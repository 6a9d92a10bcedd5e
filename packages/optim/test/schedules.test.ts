import { type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clipGradNorm,
  exponentialLR,
  linearLR,
  nadam,
  type OneCycleOptions,
  Optimizer,
  oneCycle,
  radam,
  stepDecay,
} from '../src/index.js';
import fixture from './fixtures/schedules.json' with { type: 'json' };

/**
 * torch's OneCycleLR, LinearLR and ExponentialLR sequences and torch.nn.utils.clip_grad_norm_,
 * against values written by scripts/golden/schedules.py (float64).
 */

function expectClose(actual: ArrayLike<number>, expected: number[], what: string, tolerance = 1e-12): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (error > tolerance * Math.max(1, Math.abs(expected[i])))
      throw new Error(`${what}, element ${i}: agrad ${actual[i]}, PyTorch ${expected[i]} (error ${error})`);
  }
}

const sequence = (schedule: (step: number) => number, steps: number) =>
  Array.from({ length: steps }, (_, step) => schedule(step));

describe('learning-rate schedules match torch.optim.lr_scheduler', () => {
  for (const { options, rates } of fixture.oneCycle) {
    it(`oneCycle(${JSON.stringify(options)})`, () => {
      expectClose(sequence(oneCycle(options as OneCycleOptions), rates.length), rates, 'oneCycle');
    });
  }
  for (const { options, rates } of fixture.linearLR) {
    it(`linearLR(${JSON.stringify(options)})`, () => {
      const { init, ...rest } = options;
      expectClose(sequence(linearLR(init, rest), rates.length), rates, 'linearLR');
    });
  }
  for (const { options, rates } of fixture.exponentialLR) {
    it(`exponentialLR(${JSON.stringify(options)})`, () => {
      expectClose(sequence(exponentialLR(options.init, options.gamma), rates.length), rates, 'exponentialLR');
    });
  }

  for (const { options, rates } of fixture.stepLR) {
    it(`stepDecay as StepLR(${JSON.stringify(options)})`, () => {
      const { init, stepSize, gamma } = options as { init: number; stepSize: number; gamma?: number };
      expectClose(sequence(stepDecay(init, stepSize, gamma), rates.length), rates, 'stepDecay');
    });
  }

  it('oneCycle drives an optimizer: the learning rate it reports is the schedule at each step', () => {
    const schedule = oneCycle({ maxLr: 0.1, totalSteps: 10 });
    const w = tensor([1, 2, 3], { requiresGrad: true });
    const optimizer = new Optimizer([w], radam({ lr: schedule }));
    for (let step = 0; step < 10; step++) {
      expect(optimizer.lr).toBe(schedule(step));
      w.grad = tensor([0.1, -0.2, 0.3]);
      optimizer.step();
    }
  });

  it('refuse bad options and steps past the cycle, naming the op and the values', () => {
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 1.5 })).toThrow(/oneCycle.*pctStart/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 0 })).toThrow(/oneCycle.*totalSteps/);
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, anneal: 'cos' } as never)).toThrow(
      /oneCycle.*anneal/,
    );
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, annealStrategy: 'cosine' as never })).toThrow(
      /annealStrategy/,
    );
    // 0.1 * 10 - 1 = 0: the rising phase would have no steps (torch divides by zero there).
    expect(() => oneCycle({ maxLr: 0.1, totalSteps: 10, pctStart: 0.1 })).toThrow(/phase 1 of 2.*no steps/);
    const schedule = oneCycle({ maxLr: 0.1, totalSteps: 10 });
    expect(Number.isFinite(schedule(10))).toBe(true); // torch allows the step at totalSteps
    expect(() => schedule(11)).toThrow(/step 11 is past the cycle's totalSteps \(10\)/);
    expect(() => linearLR(0.1, { startFactor: 0 })).toThrow(/linearLR.*startFactor/);
    expect(() => linearLR(0.1, { totalIter: 3 } as never)).toThrow(/linearLR.*totalIter/);
    expect(() => exponentialLR(0.1, -1)).toThrow(/exponentialLR.*gamma/);
  });
});

describe('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  fixture.clipGradNorm.forEach((c, n) => {
    it(`case ${n + 1}: shapes ${JSON.stringify(c.shapes)}, maxNorm ${c.maxNorm}, normType ${c.normType}`, () => {
      const params = c.shapes.map((shape, i) => {
        const p = tensor(new Float64Array(c.grads[i].length), { shape, requiresGrad: true });
        p.grad = tensor(Float64Array.from(c.grads[i]), { shape });
        return p;
      });
      const gradBefore = params[0].grad;
      const normType = c.normType === 'inf' ? Number.POSITIVE_INFINITY : Number(c.normType);
      const total = clipGradNorm(params, c.maxNorm, { normType });
      expectClose([total.item()], [c.total], 'total norm');
      params.forEach((p, i) => expectClose((p.grad as Tensor).data, c.clipped[i], `gradient ${i}`));
      // In place, as torch: a reference to the gradient sees the clipped values.
      expect(params[0].grad).toBe(gradBefore);
    });
  });

  it('property: the clipped norm is at most maxNorm, and every gradient is scaled by one factor', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 6 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY),
        (grads, maxNorm, normType) => {
          const params = grads.map((g) => {
            const p = tensor(new Float64Array(g.length), { requiresGrad: true });
            p.grad = tensor(Float64Array.from(g));
            return p;
          });
          const total = clipGradNorm(params, maxNorm, { normType }).item();
          const flat = grads.flat();
          const expectedTotal =
            normType === Number.POSITIVE_INFINITY
              ? Math.max(...flat.map(Math.abs))
              : flat.reduce((s, v) => s + Math.abs(v) ** normType, 0) ** (1 / normType);
          expect(Math.abs(total - expectedTotal)).toBeLessThanOrEqual(1e-9 * (1 + expectedTotal));
          const coef = Math.min(1, maxNorm / (total + 1e-6));
          params.forEach((p, i) =>
            (p.grad as Tensor).data.forEach((v, j) =>
              expect(Math.abs(v - grads[i][j] * coef)).toBeLessThanOrEqual(
                1e-12 * (1 + Math.abs(grads[i][j])),
              ),
            ),
          );
          const clipped = clipGradNorm(params, Number.MAX_VALUE, { normType }).item();
          expect(clipped).toBeLessThanOrEqual(maxNorm * (1 + 1e-9));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('skips parameters without a gradient, returns 0 for none, and refuses bad input', () => {
    const a = tensor([3, 4], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    a.grad = tensor([3, 4]);
    expect(clipGradNorm([a, b], 1).item()).toBeCloseTo(5, 12);
    expect(b.grad).toBeNull();
    expect(clipGradNorm([b], 1).item()).toBe(0);
    expect(() => clipGradNorm([a], -1)).toThrow(/clipGradNorm.*maxNorm/);
    expect(() => clipGradNorm([a], 1, { normType: 0 })).toThrow(/clipGradNorm.*normType/);
    expect(() => clipGradNorm([a], 1, { norm: 2 } as never)).toThrow(/clipGradNorm.*norm/);
    a.grad = tensor([Number.NaN, 1]);
    expect(() => clipGradNorm([a], 1, { errorIfNonfinite: true })).toThrow(/clipGradNorm.*NaN/);
  });
});

describe('nadam and radam', () => {
  it('refuse unknown options and bad values, naming them', () => {
    expect(() => nadam({ momentum_decay: 0.1 } as never)).toThrow(/nadam.*momentum_decay/);
    expect(() => nadam({ betas: [0.9, 1] })).toThrow(/nadam.*betas/);
    expect(() => radam({ eps: 0 })).toThrow(/radam.*eps/);
    expect(() => radam({ lr: -1 })).toThrow(/radam.*lr/);
  });
});
