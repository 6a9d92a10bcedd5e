import { maximum, type Tensor, zerosLike } from '@agrad/autograd';
import { rules } from '@agrad/tensor';
import { defineBlock } from '../block.js';
import * as check from '../check.js';
import { decayed, type FloatArray, float32Loops, like, scaled, successor, values, wrap } from '../fused.js';
import type { LearningRate } from '../transform.js';
import { toSchedule } from '../transform.js';

/**
 * The building blocks optimizers are chained from, each defined once (see ../block.ts): its rule,
 * options, state, the update composed from tensor ops and, for the hot ones, the fused loop. Each
 * keeps its own per-parameter state, including PyTorch's per-parameter `step` where the rule
 * needs it. Comments give the rule line for line with the code.
 */

/** The learning rate at `step`, checked (a schedule may return anything). */
const rate = (op: string, lr: LearningRate, step: number) => check.rateAt(op, toSchedule(lr), step);

/** A schedule's first value is checked when the transform is made, not at the first step. */
const checkFirstRate = (op: string) => (o: { lr: LearningRate }) => {
  if (typeof o.lr === 'function') rate(op, o.lr, 0);
};

// ---------------------------------------------------------------------------------------------

const scaleBlock = defineBlock<{ factor: number }>({
  // u <- factor * u
  name: 'scale',
  positional: ['factor'],
  rules: { factor: rules.finite },
  defaults: {},
  update: (u, _, __, o) => [u.mul(o.factor), null],
  examples: [{ factor: -0.5 }],
});

const decayBlock = defineBlock<{ weightDecay: number }>({
  // u <- u + wd * p   (before the moments: coupled L2 as in torch Adam/SGD; after: decoupled, as AdamW)
  name: 'addDecayedWeights',
  positional: ['weightDecay'],
  rules: { weightDecay: rules.finite },
  defaults: {},
  update: (u, _, p, o) => [o.weightDecay === 0 ? u : u.add(p.mul(o.weightDecay)), null],
  fused: (u, _, p, o, reuse) => [o.weightDecay === 0 ? u : decayed(u, p, o.weightDecay, reuse.update), null],
  examples: [{ weightDecay: 0.1 }],
});

const learningRateBlock = defineBlock<{ lr: LearningRate }, { step: number }>({
  // u <- -lr(step) * u, with the step counted per parameter from 0
  name: 'scaleByLearningRate',
  positional: ['lr'],
  rules: { lr: check.learningRate },
  defaults: {},
  check: checkFirstRate('scaleByLearningRate'),
  init: () => ({ step: 0 }),
  update: (u, s, _, o) => [u.mul(-rate('scaleByLearningRate', o.lr, s.step)), { step: s.step + 1 }],
  fused: (u, s, _, o, reuse) => [
    scaled(u, -rate('scaleByLearningRate', o.lr, s.step), reuse.update),
    { step: s.step + 1 },
  ],
  learningRate: (o) => toSchedule(o.lr),
  examples: [{ lr: (step: number) => 0.1 / (step + 1) }],
});

// ---------------------------------------------------------------------------------------------

/** trace's momentum, dampening and Nesterov flag, as torch.optim.SGD's. */
export interface TraceOptions {
  momentum: number;
  dampening?: number;
  nesterov?: boolean;
}

const traceBlock = defineBlock<Required<TraceOptions>, { buffer: Tensor | null }>({
  /**
   * Heavy-ball momentum, torch SGD's buffer:
   *     b <- g                           at the first step
   *     b <- mu * b + (1 - dampening) g  afterwards
   *     u <- g + mu * b  (nesterov)  or  u <- b
   */
  name: 'trace',
  rules: {
    momentum: rules.required(rules.nonNegative),
    dampening: rules.probability,
    nesterov: rules.boolean,
  },
  defaults: { dampening: 0, nesterov: false },
  init: () => ({ buffer: null }),
  update: (g, s, _, { momentum, dampening, nesterov }) => {
    const buffer = s.buffer === null ? g : s.buffer.mul(momentum).add(g.mul(1 - dampening));
    return [nesterov ? g.add(buffer.mul(momentum)) : buffer, { buffer }];
  },
  fused: (g, s, _, { momentum, dampening, nesterov }, reuse) => {
    const G = values(g);
    const B = s.buffer ? values(s.buffer) : null;
    const next = s.buffer ? successor(s.buffer, reuse.state) : successor(g, false);
    const b2 = next.data;
    for (let i = 0; i < G.length; i++) b2[i] = B ? B[i] * momentum + G[i] * (1 - dampening) : G[i];
    const buffer = next.tensor();
    if (!nesterov) return [buffer, { buffer }];
    const out = successor(g, reuse.update);
    const u = out.data;
    for (let i = 0; i < G.length; i++) u[i] = G[i] + b2[i] * momentum;
    return [out.tensor(), { buffer }];
  },
  examples: [
    { momentum: 0.9, dampening: 0.1 },
    { momentum: 0.9, nesterov: true },
  ],
});

