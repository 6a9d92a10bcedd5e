import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultGenerator, Generator, manualSeed, noGrad, randint, randn, tensor } from '@agrad/autograd';
import { DataLoader, F, load, type Sequential, TensorDataset, writeFileAtomic } from '@agrad/nn';
import { Optimizer } from '@agrad/optim';
import { type Arm, armName, makeTransform, type OptimizerName } from '../arms.js';
import { BatchOrder, gatherRows } from '../data/batches.js';
import type { FashionMnist } from '../data/idx.js';
import { fid } from '../fid.js';
import { CNN_FEATURES, cnn, cnnFeatures } from '../models.js';
import { imageGridPng } from '../report/plots.js';
import { probeGradients, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';
import { CLASSIFY_PRESETS, evaluateClassifier, runClassify } from './classify.js';
import { ddimSample, NoiseSchedule, TinyUNet } from './ddpm.js';

export interface GenerateConfig {
  optimizers: OptimizerName[];
  seeds: number;
  epochs: number;
  trainLimit: number | null;
  batchSize: number;
  /** UNet base width. */
  channels: number;
  ddimSteps: number;
  /** Generated images (and real test images) compared by FID. */
  fidSamples: number;
  emaDecay: number;
  evalPoints: number;
  probePoints: number;
  /** Epochs and training images for the FID feature CNN when no --features file is given. */
  featureEpochs: number;
  featureTrainLimit: number | null;
}

export const GENERATE_PRESETS: Record<'quick' | 'full' | 'smoke', GenerateConfig> = {
  quick: {
    optimizers: ['adan'],
    seeds: 2,
    epochs: 1,
    trainLimit: 2000,
    batchSize: 32,
    channels: 8,
    ddimSteps: 10,
    fidSamples: 200,
    emaDecay: 0.99,
    evalPoints: 4,
    probePoints: 10,
    featureEpochs: 1,
    featureTrainLimit: 3000,
  },
  full: {
    optimizers: ['adan'],
    seeds: 2,
    epochs: 3,
    trainLimit: 10000,
    batchSize: 32,
    channels: 8,
    ddimSteps: 25,
    fidSamples: 500,
    emaDecay: 0.99,
    evalPoints: 5,
    probePoints: 20,
    featureEpochs: 1,
    featureTrainLimit: 12000,
  },
  smoke: {
    optimizers: ['adan'],
    seeds: 2,
    epochs: 1,
    trainLimit: 64,
    batchSize: 16,
    channels: 8,
    ddimSteps: 3,
    fidSamples: 32,
    emaDecay: 0.9,
    evalPoints: 2,
    probePoints: 2,
    featureEpochs: 1,
    featureTrainLimit: 256,
  },
};

/** The global-norm clip before AGR, as in the paper's DDPM runs. */
export const GENERATE_CLIP = 1;

/** The paper's DDPM setting scaled down: gradient clipping at 1.0 before AGR, no weight decay. */
export const GENERATE_HYPERPARAMETERS: Record<OptimizerName, { lr: number; weightDecay: number }> = {
  adan: { lr: 1e-3, weightDecay: 0 },
  adamw: { lr: 1e-3, weightDecay: 0 },
  sgd: { lr: 1e-2, weightDecay: 0 },
};

const PIXELS = 28 * 28;
const HELD_OUT = 256;

/** Images in [0, 1] to the [-1, 1] range the diffusion model works in. */
const toSigned = (x: Float32Array) => Float32Array.from(x, (v) => 2 * v - 1);

/** The FID feature extractor: the --features file if given, else a CNN trained here by classify's code. */
export async function featureExtractor(
  config: GenerateConfig,
  data: FashionMnist,
  context: RunnerContext,
  featuresPath: string | undefined,
): Promise<{ model: Sequential; source: string; accuracy: number }> {
  const model = cnn();
  let source: string;
  if (featuresPath) {
    if (!existsSync(featuresPath)) {
      throw new Error(
        `--features: ${featuresPath} not found (classify writes fid-cnn.safetensors into its results folder)`,
      );
    }
    model.loadStateDict(load(featuresPath));
    source = `${featuresPath} (from a classify run)`;
  } else {
    const path = join(context.out, 'fid-cnn.safetensors');
    const classifyConfig = {
      ...CLASSIFY_PRESETS.full,
      models: ['cnn' as const],
      optimizers: ['adamw' as const],
      seeds: 1,
      epochs: { cnn: config.featureEpochs },
      evalPoints: 2,
      probePoints: 1,
    };
    if (!existsSync(path)) {
      const trainCount = Math.min(data.trainCount, config.featureTrainLimit ?? Number.POSITIVE_INFINITY);
      await runClassify(classifyConfig, { data, trainCount, testCount: data.testCount }, context, [false]);
    }
    model.loadStateDict(load(path));
    source = `a CNN trained by classify's code in this run (AdamW, ${config.featureEpochs} epoch(s) on the first ${Math.min(data.trainCount, config.featureTrainLimit ?? Number.POSITIVE_INFINITY)} training images)`;
  }
  const { testAccuracy } = evaluateClassifier(model, data.testImages, data.testLabels, data.testCount);
  return { model: model.eval() as Sequential, source, accuracy: testAccuracy };
}

function features(extractor: Sequential, images01: Float32Array, count: number): Float32Array {
  return noGrad(() => {
    const out = new Float32Array(count * CNN_FEATURES);
    const images = new TensorDataset(
      tensor(images01.subarray(0, count * PIXELS), { shape: [count, 1, 28, 28] }),
    );
    let start = 0;
    for (const [x] of new DataLoader(images, { batchSize: 250 })) {
      out.set(cnnFeatures(extractor, x).data as Float32Array, start * CNN_FEATURES);
      start += x.shape[0];
    }
    return out;
  });
}

/** FID between real training and real test images at the same sample size: the floor FID can reach. */
export function realFid(extractor: Sequential, data: FashionMnist, count: number): number {
  const a = features(extractor, data.trainImages, count);
  const b = features(extractor, data.testImages, count);
  return fid(a, count, b, count, CNN_FEATURES);
}

export async function runGenerate(
  config: GenerateConfig,
  data: FashionMnist,
  extractor: Sequential,
  context: RunnerContext,
): Promise<JobResult[]> {
  const trainCount = Math.min(data.trainCount, config.trainLimit ?? Number.POSITIVE_INFINITY);
  const train = toSigned(data.trainImages.subarray(0, trainCount * PIXELS));
  const heldOut = toSigned(data.testImages.subarray(0, HELD_OUT * PIXELS));
  const fidCount = Math.min(config.fidSamples, data.testCount);
  const realFeatures = features(extractor, data.testImages, fidCount);
  const schedule = new NoiseSchedule();
  // A fixed held-out batch: timesteps and noise from their own generator, the same for every arm.
  const heldOutGenerator = new Generator(2024);
  const heldOutT = Int32Array.from({ length: HELD_OUT }, () =>
    heldOutGenerator.integer(0, schedule.timesteps),
  );
  const heldOutNoise = Float32Array.from({ length: HELD_OUT * PIXELS }, () => heldOutGenerator.normal());
  const results: JobResult[] = [];
  for (let seed = 0; seed < config.seeds; seed++) {
    for (const optimizer of config.optimizers) {
      for (const withAgr of [false, true]) {
        const arm: Arm = {
          optimizer,
          agr: withAgr,
          clip: GENERATE_CLIP,
          ...GENERATE_HYPERPARAMETERS[optimizer],
        };
        const name = armName(arm);
        const batches = new BatchOrder(trainCount, config.batchSize, seed);
        const totalSteps = config.epochs * batches.stepsPerEpoch;
        const evalEvery = Math.max(1, Math.ceil(totalSteps / config.evalPoints));
        const probeEvery = Math.max(1, Math.floor(totalSteps / config.probePoints));
        const logEvery = Math.max(1, Math.floor(totalSteps / 100));
        const spec = { key: `unet/${name}/seed${seed}`, label: `unet · ${name} · seed ${seed}`, totalSteps };
        const info = { model: 'unet', arm: name, optimizer, agr: withAgr, seed };
        results.push(
          await runJob(context, spec, info, () => {
            manualSeed(seed);
            const model = new TinyUNet(config.channels);
            const ema = new TinyUNet(config.channels);
            ema.loadStateDict(model.stateDict());
            const optim = new Optimizer(model, makeTransform(arm, totalSteps));
            // Each EMA tensor beside its live parameter, paired once (loadStateDict copies in place).
            const live = Object.fromEntries(model.namedParameters());
            const emaPairs = [...ema.namedParameters()].map(([key, p]) => [p, live[key]] as const);
            const heldOutLoss = (net: TinyUNet) =>
              noGrad(() => {
                const x0 = tensor(heldOut, { shape: [HELD_OUT, 1, 28, 28] });
                const noise = tensor(heldOutNoise, { shape: [HELD_OUT, 1, 28, 28] });
                return F.mseLoss(net.forward(schedule.addNoise(x0, noise, heldOutT), heldOutT), noise).item();
              });
            return {
              parts: { model, ema, optimizer: optim },
              evalEvery,
              step(step, log) {
                const indices = batches.batch(step);
                const x0 = tensor(gatherRows(train, PIXELS, indices), { shape: [indices.length, 1, 28, 28] });
                const t = randint(0, schedule.timesteps, [indices.length]).data as Int32Array;
                const noise = randn([indices.length, 1, 28, 28]);
                const loss = F.mseLoss(model.forward(schedule.addNoise(x0, noise, t), t), noise);
                optim.zeroGrad();
                loss.backward();
                if (step % probeEvery === 0 || step === 1) probeGradients(log, step, model.namedParameters());
                optim.step();
                // EMA of the weights, with the usual warm-up so short runs are not dominated by the init.
                const decay = Math.min(config.emaDecay, (1 + step) / (10 + step));
                noGrad(() => {
                  for (const [average, p] of emaPairs)
                    average.copy_(average.mul(decay).add(p.mul(1 - decay)));
                });
                recordLoss(log, step, loss.item(), logEvery);
              },
              evaluate(step): Record<string, number> {
                if (step < totalSteps) return { heldOutLoss: heldOutLoss(model) };
                // Final: sample from the EMA weights, starting from the same noise in every arm.
                const state = defaultGenerator.getState();
                manualSeed(10_000 + seed);
                const began = performance.now();
                const samples = ddimSample(ema, schedule, fidCount, config.ddimSteps);
                const samplingSeconds = (performance.now() - began) / 1000;
                defaultGenerator.setState(state);
                const images01 = Float32Array.from(samples.data as Float32Array, (v) => (v + 1) / 2);
                if (seed === 0) {
                  const grid = imageGridPng(images01, Math.min(64, fidCount), 28, 28, { columns: 8 });
                  writeFileAtomic(join(context.out, `samples-${name}.png`), grid);
                }
                const generated = features(extractor, images01, fidCount);
                return {
                  heldOutLoss: heldOutLoss(model),
                  emaHeldOutLoss: heldOutLoss(ema),
                  fid: fid(generated, fidCount, realFeatures, fidCount, CNN_FEATURES),
                  samplingSeconds,
                };
              },
            };
          }),
        );
      }
    }
  }
  return results;
}
