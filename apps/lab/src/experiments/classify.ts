import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, noGrad, type Tensor, tensor } from '@agrad/autograd';
import { DataLoader, F, save, TensorDataset } from '@agrad/nn';
import { saveOnnx } from '@agrad/onnx';
import { Optimizer } from '@agrad/optim';
import { type Arm, armName, makeTransform, type OptimizerName } from '../arms.js';
import { BatchOrder, gatherRows } from '../data/batches.js';
import { type FashionMnist, loadFashionMnist } from '../data/idx.js';
import { type Classifier, type ClassifierName, makeClassifier } from '../models.js';
import { probeGradients, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';

export interface ClassifyConfig {
  models: ClassifierName[];
  optimizers: OptimizerName[];
  seeds: number;
  /** Epochs per model. */
  epochs: Partial<Record<ClassifierName, number>>;
  /** Use only the first N training / test examples (null: all that were loaded). */
  trainLimit: number | null;
  testLimit: number | null;
  batchSize: number;
  /** "Steps to target": first step whose smoothed training loss is at most this. */
  targetLoss: Partial<Record<ClassifierName, number>>;
  /** Test-curve points per run (the last one on the whole test set). */
  evalPoints: number;
  /** Gradient probes (norms, AGR's alpha) per run. */
  probePoints: number;
}

export const CLASSIFY_PRESETS: Record<'quick' | 'full' | 'smoke', ClassifyConfig> = {
  // The README's main job: about 3 minutes on 2 cores.
  quick: {
    models: ['mlp', 'cnn'],
    optimizers: ['adamw', 'adan', 'sgd'],
    seeds: 2,
    epochs: { mlp: 3, cnn: 1, vit: 1 },
    trainLimit: 6000,
    testLimit: 1000,
    batchSize: 64,
    targetLoss: { mlp: 0.6, cnn: 0.7, vit: 0.9 },
    evalPoints: 6,
    probePoints: 12,
  },
  // About an hour on 2 cores.
  full: {
    models: ['mlp', 'cnn', 'vit'],
    optimizers: ['adamw', 'adan', 'sgd'],
    seeds: 3,
    epochs: { mlp: 3, cnn: 1, vit: 1 },
    trainLimit: 20000,
    testLimit: null,
    batchSize: 64,
    targetLoss: { mlp: 0.45, cnn: 0.5, vit: 0.7 },
    evalPoints: 8,
    probePoints: 20,
  },
  // CI: seconds.
  smoke: {
    models: ['mlp', 'cnn', 'vit'],
    optimizers: ['adamw'],
    seeds: 2,
    epochs: { mlp: 1, cnn: 1, vit: 1 },
    trainLimit: 256,
    testLimit: 128,
    batchSize: 32,
    targetLoss: { mlp: 2, cnn: 2, vit: 2 },
    evalPoints: 2,
    probePoints: 2,
  },
};

/** Hyperparameters per optimizer, the same for every model and for both arms of a pair. */
export const CLASSIFY_HYPERPARAMETERS: Record<OptimizerName, { lr: number; weightDecay: number }> = {
  adamw: { lr: 1e-3, weightDecay: 1e-2 },
  adan: { lr: 2e-3, weightDecay: 2e-2 },
  sgd: { lr: 5e-2, weightDecay: 5e-4 },
};

export interface ClassifyData {
  data: FashionMnist;
  trainCount: number;
  testCount: number;
}

export function loadClassifyData(config: ClassifyConfig, dataDir?: string): ClassifyData {
  const data = loadFashionMnist(dataDir);
  return {
    data,
    trainCount: Math.min(data.trainCount, config.trainLimit ?? Number.POSITIVE_INFINITY),
    testCount: Math.min(data.testCount, config.testLimit ?? Number.POSITIVE_INFINITY),
  };
}

export const PIXELS = 28 * 28;

/** The training images and labels at `indices`, as the [N, 1, 28, 28] batch and its labels. */
export function imageBatch(data: FashionMnist, indices: Int32Array): { x: Tensor; y: Tensor } {
  return {
    x: tensor(gatherRows(data.trainImages, PIXELS, indices), { shape: [indices.length, 1, 28, 28] }),
    y: tensor(gatherRows(data.trainLabels, 1, indices)),
  };
}

/** Test images behind each point of the accuracy curve (the final point uses the whole test set). */
export const CURVE_TEST_IMAGES = 2000;

/** Test loss and accuracy (%) of `model` on the first `count` test images, in eval mode. */
export function evaluateClassifier(
  model: Classifier,
  images: Float32Array,
  labels: Int32Array,
  count: number,
): { testLoss: number; testAccuracy: number } {
  return noGrad(() => {
    model.eval();
    let loss = 0;
    let correct = 0;
    const test = new TensorDataset(
      tensor(images.subarray(0, count * PIXELS), { shape: [count, 1, 28, 28] }),
      tensor(labels.subarray(0, count)),
    );
    for (const [x, y] of new DataLoader(test, { batchSize: 500 })) {
      const logits = model.forward(x);
      loss += F.crossEntropy(logits, y, { reduction: 'sum' }).item();
      correct += logits.argmax(1).eq(y).to('float32').sum().item();
    }
    model.train();
    return { testLoss: loss / count, testAccuracy: (100 * correct) / count };
  });
}

/** Runs every model x optimizer x {without, with AGR} x seed job of the configuration. */
export async function runClassify(
  config: ClassifyConfig,
  loaded: ClassifyData,
  context: RunnerContext,
  agrArms: readonly boolean[] = [false, true],
): Promise<JobResult[]> {
  const { data, trainCount, testCount } = loaded;
  const results: JobResult[] = [];
  for (const modelName of config.models) {
    const order = (seed: number) => new BatchOrder(trainCount, config.batchSize, seed);
    const totalSteps = (config.epochs[modelName] ?? 1) * order(0).stepsPerEpoch;
    const evalEvery = Math.max(1, Math.ceil(totalSteps / config.evalPoints));
    const probeEvery = Math.max(1, Math.floor(totalSteps / config.probePoints));
    const logEvery = Math.max(1, Math.floor(totalSteps / 100));
    for (let seed = 0; seed < config.seeds; seed++) {
      for (const optimizer of config.optimizers) {
        for (const withAgr of agrArms) {
          const arm: Arm = { optimizer, agr: withAgr, ...CLASSIFY_HYPERPARAMETERS[optimizer] };
          const name = armName(arm);
          const spec = {
            key: `${modelName}/${name}/seed${seed}`,
            label: `${modelName} · ${name} · seed ${seed}`,
            totalSteps,
          };
          const info = { model: modelName, arm: name, optimizer, agr: withAgr, seed };
          results.push(
            await runJob(context, spec, info, () => {
              manualSeed(seed);
              const model = makeClassifier(modelName);
              const optim = new Optimizer(model, makeTransform(arm, totalSteps));
              const batches = order(seed);
              return {
                parts: { model, optimizer: optim },
                evalEvery,
                step(step, log) {
                  const { x, y } = imageBatch(data, batches.batch(step));
                  const loss = F.crossEntropy(model.forward(x), y);
                  optim.zeroGrad();
                  loss.backward();
                  if (step % probeEvery === 0 || step === 1)
                    probeGradients(log, step, model.namedParameters());
                  optim.step();
                  recordLoss(log, step, loss.item(), logEvery, config.targetLoss[modelName]);
                },
                evaluate(step) {
                  // Curve points on a subset of the test images; the final point on all of them.
                  const count = step === totalSteps ? testCount : Math.min(testCount, CURVE_TEST_IMAGES);
                  return evaluateClassifier(model, data.testImages, data.testLabels, count);
                },
                finish() {
                  if (seed === 0) saveTrained(join(context.out, 'models', modelName, name), model);
                  // The first CNN trained with plain AdamW becomes the feature extractor for
                  // `generate`'s FID (penultimate layer), saved as a PyTorch-keyed state dict.
                  if (modelName === 'cnn' && seed === 0 && name === 'adamw') {
                    save(
                      join(context.out, 'fid-cnn.safetensors'),
                      model.stateDict() as Record<string, Tensor>,
                    );
                  }
                },
              };
            }),
          );
        }
      }
    }
  }
  return results;
}

/**
 * Each arm's first trained model, kept in `models/<model>/<arm>/`: its weights as a PyTorch-keyed
 * safetensors state dict, and the model as ONNX (input 'images' [batch, 1, 28, 28], output
 * 'logits'), for onnxruntime or any other serving stack.
 */
function saveTrained(directory: string, model: Classifier): void {
  mkdirSync(directory, { recursive: true });
  save(join(directory, 'model.safetensors'), model.stateDict() as Record<string, Tensor>);
  model.eval();
  saveOnnx(
    join(directory, 'model.onnx'),
    model,
    tensor(new Float32Array(2 * 28 * 28), { shape: [2, 1, 28, 28] }),
    {
      inputNames: ['images'],
      outputNames: ['logits'],
      dynamicAxes: { images: { 0: 'batch' } },
    },
  );
}
