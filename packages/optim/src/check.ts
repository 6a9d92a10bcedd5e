import { checkValue, type Rule, rules } from '@agrad/tensor';
import type { LearningRate, Schedule } from './transform.js';

/** The option rules optimizers and transforms share (see @agrad/tensor's checkOptions). */

/** A learning rate: a finite number >= 0, or a schedule (a function of the step). */
export const learningRate: Rule = rules.either(rules.nonNegative, rules.func);

/** Decay rates of moving averages: n numbers in [0, 1). */
export function betas(count: number): Rule {
  return rules.tuple(count, rules.inRange(0, 1, { below: true }));
}

/** eps > 0: with 0 a zero second moment divides 0 by 0. */
export const eps = rules.positive;
export const weightDecay = rules.nonNegative;

/**
 * The learning rate a schedule gives at `step`, checked: a schedule that returns NaN, a negative
 * or an infinite value would otherwise send it straight into the parameters.
 */
export function rateAt(op: string, schedule: Schedule, step: number): number {
  const rate = schedule(step);
  checkValue(op, `the learning rate at step ${step}`, rate, rules.nonNegative);
  return rate;
}

/** Checks a learning rate option now, including a schedule's first value. */
export function checkLearningRate(op: string, lr: LearningRate): void {
  checkValue(op, 'lr', lr, learningRate);
  if (typeof lr === 'function') rateAt(op, lr, 0);
}
