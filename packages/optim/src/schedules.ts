import { checkOptions, checkValue, rules } from '@agrad/tensor';
import type { Schedule } from './transform.js';

/**
 * Learning-rate schedules: functions of the 0-based step (updates done so far), as in optax.
 * Pass one wherever an `lr` is taken: `adamw({ lr: warmupCosineDecay({ ... }) })`.
 */

export function constant(value: number): Schedule {
  checkValue('constant', 'value', value, rules.finite);
  return () => value;
}

/** Linear from `init` to `peak` over `warmupSteps`, then `peak`. */
export function linearWarmup(peak: number, warmupSteps: number, init = 0): Schedule {
  checkValue('linearWarmup', 'peak', peak, rules.finite);
  checkValue('linearWarmup', 'warmupSteps', warmupSteps, rules.count);
  checkValue('linearWarmup', 'init', init, rules.finite);
  return (step) => (step >= warmupSteps ? peak : init + ((peak - init) * step) / warmupSteps);
}

/** Half a cosine from `init` down to `init * alpha` over `decaySteps`, then constant. */
export function cosineDecay(init: number, decaySteps: number, alpha = 0): Schedule {
  checkValue('cosineDecay', 'init', init, rules.finite);
  checkValue('cosineDecay', 'decaySteps', decaySteps, rules.positiveInteger);
  checkValue('cosineDecay', 'alpha', alpha, rules.finite);
  return (step) => {
    const progress = Math.min(step, decaySteps) / decaySteps;
    const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
    return init * ((1 - alpha) * cosine + alpha);
  };
}

/**
 * Linear warm-up from `init` to `peak` over `warmupSteps`, then cosine decay to `end` at
 * `decaySteps` (counted from step 0, warm-up included, as optax).
 */
export function warmupCosineDecay(options: {
  peak: number;
  warmupSteps: number;
  decaySteps: number;
  init?: number;
  end?: number;
}): Schedule {
  checkOptions('warmupCosineDecay', options, {
    peak: rules.required(rules.finite),
    warmupSteps: rules.required(rules.count),
    decaySteps: rules.required(rules.positiveInteger),
    init: rules.finite,
    end: rules.finite,
  });
  const { peak, warmupSteps, decaySteps, init = 0, end = 0 } = options;
  if (decaySteps <= warmupSteps) {
    throw new RangeError(
      `warmupCosineDecay: decaySteps (${decaySteps}) must exceed warmupSteps (${warmupSteps})`,
    );
  }
  const warmup = linearWarmup(peak, warmupSteps, init);
  return (step) => {
    if (step < warmupSteps) return warmup(step);
    const progress = Math.min(step - warmupSteps, decaySteps - warmupSteps) / (decaySteps - warmupSteps);
    return end + (peak - end) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** `init * gamma^floor(step / stepSize)`, as torch's StepLR. */
export function stepDecay(init: number, stepSize: number, gamma = 0.1): Schedule {
  checkValue('stepDecay', 'init', init, rules.finite);
  checkValue('stepDecay', 'stepSize', stepSize, rules.positiveInteger);
  checkValue('stepDecay', 'gamma', gamma, rules.nonNegative);
  return (step) => init * gamma ** Math.floor(step / stepSize);
}

/**
 * `init * (startFactor + (endFactor - startFactor) * min(step, totalIters) / totalIters)`, as
 * torch's LinearLR (defaults 1/3, 1 and 5 as there).
 */
export function linearLR(
  init: number,
  options: { startFactor?: number; endFactor?: number; totalIters?: number } = {},
): Schedule {
  checkValue('linearLR', 'init', init, rules.finite);
  checkOptions('linearLR', options, {
    startFactor: rules.inRange(0, 1, { above: true }),
    endFactor: rules.inRange(0, 1),
    totalIters: rules.positiveInteger,
  });
  const { startFactor = 1 / 3, endFactor = 1, totalIters = 5 } = options;
  return (step) =>
    init * (startFactor + ((endFactor - startFactor) * Math.min(step, totalIters)) / totalIters);
}

/** `init * gamma^step`, as torch's ExponentialLR. */
export function exponentialLR(init: number, gamma: number): Schedule {
  checkValue('exponentialLR', 'init', init, rules.finite);
  checkValue('exponentialLR', 'gamma', gamma, rules.nonNegative);
  return (step) => init * gamma ** step;
}

/** oneCycle's peak rate, total steps, warm-up fraction, annealing strategy, start and end divisors and three-phase mode, as torch's OneCycleLR. */
export interface OneCycleOptions {
  /** The peak learning rate. */
  maxLr: number;
  /** The steps in the cycle; the schedule refuses steps past it, as torch does. */
  totalSteps: number;
  /** The share of the steps spent rising to maxLr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear' interpolation within each phase. */
  annealStrategy?: 'cos' | 'linear';
  /** The first learning rate is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The last is that / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Rise, fall back to the first rate, then anneal to the last (fast.ai's form); default false. */
  threePhase?: boolean;
}

/**
 * The 1cycle learning rate (Smith & Topin, 2017), as torch's OneCycleLR computes it: up from
 * maxLr / divFactor to maxLr over the first pctStart of the steps, then down to
 * maxLr / divFactor / finalDivFactor (with threePhase, back to the first rate before that). Phase
 * k ends at step pctStart * totalSteps * k - k. Only the learning rate: torch's default also
 * cycles the momentum (cycle_momentum), which agrad's optimizers take as a constant.
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  checkOptions('oneCycle', options, {
    maxLr: rules.required(rules.nonNegative),
    totalSteps: rules.required(rules.positiveInteger),
    pctStart: rules.probability,
    annealStrategy: rules.oneOf('cos', 'linear'),
    divFactor: rules.positive,
    finalDivFactor: rules.positive,
    threePhase: rules.boolean,
  });
  const { maxLr, totalSteps, pctStart = 0.3, annealStrategy = 'cos', threePhase = false } = options;
  const { divFactor = 25, finalDivFactor = 1e4 } = options;
  const initial = maxLr / divFactor;
  const last = initial / finalDivFactor;
  const rise = pctStart * totalSteps - 1;
  const phases = threePhase
    ? [
        { end: rise, from: initial, to: maxLr },
        { end: 2 * pctStart * totalSteps - 2, from: maxLr, to: initial },
        { end: totalSteps - 1, from: initial, to: last },
      ]
    : [
        { end: rise, from: initial, to: maxLr },
        { end: totalSteps - 1, from: maxLr, to: last },
      ];
  // A phase of no length would divide by zero at its end (torch fails there too, at that step).
  phases.forEach((phase, k) => {
    const start = k === 0 ? 0 : phases[k - 1].end;
    if (!(phase.end > start)) {
      throw new RangeError(
        `oneCycle: phase ${k + 1} of ${phases.length} would end at step ${phase.end}, not after its start ${start}: totalSteps (${totalSteps}) and pctStart (${pctStart}) leave it no steps`,
      );
    }
  });
  const anneal =
    annealStrategy === 'cos'
      ? (from: number, to: number, pct: number) => to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1)
      : (from: number, to: number, pct: number) => (to - from) * pct + from;
  return (step) => {
    if (step > totalSteps) {
      throw new RangeError(`oneCycle: step ${step} is past the cycle's totalSteps (${totalSteps})`);
    }
    let start = 0;
    for (let k = 0; k < phases.length; k++) {
      const { end, from, to } = phases[k];
      if (step <= end || k === phases.length - 1) return anneal(from, to, (step - start) / (end - start));
      start = end;
    }
    return last; // unreachable: the last phase always answers
  };
}
