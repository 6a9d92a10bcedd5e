import { div, noGrad, type Tensor, where } from '@agrad/autograd';
import { checkValue, ops, rules } from '@agrad/tensor';
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
