import { manualSeed, noGrad, type Tensor } from '@agrad/autograd';
import { F } from '@agrad/nn';
import {
  agr,
  chain,
  type GradientTransformation,
  masked,
  Optimizer,
  type Params,
  regularize,
} from '@agrad/optim';
import { armName, makeTransform } from '../arms.js';
import { BatchOrder } from '../data/batches.js';
import { makeClassifier } from '../models.js';
import { type RunLog, recordLoss } from '../run/log.js';
import { type JobResult, type RunnerContext, runJob } from '../run/runner.js';
import { CLASSIFY_HYPERPARAMETERS, type ClassifyData, evaluateClassifier, imageBatch } from './classify.js';

/**
 * `pnpm lab ablation`: which tensors carry AGR's effect? AGR's alpha = |g| / sum|g| averages 1/N
 * over a tensor of N elements, so in a large weight matrix it shrinks the gradient by a fraction
 * of a percent, while in a bias or a norm gain it can cut a third. Four arms per optimizer,
 * paired by seed: without AGR, AGR on every tensor, AGR only on tensors under `threshold`
 * elements, AGR only on the others. And, along the runs without AGR, the one-step
 * counterfactual per tensor: from the same optimizer state and gradient, how much AGR would have
 * changed that tensor's update, ||u(AGR(g)) - u(g)|| / ||u(g)||.
 */
export type AblationOptimizer = 'sgd' | 'adamw';
export type AblationModel = 'mlp' | 'cnn';
export type AblationScope = 'none' | 'all' | 'small' | 'large';
export const ABLATION_SCOPES: readonly AblationScope[] = ['none', 'all', 'small', 'large'];

export interface AblationConfig {
  models: AblationModel[];
  optimizers: AblationOptimizer[];
  seeds: number;
  epochs: number;
  trainLimit: number;
  testLimit: number;
  batchSize: number;
  /** Tensors with fewer elements than this are "small". */
  threshold: number;
  /** Counterfactual probes per run without AGR. */
  probePoints: number;
}

export const ABLATION_PRESETS: Record<'quick' | 'full' | 'smoke', AblationConfig> = {
  // Under a minute on 2 cores (43 s measured).
  quick: {
    models: ['mlp'],
    optimizers: ['sgd', 'adamw'],
    seeds: 3,
    epochs: 1,
    trainLimit: 6000,
    testLimit: 2000,
    batchSize: 64,
    threshold: 1000,
    probePoints: 10,
  },
  // Estimated at about 70 minutes on 2 cores (40 CNN runs of 312 steps at about 0.25 s a step, and
  // their evaluations on all 10,000 test images, dominate); not yet run.
  full: {
    models: ['mlp', 'cnn'],
    optimizers: ['sgd', 'adamw'],
    seeds: 5,
    epochs: 1,
    trainLimit: 20000,
    testLimit: 10000,
    batchSize: 64,
    threshold: 1000,
    probePoints: 20,
  },
  // CI: seconds.
  smoke: {
    models: ['mlp'],
    optimizers: ['sgd'],
    seeds: 2,
    epochs: 1,
    trainLimit: 320,
    testLimit: 64,
    batchSize: 32,
    threshold: 1000,
    probePoints: 2,
  },
};

/** "sgd", "sgd+agr", "sgd+agr<1000", "sgd+agr>=1000". */
export function ablationArmName(
  optimizer: AblationOptimizer,
  scope: AblationScope,
  threshold: number,
): string {
  const base = armName({ optimizer, agr: scope !== 'none' });
  return scope === 'small' ? `${base}<${threshold}` : scope === 'large' ? `${base}>=${threshold}` : base;
}

/** The arm's transform: the classify experiment's optimizer and schedule, AGR in front where the scope says. */
export function ablationTransform(
  optimizer: AblationOptimizer,
  scope: AblationScope,
  threshold: number,
  totalSteps: number,
): GradientTransformation {
  const base = makeTransform({ optimizer, agr: false, ...CLASSIFY_HYPERPARAMETERS[optimizer] }, totalSteps);
  if (scope === 'none') return base;
  if (scope === 'all') return chain(agr(), base);
  const small = scope === 'small';
  return chain(
    masked(agr(), (p) => p.size < threshold === small),
    base,
  );
}

