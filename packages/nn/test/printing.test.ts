import { inspect } from 'node:util';
import { ones, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Embedding,
  Flatten,
  GELU,
  GroupNorm,
  Identity,
  LayerNorm,
  LeakyReLU,
  Linear,
  LogSoftmax,
  MaxPool2d,
  Module,
  ModuleList,
  Parameter,
  ReLU,
  Sequential,
  Sigmoid,
  SiLU,
  Softmax,
  Tanh,
} from '../src/index.js';
import fixture from './fixtures/printing.json' with { type: 'json' };

/** scripts/golden/printing.py's class M: modules and a parameter assigned as class fields. */
class M extends Module {
  fc1 = new Linear(4, 3);
  act = new ReLU();
  fc2 = new Linear(3, 2);
  scale = new Parameter(ones([1]));
  forward(x: Parameters<Linear['forward']>[0]) {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x))).mul(this.scale);
  }
}

/** The agrad spelling of each module in scripts/golden/printing.py's MODULES table. */
const modules: Record<string, () => Module> = {
  class_fields: () => new M(),
  cnn: () =>
    new Sequential(
      new Conv2d(1, 8, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(8 * 14 * 14, 10),
    ),
  norms: () =>
    new Sequential(
      new BatchNorm2d(8),
      new BatchNorm1d(4, { momentum: null, affine: false }),
      new LayerNorm(64),
      new LayerNorm([3, 4], { eps: 1e-6, elementwiseAffine: false }),
      new GroupNorm(2, 4),
    ),
  layers: () =>
    new Sequential(
      new Dropout(0.1),
      new Embedding(10, 3, { paddingIdx: 0 }),
      new Embedding(5, 2),
      new GELU(),
      new LeakyReLU(0.2),
      new Softmax(1),
      new LogSoftmax(-1),
      new Tanh(),
      new Sigmoid(),
      new SiLU(),
      new Identity(),
      new Linear(3, 2, { bias: false }),
    ),
  convs_and_pools: () =>
    new Sequential(
      new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2, bias: false }),
      new Conv2d(2, 3, 3, { padding: 'same' }),
      new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
      new MaxPool2d([2, 3]),
      new AvgPool2d(2),
      new AvgPool2d(3, { stride: 1, padding: 1 }),
    ),
  nested: () =>
    new Sequential(new Sequential(new Linear(2, 2), new ReLU()), new ModuleList([new Linear(2, 1)])),
  empty_sequential: () => new Sequential(),
};

describe('modules print their tree as PyTorch does', () => {
  it('covers every module the generator wrote', () => {
    expect(Object.keys(modules).sort()).toEqual(Object.keys(fixture.modules).sort());
  });

  for (const [name, expected] of Object.entries(fixture.modules as Record<string, string>)) {
    it(name, () => {
      const module = modules[name]();
      expect(module.toString()).toBe(expected);
      expect(inspect(module)).toBe(expected);
    });
  }

  it('a Parameter prints as PyTorch prints one', () => {
    expect(new Parameter(tensor([1, 2])).toString()).toBe(fixture.parameter);
  });
});
