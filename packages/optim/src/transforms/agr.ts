import { type Tensor, where } from '@agrad/autograd';
import { ops, rules } from '@agrad/tensor';
import { defineBlock } from '../block.js';
import { type FloatArray, float32Loops, successor, values, wrap } from '../fused.js';
import type { GradientTransformation } from '../transform.js';

/** agr's one option: tensors with fewer elements than `exemptSmallerThan` pass unchanged. */
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
 * Deviations from the official code, all documented: an all-zero gradient is left unchanged
 * (the official code divides 0 by 0 and writes NaN); for float32 gradients the L1 sum is
 * accumulated in float64 (from pairs added in float32); and where sum|g| overflows (float64 gradients near 1e308) the
 * coefficients are computed from g / max|g| instead, so they stay right (the official code's
 * sum becomes infinite and AGR silently does nothing).
 */
export function agr(options: AgrOptions = {}): GradientTransformation<null> {
  return agrBlock.transform(options) as GradientTransformation<null>;
}

/** AGR as one block (see ../block.ts): the composed rule is `regularize`, the fused one `agrLoop`. */
const agrBlock = defineBlock<Required<AgrOptions>>({
  name: 'agr',
  rules: { exemptSmallerThan: rules.count },
  defaults: { exemptSmallerThan: 0 },
  update: (g, _, __, o) => [regularize(g, o.exemptSmallerThan), null],
  fused: (g, _, __, o, reuse) => [g.size < o.exemptSmallerThan ? g : agrLoop(g, reuse.update), null],
  examples: [{}, { exemptSmallerThan: 7 }],
});

/**
 * alpha = |g| / sum|g| of one tensor, computed as (|g| / m) / sum(|g| / m) with m = max|g|:
 * the same numbers, but the sum can no longer overflow (it is at most the element count), so
 * alpha is right wherever it is finite, even for gradients near the largest float. The sum is
 * accumulated in float64 on the CPU (float32 on a GPU backend, which has nothing wider, and
 * where it stays a device tensor: no read-back). Zero where the whole gradient is zero; NaN
 * everywhere when an entry is NaN or infinite.
 */
function coefficients(g: Tensor): Tensor {
  const magnitude = g.abs();
  const largest = magnitude.amax();
  // A NaN or infinite entry makes `largest` or `total` NaN, and with it every coefficient: a
  // non-finite gradient fails loudly (Optimizer's skipNonFinite can skip such a step).
  const scaled = where(largest.eq(0), magnitude, magnitude.div(largest));
  const total = ops.onHost(g.array) ? scaled.to('float64').sum().to(g.dtype) : scaled.sum();
  return where(total.eq(0), scaled, scaled.div(total));
}

/**
 * AGR of one gradient tensor, composed from tensor ops: the reference for the fused agr() and
 * the rule agr() runs on other backends. An all-zero gradient is returned unchanged.
 */
export function regularize(g: Tensor, exemptSmallerThan = 0): Tensor {
  if (g.size < exemptSmallerThan) return g;
  // g * (1 - alpha) is the official g - alpha*g regrouped: since alpha_i lies in [0, 1] (up to
  // rounding of the division, which cannot push it past 1 as |g_i|/m <= sum), sign preservation
  // and ||g'|| <= ||g|| hold bit for bit.
  return g.mul(coefficients(g).neg().add(1));
}

/** The coefficients alpha = |g| / sum|g| of one tensor (for plots of what AGR does). */
export function agrCoefficients(g: Tensor): Tensor {
  return coefficients(g);
}

/**
 * `regularize` in two passes over host arrays: s = sum|g| accumulated in double, then
 * g * (1 - |g| / s) (in the gradient's precision), written over g when it is a donated buffer;
 * unchanged when s = 0. When s
 * overflows (float64 gradients near 1e308), the same coefficients come from g / max|g|, whose
 * sum cannot overflow. NaN or infinite entries give NaN, as in `regularize`.
 */
