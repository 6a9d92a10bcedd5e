import { manualSeed, randn, type Tensor, tensor } from '@agrad/autograd';
import { Conv2d, F, Flatten, Linear, MaxPool2d, ReLU, Sequential, TransformerEncoderLayer } from '@agrad/nn';
import { adam, adamw, agr, chain, Optimizer } from '@agrad/optim';
import { CNN, fixedLabels, fixedValues, MLP, TRANSFORMER } from './shapes.js';

/**
 * Each workload returns a function doing one unit of work (one matmul, one training step) and
 * returning its result, so that a GPU backend's timing can wait for the result to be computed.
 */
export type Work = () => Tensor;

export function matmul(n: number): Work {
  const a = randn([n, n]);
  const b = randn([n, n]);
  return () => a.matmul(b);
}

export function mlpModel() {
  const [i, h1, h2, o] = MLP.sizes;
  return new Sequential(new Linear(i, h1), new ReLU(), new Linear(h1, h2), new ReLU(), new Linear(h2, o));
}

function trainer(model: Sequential, x: Tensor, y: Tensor) {
  const optimizer = new Optimizer(model, adam({ lr: 1e-3 }));
  return () => {
    const loss = F.crossEntropy(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  };
}

export function mlpStep(): Work {
  manualSeed(0);
  const x = tensor(fixedValues(MLP.batch * MLP.sizes[0], 1), { shape: [MLP.batch, MLP.sizes[0]] });
  const y = tensor(fixedLabels(MLP.batch, 10, 2));
  return trainer(mlpModel(), x, y);
}

/** The CNN of shared/PERF.md. */
export function cnnModel(): Sequential {
  return new Sequential(
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
  );
}

export const cnnInput = () =>
  tensor(fixedValues(CNN.batch * CNN.image * CNN.image, 3), { shape: [CNN.batch, 1, CNN.image, CNN.image] });

export function cnnStep(): Work {
  manualSeed(0);
  const model = cnnModel();
  return trainer(model, cnnInput(), tensor(fixedLabels(CNN.batch, 10, 4)));
}

/** The transformer block of shared/PERF.md (pre-norm, batch first). */
export function transformerBlock(): TransformerEncoderLayer {
  const { width, heads, feedforward } = TRANSFORMER;
  return new TransformerEncoderLayer(width, heads, {
    dimFeedforward: feedforward,
    dropout: 0,
    batchFirst: true,
    normFirst: true,
  });
}

export const transformerInput = () => {
  const { batch, sequence, width } = TRANSFORMER;
  return tensor(fixedValues(batch * sequence * width, 5), { shape: [batch, sequence, width] });
};

export function transformerStep(): Work {
  manualSeed(0);
  const block = transformerBlock();
  const x = transformerInput();
  const optimizer = new Optimizer(block, adam({ lr: 1e-3 }));
  return () => {
    const loss = block.forward(x).pow(2).mean();
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  };
}

/** One optimizer step on the MLP's parameters with fixed gradients (the optimizer's own cost). */
export function optimizerStep(withAgr: boolean): () => void {
  manualSeed(0);
  const model = mlpModel();
  for (const p of model.parameters()) p.grad = randn(p.shape);
  const transform = withAgr ? chain(agr(), adamw({ lr: 1e-3 })) : adamw({ lr: 1e-3 });
  const optimizer = new Optimizer(model, transform);
  return () => void optimizer.step();
}
