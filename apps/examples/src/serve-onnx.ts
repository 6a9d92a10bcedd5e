/**
 * Train in agrad, serve with onnxruntime: trains a small classifier with AGR + AdamW, exports it
 * as ONNX with a dynamic batch axis, then loads the file in onnxruntime-node (as a service would)
 * and checks that it predicts what agrad predicts.
 *
 *   pnpm --filter @agrad/examples serve-onnx [--out model.onnx]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { manualSeed, noGrad, randint, randn, type Tensor, tensor } from '@agrad/autograd';
import { F, Linear, ReLU, Sequential } from '@agrad/nn';
import { saveOnnx } from '@agrad/onnx';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';
import * as ort from 'onnxruntime-node';

const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const path = args.out ?? join(mkdtempSync(join(tmpdir(), 'agrad-serve-')), 'model.onnx');

manualSeed(0);
// Three Gaussian clusters in the plane, centred on the corners of a triangle.
const centres = tensor([
  [0, 1],
  [-0.9, -0.5],
  [0.9, -0.5],
]);
const points = (count: number) => {
  const labels = randint(0, 3, [count]);
  return { x: centres.indexSelect(0, labels).add(randn([count, 2]).mul(0.6)), y: labels };
};

const model = new Sequential(new Linear(2, 32), new ReLU(), new Linear(32, 3));
const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 0.01 })));
for (let step = 1; step <= 200; step++) {
  const { x, y } = points(64);
  const loss = F.crossEntropy(model.forward(x), y);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  if (step === 1 || step % 50 === 0)
    console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}`);
}

// Export: eval mode, an example batch (any size but 1 along the dynamic axis), names for the service.
model.eval();
saveOnnx(path, model, points(2).x, {
  inputNames: ['points'],
  outputNames: ['logits'],
  dynamicAxes: { points: { 0: 'batch' } },
});
console.log(`exported to ${path}`);

// Serve: what a service does with the file, here on a batch of another size.
const session = await ort.InferenceSession.create(path);
const { x: batch } = points(5);
const { logits } = await session.run({
  points: new ort.Tensor('float32', Float32Array.from(batch.array.read()), [5, 2]),
});
const served = Array.from({ length: 5 }, (_, i) => {
  const row = [...(logits.data as Float32Array).slice(i * 3, i * 3 + 3)];
  return row.indexOf(Math.max(...row));
});
const own = [...noGrad(() => (model.forward(batch) as Tensor).argmax(1)).array.read()];
console.log(`onnxruntime predicts ${served.join(' ')}; agrad predicts ${own.join(' ')}`);
console.log(`same predictions: ${served.every((c, i) => c === own[i]) ? 'yes' : 'no'}`);
