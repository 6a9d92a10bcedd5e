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
