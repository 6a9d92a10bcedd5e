import { fromTypedArray, manualSeed, randn, type Tensor } from '@agrad/autograd';
import { adamw, regularize, sgd } from '@agrad/optim';
import { describe, expect, it } from 'vitest';
import {
  ABLATION_PRESETS,
  type AblationConfig,
  ablationTransform,
  withCounterfactual,
} from '../src/experiments/ablation.js';
import { writeAblationReport } from '../src/report/ablation-report.js';
import { emptyLog } from '../src/run/log.js';
import type { JobResult } from '../src/run/runner.js';
import { syntheticReport } from './synthetic.js';

/** A report over synthetic runs: each arm's test accuracy per seed. */
async function report(accuracies: Record<string, number[]>): Promise<string> {
  const jobs: JobResult[] = Object.entries(accuracies).flatMap(([arm, perSeed]) =>
    perSeed.map((testAccuracy, seed) => {
      const log = emptyLog();
      log.losses = [{ step: 10, loss: 0.5 }];
      log.trainSeconds = 1;
      if (arm === 'sgd')
        log.counterfactual = [
          { step: 1, layer: 'b', size: 5, change: 0.3 },
          { step: 1, layer: 'w', size: 1200, change: 0.001 },
        ];
      return {
        key: `mlp/${arm}/seed${seed}`,
        label: arm,
        info: { model: 'mlp', optimizer: 'sgd', arm, seed },
        final: { testAccuracy },
        log,
      };
    }),
  );
  return syntheticReport<AblationConfig>(
    'ablation',
    { ...ABLATION_PRESETS.smoke, seeds: 3 },
    jobs,
    writeAblationReport,
  );
}

const norm = (t: Tensor) => Math.sqrt(t.mul(t).sum().item());

describe('ablation: AGR by tensor size, and its one-step counterfactual', () => {
  it('the counterfactual is the relative change AGR makes to each update, and the step runs as without it', () => {
    manualSeed(1);
    const params = { w: randn([40, 30]), b: randn([5]) };
    const grads = { w: randn([40, 30]), b: fromTypedArray(Float32Array.from([3, -1, 0.5, 0.1, -0.2]), [5]) };
    const seen: Record<string, number> = {};
    // Plain SGD: u = -lr g, so the change is ||AGR(g) - g|| / ||g|| exactly.
    const t = withCounterfactual(
      sgd({ lr: 0.1 }),
      () => true,
      (layer, _, change) => void (seen[layer] = change),
    );
    const { updates } = t.update(grads, t.init(params), params);
    for (const name of ['w', 'b'] as const) {
      const g = grads[name];
      expect(seen[name]).toBeCloseTo(norm(regularize(g).sub(g)) / norm(g), 5);
      updates[name].data.forEach((v, i) => expect(v).toBeCloseTo(-0.1 * g.data[i], 7));
    }
    // The bias (5 elements, one holding 63% of the mass) is changed far more than the weight matrix.
    expect(seen.b).toBeGreaterThan(0.2);
    expect(seen.w).toBeLessThan(0.01);
    // AdamW from a state with history: the same state, two gradients, and the real step untouched.
    const a = withCounterfactual(
      adamw({ lr: 0.01 }),
      () => true,
      (layer, _, change) => void (seen[layer] = change),
    );
    let state = a.init(params);
    state = a.update(grads, state, params).state;
    const plain = adamw({ lr: 0.01 });
    const reference = plain.update(
      grads,
      plain.update(grads, plain.init(params), params).state,
      params,
    ).updates;
    const next = a.update(grads, state, params).updates;
    next.b.data.forEach((v, i) => expect(v).toBe(reference.b.data[i]));
    expect(seen.b).toBeGreaterThan(0);
  });

  it('AGR is applied only to the tensors of the scope', () => {
    manualSeed(2);
    const params = { w: randn([40, 30]), b: randn([5]) }; // 1,200 and 5 elements
    const grads = { w: randn([40, 30]), b: randn([5]) };
    const updateOf = (scope: 'none' | 'small' | 'large' | 'all') => {
      // Past the 5-step warm-up, whose first learning rate is 0.
      const t = ablationTransform('sgd', scope, 1000, 100);
      let result = t.update(grads, t.init(params), params);
      for (let step = 1; step < 6; step++) result = t.update(grads, result.state, params);
      return result.updates;
    };
    const [none, small, large, all] = [
      updateOf('none'),
      updateOf('small'),
      updateOf('large'),
      updateOf('all'),
    ];
    const same = (x: Tensor, y: Tensor) => x.data.every((v, i) => v === y.data[i]);
    expect(same(small.w, none.w) && !same(small.b, none.b)).toBe(true);
    expect(same(large.b, none.b) && !same(large.w, none.w)).toBe(true);
    expect(same(all.w, large.w) && same(all.b, small.b)).toBe(true);
  });

  it('attributes an effect to the tensors whose scoped arm reproduces it, and says when there is none', async () => {
    const base = [80, 81, 82];
    const up = [81, 82, 83.1];
    const small = await report({
      sgd: base,
      'sgd+agr': up,
      'sgd+agr<1000': [81, 82.1, 83],
      'sgd+agr>=1000': base,
    });
    expect(small).toContain('is carried by the tensors under 1000 elements');
    expect(small).toContain('| mlp | sgd | b | 5 | 30.0% | 30.0% |');
    const large = await report({
      sgd: base,
      'sgd+agr': up,
      'sgd+agr<1000': base,
      'sgd+agr>=1000': [81, 82.1, 83],
    });
    expect(large).toContain('is carried by the tensors of 1000 elements or more');
    const none = await report({
      sgd: base,
      'sgd+agr': [80.5, 80.5, 82.5],
      'sgd+agr<1000': base,
      'sgd+agr>=1000': base,
    });
    expect(none).toContain('did not change test accuracy detectably (no significant difference)');
  });
});
