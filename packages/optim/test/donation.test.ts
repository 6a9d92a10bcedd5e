import { type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adagrad,
  adam,
  adamw,
  adan,
  addDecayedWeights,
  agr,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  lion,
  Optimizer,
  rmsprop,
  scale,
  scaleByAdam,
  scaleByLearningRate,
  sgd,
  trace,
} from '../src/index.js';

/**
 * Optimizer.step donates the state, and chain donates the updates it made, so fused loops write
 * into those buffers (see Donation in src/transform.ts). The results must be bit for bit those of
 * the same transforms called without a donation (pure), whatever the chain: a buffer that is also
 * held elsewhere (momentum hands out its buffer as the update; AGR and decay may return their
 * input) must never be written over.
 */
const OPTIMIZERS: [string, () => GradientTransformation][] = [
  ['sgd momentum', () => sgd({ lr: 0.1, momentum: 0.9 })],
  ['sgd nesterov + decay', () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
  ['adam amsgrad', () => adam({ lr: 0.01, amsgrad: true })],
  ['adamw', () => adamw({ lr: 0.01 })],
  ['agr -> adamw', () => chain(agr(), adamw({ lr: 0.01 }))],
  ['clip -> agr -> adamw', () => chain(clipByGlobalNorm(1), agr(), adamw({ lr: 0.01 }))],
  ['agr -> sgd momentum', () => chain(agr(), sgd({ lr: 0.1, momentum: 0.9 }))],
  ['trace then lr (buffer is the update)', () => chain(trace({ momentum: 0.9 }), scaleByLearningRate(0.1))],
  ['adam then scale twice', () => chain(scaleByAdam(), scale(0.5), scale(-0.1))],
  [
    'trace, no-op decay, lr (the buffer passed on)',
    () => chain(trace({ momentum: 0.9 }), addDecayedWeights(0), scaleByLearningRate(0.1)),
  ],
  [
    'nested chains',
    () => chain(chain(agr(), trace({ momentum: 0.5 })), chain(scale(2), scaleByLearningRate(0.1))),
  ],
  ['adan', () => adan({ lr: 0.01, weightDecay: 0.02 })],
  ['lion', () => lion({ lr: 0.01 })],
  ['rmsprop centered momentum', () => rmsprop({ lr: 0.01, centered: true, momentum: 0.5 })],
  ['adagrad', () => adagrad({ lr: 0.1 })],
];

const SHAPES: Record<string, number[]> = { w: [3, 4], b: [4] };

function parameters(dtype: 'float32' | 'float64'): Record<string, Tensor> {
  return {
    w: tensor(
      Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)),
      { shape: SHAPES.w, dtype },
    ),
    b: tensor([0.5, -0.25, 1, 0], { dtype }),
  };
}

