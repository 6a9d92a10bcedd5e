import { tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDecayedWeights,
  agr,
  type GradientTransformation,
  reference,
  scaleByAdam,
  scaleByAdan,
  scaleByLearningRate,
  trace,
} from '../src/index.js';
import { stateless } from '../src/transform.js';
import { regularize } from '../src/transforms/agr.js';

/**
 * Every fused transform against its reference composed from tensor ops, over several steps of
 * random gradients: identical up to rounding in float64, within float32 rounding in float32.
 */
const pairs: [string, () => GradientTransformation<unknown>, () => GradientTransformation<unknown>][] = [
  ['scaleByAdam', () => scaleByAdam(), () => reference.scaleByAdam()],
  [
    'scaleByAdam amsgrad',
    () => scaleByAdam({ amsgrad: true, betas: [0.8, 0.9] }),
    () => reference.scaleByAdam({ amsgrad: true, betas: [0.8, 0.9] }),
  ],
  ['scaleByAdan', () => scaleByAdan(), () => reference.scaleByAdan()],
  [
    'trace',
    () => trace({ momentum: 0.9, dampening: 0.1 }),
    () => reference.trace({ momentum: 0.9, dampening: 0.1 }),
  ],
  [
    'trace nesterov',
    () => trace({ momentum: 0.9, nesterov: true }),
    () => reference.trace({ momentum: 0.9, nesterov: true }),
  ],
  ['addDecayedWeights', () => addDecayedWeights(0.1), () => reference.addDecayedWeights(0.1)],
  [
    'scaleByLearningRate',
    () => scaleByLearningRate((s) => 0.1 / (s + 1)),
    () => reference.scaleByLearningRate((s) => 0.1 / (s + 1)),
  ],
  ['agr', () => agr(), () => stateless((g) => regularize(g))],
];

describe('fused transforms equal their references', () => {
  for (const [name, fused, composed] of pairs) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${name} (${dtype})`, () => {
        fc.assert(
          fc.property(
            fc.array(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 6, maxLength: 6 }), {
              minLength: 1,
              maxLength: 4,
            }),
            (steps) => {
              const param = { w: tensor([0.5, -1, 2, 0, 3, -0.25], { dtype }) };
              const [a, b] = [fused(), composed()];
              let [sa, sb] = [a.init(param), b.init(param)];
              for (const g of steps) {
                const grads = { w: tensor(g, { dtype }) };
                const ra = a.update(grads, sa, param);
                const rb = b.update(grads, sb, param);
                [sa, sb] = [ra.state, rb.state];
                const [ua, ub] = [ra.updates.w.data, rb.updates.w.data];
                const tolerance = dtype === 'float64' ? 1e-12 : 1e-5;
                ua.forEach((v, i) =>
                  expect(Math.abs(v - ub[i])).toBeLessThanOrEqual(tolerance * (1 + Math.abs(ub[i]))),
                );
              }
            },
          ),
          { numRuns: 40 },
        );
      });
    }
  }
});
