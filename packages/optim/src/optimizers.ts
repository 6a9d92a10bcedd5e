import { checkOptions, rules } from '@agrad/tensor';
import * as check from './check.js';
import { checkLearningRate, learningRate } from './check.js';
import { chain, type GradientTransformation, type LearningRate, toSchedule } from './transform.js';
import {
  addDecayedWeights,
  blockOptions,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdan,
  scaleByLearningRate,
  scaleByLearningRateProximal,
  scaleByLion,
  scaleByNadam,
  scaleByRadam,
  scaleByRms,
  trace,
} from './transforms/blocks.js';

/**
 * Optimizers, each a chain of the building blocks in ./transforms, with PyTorch's defaults and
 * semantics (Adan follows its official code). Options are checked here, at construction: an
 * unknown key, a missing lr, a value of the wrong type or out of its range (NaN and infinity
 * included) throws, naming the option, the value and the rule. Put `agr()` in front of any of them:
 *
 *     chain(agr(), adamw({ lr: 1e-3 }))
 */

// The options each optimizer accepts, with their rules: its own (lr, weight decay), and those of
// the scaling block it wraps, whose defaults apply to what is not given (see ./transforms/blocks.ts).
const { scaleByAdam: adamBlock, scaleByAdan: adanBlock } = blockOptions;
const { scaleByLion: lionBlock, scaleByRms: rmsBlock, scaleByAdagrad: adagradBlock } = blockOptions;
const { scaleByNadam: nadamBlock, scaleByRadam: radamBlock } = blockOptions;
const adamRules = {
  lr: learningRate,
  betas: adamBlock.rules.betas,
  eps: adamBlock.rules.eps,
  weightDecay: check.weightDecay,
  amsgrad: adamBlock.rules.amsgrad,
};
const adanRules = {
  lr: learningRate,
  betas: adanBlock.rules.betas,
  eps: adanBlock.rules.eps,
  weightDecay: check.weightDecay,
  noProx: rules.boolean,
};
const lionRules = { lr: learningRate, betas: lionBlock.rules.betas, weightDecay: check.weightDecay };
const rmspropRules = {
  lr: learningRate,
  alpha: rmsBlock.rules.alpha,
  eps: rmsBlock.rules.eps,
  weightDecay: check.weightDecay,
  momentum: rules.nonNegative,
  centered: rmsBlock.rules.centered,
};
const adagradRules = {
  lr: learningRate,
  lrDecay: rules.nonNegative,
  weightDecay: check.weightDecay,
  initialAccumulatorValue: adagradBlock.rules.initialAccumulatorValue,
  eps: adagradBlock.rules.eps,
};
const nadamRules = {
  lr: learningRate,
  betas: nadamBlock.rules.betas,
  eps: nadamBlock.rules.eps,
  weightDecay: check.weightDecay,
  momentumDecay: nadamBlock.rules.momentumDecay,
};
const radamRules = {
  lr: learningRate,
  betas: radamBlock.rules.betas,
  eps: radamBlock.rules.eps,
  weightDecay: check.weightDecay,
};

/** sgd's options, as torch.optim.SGD's: learning rate (required), momentum, dampening, weight decay, Nesterov. */
export interface SgdOptions {
  lr: LearningRate;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * SGD as torch.optim.SGD (weight decay coupled into the gradient):
 *     g <- g + wd p;  b <- g (first step) or mu b + (1 - dampening) g;
 *     g <- g + mu b (nesterov) or b;   p <- p - lr g
 */
export function sgd(options: SgdOptions): GradientTransformation {
  checkOptions('sgd', options, {
    lr: rules.required(learningRate),
    momentum: rules.nonNegative,
    dampening: rules.probability,
    weightDecay: check.weightDecay,
    nesterov: rules.boolean,
  });
  const { lr, momentum = 0, dampening = 0, weightDecay: decay = 0, nesterov = false } = options;
  checkLearningRate('sgd', lr);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(
      `sgd: nesterov needs momentum > 0 and dampening = 0, got momentum ${momentum} and dampening ${dampening}`,
    );
  }
  return chain(
    addDecayedWeights(decay),
    ...(momentum > 0 ? [trace({ momentum, dampening, nesterov })] : []),
    scaleByLearningRate(lr),
  );
}

