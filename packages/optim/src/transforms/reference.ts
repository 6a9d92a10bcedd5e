import { maximum, type Tensor, zerosLike } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import * as check from '../check.js';
import {
  type GradientTransformation,
  type LearningRate,
  perParameter,
  stateless,
  toSchedule,
} from '../transform.js';

/**
 * Reference versions of the building blocks, composed from tensor ops exactly as the rules are
 * written. The transforms in ./scale.ts run the same rules as fused loops; the tests check each
 * fused transform against its reference here.
 *
 * The building blocks optimizers are chained from. Each keeps its own per-parameter state,
 * including PyTorch's per-parameter `step` where the rule needs it. Comments give the rule
 * line for line with the code; `g` is the incoming update (the gradient at a chain's head).
 */

/** u <- factor * u */
export function scale(factor: number): GradientTransformation<null> {
  checkValue('scale', 'factor', factor, rules.finite);
  return stateless((u) => u.mul(factor));
}

/** u <- u + wd * p (before the moments: coupled L2 as in torch Adam/SGD; after: decoupled, as AdamW). */
export function addDecayedWeights(weightDecay: number): GradientTransformation<null> {
  checkValue('addDecayedWeights', 'weightDecay', weightDecay, rules.finite);
  if (weightDecay === 0) return stateless((u) => u);
  return stateless((u, p) => u.add(p.mul(weightDecay)));
}

/** u <- -lr(step) * u, with the step counted per parameter from 0. */
export function scaleByLearningRate(
  lr: LearningRate,
): GradientTransformation<Record<string, { step: number }>> {
  check.checkLearningRate('scaleByLearningRate', lr);
  const schedule = toSchedule(lr);
  return perParameter(
    () => ({ step: 0 }),
    (u, state) => [
      u.mul(-check.rateAt('scaleByLearningRate', schedule, state.step)),
      { step: state.step + 1 },
    ],
    schedule,
  );
}

/**
 * Heavy-ball momentum, torch SGD's buffer:
 *     b <- g                           at the first step
 *     b <- mu * b + (1 - dampening) g  afterwards
 *     u <- g + mu * b  (nesterov)  or  u <- b
 */
export function trace(options: { momentum: number; dampening?: number; nesterov?: boolean }) {
  checkOptions('trace', options, traceRules);
  const { momentum, dampening = 0, nesterov = false } = options;
  return perParameter<{ buffer: Tensor | null }>(
    () => ({ buffer: null }),
    (g, state) => {
      const buffer = state.buffer === null ? g : state.buffer.mul(momentum).add(g.mul(1 - dampening));
      return [nesterov ? g.add(buffer.mul(momentum)) : buffer, { buffer }];
    },
  );
}

export const traceRules = {
  momentum: rules.required(rules.nonNegative),
  dampening: rules.probability,
  nesterov: rules.boolean,
};

export interface AdamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq: Tensor | null;
}

/**
 * Adam's scaling (Kingma & Ba, 2015), as torch.optim.Adam computes it:
 *     t <- t + 1
 *     m <- b1 m + (1 - b1) g
 *     v <- b2 v + (1 - b2) g^2
 *     vmax <- max(vmax, v)                      (amsgrad; then v := vmax below)
 *     u <- (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
export function scaleByAdam(options: { betas?: [number, number]; eps?: number; amsgrad?: boolean } = {}) {
  checkOptions('scaleByAdam', options, { betas: check.betas(2), eps: check.eps, amsgrad: rules.boolean });
  const [b1, b2] = options.betas ?? [0.9, 0.999];
  const eps = options.eps ?? 1e-8;
  const amsgrad = options.amsgrad ?? false;
  return perParameter<AdamState>(
    (p) => ({
      step: 0,
      expAvg: zerosLike(p),
      expAvgSq: zerosLike(p),
      maxExpAvgSq: amsgrad ? zerosLike(p) : null,
    }),
    (g, s) => {
      const step = s.step + 1;
      const expAvg = s.expAvg.mul(b1).add(g.mul(1 - b1));
      const expAvgSq = s.expAvgSq.mul(b2).add(g.mul(g).mul(1 - b2));
      const maxExpAvgSq = s.maxExpAvgSq ? maximum(s.maxExpAvgSq, expAvgSq) : null;
      const denom = (maxExpAvgSq ?? expAvgSq)
        .sqrt()
        .div(Math.sqrt(1 - b2 ** step))
        .add(eps);
      return [expAvg.div(1 - b1 ** step).div(denom), { step, expAvg, expAvgSq, maxExpAvgSq }];
    },
  );
}

export interface AdanState {
  step: number;
  expAvg: Tensor;
  expAvgDiff: Tensor;
  expAvgSq: Tensor;
  previousGrad: Tensor | null;
}

/**
 * Adan's scaling (Xie et al., 2022), as the official sail-sg/Adan code computes it (betas as in
 * that code, defaults 0.98, 0.92, 0.99; the paper writes 1 minus these):
 *     k <- k + 1
 *     d <- g - g_prev                          (0 at the first step)
 *     m <- b1 m + (1 - b1) g
 *     v <- b2 v + (1 - b2) d
 *     n <- b3 n + (1 - b3) (g + b2 d)^2
 *     denom = sqrt(n) / sqrt(1 - b3^k) + eps
 *     u <- (m / (1 - b1^k) + b2 * v / (1 - b2^k)) / denom
 * Note: optax's scale_by_adan weights d by (1 - b2) in n; the official code (followed here) by b2.
 */