describe('donated buffers give the same steps as pure updates', () => {
  for (const [name, make] of OPTIMIZERS) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${name} (${dtype})`, () => {
        fc.assert(
          fc.property(
            fc.array(
              fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 16, maxLength: 16 }),
              {
                minLength: 1,
                maxLength: 5,
              },
            ),
            (gradients) => {
              // Through Optimizer.step (donating), and by hand without a donation.
              const donating = parameters(dtype);
              const optimizer = new Optimizer(donating, make());
              const pure = parameters(dtype);
              const transform = make();
              let state = transform.init(pure);
              for (const g of gradients) {
                const grads = {
                  w: tensor(g.slice(0, 12), { shape: SHAPES.w, dtype }),
                  b: tensor(g.slice(12), { dtype }),
                };
                const before = { w: [...grads.w.data], b: [...grads.b.data] };
                donating.w.grad = grads.w;
                donating.b.grad = grads.b;
                optimizer.step();
                // The gradients are never written over.
                expect([...grads.w.data]).toEqual(before.w);
                expect([...grads.b.data]).toEqual(before.b);
                const result = transform.update(grads, state, pure);
                state = result.state;
                for (const key of ['w', 'b']) {
                  const next = pure[key].add(result.updates[key]);
                  pure[key] = next;
                }
              }
              for (const key of ['w', 'b']) expect([...donating[key].data]).toEqual([...pure[key].data]);
            },
          ),
          { numRuns: 15 },
        );
      });
    }
  }
});

describe('what a donation reuses', () => {
  it("Adam's fused step writes its moments and update into the donated arrays", () => {
    const param = { w: tensor([1, 2, 3]) };
    const transform = scaleByAdam();
    const state = transform.init(param);
    const g = tensor([0.5, -1, 2]);
    const { updates, state: next } = transform.update({ w: g }, state, param, {
      state: true,
      updates: new Set(['w']),
    });
    const moments = next.w;
    expect(moments.expAvg).toBe(state.w.expAvg);
    expect(moments.expAvgSq).toBe(state.w.expAvgSq);
    expect(updates.w).toBe(g);
    expect([...moments.expAvg.data].map((v) => +v.toFixed(6))).toEqual([0.05, -0.1, 0.2]);
  });

  it('without a donation nothing passed in changes', () => {
    const param = { w: tensor([1, 2, 3]) };
    const transform = scaleByAdam();
    const state = transform.init(param);
    const g = tensor([0.5, -1, 2]);
    const { state: next } = transform.update({ w: g }, state, param);
    expect(next.w.expAvg).not.toBe(state.w.expAvg);
    expect([...state.w.expAvg.data]).toEqual([0, 0, 0]);
    expect([...g.data]).toEqual([0.5, -1, 2]);
  });
});

describe('Optimizer state under in-place steps', () => {
  const setup = () => {
    const w = tensor([1, -2, 3]);
    const optimizer = new Optimizer({ w }, adamw({ lr: 0.1 }));
    const stepWith = (g: number[]) => {
      w.grad = tensor(g);
      optimizer.step();
    };
    return { w, optimizer, stepWith };
  };

  it('stateDict is a snapshot that later steps do not change', () => {
    const { optimizer, stepWith } = setup();
    stepWith([1, 1, 1]);
    const saved = optimizer.stateDict();
    const copy = Object.fromEntries(Object.entries(saved).map(([k, t]) => [k, [...t.data]]));
    stepWith([2, -3, 4]);
    for (const [k, t] of Object.entries(saved)) expect([...t.data]).toEqual(copy[k]);
  });

  it('loadStateDict copies: steps after it do not write into the loaded tensors', () => {
    const a = setup();
    a.stepWith([1, 2, 3]);
    const saved = a.optimizer.stateDict();
    const copy = Object.fromEntries(Object.entries(saved).map(([k, t]) => [k, [...t.data]]));
    const b = setup();
    b.optimizer.loadStateDict(saved);
    b.stepWith([0.5, 0.5, 0.5]);
    for (const [k, t] of Object.entries(saved)) expect([...t.data]).toEqual(copy[k]);
    // A restored optimizer (weights and state) steps as the original does.
    const c = setup();
    c.w.copy_(tensor([...a.w.data]));
    c.optimizer.loadStateDict(a.optimizer.stateDict());
    a.stepWith([1, -1, 2]);
    c.stepWith([1, -1, 2]);
    expect([...c.w.data]).toEqual([...a.w.data]);
  });

  it('a step that throws part way is not silently continued from', () => {
    const w = tensor([1, -2, 3]);
    const b = tensor([0.5]);
    // The schedule fails at the second step, after Adam's moments have been advanced in place.
    const lr = (step: number) => (step === 1 ? Number.NaN : 0.1);
    const optimizer = new Optimizer({ w, b }, chain(scaleByAdam(), scaleByLearningRate(lr)));
    const good = optimizer.stateDict();
    w.grad = tensor([1, 1, 1]);
    b.grad = tensor([1]);
    optimizer.step();
    const afterOne = optimizer.stateDict();
    expect(() => optimizer.step()).toThrow(/scaleByLearningRate/);
    expect(() => optimizer.step()).toThrow(/a previous step threw part way .*load a state dict/);
    optimizer.loadStateDict(afterOne);
    expect(optimizer.stepCount).toBe(1);
    expect(() => optimizer.loadStateDict(good)).not.toThrow();
    expect(optimizer.stepCount).toBe(0);
  });
});