// ---------------------------------------------------------------------------------------------

/** scaleByAdam's betas, eps and amsgrad. */
export interface AdamScalingOptions {
  betas?: [number, number];
  eps?: number;
  amsgrad?: boolean;
}

/** Adam's state of one parameter: the step count and the moments (and the running maximum with amsgrad). */
export interface AdamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq: Tensor | null;
}

const adamBlock = defineBlock<Required<AdamScalingOptions>, AdamState>({
  /**
   * Adam's scaling (Kingma & Ba, 2015), as torch.optim.Adam computes it:
   *     t <- t + 1
   *     m <- b1 m + (1 - b1) g
   *     v <- b2 v + (1 - b2) g^2
   *     vmax <- max(vmax, v)                      (amsgrad; then v := vmax below)
   *     u <- (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
   */
  name: 'scaleByAdam',
  rules: { betas: check.betas(2), eps: check.eps, amsgrad: rules.boolean },
  defaults: { betas: [0.9, 0.999], eps: 1e-8, amsgrad: false },
  init: (p, o) => ({
    step: 0,
    expAvg: zerosLike(p),
    expAvgSq: zerosLike(p),
    maxExpAvgSq: o.amsgrad ? zerosLike(p) : null,
  }),
  update: (g, s, _, { betas: [b1, b2], eps }) => {
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
  fused: (g, s, _, { betas: [b1, b2], eps }, reuse) => {
    const step = s.step + 1;
    const [G, M, V] = [values(g), values(s.expAvg), values(s.expAvgSq)];
    const VM = s.maxExpAvgSq ? values(s.maxExpAvgSq) : null;
    const [m, v, out] = [
      successor(s.expAvg, reuse.state),
      successor(s.expAvgSq, reuse.state),
      successor(g, reuse.update),
    ];
    const [m2, v2, u] = [m.data, v.data, out.data];
    const vm = s.maxExpAvgSq ? successor(s.maxExpAvgSq, reuse.state) : null;
    const vm2 = vm ? vm.data : null;
    // Multiplying by the reciprocals of the bias corrections instead of dividing by them: the same
    // numbers to within a rounding of double precision, and one division per element instead of
    // three (divisions dominate this loop).
    const constants = {
      b1,
      b2,
      eps,
      inverse1: 1 / (1 - b1 ** step),
      inverse2: 1 / Math.sqrt(1 - b2 ** step),
    };
    const arrays = [G, M, V, m2, v2, u];
    const simd = vm2 ? null : float32Loops(...arrays);
    if (simd) {
      // float32 in WebAssembly SIMD, op for op as the composed rule (@agrad/tensor's src/wasm/loops.ts).
      const corrections = { correction1: 1 - b1 ** step, correction2: Math.sqrt(1 - b2 ** step) };
      simd.adam(arrays as Float32Array[], { b1, b2, eps, ...corrections });
    } else if (vm2 && VM) amsgradLoop([...arrays, VM, vm2], constants);
    else if (m2 instanceof Float32Array) adamLoop32(arrays, constants);
    else adamLoop(arrays, constants);
    const state = { step, expAvg: m.tensor(), expAvgSq: v.tensor(), maxExpAvgSq: vm ? vm.tensor() : null };
    return [out.tensor(), state];
  },
  examples: [{}, { amsgrad: true, betas: [0.8, 0.9] }],
});

// Adam's fused loops, apart from the block so that each stays monomorphic and small for the JIT.
// The moments are used rounded to the state's dtype, as the composed rule stores and reads them
// (Math.fround for float32: much faster than reading a stored value back).

/** The step's constants: betas, eps and the reciprocals of the two bias corrections. */
interface AdamConstants {
  b1: number;
  b2: number;
  eps: number;
  inverse1: number;
  inverse2: number;
}

type Arrays = FloatArray[];

function adamLoop32([G, M, V, m2, v2, u]: Arrays, { b1, b2, eps, inverse1, inverse2 }: AdamConstants): void {
  const [c1, c2, n] = [1 - b1, 1 - b2, G.length];
  for (let i = 0; i < n; i++) {
    const x = G[i];
    const m = Math.fround(M[i] * b1 + x * c1);
    const v = Math.fround(V[i] * b2 + x * x * c2);
    m2[i] = m;
    v2[i] = v;
    u[i] = (m * inverse1) / (Math.sqrt(v) * inverse2 + eps);
  }
}

function adamLoop([G, M, V, m2, v2, u]: Arrays, { b1, b2, eps, inverse1, inverse2 }: AdamConstants): void {
  const [c1, c2, n] = [1 - b1, 1 - b2, G.length];
  for (let i = 0; i < n; i++) {
    const x = G[i];
    m2[i] = M[i] * b1 + x * c1;
    v2[i] = V[i] * b2 + x * x * c2;
    u[i] = (m2[i] * inverse1) / (Math.sqrt(v2[i]) * inverse2 + eps);
  }
}

/** AMSGrad: the denominator uses the running maximum of v (NaN sticks, as torch.maximum). */
function amsgradLoop(
  [G, M, V, m2, v2, u, VM, vm2]: Arrays,
  { b1, b2, eps, inverse1, inverse2 }: AdamConstants,
): void {
  const [c1, c2, n] = [1 - b1, 1 - b2, G.length];
  for (let i = 0; i < n; i++) {
    const x = G[i];
    m2[i] = M[i] * b1 + x * c1;
    v2[i] = V[i] * b2 + x * x * c2;
    const second = (vm2[i] = VM[i] > v2[i] || Number.isNaN(VM[i]) ? VM[i] : v2[i]);
    u[i] = (m2[i] * inverse1) / (Math.sqrt(second) * inverse2 + eps);
  }
}

// ---------------------------------------------------------------------------------------------

/** scaleByAdan's three betas and eps. */
export interface AdanScalingOptions {
  betas?: [number, number, number];
  eps?: number;
}

/** Adan's state of one parameter: the step count, the three moments and the previous gradient. */
export interface AdanState {
  step: number;
  expAvg: Tensor;
  expAvgDiff: Tensor;
  expAvgSq: Tensor;
  previousGrad: Tensor | null;
}

const adanBlock = defineBlock<Required<AdanScalingOptions>, AdanState>({
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
  name: 'scaleByAdan',
  rules: { betas: check.betas(3), eps: check.eps },
  defaults: { betas: [0.98, 0.92, 0.99], eps: 1e-8 },
  init: (p) => ({
    step: 0,
    expAvg: zerosLike(p),
    expAvgDiff: zerosLike(p),
    expAvgSq: zerosLike(p),
    previousGrad: null,
  }),
  update: (g, s, _, { betas: [b1, b2, b3], eps }) => {
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
  fused: (g, s, _, { betas: [b1, b2, b3], eps }) => {
    const step = s.step + 1;
    const G = values(g);
    const P = s.previousGrad ? values(s.previousGrad) : null;
    const [M, D, N] = [values(s.expAvg), values(s.expAvgDiff), values(s.expAvgSq)];
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
    const moments = { expAvg: wrap(m2, g), expAvgDiff: wrap(d2, g), expAvgSq: wrap(n2, g) };
    return [wrap(u, g), { step, ...moments, previousGrad: g }];
  },
});

const proximalBlock = defineBlock<{ lr: LearningRate; weightDecay: number }, { step: number }>({
  /**
   * Adan's default (proximal) weight decay, applied after the learning rate would be:
   *     p_new = (p - lr * u) / (1 + lr * wd),   so the update is p_new - p.
   */
  name: 'scaleByLearningRateProximal',
  positional: ['lr', 'weightDecay'],
  rules: { lr: check.learningRate, weightDecay: check.weightDecay },
  defaults: {},
  check: checkFirstRate('scaleByLearningRateProximal'),
  init: () => ({ step: 0 }),
  update: (u, s, p, o) => {
    const r = rate('scaleByLearningRateProximal', o.lr, s.step);
    const next = p.sub(u.mul(r)).div(1 + r * o.weightDecay);
    return [next.sub(p), { step: s.step + 1 }];
  },
  learningRate: (o) => toSchedule(o.lr),
  examples: [{ lr: 0.1, weightDecay: 0.02 }],
});

// ---------------------------------------------------------------------------------------------

/** scaleByLion's betas. */
export interface LionScalingOptions {
  betas?: [number, number];
}

const lionBlock = defineBlock<Required<LionScalingOptions>, { expAvg: Tensor }>({
  /**
   * Lion's scaling (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"):
   *     c <- b1 m + (1 - b1) g;   u <- sign(c)
   *     m <- b2 m + (1 - b2) g
   */
  name: 'scaleByLion',
  rules: { betas: check.betas(2) },
  defaults: { betas: [0.9, 0.99] },
  init: (p) => ({ expAvg: zerosLike(p) }),
  update: (g, s, _, { betas: [b1, b2] }) => {
    const u = s.expAvg
      .mul(b1)
      .add(g.mul(1 - b1))
      .sign();
    return [u, { expAvg: s.expAvg.mul(b2).add(g.mul(1 - b2)) }];
  },
});

/** scaleByRms's options, as torch.optim.RMSprop's. */
export interface RmsScalingOptions {
  alpha?: number;
  eps?: number;
  centered?: boolean;
}

const rmsBlock = defineBlock<Required<RmsScalingOptions>, { squareAvg: Tensor; gradAvg: Tensor | null }>({
  /**
   * RMSprop's scaling (Hinton), as torch.optim.RMSprop computes it:
   *     sq <- alpha sq + (1 - alpha) g^2
   *     centered:  ga <- alpha ga + (1 - alpha) g;  avg = sqrt(sq - ga^2) + eps
   *     otherwise: avg = sqrt(sq) + eps
   *     u <- g / avg
   */
  name: 'scaleByRms',
  // alpha is the weight of the old average: above 1 the "average" would turn negative.
  rules: { alpha: rules.probability, eps: check.eps, centered: rules.boolean },
  defaults: { alpha: 0.99, eps: 1e-8, centered: false },
  init: (p, o) => ({ squareAvg: zerosLike(p), gradAvg: o.centered ? zerosLike(p) : null }),
  update: (g, s, _, { alpha, eps }) => {
    const squareAvg = s.squareAvg.mul(alpha).add(g.mul(g).mul(1 - alpha));
    const gradAvg = s.gradAvg ? s.gradAvg.mul(alpha).add(g.mul(1 - alpha)) : null;
    const variance = gradAvg ? squareAvg.sub(gradAvg.mul(gradAvg)) : squareAvg;
    return [g.div(variance.sqrt().add(eps)), { squareAvg, gradAvg }];
  },
  examples: [{}, { centered: true, alpha: 0.9 }],
});

/** scaleByAdagrad's options, as torch.optim.Adagrad's. */
export interface AdagradScalingOptions {
  initialAccumulatorValue?: number;
  eps?: number;
}

const adagradBlock = defineBlock<Required<AdagradScalingOptions>, { sum: Tensor }>({
  /**
   * Adagrad's scaling (Duchi et al., 2011), as torch.optim.Adagrad computes it:
   *     sum <- sum + g^2;   u <- g / (sqrt(sum) + eps)
   */
  name: 'scaleByAdagrad',
  rules: { initialAccumulatorValue: rules.nonNegative, eps: check.eps },
  defaults: { initialAccumulatorValue: 0, eps: 1e-10 },
  init: (p, o) => ({ sum: zerosLike(p).add(o.initialAccumulatorValue) }),
  update: (g, s, _, { eps }) => {
    const sum = s.sum.add(g.mul(g));
    return [g.div(sum.sqrt().add(eps)), { sum }];
  },
});

/** scaleByNadam's options, as torch.optim.NAdam's. */
export interface NadamScalingOptions {
  betas?: [number, number];
  eps?: number;
  momentumDecay?: number;
}

const nadamBlock = defineBlock<
  Required<NadamScalingOptions>,
  { step: number; muProduct: number; expAvg: Tensor; expAvgSq: Tensor }
>({
  /**
   * NAdam's scaling (Dozat, 2016), as torch.optim.NAdam computes it (torch 2; torch 1.13 put an
   * extra factor mu_t into mu_product_next, fixed since):
   *     t <- t + 1
   *     mu_t = b1 (1 - 0.5 * 0.96^(t psi)),  mu_next = b1 (1 - 0.5 * 0.96^((t + 1) psi))
   *     P <- P mu_t  (from 1),  P_next = P mu_next
   *     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
   *     d = sqrt(v / (1 - b2^t)) + eps
   *     u <- (1 - mu_t) / (1 - P) g / d + mu_next / (1 - P_next) m / d
   * with psi the momentum decay.
   */
  name: 'scaleByNadam',
  rules: { betas: check.betas(2), eps: check.eps, momentumDecay: rules.nonNegative },
  defaults: { betas: [0.9, 0.999], eps: 1e-8, momentumDecay: 4e-3 },
  init: (p) => ({ step: 0, muProduct: 1, expAvg: zerosLike(p), expAvgSq: zerosLike(p) }),
  update: (g, s, _, { betas: [b1, b2], eps, momentumDecay }) => {
    const step = s.step + 1;
    const mu = b1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));
    const muNext = b1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentumDecay));
    const muProduct = s.muProduct * mu;
    const expAvg = s.expAvg.mul(b1).add(g.mul(1 - b1));
    const expAvgSq = s.expAvgSq.mul(b2).add(g.mul(g).mul(1 - b2));
    const denom = expAvgSq
      .div(1 - b2 ** step)
      .sqrt()
      .add(eps);
    const u = g
      .mul((1 - mu) / (1 - muProduct))
      .add(expAvg.mul(muNext / (1 - muProduct * muNext)))
      .div(denom);
    return [u, { step, muProduct, expAvg, expAvgSq }];
  },
  examples: [{}, { betas: [0.8, 0.9], momentumDecay: 0.01 }],
});