function agrLoop(g: Tensor, reuse: boolean): Tensor {
  let G = values(g);
  // float32 arrays of some size run in WebAssembly SIMD (@agrad/tensor's src/wasm/loops.ts), with equal results.
  const simd = float32Loops(G);
  // During an Optimizer step, a gradient outside the SIMD loops' memory is copied in once: both
  // passes read the copy there, and the result is written over it, where the next block's loop
  // reads it without copying it again.
  const staged = simd && !simd.isScratch(G) ? simd.scratch(G.length) : null;
  if (staged) {
    staged.set(G);
    G = staged;
  }
  let l1 = simd ? simd.absoluteSum(G as Float32Array) : absoluteSum(G);
  if (l1 === 0) return g;
  let scale = 1;
  if (l1 === Number.POSITIVE_INFINITY) {
    let largest = 0;
    for (let i = 0; i < G.length; i++) largest = Math.max(largest, Math.abs(G[i]));
    scale = largest;
    l1 = 0;
    // An infinite entry makes this sum NaN, and every output with it, as in regularize.
    for (let i = 0; i < G.length; i++) l1 += Math.abs(G[i]) / largest;
  }
  const out = staged ? { data: staged, tensor: () => wrap(staged, g) } : successor(g, reuse);
  const O = out.data;
  // float32: the scale in float32 arithmetic, as the composed rule computes it (and four lanes
  // at a time in SIMD), with r = 1/s rounded to float32, where r is a normal float32. Then
  // |g_i| r rounds to at most 1 (checked for every float32 mantissa: x * fround(1/x) never rounds
  // above 1, and s >= |g_i|), so every sign is kept. Otherwise (s above about 8.5e37, where r is
  // subnormal and imprecise, or below 3e-39, where it overflows) the float64 loop below.
  const reciprocal = Math.fround(1 / l1);
  if (Number.isNaN(l1))
    O.fill(Number.NaN); // one NaN bit pattern, whichever loop would have run
  else if (
    scale === 1 &&
    G instanceof Float32Array &&
    reciprocal >= SMALLEST_NORMAL32 &&
    reciprocal < Infinity
  ) {
    if (simd) simd.agrScale(G, O as Float32Array, reciprocal);
    else agrScale32(G, O as Float32Array, reciprocal);
  } else if (scale === 1) {
    // Divide, not multiply by 1/s: for a subnormal float64 s, 1/s overflows to infinity and
    // 0 * inf is NaN.
    for (let i = 0; i < G.length; i++) O[i] = G[i] * (1 - Math.abs(G[i]) / l1);
  } else {
    for (let i = 0; i < G.length; i++) O[i] = G[i] * (1 - Math.abs(G[i]) / scale / l1);
  }
  return out.tensor();
}

const SMALLEST_NORMAL32 = 2 ** -126;

/** g (1 - |g| r) with float32 rounding after each operation, as the SIMD loop. */
function agrScale32(G: Float32Array, O: Float32Array, reciprocal: number): void {
  const f = Math.fround;
  for (let i = 0; i < G.length; i++) O[i] = f(G[i] * f(1 - f(Math.abs(G[i]) * reciprocal)));
}

/**
 * sum |g| in double, in the SIMD loop's order (see @agrad/tensor's wasm/loops.ts): eight running
 * sums, s_k taking elements k and k + 8 of each block of 16, added first in the array's precision;
 * the tail added to s0. One sum would be a chain of dependent additions.
 */
function absoluteSum(G: FloatArray): number {
  // Plain locals and one predictable branch, not an array of sums and a function per pair: this
  // loop runs every step for float64 gradients of any size.
  const f32 = G instanceof Float32Array;
  const pair = (i: number) => {
    const x = Math.abs(G[i]) + Math.abs(G[i + 8]);
    return f32 ? Math.fround(x) : x;
  };
  let [s0, s1, s2, s3, s4, s5, s6, s7] = [0, 0, 0, 0, 0, 0, 0, 0];
  const body = G.length - (G.length % 16);
  for (let i = 0; i < body; i += 16) {
    s0 += pair(i);
    s1 += pair(i + 1);
    s2 += pair(i + 2);
    s3 += pair(i + 3);
    s4 += pair(i + 4);
    s5 += pair(i + 5);
    s6 += pair(i + 6);
    s7 += pair(i + 7);
  }
  for (let i = body; i < G.length; i++) s0 += Math.abs(G[i]);
  return s0 + s1 + (s2 + s3) + (s4 + s5 + (s6 + s7));
}