/**
 * Wraps a transform so that, when `probe()` says so, it also computes the update the same state
 * would give for AGR(g) (a pure call: no state is touched) and reports each tensor's relative
 * change from the real step's update; the step itself runs as without the wrapper.
 */
export function withCounterfactual(
  transform: GradientTransformation,
  probe: () => boolean,
  report: (layer: string, size: number, change: number) => void,
): GradientTransformation {
  return {
    init: (params) => transform.init(params),
    update(updates, state, params, donation) {
      if (!probe()) return transform.update(updates, state, params, donation);
      // AGR's update first, as a pure call (the state is untouched); then the real step, whose
      // updates are the other side of the comparison.
      const treated = noGrad(() => {
        const regularized: Record<string, Tensor> = {};
        for (const [name, g] of Object.entries(updates)) regularized[name] = regularize(g);
        return copy(transform.update(regularized, state, params).updates);
      });
      const result = transform.update(updates, state, params, donation);
      noGrad(() => {
        for (const [name, u] of Object.entries(result.updates)) {
          const norm = Math.sqrt(u.mul(u).sum().item());
          const d = treated[name].sub(u);
          report(name, u.size, norm > 0 ? Math.sqrt(d.mul(d).sum().item()) / norm : 0);
        }
      });
      return result;
    },
    learningRate: transform.learningRate,
  };
}

/** Detached copies: a later update may reuse the memory of an earlier one's results (see GradientTransformation). */
const copy = (updates: Params): Params =>
  Object.fromEntries(Object.entries(updates).map(([name, u]) => [name, u.clone()]));

/** Every model x optimizer x scope x seed run. */
export async function runAblation(
  config: AblationConfig,
  loaded: ClassifyData,
  context: RunnerContext,
): Promise<JobResult[]> {
  const { data, trainCount, testCount } = loaded;
  const results: JobResult[] = [];
  for (const model of config.models) {
    const order = (seed: number) => new BatchOrder(trainCount, config.batchSize, seed);
    const totalSteps = config.epochs * order(0).stepsPerEpoch;
    const probeEvery = Math.max(1, Math.floor(totalSteps / config.probePoints));
    const logEvery = Math.max(1, Math.floor(totalSteps / 100));
    for (let seed = 0; seed < config.seeds; seed++) {
      for (const optimizer of config.optimizers) {
        for (const scope of ABLATION_SCOPES) {
          const name = ablationArmName(optimizer, scope, config.threshold);
          const spec = {
            key: `${model}/${name}/seed${seed}`,
            label: `${model} · ${name} · seed ${seed}`,
            totalSteps,
          };
          const info = { model, optimizer, arm: name, scope, seed };
          results.push(
            await runJob(context, spec, info, () => {
              manualSeed(seed);
              const net = makeClassifier(model);
              let current = 0;
              let log: RunLog | null = null;
              const transform = ablationTransform(optimizer, scope, config.threshold, totalSteps);
              // The counterfactual is measured along the runs without AGR: what AGR would change there.
              const probed =
                scope === 'none'
                  ? withCounterfactual(
                      transform,
                      () => current === 1 || current % probeEvery === 0,
                      // Kept in the log, so a resumed run keeps the probes made before it stopped.
                      (layer, size, change) => {
                        if (!log) return;
                        log.counterfactual ??= [];
                        log.counterfactual.push({ step: current, layer, size, change });
                      },
                    )
                  : transform;
              const optim = new Optimizer(net, probed);
              const batches = order(seed);
              return {
                parts: { model: net, optimizer: optim },
                evalEvery: totalSteps,
                step(step, stepLog) {
                  [current, log] = [step, stepLog];
                  const { x, y } = imageBatch(data, batches.batch(step));
                  const loss = F.crossEntropy(net.forward(x), y);
                  optim.zeroGrad();
                  loss.backward();
                  optim.step();
                  recordLoss(log, step, loss.item(), logEvery);
                },
                evaluate: () => evaluateClassifier(net, data.testImages, data.testLabels, testCount),
              };
            }),
          );
        }
      }
    }
  }
  return results;
}