/** scaleByRadam's options, as torch.optim.RAdam's. */
export interface RadamScalingOptions {
  betas?: [number, number];
  eps?: number;
}

const radamBlock = defineBlock<
  Required<RadamScalingOptions>,
  { step: number; expAvg: Tensor; expAvgSq: Tensor }
>({
  /**
   * RAdam's scaling (Liu et al., 2020), as torch.optim.RAdam computes it:
   *     t <- t + 1;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
   *     rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
   *     rho_t > 5:  r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
   *                 u <- m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps) * r
   *     otherwise:  u <- m / (1 - b1^t)   (the variance estimate is not yet usable)
   */
  name: 'scaleByRadam',
  rules: { betas: check.betas(2), eps: check.eps },
  defaults: { betas: [0.9, 0.999], eps: 1e-8 },
  init: (p) => ({ step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) }),
  update: (g, s, _, { betas: [b1, b2], eps }) => {
    const step = s.step + 1;
    const [correction1, correction2] = [1 - b1 ** step, 1 - b2 ** step];
    const expAvg = s.expAvg.mul(b1).add(g.mul(1 - b1));
    const expAvgSq = s.expAvgSq.mul(b2).add(g.mul(g).mul(1 - b2));
    const corrected = expAvg.div(correction1);
    const rhoInf = 2 / (1 - b2) - 1;
    const rho = rhoInf - (2 * step * b2 ** step) / correction2;
    const state = { step, expAvg, expAvgSq };
    if (!(rho > 5)) return [corrected, state];
    const rect = Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
    return [corrected.mul(Math.sqrt(correction2)).div(expAvgSq.sqrt().add(eps)).mul(rect), state];
  },
  examples: [{}, { betas: [0.9, 0.9] }],
});

