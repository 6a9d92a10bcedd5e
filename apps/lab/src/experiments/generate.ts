import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultGenerator,
  Generator,
  manualSeed,
  noGrad,
  randint,
  randn,
  type Tensor,
  tensor,
} from '@agrad/autograd';
import { DataLoader, F, load, type Module, type Sequential, TensorDataset, writeFileAtomic } from '@agrad/nn';
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
import { type Denoiser, ddimSample, MlpDenoiser, NoiseSchedule, TinyUNet } from './ddpm.js';
import { PcaCodec } from './pca.js';

export interface GenerateConfig {
  optimizers: OptimizerName[];
  seeds: number;
  epochs: number;
  trainLimit: number | null;
  batchSize: number;
  denoiser: DenoiserConfig;
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

/**
 * What the DDPM diffuses: images through the tiny UNet (base width `channels`), or the images'
 * top `components` PCA coordinates through a residual MLP (latent diffusion with a linear
 * autoencoder; see pca.ts). On 2 cores the UNet's samples stayed texture (FID 240 after 70
 * minutes), while the latent MLP's steps are cheap and see the whole image.
 */
export type DenoiserConfig =
  | { kind: 'unet'; channels: number }
  | { kind: 'latent'; components: number; width: number; depth: number };

/** The model name a denoiser's jobs are recorded under (the report selects them by it). */
export const denoiserModel = (config: DenoiserConfig) => (config.kind === 'unet' ? 'unet' : 'latent-mlp');
export const DENOISER_MODELS = ['unet', 'latent-mlp'];

/**
 * The space the diffusion runs in: training and held-out rows (x0, scaled as the noise schedule
 * expects), the shape of one sample, whether x0 estimates are clipped to [-1, 1], the denoiser,
 * and the way back from samples to images in [0, 1].
 */
interface DiffusionSpace {
  rowSize: number;
  train: Float32Array;
  heldOut: Float32Array;
  sampleShape: number[];
  clip: boolean;
  makeDenoiser(): Denoiser;
  toImages01(samples: Tensor): Float32Array;
  /** Images in [0, 1] through the latent codec and back (the identity for the UNet). */
  roundTrip(images01: Float32Array, count: number): Float32Array;
  /** What the codec keeps, for the report (absent for the UNet). */
  description?: string;
}

function diffusionSpace(
  config: DenoiserConfig,
  data: FashionMnist,
  trainCount: number,
  heldOutCount: number,
): DiffusionSpace {
  const trainImages = data.trainImages.subarray(0, trainCount * PIXELS);
  const heldOutImages = data.testImages.subarray(0, heldOutCount * PIXELS);
  if (config.kind === 'unet') {
    return {
      rowSize: PIXELS,
      train: toSigned(trainImages),
      heldOut: toSigned(heldOutImages),
      sampleShape: [1, 28, 28],
      clip: true,
      makeDenoiser: () => new TinyUNet(config.channels),
      toImages01: (samples) => Float32Array.from(samples.data as Float32Array, (v) => (v + 1) / 2),
      roundTrip: (images01, count) => images01.subarray(0, count * PIXELS),
    };
  }
  const codec = PcaCodec.fit(trainImages, trainCount, PIXELS, config.components);
  const encode = (images: Float32Array, count: number) =>
    codec.encode(tensor(images, { shape: [count, PIXELS] })).data as Float32Array;
  return {
    rowSize: config.components,
    train: encode(trainImages, trainCount),
    heldOut: encode(heldOutImages, heldOutCount),
    sampleShape: [config.components],
    clip: false,
    makeDenoiser: () => new MlpDenoiser(config.components, config.width, config.depth),
    toImages01: (samples) => codec.decode(samples).data as Float32Array,
    roundTrip: (images01, count) =>
      codec.decode(
        tensor(encode(images01.subarray(0, count * PIXELS), count), { shape: [count, config.components] }),
      ).data as Float32Array,
    description: `${config.components} principal components keep ${(100 * codec.varianceKept).toFixed(1)}% of the training images' pixel variance`,
  };
}

export const GENERATE_PRESETS: Record<'quick' | 'full' | 'smoke', GenerateConfig> = {
  quick: {
    optimizers: ['adan'],
    seeds: 2,
    epochs: 1,
    trainLimit: 10000,
    batchSize: 64,
    denoiser: { kind: 'latent', components: 64, width: 256, depth: 2 },
    ddimSteps: 25,
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
    epochs: 6,
    trainLimit: null,
    batchSize: 128,
    denoiser: { kind: 'latent', components: 128, width: 512, depth: 3 },
    ddimSteps: 50,
    fidSamples: 1000,
    emaDecay: 0.999,
    evalPoints: 6,
    probePoints: 20,
    featureEpochs: 1,
    featureTrainLimit: null,
  },
  smoke: {
    optimizers: ['adan'],
    seeds: 2,
    epochs: 1,
    trainLimit: 64,
    batchSize: 16,
    denoiser: { kind: 'latent', components: 16, width: 32, depth: 1 },
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

/**
 * What the feature CNN makes of images in [0, 1]: its penultimate-layer features (for FID) and
 * the mean over images of its largest class probability (how sure it is that each is a garment of
 * some class; real test images score about as high as its accuracy suggests).
 */
function features(
  extractor: Sequential,
  images01: Float32Array,
  count: number,
): { features: Float32Array; maxClassProbability: number } {
  return noGrad(() => {
    const out = new Float32Array(count * CNN_FEATURES);
    const images = new TensorDataset(
      tensor(images01.subarray(0, count * PIXELS), { shape: [count, 1, 28, 28] }),
    );
    let start = 0;
    let sureness = 0;
    const head = extractor.layers.at(-1) as Module & { forward(x: Tensor): Tensor };
    for (const [x] of new DataLoader(images, { batchSize: 250 })) {
      const hidden = cnnFeatures(extractor, x);
      out.set(hidden.data as Float32Array, start * CNN_FEATURES);
      sureness += head.forward(hidden).softmax(1).amax(1).sum().item();
      start += x.shape[0];
    }
    return { features: out, maxClassProbability: sureness / count };
  });
}

/** FID between real training and real test images at the same sample size: the floor FID can reach. */
export function realFid(extractor: Sequential, data: FashionMnist, count: number): number {
  const a = features(extractor, data.trainImages, count).features;
  const b = features(extractor, data.testImages, count).features;
  return fid(a, count, b, count, CNN_FEATURES);
}

/** The feature CNN's mean largest class probability on real test images: what samples are held to. */
export function realMaxClassProbability(extractor: Sequential, data: FashionMnist, count: number): number {
  return features(extractor, data.testImages, count).maxClassProbability;
}

export async function runGenerate(
  config: GenerateConfig,
  data: FashionMnist,
  extractor: Sequential,
  context: RunnerContext,
  notes: Record<string, string | number>,
): Promise<JobResult[]> {
  const trainCount = Math.min(data.trainCount, config.trainLimit ?? Number.POSITIVE_INFINITY);
  const space = diffusionSpace(config.denoiser, data, trainCount, HELD_OUT);
  const { rowSize, sampleShape } = space;
  const fidCount = Math.min(config.fidSamples, data.testCount);
  const realFeatures = features(extractor, data.testImages, fidCount).features;
  if (space.description) {
    // The codec's own floor: training images encoded and decoded, against the real test images,
    // as the real-vs-real floor compares raw training images with them. No sampler can beat it.
    const decoded = features(extractor, space.roundTrip(data.trainImages, fidCount), fidCount);
    const floor = fid(decoded.features, fidCount, realFeatures, fidCount, CNN_FEATURES);
    notes['Latent codec'] =
      `${space.description}; training images encoded and decoded give FID ${floor.toFixed(2)} against the test images, and max-class probability ${decoded.maxClassProbability.toFixed(3)}`;
    context.save();
  }
  const schedule = new NoiseSchedule();
  // A fixed held-out batch: timesteps and noise from their own generator, the same for every arm.
  const heldOutGenerator = new Generator(2024);
  const heldOutT = Int32Array.from({ length: HELD_OUT }, () =>
    heldOutGenerator.integer(0, schedule.timesteps),
  );
  const heldOutNoise = Float32Array.from({ length: HELD_OUT * rowSize }, () => heldOutGenerator.normal());
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
        const modelName = denoiserModel(config.denoiser);
        const spec = {
          key: `${modelName}/${name}/seed${seed}`,
          label: `${modelName} · ${name} · seed ${seed}`,
          totalSteps,
        };
        const info = { model: modelName, arm: name, optimizer, agr: withAgr, seed };
        results.push(
          await runJob(context, spec, info, () => {
            manualSeed(seed);
            const model = space.makeDenoiser();
            const ema = space.makeDenoiser();
            ema.loadStateDict(model.stateDict());
            const optim = new Optimizer(model, makeTransform(arm, totalSteps));
            // Each EMA tensor beside its live parameter, paired once (loadStateDict copies in place).
            const live = Object.fromEntries(model.namedParameters());
            const emaPairs = [...ema.namedParameters()].map(([key, p]) => [p, live[key]] as const);
            const heldOutLoss = (net: Denoiser) =>
              noGrad(() => {
                const x0 = tensor(space.heldOut, { shape: [HELD_OUT, ...sampleShape] });
                const noise = tensor(heldOutNoise, { shape: [HELD_OUT, ...sampleShape] });
                return F.mseLoss(net.forward(schedule.addNoise(x0, noise, heldOutT), heldOutT), noise).item();
              });
            return {
              parts: { model, ema, optimizer: optim },
              evalEvery,
              step(step, log) {
                const indices = batches.batch(step);
                const shape = [indices.length, ...sampleShape];
                const x0 = tensor(gatherRows(space.train, rowSize, indices), { shape });
                const t = randint(0, schedule.timesteps, [indices.length]).data as Int32Array;
                const noise = randn(shape);
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
                // Every evaluation samples from the EMA weights, starting from the same noise in
                // every arm and at every point, so FID over training is a learning curve and the
                // training's own random stream is left where it was.
                const state = defaultGenerator.getState();
                manualSeed(10_000 + seed);
                const began = performance.now();
                const samples = ddimSample(ema, schedule, fidCount, config.ddimSteps, space);
                const images01 = space.toImages01(samples);
                const samplingSeconds = (performance.now() - began) / 1000;
                defaultGenerator.setState(state);
                const generated = features(extractor, images01, fidCount);
                const quality = {
                  heldOutLoss: heldOutLoss(model),
                  emaHeldOutLoss: heldOutLoss(ema),
                  fid: fid(generated.features, fidCount, realFeatures, fidCount, CNN_FEATURES),
                  maxClassProbability: generated.maxClassProbability,
                };
                if (step < totalSteps) return quality;
                if (seed === 0) {
                  const grid = imageGridPng(images01, Math.min(64, fidCount), 28, 28, { columns: 8 });
                  writeFileAtomic(join(context.out, `samples-${name}.png`), grid);
                }
                return { ...quality, samplingSeconds };
              },
            };
          }),
        );
      }
    }
  }
  return results;
}
