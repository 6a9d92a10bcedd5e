/**
 * Trains a small CNN on synthetic images with AGR in front of AdamW, saves a checkpoint halfway,
 * then resumes from it in a fresh model and optimizer and checks that the resumed run's losses
 * are bit-identical to never stopping.
 *
 *   pnpm --filter @agrad/examples cnn
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultGenerator, manualSeed, noGrad, randint, randn, type Tensor, tensor } from '@agrad/autograd';
import {
  BatchNorm2d,
  Conv2d,
  F,
  Flatten,
  Linear,
  loadCheckpoint,
  MaxPool2d,
  ReLU,
  Sequential,
  saveCheckpoint,
} from '@agrad/nn';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';

const steps = 40;
const checkpointAt = 20;
const batchSize = 32;

/** A batch of 12x12 images: class 0 has a horizontal bar, class 1 a vertical one, plus noise. */
function batch(): { x: Tensor; y: Tensor } {
  const labels = randint(0, 2, [batchSize]);
  const noise = randn([batchSize, 1, 12, 12]).mul(0.5).data;
  const pixels = new Float32Array(batchSize * 144);
  labels.data.forEach((label, n) => {
    const at = randint(2, 10, [1]).item();
    for (let i = 0; i < 144; i++) {
      const [row, col] = [Math.floor(i / 12), i % 12];
      const onBar = label === 0 ? row === at : col === at;
      pixels[n * 144 + i] = (onBar ? 1 : 0) + noise[n * 144 + i];
    }
  });
  return { x: tensor(pixels, { shape: [batchSize, 1, 12, 12] }), y: labels };
}

function makeModel() {
  return new Sequential(
    new Conv2d(1, 8, 3, { padding: 1 }),
    new BatchNorm2d(8),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(8, 16, 3, { padding: 1 }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(16 * 3 * 3, 2),
  );
}

// AGR chained in front of AdamW: the optimizer sees AGR's regularized gradient.
const makeOptimizer = (model: Sequential) =>
  new Optimizer(model, chain(agr(), adamw({ lr: 3e-3, weightDecay: 1e-2 })));

function trainStep(model: Sequential, optimizer: Optimizer): number {
  const { x, y } = batch();
  const loss = F.crossEntropy(model.forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  return loss.item();
}

const path = join(mkdtempSync(join(tmpdir(), 'agrad-cnn-')), 'checkpoint.safetensors');

// Run A: train straight through, checkpointing halfway.
manualSeed(0);
const model = makeModel();
const optimizer = makeOptimizer(model);
const straight: number[] = [];
for (let step = 1; step <= steps; step++) {
  straight.push(trainStep(model, optimizer));
  if (step === checkpointAt) {
    saveCheckpoint(
      path,
      { model, optimizer },
      { step: String(step), rng: JSON.stringify(defaultGenerator.getState()) },
    );
    console.log(`step ${step}: saved checkpoint to ${path}`);
  }
}

// Run B: a fresh process would start here: new model and optimizer, state from the file.
manualSeed(12345); // anything: the checkpoint restores the generator
const resumedModel = makeModel();
const resumedOptimizer = makeOptimizer(resumedModel);
const metadata = loadCheckpoint(path, { model: resumedModel, optimizer: resumedOptimizer });
defaultGenerator.setState(JSON.parse(metadata.rng));
const resumed: number[] = [];
for (let step = Number(metadata.step) + 1; step <= steps; step++)
  resumed.push(trainStep(resumedModel, resumedOptimizer));

console.log('\nstep   straight run      resumed run');
let identical = true;
for (let i = 0; i < resumed.length; i++) {
  const step = checkpointAt + 1 + i;
  const a = straight[checkpointAt + i];
  const b = resumed[i];
  identical &&= a === b;
  if (step % 4 === 0 || step === checkpointAt + 1)
    console.log(`${String(step).padStart(4)}   ${a.toFixed(10)}   ${b.toFixed(10)}`);
}
const accuracy = noGrad(() => {
  const { x, y } = batch();
  return resumedModel.eval().forward(x).argmax(1).eq(y).to('float32').mean().item();
});
console.log(
  `\nloss: ${straight[0].toFixed(4)} at step 1 -> ${straight[steps - 1].toFixed(4)} at step ${steps}; held-out batch accuracy ${(accuracy * 100).toFixed(0)}%`,
);
console.log(`resumed losses bit-identical to the uninterrupted run: ${identical ? 'yes' : 'NO'}`);
if (!identical) process.exitCode = 1;
