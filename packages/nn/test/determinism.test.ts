import { manualSeed, randn, type Tensor, tensor } from '@agrad/autograd';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';
import { getNumThreads, setNumThreads, threadsReady } from '@agrad/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { Conv2d, F, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../src/index.js';

/**
 * Training is bit for bit the same on one thread and on two: the GEMM splits its work between the
 * threads by whole products or by rows of C, and every element is summed in the same order either
 * way. Sizes are chosen so both splits run (a convolution's batch of products, a linear layer's
 * single product).
 */
function train(): { initial: Float32Array[]; trained: Float32Array[] } {
  manualSeed(7);
  const model = new Sequential(
    new Conv2d(1, 16, 3),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(16 * 5 * 5, 64),
    new ReLU(),
    new Linear(64, 10),
  );
  const initial = model.parameters().map((p) => Float32Array.from(p.data as Float32Array));
  const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 1e-2 })));
  const x = randn([32, 1, 12, 12]);
  const y = tensor(Int32Array.from({ length: 32 }, (_, i) => (i * 7) % 10));
  for (let step = 0; step < 3; step++) {
    const loss: Tensor = F.crossEntropy(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  }
  return { initial, trained: model.parameters().map((p) => p.data as Float32Array) };
}

describe('determinism across thread counts', () => {
  const threads = getNumThreads();
  afterAll(() => setNumThreads(threads));

  it('three training steps of a small CNN give the same weights on one and on two threads', async () => {
    setNumThreads(2);
    // The helper announces itself asynchronously; wait for it so the two-thread paths run.
    for (let i = 0; i < 100 && !threadsReady(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(threadsReady()).toBe(true);
    const two = train();
    setNumThreads(1);
    const one = train();
    expect(two.trained.length).toBe(one.trained.length);
    two.trained.forEach((w, i) =>
      expect(Buffer.from(w.buffer).equals(Buffer.from(one.trained[i].buffer))).toBe(true),
    );
    // The steps changed every parameter, so what was compared are trained values.
    two.trained.forEach((w, i) => expect(w).not.toEqual(two.initial[i]));
  });
});
