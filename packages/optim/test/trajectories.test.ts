import { type Tensor, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import {
  adagrad,
  adam,
  adamw,
  adan,
  agr,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  lion,
  nadam,
  Optimizer,
  radam,
  rmsprop,
  sgd,
} from '../src/index.js';
import fixture from './fixtures/trajectories.json' with { type: 'json' };

/**
 * Optimizer trajectories against PyTorch (float64, 6 steps, 1e-9 relative), written by
 * scripts/golden/optim.py: torch.optim for SGD/Adam/AdamW/RMSprop/Adagrad/RAdam, the official
 * Adan algorithm, Lion's paper and torch 2's NAdam written out, AGR as the official code. With AGR in front this is the
 * official AdamW_AGR / Adan_AGR; with clip first it is the paper's training recipe.
 */
// The fixture's options objects are each optimizer's own options type.
// biome-ignore lint/suspicious/noExplicitAny: options are checked by the optimizers at run time
const factories: Record<string, (options: any) => GradientTransformation> = {
  sgd,
  adam,
  adamw,
  adan,
  lion,
  rmsprop,
  adagrad,
  nadam,
  radam,
};

const { problem } = fixture;
const x = tensor(Float64Array.from(problem.x), { shape: [5, 3] });
const y = tensor(Float64Array.from(problem.y), { shape: [5, 4] });
const loss = (w: Tensor, b: Tensor) => x.matmul(w).add(b).tanh().sub(y).pow(2).mean().mul(10);

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (error > 1e-9 * Math.max(1, Math.abs(expected[i]))) {
      throw new Error(`${what}, element ${i}: agrad ${actual[i]}, PyTorch ${expected[i]} (error ${error})`);
    }
  }
}

describe('optimizer trajectories match PyTorch', () => {
  for (const run of fixture.runs) {
    const label = `${run.clip !== null ? `clipByGlobalNorm(${run.clip}) -> ` : ''}${run.agr ? 'agr -> ' : ''}${run.optimizer}(${JSON.stringify(run.options)})`;
    it(label, () => {
      const weight = tensor(Float64Array.from(problem.weight), { shape: [3, 4], requiresGrad: true });
      const bias = tensor(Float64Array.from(problem.bias), { shape: [4], requiresGrad: true });
      const transforms = [
        ...(run.clip !== null ? [clipByGlobalNorm(run.clip)] : []),
        ...(run.agr ? [agr()] : []),
        factories[run.optimizer](run.options),
      ];
      const optimizer = new Optimizer({ weight, bias }, chain(...transforms));
      run.trajectory.forEach((expected, step) => {
        optimizer.zeroGrad();
        loss(weight, bias).backward();
        optimizer.step();
        expectClose(weight.data, expected.weight, `step ${step + 1}, weight`);
        expectClose(bias.data, expected.bias, `step ${step + 1}, bias`);
      });
      expect(optimizer.stepCount).toBe(run.trajectory.length);
    });
  }
});
