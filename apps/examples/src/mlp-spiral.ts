/**
 * Trains a small MLP (2 -> 32 -> 32 -> 3, tanh) on a synthetic three-arm spiral with plain SGD,
 * using nothing but tensors and autograd, and prints the loss falling.
 *
 *   pnpm example
 */
import { manualSeed, noGrad, randn, type Tensor, tensor, zeros } from '@agrad/autograd';

manualSeed(0);

/** Three interleaved spiral arms in the plane, 100 points each, with a little noise. */
function spiral(pointsPerClass: number, classes: number): { x: Tensor; y: Tensor } {
  const xs: number[] = [];
  const ys: number[] = [];
  const noise = randn([pointsPerClass * classes]).mul(0.2).data;
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const radius = i / pointsPerClass;
      const angle = c * 4 + 4 * radius + noise[c * pointsPerClass + i];
      xs.push(radius * Math.sin(angle), radius * Math.cos(angle));
      ys.push(c);
    }
  }
  return {
    x: tensor(xs, { shape: [ys.length, 2] }),
    y: tensor(Int32Array.from(ys), { shape: [ys.length, 1] }),
  };
}

/** A weight matrix with PyTorch's default Linear scale, U(-1/sqrt(fanIn), 1/sqrt(fanIn)) in spirit. */
function weight(fanIn: number, fanOut: number): Tensor {
  return randn([fanIn, fanOut])
    .mul(1 / Math.sqrt(fanIn))
    .requiresGrad_();
}

const { x, y } = spiral(100, 3);
const params = [
  weight(2, 32),
  zeros([32], { requiresGrad: true }),
  weight(32, 32),
  zeros([32], { requiresGrad: true }),
  weight(32, 3),
  zeros([3], { requiresGrad: true }),
];
const [w1, b1, w2, b2, w3, b3] = params;

const forward = (input: Tensor) =>
  input.matmul(w1).add(b1).tanh().matmul(w2).add(b2).tanh().matmul(w3).add(b3);
/** Mean negative log-likelihood of the true class under softmax. */
const crossEntropy = (logits: Tensor, target: Tensor) => logits.logSoftmax(1).gather(1, target).mean().neg();

const learningRate = 0.5;
const steps = 1000;
console.log(`training a 2-32-32-3 MLP on ${y.shape[0]} spiral points with SGD (lr ${learningRate})`);
for (let step = 0; step <= steps; step++) {
  const loss = crossEntropy(forward(x), y);
  for (const p of params) p.grad = null;
  loss.backward();
  noGrad(() => {
    for (const p of params) p.copy_(p.sub(p.grad!.mul(learningRate)));
  });
  if (step % 100 === 0) {
    const predicted = noGrad(() => forward(x).argmax(1));
    const accuracy = predicted.eq(y.squeeze(1)).to('float32').mean().item();
    console.log(
      `step ${String(step).padStart(4)}  loss ${loss.item().toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`,
    );
  }
}
