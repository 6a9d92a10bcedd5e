import type { Tensor } from '@agrad/autograd';
import { noGrad } from '@agrad/autograd';
import { agrCoefficients } from '@agrad/optim';

/** One logged point of a training curve. */
export interface LossPoint {
  step: number;
  loss: number;
}

/** Gradient L2 norms of one parameter tensor before and after AGR's regularization. */
export interface GradNormPoint {
  step: number;
  layer: string;
  before: number;
  after: number;
}

/**
 * The distribution of AGR's alpha = |g| / sum|g| over the elements of one parameter tensor at
 * one step. A tensor of n elements has mean alpha exactly 1/n, so the quantiles are reported
 * times n: 1 means "an average element", and AGR shrinks an element by the factor (1 - alpha).
 */
export interface AlphaPoint {
  step: number;
  layer: string;
  size: number;
  /** Quantiles of n * alpha. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The largest alpha itself: the strongest shrinkage AGR applies in this tensor. */
  maxAlpha: number;
}

/** One-step counterfactual of one tensor (the ablation experiment): AGR's relative change to its update. */
export interface CounterfactualPoint {
  step: number;
  layer: string;
  size: number;
  /** ||u(AGR(g)) - u(g)|| / ||u(g)||, both from the same optimizer state. */
  change: number;
}

/** The smoothness experiment's probe along one step, at one step multiple (0: the starting point). */
export interface SmoothnessPoint {
  step: number;
  multiple: number;
  /** ||grad L(theta + s d) - grad L(theta)|| / ||s d|| (NaN at s = 0). */
  smoothness: number;
  loss: number;
}

/** The largest Hessian eigenvalue (by magnitude) of the probe batch's loss at one step. */
export interface CurvaturePoint {
  step: number;
  eigenvalue: number;
}

/** Everything recorded while training one arm with one seed; serialisable to JSON. */
export interface RunLog {
  losses: LossPoint[];
  evals: Array<{ step: number } & Record<string, number>>;
  gradNorms: GradNormPoint[];
  alpha: AlphaPoint[];
  /** Seconds spent in training steps only (forward, backward, optimizer), not in evaluation or probes. */
  trainSeconds: number;
  /** First step at which the smoothed training loss reached the preset's target, if it did. */
  stepsToTarget: number | null;
  /**
   * The step whose training loss was first NaN or infinite: the run diverged and training stopped
   * there (a failure the reports count). Absent in logs written before it was recorded.
   */
  divergedAt?: number | null;
  /** The ablation experiment's counterfactual probes (absent elsewhere). */
  counterfactual?: CounterfactualPoint[];
  /** The smoothness experiment's probes (absent elsewhere). */
  smoothness?: SmoothnessPoint[];
  curvature?: CurvaturePoint[];
  /** Smoothed training loss (exponential moving average, bias-corrected). */
  smoothedLoss: number;
  lossAverager: { sum: number; count: number; ema: number; emaSteps: number };
}

export function emptyLog(): RunLog {
  return {
    losses: [],
    evals: [],
    gradNorms: [],
    alpha: [],
    trainSeconds: 0,
    stepsToTarget: null,
    divergedAt: null,
    smoothedLoss: Number.NaN,
    lossAverager: { sum: 0, count: 0, ema: 0, emaSteps: 0 },
  };
}

/** Weight of the old value in the smoothed training loss. */
export const EMA_DECAY = 0.98;

/**
 * Adds one step's loss: averaged into the curve every `logEvery` steps, and into the smoothed
 * loss that decides "steps to reach the target" (raw per-batch losses are too noisy for that).
 */
export function recordLoss(log: RunLog, step: number, loss: number, logEvery: number, target?: number): void {
  if (!Number.isFinite(loss)) {
    log.divergedAt ??= step;
    log.losses.push({ step, loss });
    return;
  }
  const a = log.lossAverager;
  a.sum += loss;
  a.count += 1;
  a.ema = EMA_DECAY * a.ema + (1 - EMA_DECAY) * loss;
  a.emaSteps += 1;
  log.smoothedLoss = a.ema / (1 - EMA_DECAY ** a.emaSteps);
  if (target !== undefined && log.stepsToTarget === null && log.smoothedLoss <= target)
    log.stepsToTarget = step;
  if (a.count >= logEvery) {
    log.losses.push({ step, loss: a.sum / a.count });
    a.sum = 0;
    a.count = 0;
  }
}

function quantile(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/**
 * Records, for each parameter with a gradient, the gradient norm before and after AGR and the
 * distribution of alpha. Called on the raw gradients, before the optimizer step, so it sees what
 * AGR sees whether or not the arm uses AGR.
 */
export function probeGradients(log: RunLog, step: number, params: Iterable<readonly [string, Tensor]>): void {
  noGrad(() => {
    for (const [layer, p] of params) {
      if (!p.grad) continue;
      const g = p.grad.to('float64');
      const alpha = agrCoefficients(g);
      const before = Math.sqrt(g.mul(g).sum().item());
      const shrunk = g.mul(alpha.neg().add(1));
      const after = Math.sqrt(shrunk.mul(shrunk).sum().item());
      log.gradNorms.push({ step, layer, before, after });
      const sorted = Float64Array.from(alpha.data as Float64Array).sort();
      const n = sorted.length;
      log.alpha.push({
        step,
        layer,
        size: n,
        p50: quantile(sorted, 0.5) * n,
        p90: quantile(sorted, 0.9) * n,
        p99: quantile(sorted, 0.99) * n,
        max: sorted[n - 1] * n,
        maxAlpha: sorted[n - 1],
      });
    }
  });
}
