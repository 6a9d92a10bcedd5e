import { manualSeed, noGrad, tensor } from '@agrad/autograd';
import { Conv2d, F, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '@agrad/nn';
import { fixedLabels, fixedValues } from './workloads/shapes.js';

manualSeed(0);
const layers = [
  new Conv2d(1, 32, 3),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(32, 64, 3),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Linear(1600, 128),
  new ReLU(),
  new Linear(128, 10),
];
const x = tensor(fixedValues(64 * 784, 3), { shape: [64, 1, 28, 28] });
const y = tensor(fixedLabels(64, 10, 4));
for (let rep = 0; rep < 6; rep++) {
  const times: number[] = [];
  let h = x;
  for (const l of layers) {
    const t = performance.now();
    h = l.forward(h);
    times.push(performance.now() - t);
  }
  const t0 = performance.now();
  const loss = F.crossEntropy(h, y);
  const tl = performance.now() - t0;
  const t1 = performance.now();
  loss.backward();
  const tb = performance.now() - t1;
  if (rep > 2)
    console.log(
      times.map((t) => t.toFixed(1)).join(' '),
      '| loss',
      tl.toFixed(1),
      '| backward',
      tb.toFixed(1),
    );
}