// ---------------------------------------------------------------------------------------------
// The transforms, as called by users and by ./optimizers.ts, fused where the values are on the
// host; `reference` holds the same ones with fusion turned off.

/** u <- factor * u */
export const scale = (factor: number) => scaleBlock.transform({ factor });

/** u <- u + wd * p (before the moments: coupled L2 as in torch Adam/SGD; after: decoupled, as AdamW). */
export const addDecayedWeights = (weightDecay: number) => decayBlock.transform({ weightDecay });

/** u <- -lr(step) * u, with the step counted per parameter from 0. */
export const scaleByLearningRate = (lr: LearningRate) => learningRateBlock.transform({ lr });

/** Heavy-ball momentum, torch SGD's buffer (see traceBlock). */
export const trace = (options: TraceOptions) => traceBlock.transform(options);

/** Adam's scaling, as torch.optim.Adam (see adamBlock). */
export const scaleByAdam = (options: AdamScalingOptions = {}) => adamBlock.transform(options);

/** Adan's scaling, as the official code (see adanBlock). */
export const scaleByAdan = (options: AdanScalingOptions = {}) => adanBlock.transform(options);

/** Adan's proximal weight decay: p_new = (p - lr * u) / (1 + lr * wd). */
export const scaleByLearningRateProximal = (lr: LearningRate, weightDecay: number) =>
  proximalBlock.transform({ lr, weightDecay });

