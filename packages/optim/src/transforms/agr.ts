import { type Tensor, where } from '@agrad/autograd';
import { cpuBackend } from '@agrad/tensor';
import { agrUpdate } from '../fused.js';
import { type GradientTransformation, stateless } from '../transform.js';

export interface AgrOptions {
  /**
   * Leave tensors with fewer elements than this unchanged (default 0: none exempt, as in the
   * paper). AGR maps a single-element gradient to 0 (alpha = 1), so with the paper's rule a
   * scalar parameter never moves; `exemptSmallerThan: 2` keeps such parameters training.
   */
  exemptSmallerThan?: number;
}

/**
 * Adaptive Gradient Regularization (Jiang, Yang, Bao, Si, arXiv 2407.16944).
 *
 * For each parameter tensor, over all of its elements:
 *
 *     s     = sum_i |g_i|
 *     alpha = |g| / s                  (the "gradient coefficients"; sum(alpha) = 1)
 *     g'    = g - alpha * g = g * (1 - |g| / s)
 *
 * No hyper-parameter. Entries with a large share of the tensor's L1 mass are damped most, so it
 * acts as an adaptive, per-tensor gradient clip; every entry keeps its sign and ||g'|| <= ||g||.
 *
 * Where it sits: first, on the final gradient (after accumulation over micro-batches), in front
 * of the optimizer's moments and before (decoupled) weight decay:
 *
 *     const optimizer = chain(agr(), adamw({ lr: 1e-3 }));
 *
 * Order matters because AGR is not linear: it does not commute with summing gradients, with
 * momentum, or with weight decay (AGR(g + wd*p) != AGR(g) + wd*p). Global-norm clipping before
 * it is harmless, since AGR(c*g) = c*AGR(g); the paper's runs clip first:
 * `chain(clipByGlobalNorm(1), agr(), adamw(o))`.
 *
 * Deviations from the official code, both documented: an all-zero gradient is left unchanged
 * (the official code divides 0 by 0 and writes NaN), and for float32 gradients the L1 sum is
 * accumulated in float64.
 */
export function agr(options: AgrOptions = {}): GradientTransformation<null> {
  const exemptSmallerThan = options.exemptSmallerThan ?? 0;
  // The fused loop (../fused.ts) computes exactly `regularize` below, in two passes over g.
  return stateless((g) => {
    if (g.size < exemptSmallerThan) return g;
    return g.array.backend === cpuBackend ? agrUpdate(g) : regularizeOnDevice(g);
  });
}

/**
 * The same rule in tensor ops with no read-back, for tensors on a GPU backend: s stays a 0-d
 * tensor on the device (summed in float32 there, which has no float64), and where() keeps an
 * all-zero gradient unchanged instead of branching on s on the host.
 */
export function regularizeOnDevice(g: Tensor): Tensor {
  const l1 = g.abs().sum();
  return where(l1.gt(0), g.mul(g.abs().div(l1).neg().add(1)), g);
}

/** AGR of one gradient tensor, composed from tensor ops: the reference for the fused agr(). */
export function regularize(g: Tensor, exemptSmallerThan = 0): Tensor {
  if (g.size < exemptSmallerThan) return g;
  if (g.array.backend !== cpuBackend) return regularizeOnDevice(g);
  const l1 = g.abs().to('float64').sum().item();
  if (l1 === 0) return g;
  // g * (1 - |g|/s) is the official g - alpha*g regrouped: since |g_i| <= s, the factor lies in
  // [0, 1] exactly in floating point, so sign preservation and ||g'|| <= ||g|| hold bit for bit.
  return g.mul(g.abs().div(l1).neg().add(1));
}

/** The coefficients alpha = |g| / sum|g| of one tensor (for plots of what AGR does). */
export function agrCoefficients(g: Tensor): Tensor {
  if (g.array.backend !== cpuBackend) {
    // On a GPU backend: float32 sum, no read-back (see regularizeOnDevice).
    const sum = g.abs().sum();
    return where(sum.gt(0), g.abs().div(sum), g.abs());
  }
  const l1 = g.abs().to('float64').sum().item();
  return l1 === 0 ? g.abs() : g.abs().div(l1);
}