/** adam's and adamw's options, as torch.optim's: learning rate, betas, eps, weight decay, amsgrad. */
export interface AdamOptions {
  lr?: LearningRate;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** Adam as torch.optim.Adam: weight decay is coupled L2 (g + wd p) before the moments. */
export function adam(options: AdamOptions = {}): GradientTransformation {
  checkOptions('adam', options, adamRules);
  const { lr = 1e-3, weightDecay = 0, ...scaling } = options;
  checkLearningRate('adam', lr);
  return chain(addDecayedWeights(weightDecay), scaleByAdam(scaling), scaleByLearningRate(lr));
}

/**
 * AdamW as torch.optim.AdamW (Loshchilov & Hutter, 2019): decoupled weight decay,
 *     p <- p - lr (m_hat / (sqrt(v_hat) + eps) + wd p),  default wd 1e-2.
 */
export function adamw(options: AdamOptions = {}): GradientTransformation {
  checkOptions('adamw', options, adamRules);
  const { lr = 1e-3, weightDecay = 1e-2, ...scaling } = options;
  checkLearningRate('adamw', lr);
  return chain(scaleByAdam(scaling), addDecayedWeights(weightDecay), scaleByLearningRate(lr));
}

/** adan's options (Xie et al.): learning rate, three betas, eps, weight decay, and `noProx` for decay outside the proximal step. */
export interface AdanOptions {
  lr?: LearningRate;
  betas?: [number, number, number];
  eps?: number;
  weightDecay?: number;
  noProx?: boolean;
}

/**
 * Adan (Xie et al., 2022) as the official code: the scaling of `scaleByAdan`, then
 *     prox (default): p <- (p - lr u) / (1 + lr wd);    noProx: p <- p (1 - lr wd) - lr u.
 */
export function adan(options: AdanOptions = {}): GradientTransformation {
  checkOptions('adan', options, adanRules);
  const { lr = 1e-3, weightDecay = 0, noProx = false, ...adanScaling } = options;
  checkLearningRate('adan', lr);
  const scaling = scaleByAdan(adanScaling);
  return noProx
    ? chain(scaling, addDecayedWeights(weightDecay), scaleByLearningRate(lr))
    : chain(scaling, scaleByLearningRateProximal(lr, weightDecay));
}

/** lion's options (Chen et al.): learning rate, betas, weight decay. */
export interface LionOptions {
  lr?: LearningRate;
  betas?: [number, number];
  weightDecay?: number;
}

/** Lion (Chen et al., 2023): p <- p (1 - lr wd) - lr sign(b1 m + (1 - b1) g); m <- b2 m + (1 - b2) g. */
export function lion(options: LionOptions = {}): GradientTransformation {
  checkOptions('lion', options, lionRules);
  const { lr = 1e-4, weightDecay = 0, ...scaling } = options;
  checkLearningRate('lion', lr);
  return chain(scaleByLion(scaling), addDecayedWeights(weightDecay), scaleByLearningRate(lr));
}

/** rmsprop's options, as torch.optim.RMSprop's. */
export interface RmspropOptions {
  lr?: LearningRate;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
}

/** RMSprop as torch.optim.RMSprop: coupled weight decay, optional centering and momentum (b <- mu b + g/avg). */
export function rmsprop(options: RmspropOptions = {}): GradientTransformation {
  checkOptions('rmsprop', options, rmspropRules);
  const { lr = 1e-2, weightDecay = 0, momentum = 0, ...scaling } = options;
  checkLearningRate('rmsprop', lr);
  return chain(
    addDecayedWeights(weightDecay),
    scaleByRms(scaling),
    // torch's RMSprop buffer starts at 0, so its first value is g/avg: the same as trace's.
    ...(momentum > 0 ? [trace({ momentum })] : []),
    scaleByLearningRate(lr),
  );
}

/** adagrad's options, as torch.optim.Adagrad's. */
export interface AdagradOptions {
  lr?: LearningRate;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

/** Adagrad as torch.optim.Adagrad: step size lr / (1 + (t - 1) lrDecay). */
export function adagrad(options: AdagradOptions = {}): GradientTransformation {
  checkOptions('adagrad', options, adagradRules);
  const { lr = 1e-2, lrDecay = 0, weightDecay = 0, ...scaling } = options;
  checkLearningRate('adagrad', lr);
  const schedule = toSchedule(lr);
  return chain(
    addDecayedWeights(weightDecay),
    scaleByAdagrad(scaling),
    scaleByLearningRate((step) => schedule(step) / (1 + step * lrDecay)),
  );
}

/** nadam's options, as torch.optim.NAdam's. */
export interface NadamOptions {
  lr?: LearningRate;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  momentumDecay?: number;
}

/**
 * NAdam as torch.optim.NAdam (Dozat, 2016): Adam with Nesterov momentum whose coefficient warms
 * up by momentumDecay; weight decay is coupled L2 (g + wd p) before the moments. Default lr 2e-3.
 */
export function nadam(options: NadamOptions = {}): GradientTransformation {
  checkOptions('nadam', options, nadamRules);
  const { lr = 2e-3, weightDecay = 0, ...scaling } = options;
  checkLearningRate('nadam', lr);
  return chain(addDecayedWeights(weightDecay), scaleByNadam(scaling), scaleByLearningRate(lr));
}

/** radam's options, as torch.optim.RAdam's. */
export interface RadamOptions {
  lr?: LearningRate;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/**
 * RAdam as torch.optim.RAdam (Liu et al., 2020): Adam whose adaptive step is switched on, and
 * rectified, once the variance estimate is usable (rho_t > 5), plain momentum before; weight decay
 * is coupled L2 (g + wd p) before the moments.
 */
export function radam(options: RadamOptions = {}): GradientTransformation {
  checkOptions('radam', options, radamRules);
  const { lr = 1e-3, weightDecay = 0, ...scaling } = options;
  checkLearningRate('radam', lr);
  return chain(addDecayedWeights(weightDecay), scaleByRadam(scaling), scaleByLearningRate(lr));
}
