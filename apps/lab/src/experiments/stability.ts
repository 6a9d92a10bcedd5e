import { manualSeed } from '@agrad/autograd';
import { F } from '@agrad/nn';
import { adamw, agr, chain, type GradientTransformation, Optimizer, sgd, stateless } from '@agrad/optim';
import { BatchOrder } from '../data/batches.js';
import { makeClassifier } from '../models.js';
import { probeGradients, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';
import { type ClassifyData, evaluateClassifier, imageBatch } from './classify.js';

/**
 * `pnpm lab stability`: does AGR let training survive larger learning rates, and is that more than
 * a smaller step? Each arm sweeps a geometric grid of constant learning rates upward until a run
 * fails (its loss stops being finite, or it ends no better than chance); the largest rate that
 * trained is the arm's edge, per seed.
 *
 * Three arms per optimizer, paired by seed (same initial weights, same batches):
 * - the optimizer alone;
 * - AGR in front of it;
 * - the matched-step control: the optimizer alone, with each tensor's update scaled by the mean
 *   ‖AGR(g)‖ / ‖g‖ that tensor showed in a pilot run with AGR. If AGR's gain were only a
 *   smaller step, this arm would share it.
 */
export type StabilityOptimizer = 'sgd' | 'adamw';
export type StabilityModel = 'mlp' | 'cnn';
export type StabilityArm = 'base' | 'agr' | 'matched';
export const STABILITY_ARMS: readonly StabilityArm[] = ['base', 'agr', 'matched'];

export interface LearningRateGrid {
  first: number;
  /** Each rate is the previous one times this (2, or sqrt 2 for a finer grid). */
  factor: number;
  count: number;
}

export interface StabilityConfig {
  models: StabilityModel[];
  optimizers: StabilityOptimizer[];
  seeds: number;
  /** Training steps of every run, at a constant learning rate. */
  steps: number;
  /** Steps of the pilot run (AGR at the grid's first rate) that measures the control's scales. */
  pilotSteps: number;
  trainLimit: number;
  testLimit: number;
  batchSize: number;
  grid: Record<StabilityOptimizer, LearningRateGrid>;
  /** Settings that differ for one model: a CNN step costs about ten MLP steps. */
  perModel?: Partial<Record<StabilityModel, ModelSettings>>;
  weightDecay: Record<StabilityOptimizer, number>;
}

/** What a model may set for itself in `perModel`. */
export interface ModelSettings {
  steps?: number;
  grid?: Record<StabilityOptimizer, LearningRateGrid>;
}

/** The steps and grid of one model: its own where `perModel` gives them, else the config's. */
export function settingsFor(config: StabilityConfig, model: StabilityModel): Required<ModelSettings> {
  const own = config.perModel?.[model] ?? {};
  return { steps: own.steps ?? config.steps, grid: own.grid ?? config.grid };
}

const WEIGHT_DECAY: Record<StabilityOptimizer, number> = { sgd: 5e-4, adamw: 1e-2 };

export const STABILITY_PRESETS: Record<'quick' | 'full' | 'smoke', StabilityConfig> = {
  // Part of the README's main job (`pnpm lab decide`): about 2 minutes on 2 cores. The grids start
  // a doubling or two below the edges a first quick run found (150 steps from 0.05 and 1e-3: SGD
  // 0.2 to 0.4, AdamW 0.064), to spend the runs near them.
  quick: {
    models: ['mlp'],
    optimizers: ['sgd', 'adamw'],
    seeds: 3,
    steps: 100,
    pilotSteps: 50,
    trainLimit: 6000,
    testLimit: 1000,
    batchSize: 64,
    grid: { sgd: { first: 0.1, factor: 2, count: 7 }, adamw: { first: 4e-3, factor: 2, count: 7 } },
    weightDecay: WEIGHT_DECAY,
  },
  // About 80 minutes on 2 cores (estimated from step times: the MLP's sweeps about 10 minutes, the
  // CNN's, whose steps cost about ten of the MLP's, about 70). The MLP's grids start a step or two
  // below the edges an earlier full run found (SGD 0.2 to 0.4, AdamW 0.09 to 0.13); the CNN's
  // sweep a wider ×2 grid over fewer steps, its edges being unknown.
  full: {
    models: ['mlp', 'cnn'],
    optimizers: ['sgd', 'adamw'],
    seeds: 4,
    steps: 300,
    pilotSteps: 100,
    trainLimit: 20000,
    testLimit: 2000,
    batchSize: 64,
    grid: {
      sgd: { first: 0.1, factor: Math.SQRT2, count: 10 },
      adamw: { first: 0.02, factor: Math.SQRT2, count: 10 },
    },
    perModel: {
      cnn: {
        steps: 100,
        grid: { sgd: { first: 0.05, factor: 2, count: 9 }, adamw: { first: 4e-3, factor: 2, count: 8 } },
      },
    },
    weightDecay: WEIGHT_DECAY,
  },
  // CI: seconds. A grid that reaches divergence within a few rates.
  smoke: {
    models: ['mlp'],
    optimizers: ['sgd'],
    seeds: 2,
    steps: 10, // the MLP's own 40 below: perModel is exercised in CI
    pilotSteps: 4,
    trainLimit: 640,
    testLimit: 64,
    batchSize: 32,
    grid: { sgd: { first: 0.05, factor: 16, count: 3 }, adamw: { first: 1e-3, factor: 16, count: 3 } },
    perModel: { mlp: { steps: 40 } },
    weightDecay: WEIGHT_DECAY,
  },
};

/** The rates of a grid, rounded to 6 significant digits (they name jobs). */
export function gridRates(grid: LearningRateGrid): number[] {
  return Array.from({ length: grid.count }, (_, i) => Number((grid.first * grid.factor ** i).toPrecision(6)));
}

export function stabilityArmName(optimizer: StabilityOptimizer, arm: StabilityArm): string {
  return arm === 'base' ? optimizer : arm === 'agr' ? `${optimizer}+agr` : `${optimizer}+matched-step`;
}

/** A 10-class model's loss at chance: a run that ends at or above it did not train. */
export const CHANCE_LOSS = Math.log(10);

/** Why a finished run counts as a failure, or null when it trained. */
export function instability(job: JobResult): string | null {
  const at = job.log.divergedAt;
  if (at !== undefined && at !== null) return `diverged at step ${at}`;
  if (!(job.final.trainLoss < CHANCE_LOSS))
    return `ended at training loss ${job.final.trainLoss.toFixed(2)}, no better than chance (${CHANCE_LOSS.toFixed(2)})`;
  return null;
}

/** The pilot's per-tensor scales, mean ‖AGR(g)‖ / ‖g‖ over its steps (from its gradient probes). */
export function pilotScales(pilot: JobResult): Record<string, number> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const g of pilot.log.gradNorms) {
    if (!(g.before > 0)) continue;
    const s = sums.get(g.layer) ?? { sum: 0, count: 0 };
    s.sum += g.after / g.before;
    s.count += 1;
    sums.set(g.layer, s);
  }
  return Object.fromEntries([...sums].map(([layer, s]) => [layer, s.sum / s.count]));
}