/** Lion's scaling: u <- sign(b1 m + (1 - b1) g); m <- b2 m + (1 - b2) g. */
export const scaleByLion = (options: LionScalingOptions = {}) => lionBlock.transform(options);

/** RMSprop's scaling, as torch.optim.RMSprop (see rmsBlock). */
export const scaleByRms = (options: RmsScalingOptions = {}) => rmsBlock.transform(options);

/** NAdam's scaling, as torch.optim.NAdam (see nadamBlock). */
export const scaleByNadam = (options: NadamScalingOptions = {}) => nadamBlock.transform(options);

/** RAdam's scaling, as torch.optim.RAdam (see radamBlock). */
export const scaleByRadam = (options: RadamScalingOptions = {}) => radamBlock.transform(options);

/** Adagrad's scaling, as torch.optim.Adagrad: sum <- sum + g^2; u <- g / (sqrt(sum) + eps). */
export const scaleByAdagrad = (options: AdagradScalingOptions = {}) => adagradBlock.transform(options);

/**
 * The transforms with fused loops, with fusion turned off: every update composed from tensor ops,
 * as the rule is written, on any backend. A readable trace of each rule to step through; the
 * blocks without fused loops compose anyway.
 */
export const reference = {
  /** scale with fusion off. */
  scale: (factor: number) => scaleBlock.transform({ factor }, false),
  /** addDecayedWeights with fusion off. */
  addDecayedWeights: (weightDecay: number) => decayBlock.transform({ weightDecay }, false),
  /** scaleByLearningRate with fusion off. */
  scaleByLearningRate: (lr: LearningRate) => learningRateBlock.transform({ lr }, false),
  /** trace with fusion off. */
  trace: (options: TraceOptions) => traceBlock.transform(options, false),
  /** scaleByAdam with fusion off. */
  scaleByAdam: (options: AdamScalingOptions = {}) => adamBlock.transform(options, false),
  /** scaleByAdan with fusion off. */
  scaleByAdan: (options: AdanScalingOptions = {}) => adanBlock.transform(options, false),
  scaleByLearningRateProximal,
  scaleByLion,
  scaleByRms,
  scaleByAdagrad,
  scaleByNadam,
  scaleByRadam,
};

/** The option rules and defaults of the scaling blocks, for the optimizers that wrap them. */
export const blockOptions = {
  trace: traceBlock.definition,
  scaleByAdam: adamBlock.definition,
  scaleByAdan: adanBlock.definition,
  scaleByLion: lionBlock.definition,
  scaleByRms: rmsBlock.definition,
  scaleByAdagrad: adagradBlock.definition,
  scaleByNadam: nadamBlock.definition,
  scaleByRadam: radamBlock.definition,
};
