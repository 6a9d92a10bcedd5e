import { fromTypedArray, type Tensor } from '@agrad/autograd';
import { ops } from '@agrad/tensor';
import type { GradientTransformation } from './transform.js';

/**
 * Fused optimizer loops: each rule of ./transforms/reference.ts in one pass over plain typed
 * arrays, instead of one tensor op (and one allocation) per term. The arithmetic is the same, term
 * for term; float32 results may differ from the composed version in the last bit, because here
 * intermediates stay in double.
 */
export type FloatArray = Float32Array | Float64Array;

/** True when every tensor lives on the CPU backend, where the fused loops can reach the values. */
export function onHost(tensors: Readonly<Record<string, Tensor>>): boolean {
  return ops.onHost(...Object.values(tensors).map((t) => t.array));
}

/**
 * The fused transform for CPU tensors, the composed one (tensor ops, so the values stay on their
 * device) for any other backend. Both make the same state, so a run may switch between them.
 */
export function fusedOnHost<S>(
  fused: GradientTransformation<S>,
  composed: GradientTransformation<S>,
): GradientTransformation<S> {
  return {
    init: fused.init,
    update: (updates, state, params) => (onHost(updates) ? fused : composed).update(updates, state, params),
    learningRate: fused.learningRate,
  };
}

/** Values of a float tensor as a flat array (a view when contiguous on the CPU, else a copy). */
export function values(t: Tensor): FloatArray {
  return (ops.hostView(t.array) ?? t.array.read()) as FloatArray;
}

export function like(t: Tensor): FloatArray {
  return t.dtype === 'float64' ? new Float64Array(t.size) : new Float32Array(t.size);
}

export function wrap(data: FloatArray, t: Tensor): Tensor {
  return fromTypedArray(data, t.shape, t.array.backend);
}

/** u * factor + p * decay (the weight-decay and learning-rate tail of a chain). */
export function scaleAndDecay(u: Tensor, factor: number, p: Tensor | null, decay: number): Tensor {
  const U = values(u);
  const out = like(u);
  if (p && decay !== 0) {
    const P = values(p);
    for (let i = 0; i < out.length; i++) out[i] = U[i] * factor + P[i] * decay;
  } else {
    for (let i = 0; i < out.length; i++) out[i] = U[i] * factor;
  }
  return wrap(out, u);
}

/**
 * AGR: s = sum|g| accumulated in double, then g * (1 - |g| / s); unchanged when s = 0. When s
 * overflows (float64 gradients near 1e308), the same coefficients come from g / max|g|, whose
 * sum cannot overflow (see regularize in ./transforms/agr.ts). NaN or infinite entries give NaN.
 */
export function agrUpdate(g: Tensor): Tensor {
  const G = values(g);
  // Four running sums (in double): one sum is a chain of dependent additions, latency-bound.
  let [s0, s1, s2, s3] = [0, 0, 0, 0];
  const body = G.length - (G.length % 4);
  for (let i = 0; i < body; i += 4) {
    s0 += Math.abs(G[i]);
    s1 += Math.abs(G[i + 1]);
    s2 += Math.abs(G[i + 2]);
    s3 += Math.abs(G[i + 3]);
  }
  for (let i = body; i < G.length; i++) s0 += Math.abs(G[i]);
  let l1 = s0 + s1 + (s2 + s3);
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
  const out = like(g);
  // Divide, not multiply by 1/s: for a subnormal s, 1/s overflows to infinity and 0 * inf is NaN.
  for (let i = 0; i < G.length; i++) {
    const x = G[i];
    out[i] = x * (1 - Math.abs(x) / scale / l1);
  }
  return wrap(out, g);
}

/** Adam's moments and scaled update in one pass (see reference scaleByAdam). */
export function adamUpdate(
  g: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  maxExpAvgSq: Tensor | null,
  b1: number,
  b2: number,
  eps: number,
  step: number,
): { update: Tensor; expAvg: Tensor; expAvgSq: Tensor; maxExpAvgSq: Tensor | null } {
  const [G, M, V] = [values(g), values(expAvg), values(expAvgSq)];
  const VM = maxExpAvgSq ? values(maxExpAvgSq) : null;
  const [m2, v2, u] = [like(g), like(g), like(g)];
  const vm2 = VM ? like(g) : null;
  const bc1 = 1 - b1 ** step;
  const bc2 = Math.sqrt(1 - b2 ** step);
  for (let i = 0; i < G.length; i++) {
    const x = G[i];
    m2[i] = M[i] * b1 + x * (1 - b1);
    v2[i] = V[i] * b2 + x * x * (1 - b2);
    let second = v2[i];
    if (vm2 && VM) second = vm2[i] = VM[i] > second || Number.isNaN(VM[i]) ? VM[i] : second;
    u[i] = m2[i] / bc1 / (Math.sqrt(second) / bc2 + eps);
  }
  return {
    update: wrap(u, g),
    expAvg: wrap(m2, g),
    expAvgSq: wrap(v2, g),
    maxExpAvgSq: vm2 ? wrap(vm2, g) : null,
  };
}

/** Adan's three moments and scaled update in one pass (see reference scaleByAdan). */
export function adanUpdate(
  g: Tensor,
  state: { expAvg: Tensor; expAvgDiff: Tensor; expAvgSq: Tensor; previousGrad: Tensor | null },
  betas: readonly [number, number, number],
  eps: number,
  step: number,
): { update: Tensor; expAvg: Tensor; expAvgDiff: Tensor; expAvgSq: Tensor } {
  const [b1, b2, b3] = betas;
  const G = values(g);
  const P = state.previousGrad ? values(state.previousGrad) : null;
  const [M, D, N] = [values(state.expAvg), values(state.expAvgDiff), values(state.expAvgSq)];
  const [m2, d2, n2, u] = [like(g), like(g), like(g), like(g)];
  const [bc1, bc2, bc3] = [1 - b1 ** step, 1 - b2 ** step, Math.sqrt(1 - b3 ** step)];
  for (let i = 0; i < G.length; i++) {
    const x = G[i];
    const diff = P ? x - P[i] : 0;
    m2[i] = M[i] * b1 + x * (1 - b1);
    d2[i] = D[i] * b2 + diff * (1 - b2);
    const corrected = x + diff * b2;
    n2[i] = N[i] * b3 + corrected * corrected * (1 - b3);
    u[i] = (m2[i] / bc1 + (d2[i] / bc2) * b2) / (Math.sqrt(n2[i]) / bc3 + eps);
  }
  return { update: wrap(u, g), expAvg: wrap(m2, g), expAvgDiff: wrap(d2, g), expAvgSq: wrap(n2, g) };
}

/** Heavy-ball momentum buffer and its update in one pass (see reference trace). */
export function momentumUpdate(
  g: Tensor,
  buffer: Tensor | null,
  momentum: number,
  dampening: number,
  nesterov: boolean,
): { update: Tensor; buffer: Tensor } {
  const G = values(g);
  const B = buffer ? values(buffer) : null;
  const b2 = like(g);
  for (let i = 0; i < G.length; i++) b2[i] = B ? B[i] * momentum + G[i] * (1 - dampening) : G[i];
  if (!nesterov) return { update: wrap(b2, g), buffer: wrap(b2, g) };
  const u = like(g);
  for (let i = 0; i < G.length; i++) u[i] = G[i] + b2[i] * momentum;
  return { update: wrap(u, g), buffer: wrap(b2, g) };
}