/** The arm's transform at a constant learning rate; `scales` are the pilot's (the matched-step arm's). */
export function stabilityTransform(
  optimizer: StabilityOptimizer,
  arm: StabilityArm,
  lr: number,
  config: StabilityConfig,
  scales: Record<string, number>,
): GradientTransformation {
  const weightDecay = config.weightDecay[optimizer];
  const base = optimizer === 'sgd' ? sgd({ lr, momentum: 0.9, weightDecay }) : adamw({ lr, weightDecay });
  if (arm === 'agr') return chain(agr(), base);
  if (arm === 'base') return base;
  // The whole update of a tensor scaled: its learning rate times the pilot's shrinkage.
  return chain(
    base,
    stateless((u, _, name) => {
      const scale = scales[name];
      if (scale === undefined) throw new Error(`stability: the pilot run measured no scale for '${name}'`);
      return u.mul(scale);
    }),
  );
}

/**
 * Runs the pilots and the sweeps: for each model and optimizer, a pilot (AGR, seed 0, the grid's
 * first rate), then per seed and arm the grid's rates upward, stopping after the first failure.
 */
export async function runStability(
  config: StabilityConfig,
  loaded: ClassifyData,
  context: RunnerContext,
): Promise<JobResult[]> {
  const { data, trainCount, testCount } = loaded;
  const results: JobResult[] = [];
  const order = (seed: number) => new BatchOrder(trainCount, config.batchSize, seed);
  const train = (
    spec: { key: string; label: string; totalSteps: number },
    info: JobResult['info'],
    seed: number,
    transform: () => GradientTransformation,
    probe: boolean,
  ) =>
    runJob(context, spec, info, () => {
      manualSeed(seed);
      const model = makeClassifier(String(info.model) as StabilityModel);
      const optim = new Optimizer(model, transform());
      const batches = order(seed);
      const logEvery = Math.max(1, Math.floor(spec.totalSteps / 50));
      return {
        parts: { model, optimizer: optim },
        evalEvery: spec.totalSteps,
        step(step, log) {
          const { x, y } = imageBatch(data, batches.batch(step));
          const loss = F.crossEntropy(model.forward(x), y);
          optim.zeroGrad();
          loss.backward();
          if (probe) probeGradients(log, step, model.namedParameters());
          optim.step();
          recordLoss(log, step, loss.item(), logEvery);
        },
        evaluate(_, log) {
          const scores = evaluateClassifier(model, data.testImages, data.testLabels, testCount);
          return { ...scores, trainLoss: log.smoothedLoss };
        },
      };
    });
  for (const model of config.models) {
    for (const optimizer of config.optimizers) {
      const { steps, grid } = settingsFor(config, model);
      const rates = gridRates(grid[optimizer]);
      const pilot = await train(
        {
          key: `${model}/${optimizer}/pilot`,
          label: `${model} · ${optimizer}+agr pilot · lr ${rates[0]}`,
          totalSteps: config.pilotSteps,
        },
        { model, optimizer, arm: 'pilot', seed: 0, lr: rates[0] },
        0,
        () => stabilityTransform(optimizer, 'agr', rates[0], config, {}),
        true,
      );
      results.push(pilot);
      const scales = pilotScales(pilot);
      for (let seed = 0; seed < config.seeds; seed++) {
        for (const arm of STABILITY_ARMS) {
          const name = stabilityArmName(optimizer, arm);
          for (const lr of rates) {
            const job = await train(
              {
                key: `${model}/${name}/seed${seed}/lr${lr}`,
                label: `${model} · ${name} · seed ${seed} · lr ${lr}`,
                totalSteps: steps,
              },
              { model, optimizer, arm: name, seed, lr },
              seed,
              () => stabilityTransform(optimizer, arm, lr, config, scales),
              false,
            );
            results.push(job);
            if (instability(job) !== null) break; // the edge is found; larger rates are not run
          }
        }
      }
    }
  }
  return results;
}
