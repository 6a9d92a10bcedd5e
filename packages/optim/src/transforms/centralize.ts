import { type GradientTransformation, stateless } from '../transform.js';

/**
 * Gradient Centralization (Yong et al., 2020): for tensors with more than one dim, subtract the
 * mean over every dim but the first (PyTorch layout: dim 0 is the output unit):
 *     g <- g - mean(g, dims 1..n-1, keepdim)
 * Vectors (biases, norm gains) pass through unchanged.
 */
export function centralize(): GradientTransformation<null> {
  return stateless((g) => {
    if (g.ndim <= 1) return g;
    const dims = g.shape.slice(1).map((_, i) => i + 1);
    return g.sub(g.mean(dims, true));
  });
}
