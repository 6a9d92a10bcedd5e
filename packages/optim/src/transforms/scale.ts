import { type Tensor, zerosLike } from '@agrad/autograd';
import { rateAt } from '../check.js';
import { adamUpdate, adanUpdate, fusedOnHost, momentumUpdate, scaleAndDecay } from '../fused.js';
import {
  type GradientTransformation,
  type LearningRate,
  perParameter,
  stateless,
  toSchedule,
} from '../transform.js';
import type { AdamState, AdanState } from './reference.js';
import * as reference from './reference.js';

/**
 * The building blocks optimizers are chained from. Each keeps its own per-parameter state,
 * including PyTorch's per-parameter `step` where the rule needs it. The rules are written out,
 * line for line, as composed tensor ops in ./reference.ts; the hot ones here run the same rules
 * as fused loops (../fused.ts), and the tests check each against its reference.
 */
export { scale, scaleByAdagrad, scaleByLearningRateProximal, scaleByLion, scaleByRms } from './reference.js';
export type { AdamState, AdanState };

/** u <- u + wd * p (before the moments: coupled L2 as in torch Adam/SGD; after: decoupled, as AdamW). */
function fusedAddDecayedWeights(weightDecay: number): GradientTransformation<null> {
  if (weightDecay === 0) return stateless((u) => u);
  return stateless((u, p) => scaleAndDecay(u, 1, p, weightDecay));
}

/** u <- -lr(step) * u, with the step counted per parameter from 0. */
function fusedScaleByLearningRate(
  lr: LearningRate,
): GradientTransformation<Record<string, { step: number }>> {
  const schedule = toSchedule(lr);
  return perParameter(
    () => ({ step: 0 }),
    (u, state) => [
      scaleAndDecay(u, -rateAt('scaleByLearningRate', schedule, state.step), null, 0),
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
function fusedTrace(options: { momentum: number; dampening?: number; nesterov?: boolean }) {
  const { momentum, dampening = 0, nesterov = false } = options;
  return perParameter<{ buffer: Tensor | null }>(
    () => ({ buffer: null }),
    (g, state) => {
      const { update, buffer } = momentumUpdate(g, state.buffer, momentum, dampening, nesterov);
      return [update, { buffer }];
    },
  );
}

/**
 * Adam's scaling (Kingma & Ba, 2015), as torch.optim.Adam computes it:
 *     t <- t + 1
 *     m <- b1 m + (1 - b1) g
 *     v <- b2 v + (1 - b2) g^2
 *     vmax <- max(vmax, v)                      (amsgrad; then v := vmax below)
 *     u <- (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
function fusedScaleByAdam(options: { betas?: [number, number]; eps?: number; amsgrad?: boolean } = {}) {
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
      const { update, ...moments } = adamUpdate(g, s.expAvg, s.expAvgSq, s.maxExpAvgSq, b1, b2, eps, step);
      return [update, { step, ...moments }];
    },
  );
}

/**
 * Adan's scaling (Xie et al., 2022), as the official sail-sg/Adan code computes it (betas as in
 * that code, defaults 0.98, 0.92, 0.99; the paper writes 1 minus these):
 *     k <- k + 1
 *     d <- g - g_prev                          (0 at the first step)
 *     m <- b1 m + (1 - b1) g
 *     v <- b2 v + (1 - b2) d
 *     n <- b3 n + (1 - b3) (g + b2 d)^2
 *     u <- (m / (1 - b1^k) + b2 * v / (1 - b2^k)) / (sqrt(n) / sqrt(1 - b3^k) + eps)
 * Note: optax's scale_by_adan weights d by (1 - b2) in n; the official code (followed here) by b2.
 */
function fusedScaleByAdan(options: { betas?: [number, number, number]; eps?: number } = {}) {
  const betas = options.betas ?? [0.98, 0.92, 0.99];
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
      const { update, ...moments } = adanUpdate(g, s, betas, eps, step);
      return [update, { step, ...moments, previousGrad: g }];
    },
  );
}

// The exported transforms: fused loops on the CPU, the composed reference rules on other backends.

/** u <- u + wd * p (before the moments: coupled L2 as in torch Adam/SGD; after: decoupled, as AdamW). */
export function addDecayedWeights(weightDecay: number): GradientTransformation<null> {
  return fusedOnHost(fusedAddDecayedWeights(weightDecay), reference.addDecayedWeights(weightDecay));
}

/** u <- -lr(step) * u, with the step counted per parameter from 0. */
export function scaleByLearningRate(
  lr: LearningRate,
): GradientTransformation<Record<string, { step: number }>> {
  return fusedOnHost(fusedScaleByLearningRate(lr), reference.scaleByLearningRate(lr));
}

/** Heavy-ball momentum (see fusedTrace). */
export function trace(options: { momentum: number; dampening?: number; nesterov?: boolean }) {
  return fusedOnHost(fusedTrace(options), reference.trace(options));
}

/** Adam's scaling (see fusedScaleByAdam). */
export function scaleByAdam(options: { betas?: [number, number]; eps?: number; amsgrad?: boolean } = {}) {
  return fusedOnHost(fusedScaleByAdam(options), reference.scaleByAdam(options));
}

/** Adan's scaling (see fusedScaleByAdan). */
export function scaleByAdan(options: { betas?: [number, number, number]; eps?: number } = {}) {
  return fusedOnHost(fusedScaleByAdan(options), reference.scaleByAdan(options));
}