export function scaleByAdan(options: { betas?: [number, number, number]; eps?: number } = {}) {
  checkOptions('scaleByAdan', options, { betas: check.betas(3), eps: check.eps });
  const [b1, b2, b3] = options.betas ?? [0.98, 0.92, 0.99];
  const eps = options.eps ?? 1e-8;
  return perParameter<AdanState>(
    (p) => ({
      step: 0,
      expAvg: zerosLike(p),
      expAvgDiff: zerosLike(p),
      expAvgSq: zerosLike(p),
      previousGrad: null,
    }),
    (g, s) => {
      const step = s.step + 1;
      const diff = s.previousGrad === null ? zerosLike(g) : g.sub(s.previousGrad);
      const expAvg = s.expAvg.mul(b1).add(g.mul(1 - b1));
      const expAvgDiff = s.expAvgDiff.mul(b2).add(diff.mul(1 - b2));
      const corrected = g.add(diff.mul(b2));
      const expAvgSq = s.expAvgSq.mul(b3).add(corrected.mul(corrected).mul(1 - b3));
      const denom = expAvgSq
        .sqrt()
        .div(Math.sqrt(1 - b3 ** step))
        .add(eps);
      const u = expAvg
        .div(1 - b1 ** step)
        .add(expAvgDiff.div(1 - b2 ** step).mul(b2))
        .div(denom);
      return [u, { step, expAvg, expAvgDiff, expAvgSq, previousGrad: g }];
    },
  );
}

/**
 * Adan's default (proximal) weight decay, applied after the learning rate would be:
 *     p_new = (p - lr * u) / (1 + lr * wd),   so the update is p_new - p.
 */
export function scaleByLearningRateProximal(lr: LearningRate, weightDecay: number) {
  check.checkLearningRate('scaleByLearningRateProximal', lr);
  checkValue('scaleByLearningRateProximal', 'weightDecay', weightDecay, check.weightDecay);
  const schedule = toSchedule(lr);
  return perParameter<{ step: number }>(
    () => ({ step: 0 }),
    (u, state, p) => {
      const rate = check.rateAt('scaleByLearningRateProximal', schedule, state.step);
      const next = p.sub(u.mul(rate)).div(1 + rate * weightDecay);
      return [next.sub(p), { step: state.step + 1 }];
    },
    schedule,
  );
}

/**
 * Lion's scaling (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"):
 *     c <- b1 m + (1 - b1) g;   u <- sign(c)
 *     m <- b2 m + (1 - b2) g
 */
export function scaleByLion(options: { betas?: [number, number] } = {}) {
  checkOptions('scaleByLion', options, { betas: check.betas(2) });
  const [b1, b2] = options.betas ?? [0.9, 0.99];
  return perParameter<{ expAvg: Tensor }>(
    (p) => ({ expAvg: zerosLike(p) }),
    (g, s) => {
      const u = s.expAvg
        .mul(b1)
        .add(g.mul(1 - b1))
        .sign();
      return [u, { expAvg: s.expAvg.mul(b2).add(g.mul(1 - b2)) }];
    },
  );
}

/**
 * RMSprop's scaling (Hinton), as torch.optim.RMSprop computes it:
 *     sq <- alpha sq + (1 - alpha) g^2
 *     centered:  ga <- alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps
 *     otherwise: avg = sqrt(sq) + eps
 *     u <- g / avg
 */
export function scaleByRms(options: { alpha?: number; eps?: number; centered?: boolean } = {}) {
  checkOptions('scaleByRms', options, { alpha: rules.probability, eps: check.eps, centered: rules.boolean });
  const { alpha = 0.99, eps = 1e-8, centered = false } = options;
  return perParameter<{ squareAvg: Tensor; gradAvg: Tensor | null }>(
    (p) => ({ squareAvg: zerosLike(p), gradAvg: centered ? zerosLike(p) : null }),
    (g, s) => {
      const squareAvg = s.squareAvg.mul(alpha).add(g.mul(g).mul(1 - alpha));
      const gradAvg = s.gradAvg ? s.gradAvg.mul(alpha).add(g.mul(1 - alpha)) : null;
      const variance = gradAvg ? squareAvg.sub(gradAvg.mul(gradAvg)) : squareAvg;
      return [g.div(variance.sqrt().add(eps)), { squareAvg, gradAvg }];
    },
  );
}

/**
 * Adagrad's scaling (Duchi et al., 2011), as torch.optim.Adagrad computes it:
 *     sum <- sum + g^2;   u <- g / (sqrt(sum) + eps)
 */
export function scaleByAdagrad(options: { initialAccumulatorValue?: number; eps?: number } = {}) {
  checkOptions('scaleByAdagrad', options, { initialAccumulatorValue: rules.nonNegative, eps: check.eps });
  const { initialAccumulatorValue = 0, eps = 1e-10 } = options;
  return perParameter<{ sum: Tensor }>(
    (p) => ({ sum: zerosLike(p).add(initialAccumulatorValue) }),
    (g, s) => {
      const sum = s.sum.add(g.mul(g));
      return [g.div(sum.sqrt().add(eps)), { sum }];
    },
  );
}
