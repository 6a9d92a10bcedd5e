import { zeros } from '@agrad/autograd';
import { Linear } from '@agrad/nn';
import { Optimizer } from '@agrad/optim';
import { describe, expect, it } from 'vitest';
import { decayFactor, makeTransform } from '../src/arms.js';

describe('decayFactor', () => {
  it("is what AdamW's decoupled weight decay does to a weight over a run when the gradient is zero", () => {
    for (const [weightDecay, steps] of [
      [0.1, 40],
      [1, 25],
      [0, 10],
    ]) {
      const arm = { optimizer: 'adamw' as const, agr: false, lr: 0.05, weightDecay };
      const layer = new Linear(3, 2);
      const before = [...(layer.param('weight').data as Float32Array)];
      const optimizer = new Optimizer(layer, makeTransform(arm, steps));
      for (let step = 0; step < steps; step++) {
        for (const p of layer.parameters()) p.grad = zeros(p.shape);
        optimizer.step();
      }
      const after = layer.param('weight').data as Float32Array;
      const factor = decayFactor(arm, steps);
      before.forEach((w, i) => expect(after[i]).toBeCloseTo(w * factor, 5));
      if (weightDecay > 0) expect(factor).toBeLessThan(1 - weightDecay * 0.05);
      else expect(factor).toBe(1);
    }
  });
});
