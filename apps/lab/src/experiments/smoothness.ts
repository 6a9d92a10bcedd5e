import { Generator, gradients, manualSeed, noGrad, randn, type Tensor, tensor } from '@agrad/autograd';
import { F } from '@agrad/nn';
import { Optimizer } from '@agrad/optim';
import { armName, makeTransform } from '../arms.js';
import { BatchOrder, gatherRows } from '../data/batches.js';
import { type Classifier, makeClassifier } from '../models.js';
import { type RunLog, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';
import {
  CLASSIFY_HYPERPARAMETERS,
  type ClassifyData,
  evaluateClassifier,
  imageBatch,
  PIXELS,
} from './classify.js';

/**
 * `pnpm lab smoothness`: is the loss smoother along AGR's trajectories? The paper claims AGR
 * gives a smaller loss Lipschitz constant. Measured along real training runs of the MLP, with
 * and without AGR, paired by seed, at the classify experiment's learning rate and at a multiple
 * of it, on one fixed batch of training images:
 * - the effective smoothness along the step the optimizer took, for step multiples s:
 *   ||grad L(theta + s d) - grad L(theta)|| / ||s d||, d the step (theta' - theta);
 * - the loss along that line (its range over s in [0, largest s]);
 * - the largest Hessian eigenvalue at a few checkpoints, by power iteration on Hessian-vector
 *   products (double backward through `gradients(..., { createGraph: true })`).
 * Only the MLP: a BatchNorm model's probe forwards would move its running statistics.
 */
export type SmoothnessOptimizer = 'sgd' | 'adamw';

export interface SmoothnessConfig {
  optimizers: SmoothnessOptimizer[];
  /** Learning rates as multiples of the classify experiment's (1 and 4: the default and 4x). */
  lrMultipliers: number[];
  seeds: number;
  epochs: number;
  trainLimit: number;
  testLimit: number;
  batchSize: number;
  /** Training images in the fixed batch every probe is computed on. */
  probeBatch: number;
  /**
   * Smoothness probes per run, evenly spaced, the last at the final step (none in the first
   * 1/probePoints of training, which holds the learning-rate warm-up, whose first step is 0).
   */
  probePoints: number;
  /** Step multiples s at which the gradient and loss along the step are measured. */
  multiples: number[];
  /** Probes at which the Hessian's top eigenvalue is estimated (evenly among the probes, the last included). */
  hessianPoints: number;
  powerIterations: number;
}

export const SMOOTHNESS_PRESETS: Record<'quick' | 'full' | 'smoke', SmoothnessConfig> = {
  // About 2 minutes on 2 cores (129 s measured).
  quick: {
    optimizers: ['sgd', 'adamw'],
    lrMultipliers: [1, 4],
    seeds: 3,
    epochs: 1,
    trainLimit: 6000,
    testLimit: 1000,
    batchSize: 64,
    probeBatch: 512,
    probePoints: 6,
    multiples: [0.5, 1, 2, 4],
    hessianPoints: 2,
    powerIterations: 15,
  },
  // 23 minutes on 2 cores (measured 2026-12-01).
  full: {
    optimizers: ['sgd', 'adamw'],
    lrMultipliers: [1, 4],
    seeds: 5,
    epochs: 3,
    trainLimit: 20000,
    testLimit: 10000,
    batchSize: 64,
    probeBatch: 1024,
    probePoints: 12,
    multiples: [0.25, 0.5, 1, 2, 4, 8],
    hessianPoints: 4,
    powerIterations: 25,
  },
  // CI: seconds.
  smoke: {
    optimizers: ['sgd'],
    lrMultipliers: [1, 4],
    seeds: 2,
    epochs: 1,
    trainLimit: 320,
    testLimit: 64,
    batchSize: 32,
    probeBatch: 64,
    probePoints: 2,
    multiples: [1, 2],
    hessianPoints: 1,
    powerIterations: 4,
  },
};

const parametersOf = (model: Classifier) => [...model.parameters()];

/** The probe batch's loss at the model's current parameters, and its gradient (no .grad written). */
function lossAndGradient(model: Classifier, x: Tensor, y: Tensor): { loss: number; gradient: Tensor[] } {
  const loss = F.crossEntropy(model.forward(x), y);
  return { loss: loss.item(), gradient: gradients(loss, parametersOf(model)) };
}

const dot = (a: Tensor[], b: Tensor[]) => a.reduce((s, t, i) => s + t.mul(b[i]).sum().item(), 0);
const norm = (a: Tensor[]) => Math.sqrt(dot(a, a));

/** Sets the model's parameters to theta + s d (theta and d as lists in parameter order). */
function moveTo(model: Classifier, theta: Tensor[], d: Tensor[], s: number): void {
  noGrad(() => parametersOf(model).forEach((p, i) => p.copy_(theta[i].add(d[i].mul(s)))));
}

/**
 * Along the step d from theta: for each multiple s, ||g(theta + s d) - g(theta)|| / ||s d|| and
 * the loss there; s = 0 gives the starting loss. Puts the parameters back as they were (theta
 * plus the step, bit for bit: theta + d in float32 need not round to it).
 */
export function probeAlongStep(
  model: Classifier,
  theta: Tensor[],
  d: Tensor[],
  x: Tensor,
  y: Tensor,
  multiples: number[],
): Array<{ multiple: number; smoothness: number; loss: number }> {
  const after = noGrad(() => parametersOf(model).map((p) => p.clone()));
  moveTo(model, theta, d, 0);
  const start = lossAndGradient(model, x, y);
  const points = [{ multiple: 0, smoothness: Number.NaN, loss: start.loss }];
  const stepNorm = norm(d);
  for (const s of multiples) {
    moveTo(model, theta, d, s);
    const here = lossAndGradient(model, x, y);
    const change = norm(here.gradient.map((g, i) => g.sub(start.gradient[i])));
    points.push({
      multiple: s,
      smoothness: stepNorm > 0 ? change / (s * stepNorm) : Number.NaN,
      loss: here.loss,
    });
  }
  noGrad(() => parametersOf(model).forEach((p, i) => p.copy_(after[i])));
  return points;
}

/**
 * The Hessian eigenvalue of largest magnitude at the model's parameters, by power iteration on
 * Hessian-vector products (the Rayleigh quotient of the last iterate), from a start drawn from
 * `generator`, so the training's own random stream is untouched.
 */
export function topHessianEigenvalue(
  model: Classifier,
  x: Tensor,
  y: Tensor,
  iterations: number,
  generator: Generator,
): number {
  const params = parametersOf(model);
  let v = params.map((p) => randn(p.shape, { generator, dtype: p.dtype }));
  let eigenvalue = Number.NaN;
  for (let i = 0; i < iterations; i++) {
    const length = norm(v);
    v = v.map((t) => t.div(length));
    const loss = F.crossEntropy(model.forward(x), y);
    const g = gradients(loss, params, { createGraph: true });
    const gv = g.reduce(
      (s: Tensor | null, t, k) => (s ? s.add(t.mul(v[k]).sum()) : t.mul(v[k]).sum()),
      null,
    ) as Tensor;
    const hv = gradients(gv, params).map((t) => t.detach());
    eigenvalue = dot(v, hv);
    v = hv;
  }
  return eigenvalue;
}

export function smoothnessArmName(
  optimizer: SmoothnessOptimizer,
  agr: boolean,
  lrMultiplier: number,
): string {
  return `${armName({ optimizer, agr })} lr×${lrMultiplier}`;
}

/** Every optimizer x learning-rate multiple x {without, with AGR} x seed run of the MLP. */
export async function runSmoothness(
  config: SmoothnessConfig,
  loaded: ClassifyData,
  context: RunnerContext,
): Promise<JobResult[]> {
  const { data, trainCount, testCount } = loaded;
  const results: JobResult[] = [];
  const order = (seed: number) => new BatchOrder(trainCount, config.batchSize, seed);
  const totalSteps = config.epochs * order(0).stepsPerEpoch;
  const probeEvery = Math.max(1, Math.floor(totalSteps / config.probePoints));
  const probeSteps = Array.from({ length: config.probePoints }, (_, i) =>
    Math.min(totalSteps, (i + 1) * probeEvery),
  );
  const hessianEvery = config.probePoints / config.hessianPoints;
  const hessianSteps = new Set(
    Array.from(
      { length: config.hessianPoints },
      (_, i) => probeSteps[Math.round((i + 1) * hessianEvery) - 1],
    ),
  );
  // The probe batch: the first training images, the same for every run.
  const probeIndices = Int32Array.from({ length: Math.min(config.probeBatch, trainCount) }, (_, i) => i);
  const probeX = tensor(gatherRows(data.trainImages, PIXELS, probeIndices), {
    shape: [probeIndices.length, 1, 28, 28],
  });
  const probeY = tensor(gatherRows(data.trainLabels, 1, probeIndices));
  const logEvery = Math.max(1, Math.floor(totalSteps / 100));
  for (let seed = 0; seed < config.seeds; seed++) {
    for (const optimizer of config.optimizers) {
      for (const lrMultiplier of config.lrMultipliers) {
        for (const agr of [false, true]) {
          const name = smoothnessArmName(optimizer, agr, lrMultiplier);
          const spec = {
            key: `mlp/${name.replace(' ', '/')}/seed${seed}`,
            label: `mlp · ${name} · seed ${seed}`,
            totalSteps,
          };
          const info = { model: 'mlp', optimizer, agr, lrMultiplier, arm: name, seed };
          results.push(
            await runJob(context, spec, info, () => {
              manualSeed(seed);
              const model = makeClassifier('mlp');
              const hyper = CLASSIFY_HYPERPARAMETERS[optimizer];
              const optim = new Optimizer(
                model,
                makeTransform(
                  { optimizer, agr, lr: hyper.lr * lrMultiplier, weightDecay: hyper.weightDecay },
                  totalSteps,
                ),
              );
              const batches = order(seed);
              return {
                parts: { model, optimizer: optim },
                evalEvery: totalSteps,
                step(step, log: RunLog) {
                  const { x, y } = imageBatch(data, batches.batch(step));
                  const loss = F.crossEntropy(model.forward(x), y);
                  optim.zeroGrad();
                  loss.backward();
                  const probing = probeSteps.includes(step) && Number.isFinite(loss.item());
                  const theta = probing ? noGrad(() => parametersOf(model).map((p) => p.clone())) : [];
                  optim.step();
                  recordLoss(log, step, loss.item(), logEvery);
                  if (!probing) return;
                  const d = noGrad(() => parametersOf(model).map((p, i) => p.sub(theta[i])));
                  log.smoothness ??= [];
                  for (const p of probeAlongStep(model, theta, d, probeX, probeY, config.multiples))
                    log.smoothness.push({ step, ...p });
                  if (hessianSteps.has(step)) {
                    log.curvature ??= [];
                    const generator = new Generator(seed * 7919 + step);
                    log.curvature.push({
                      step,
                      eigenvalue: topHessianEigenvalue(
                        model,
                        probeX,
                        probeY,
                        config.powerIterations,
                        generator,
                      ),
                    });
                  }
                },
                evaluate: () => evaluateClassifier(model, data.testImages, data.testLabels, testCount),
              };
            }),
          );
        }
      }
    }
  }
  return results;
}
