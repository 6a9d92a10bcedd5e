import { chain, type GradientTransformation, type LearningRate, toSchedule } from './transform.js';
import {
  addDecayedWeights,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdan,
  scaleByLearningRate,
  scaleByLearningRateProximal,
  scaleByLion,
  scaleByRms,
  trace,
} from './transforms/scale.js';

/**
 * Optimizers, each a chain of the building blocks in ./transforms, with PyTorch's defaults and
 * semantics (Adan follows its official code). Hyper-parameters are checked here, at
 * construction, with the value and the rule in the message. Put `agr()` in front of any of them:
 *
 *     chain(agr(), adamw({ lr: 1e-3 }))
 */

function check(op: string, name: string, value: number, ok: boolean, rule: string): void {
  if (!ok || Number.isNaN(value)) throw new RangeError(`${op}: invalid ${name} ${value}: ${rule}`);
}

function checkLr(op: string, lr: LearningRate): void {
  if (typeof lr === 'number') check(op, 'learning rate', lr, lr >= 0, 'must be >= 0');
  else check(op, 'learning rate at step 0', lr(0), lr(0) >= 0, 'must be >= 0');
}

function checkBetas(op: string, betas: readonly number[]): void {
  betas.forEach((b, i) => check(op, `beta ${i}`, b, b >= 0 && b < 1, 'must be in [0, 1)'));
}

function checkEps(op: string, eps: number): void {
  check(op, 'eps', eps, eps > 0, 'must be > 0');
}

function checkWeightDecay(op: string, weightDecay: number): void {
  check(op, 'weight decay', weightDecay, weightDecay >= 0, 'must be >= 0');
}

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
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
  checkLr('sgd', lr);
  check('sgd', 'momentum', momentum, momentum >= 0, 'must be >= 0');
  checkWeightDecay('sgd', weightDecay);
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(
      `sgd: nesterov needs momentum > 0 and dampening = 0, got momentum ${momentum} and dampening ${dampening}`,
    );
  }
  return chain(
    addDecayedWeights(weightDecay),
    ...(momentum > 0 ? [trace({ momentum, dampening, nesterov })] : []),
    scaleByLearningRate(lr),
  );
}

export interface AdamOptions {
  lr?: LearningRate;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

/** Adam as torch.optim.Adam: weight decay is coupled L2 (g + wd p) before the moments. */
export function adam(options: AdamOptions = {}): GradientTransformation {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, amsgrad = false } = options;
  checkLr('adam', lr);
  checkBetas('adam', betas);
  checkEps('adam', eps);
  checkWeightDecay('adam', weightDecay);
  return chain(addDecayedWeights(weightDecay), scaleByAdam({ betas, eps, amsgrad }), scaleByLearningRate(lr));
}

/**
 * AdamW as torch.optim.AdamW (Loshchilov & Hutter, 2019): decoupled weight decay,
 *     p <- p - lr (m_hat / (sqrt(v_hat) + eps) + wd p),  default wd 1e-2.
 */
export function adamw(options: AdamOptions = {}): GradientTransformation {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2, amsgrad = false } = options;
  checkLr('adamw', lr);
  checkBetas('adamw', betas);
  checkEps('adamw', eps);
  checkWeightDecay('adamw', weightDecay);
  return chain(scaleByAdam({ betas, eps, amsgrad }), addDecayedWeights(weightDecay), scaleByLearningRate(lr));
}

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
  const { lr = 1e-3, betas = [0.98, 0.92, 0.99], eps = 1e-8, weightDecay = 0, noProx = false } = options;
  checkLr('adan', lr);
  checkBetas('adan', betas);
  checkEps('adan', eps);
  checkWeightDecay('adan', weightDecay);
  const scaling = scaleByAdan({ betas, eps });
  return noProx
    ? chain(scaling, addDecayedWeights(weightDecay), scaleByLearningRate(lr))
    : chain(scaling, scaleByLearningRateProximal(lr, weightDecay));
}

export interface LionOptions {
  lr?: LearningRate;
  betas?: [number, number];
  weightDecay?: number;
}

/** Lion (Chen et al., 2023): p <- p (1 - lr wd) - lr sign(b1 m + (1 - b1) g); m <- b2 m + (1 - b2) g. */
export function lion(options: LionOptions = {}): GradientTransformation {
  const { lr = 1e-4, betas = [0.9, 0.99], weightDecay = 0 } = options;
  checkLr('lion', lr);
  checkBetas('lion', betas);
  checkWeightDecay('lion', weightDecay);
  return chain(scaleByLion({ betas }), addDecayedWeights(weightDecay), scaleByLearningRate(lr));
}

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
  const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false } = options;
  checkLr('rmsprop', lr);
  check('rmsprop', 'alpha', alpha, alpha >= 0, 'must be >= 0');
  checkEps('rmsprop', eps);
  checkWeightDecay('rmsprop', weightDecay);
  check('rmsprop', 'momentum', momentum, momentum >= 0, 'must be >= 0');
  return chain(
    addDecayedWeights(weightDecay),
    scaleByRms({ alpha, eps, centered }),
    // torch's RMSprop buffer starts at 0, so its first value is g/avg: the same as trace's.
    ...(momentum > 0 ? [trace({ momentum })] : []),
    scaleByLearningRate(lr),
  );
}

export interface AdagradOptions {
  lr?: LearningRate;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
}

/** Adagrad as torch.optim.Adagrad: step size lr / (1 + (t - 1) lrDecay). */
export function adagrad(options: AdagradOptions = {}): GradientTransformation {
  const { lr = 1e-2, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10 } = options;
  checkLr('adagrad', lr);
  check('adagrad', 'lrDecay', lrDecay, lrDecay >= 0, 'must be >= 0');
  checkWeightDecay('adagrad', weightDecay);
  check(
    'adagrad',
    'initialAccumulatorValue',
    initialAccumulatorValue,
    initialAccumulatorValue >= 0,
    'must be >= 0',
  );
  checkEps('adagrad', eps);
  const schedule = toSchedule(lr);
  return chain(
    addDecayedWeights(weightDecay),
    scaleByAdagrad({ initialAccumulatorValue, eps }),
    scaleByLearningRate((step) => schedule(step) / (1 + step * lrDecay)),
  );
}
