import {
  adamw,
  adan,
  agr,
  chain,
  clipByGlobalNorm,
  type GradientTransformation,
  type Schedule,
  sgd,
  warmupCosineDecay,
} from '@agrad/optim';

/** The optimizers the lab compares, each run with and without AGR in front. */
export const OPTIMIZERS = ['adamw', 'adan', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** One arm of a comparison: an optimizer, with or without AGR, and its hyperparameters. */
export interface Arm {
  optimizer: OptimizerName;
  agr: boolean;
  lr: number;
  weightDecay: number;
  /** Clip the global gradient norm to this before AGR (the paper's DDPM setting); none if absent. */
  clip?: number;
}

/** "adamw" or "adamw+agr": how arms are named in tables, plots and metrics.json. */
export function armName(arm: Pick<Arm, 'optimizer' | 'agr'>): string {
  return arm.agr ? `${arm.optimizer}+agr` : arm.optimizer;
}

/** Parses `--optimizers adamw,sgd`; each named optimizer is run with and without AGR. */
export function parseOptimizers(list: string): OptimizerName[] {
  const names = list
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = names.filter((n) => !(OPTIMIZERS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new RangeError(
      `--optimizers: unknown optimizer '${unknown.join(',') || list}' (expected a comma-separated list of ${OPTIMIZERS.join(', ')}; each runs with and without AGR)`,
    );
  }
  return [...new Set(names as OptimizerName[])];
}

/** The share of the steps over which every arm's learning rate warms up linearly. */
export const WARMUP_FRACTION = 0.05;

/** Every arm's learning rate: linear warm-up over the first 5% of steps, then cosine decay to zero. */
export function armSchedule(arm: Pick<Arm, 'lr'>, totalSteps: number): Schedule {
  const warmupSteps = Math.max(1, Math.round(WARMUP_FRACTION * totalSteps));
  return warmupCosineDecay({
    peak: arm.lr,
    warmupSteps,
    decaySteps: Math.max(totalSteps, warmupSteps + 1),
  });
}

/**
 * What decoupled weight decay alone does to a weight over a run: AdamW multiplies every weight by
 * (1 - lr_t * wd) at each step t, so by the product of those over the run. A weight decay whose
 * product is near 1 changes nothing, whatever its name.
 */
export function decayFactor(arm: Pick<Arm, 'lr' | 'weightDecay'>, totalSteps: number): number {
  const lr = armSchedule(arm, totalSteps);
  let factor = 1;
  for (let step = 0; step < totalSteps; step++) factor *= 1 - lr(step) * arm.weightDecay;
  return factor;
}

/**
 * The arm's gradient transformation: [clip] -> [AGR] -> optimizer, with a linear warm-up over the
 * first 5% of steps and cosine decay to zero, the same schedule for every arm.
 */
export function makeTransform(arm: Arm, totalSteps: number): GradientTransformation {
  const lr = armSchedule(arm, totalSteps);
  const base =
    arm.optimizer === 'adamw'
      ? adamw({ lr, weightDecay: arm.weightDecay })
      : arm.optimizer === 'adan'
        ? adan({ lr, weightDecay: arm.weightDecay })
        : sgd({ lr, momentum: 0.9, weightDecay: arm.weightDecay });
  return chain(
    ...(arm.clip !== undefined ? [clipByGlobalNorm(arm.clip)] : []),
    ...(arm.agr ? [agr()] : []),
    base,
  );
}
