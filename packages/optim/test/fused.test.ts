import { tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BLOCKS } from '../src/index.js';

/**
 * Every block's transform, as it runs (its fused loop on the CPU, where it has one), against the
 * same block with fusion turned off (its update composed from tensor ops), over several steps of
 * random gradients: identical up to rounding in float64, within float32 rounding in float32. The
 * list is every block defined (BLOCKS, AGR included), so a new block is checked without being
 * named here.
 */
describe('fused transforms equal their composed rules', () => {
  it('covers the blocks with fused loops, AGR among them', () => {
    const fused = BLOCKS.filter((b) => b.definition.fused).map((b) => b.definition.name);
    expect(fused).toEqual(
      expect.arrayContaining([
        'agr',
        'scaleByAdam',
        'scaleByAdan',
        'trace',
        'addDecayedWeights',
        'scaleByLearningRate',
      ]),
    );
  });

  for (const block of BLOCKS) {
    const { name, examples = [{}] } = block.definition;
    for (const options of examples) {
      for (const dtype of ['float64', 'float32'] as const) {
        it(`${name} ${JSON.stringify(options)} (${dtype})`, () => {
          fc.assert(
            fc.property(
              fc.array(
                fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 6, maxLength: 6 }),
                { minLength: 1, maxLength: 4 },
              ),
              (steps) => {
                const param = { w: tensor([0.5, -1, 2, 0, 3, -0.25], { dtype }) };
                const [a, b] = [block.transform(options), block.transform(options, false)];
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
  }
});
