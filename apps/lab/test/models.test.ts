import { manualSeed, randn } from '@agrad/autograd';
import { F } from '@agrad/nn';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';
import { describe, expect, it } from 'vitest';
import { type ClassifierName, makeClassifier } from '../src/models.js';

describe('classify models', () => {
  for (const name of ['mlp', 'cnn', 'vit'] as ClassifierName[]) {
    it(`${name}: [N,1,28,28] -> [N,10], and a few AGR+AdamW steps lower the loss on a fixed batch`, () => {
      manualSeed(0);
      const model = makeClassifier(name);
      const x = randn([8, 1, 28, 28]);
      const y = randn([8, 10]).argmax(1);
      expect(model.forward(x).shape).toEqual([8, 10]);
      const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 3e-3 })));
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const loss = F.crossEntropy(model.forward(x), y);
        losses.push(loss.item());
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      }
      expect(losses.at(-1)!).toBeLessThan(losses[0]);
    });
  }
  it('refuses an unknown model name', () => {
    expect(() => makeClassifier('resnet' as ClassifierName)).toThrow(
      "lab: unknown model 'resnet' (expected mlp, cnn or vit)",
    );
  });
});
