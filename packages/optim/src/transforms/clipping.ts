import { div, noGrad, stack, type Tensor, tensor, where } from '@agrad/autograd';
import { checkOptions, checkValue, ops, rules } from '@agrad/tensor';
import { type ParamSource, paramRecord } from '../params.js';
import { type GradientTransformation, stateless } from '../transform.js';

/**
 * Clip by global norm, PyTorch's rule (torch.nn.utils.clip_grad_norm_):
 *     total = sqrt(sum over all tensors of ||g||^2)
 *     coef  = min(1, maxNorm / (total + 1e-6));   g <- g * coef
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<null> {
  checkValue('clipByGlobalNorm', 'maxNorm', maxNorm, rules.positive);
  return {
    init: () => null,
    update: (updates, state) =>
      noGrad(() => {
        const grads = Object.entries(updates);
        const coef = ops.onHost(...grads.map(([, g]) => g.array))
          ? hostCoefficient(
              grads.map(([, g]) => g),
              maxNorm,
            )
          : deviceCoefficient(
              grads.map(([, g]) => g),
              maxNorm,
            );
        return { updates: Object.fromEntries(grads.map(([name, g]) => [name, g.mul(coef)])), state };
      }),
  };
}

/** The clipping coefficient as a number, the norm summed in float64 on the host. */
function hostCoefficient(grads: Tensor[], maxNorm: number): number {
  const total = Math.sqrt(grads.reduce((sum, g) => sum + g.to('float64').pow(2).sum().item(), 0));
  return Math.min(1, maxNorm / (total + 1e-6));
}

/** The same as a 0-d tensor on a GPU backend: no read-back (and float32, which is all it has). */
function deviceCoefficient(grads: Tensor[], maxNorm: number): Tensor {
  const total = grads
    .map((g) => g.pow(2).sum())
    .reduce((a, b) => a.add(b))
    .sqrt();
  return div(maxNorm, total.add(1e-6)).minimum(1);
}

/** L2 norm over every dim but the first (the whole tensor for ndim <= 1), keepdim. */
function unitwiseNorm(x: Tensor): Tensor {
  if (x.ndim <= 1) return x.pow(2).sum().sqrt();
  const dims = x.shape.slice(1).map((_, i) => i + 1);
  return x.pow(2).sum(dims, true).sqrt();
}

/**
 * Adaptive Gradient Clipping (Brock et al., NFNets, 2021), unit-wise in PyTorch's layout:
 *     maxNorm_i = clipping * max(||W_i||, eps)
 *     G_i <- G_i * maxNorm_i / max(||G_i||, 1e-6)   where ||G_i|| > maxNorm_i
 */
export function adaptiveGradClip(clipping: number, eps = 1e-3): GradientTransformation<null> {
  checkValue('adaptiveGradClip', 'clipping', clipping, rules.positive);
  checkValue('adaptiveGradClip', 'eps', eps, rules.positive);
  return stateless((g, param) => {
    const maxNorm = unitwiseNorm(param).maximum(eps).mul(clipping);
    const gradNorm = unitwiseNorm(g);
    const clipped = g.mul(maxNorm.div(gradNorm.maximum(1e-6)));
    return where(gradNorm.gt(maxNorm), clipped, g);
  });
}

/** clipGradNorm's norm type (2 by default; Infinity for the largest magnitude) and whether a non-finite total norm is an error, as torch's clip_grad_norm_. */
export interface ClipGradNormOptions {
  /** The p of the norm: any number > 0, or Infinity for the largest magnitude (default 2). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite, instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * torch.nn.utils.clip_grad_norm_, for PyTorch-style training loops (in a chain, use
 * clipByGlobalNorm): scales every parameter's `.grad` in place so that the gradients' norm, taken
 * over all of them together, is at most maxNorm, and returns that norm before clipping, as a 0-d
 * tensor:
 *     total = || (||g_1||_p, ..., ||g_k||_p) ||_p        (p = Infinity: max |g|)
 *     coef  = min(1, maxNorm / (total + 1e-6));   g <- g * coef
 * Parameters without a gradient are skipped; with none the total is 0.
 */
export function clipGradNorm(
  parameters: ParamSource,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): Tensor {
  checkValue('clipGradNorm', 'maxNorm', maxNorm, rules.nonNegative);
  checkOptions('clipGradNorm', options, {
    normType: rules.either(rules.positive, rules.oneOf(Number.POSITIVE_INFINITY)),
    errorIfNonfinite: rules.boolean,
  });
  const { normType = 2, errorIfNonfinite = false } = options;
  const grads = Object.values(paramRecord(parameters)).flatMap((p) => (p.grad ? [p.grad] : []));
  return noGrad(() => {
    if (grads.length === 0) return tensor(0);
    const total = pNorm(stack(grads.map((g) => pNorm(g, normType))), normType);
    if (errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new RangeError(
        `clipGradNorm: the total norm of order ${normType} of the gradients is ${total.item()}, so they cannot be clipped (errorIfNonfinite is set)`,
      );
    }
    const coef = div(maxNorm, total.add(1e-6)).minimum(1);
    for (const g of grads) g.copy_(g.mul(coef));
    return total;
  });
}

/** ||x||_p over all elements, as torch.norm: sqrt of the sum of squares for p = 2, max |x| for Infinity. */
function pNorm(x: Tensor, p: number): Tensor {
  if (p === Number.POSITIVE_INFINITY) return x.abs().amax();
  if (p === 2) return x.pow(2).sum().sqrt();
  if (p === 1) return x.abs().sum();
  return x
    .abs()
    .pow(p)
    .sum()
    .pow(1 / p);
}
