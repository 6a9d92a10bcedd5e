import {
  fromTypedArray,
  Generator,
  gradients,
  manualSeed,
  noGrad,
  randn,
  type Tensor,
  tensor,
} from '@agrad/autograd';
import { F, Flatten, Linear, Sequential, Tanh } from '@agrad/nn';
import { describe, expect, it } from 'vitest';
import {
  probeAlongStep,
  SMOOTHNESS_PRESETS,
  type SmoothnessConfig,
  topHessianEigenvalue,
} from '../src/experiments/smoothness.js';
import type { Classifier } from '../src/models.js';
import { writeSmoothnessReport } from '../src/report/smoothness-report.js';
import { emptyLog } from '../src/run/log.js';
import type { JobResult } from '../src/run/runner.js';
import { syntheticReport } from './synthetic.js';

/** A float64 model small enough to build its Hessian element by element. */
function tiny(): { model: Classifier; x: Tensor; y: Tensor } {
  manualSeed(11);
  const model = new Sequential(
    new Flatten(),
    new Linear(4, 3),
    new Tanh(),
    new Linear(3, 3),
  ) as unknown as Classifier;
  model.to('float64');
  const x = randn([6, 1, 2, 2], { dtype: 'float64' });
  const y = tensor(Int32Array.from([0, 1, 2, 1, 0, 2]));
  return { model, x, y };
}

const params = (m: Classifier) => [...m.parameters()];
const flat = (ts: Tensor[]) => ts.flatMap((t) => Array.from(t.data));
const gradientAt = (m: Classifier, x: Tensor, y: Tensor) =>
  flat(gradients(F.crossEntropy(m.forward(x), y), params(m)));

/** Sets parameter element k (in the flattened order) to value. */
function setElement(m: Classifier, k: number, value: number): void {
  let offset = 0;
  for (const p of params(m)) {
    if (k < offset + p.size) {
      const data = Float64Array.from(p.data);
      data[k - offset] = value;
      noGrad(() => p.copy_(fromTypedArray(data, p.shape)));
      return;
    }
    offset += p.size;
  }
}

describe('smoothness: probes along the step and the Hessian top eigenvalue', () => {
  it('power iteration on Hessian-vector products finds the top eigenvalue of the finite-difference Hessian', () => {
    const { model, x, y } = tiny();
    const theta = flat(params(model));
    const n = theta.length;
    const h = 1e-5;
    const H = Array.from({ length: n }, () => new Float64Array(n));
    for (let j = 0; j < n; j++) {
      setElement(model, j, theta[j] + h);
      const plus = gradientAt(model, x, y);
      setElement(model, j, theta[j] - h);
      const minus = gradientAt(model, x, y);
      setElement(model, j, theta[j]);
      for (let i = 0; i < n; i++) H[i][j] = (plus[i] - minus[i]) / (2 * h);
    }
    // The explicit matrix's eigenvalue of largest magnitude, by plain power iteration.
    let v = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    let lambda = 0;
    for (let it = 0; it < 3000; it++) {
      const w = H.map((row) => row.reduce((s, hij, j) => s + hij * v[j], 0));
      const length = Math.hypot(...w);
      lambda = w.reduce((s, wi, i) => s + wi * v[i], 0) / v.reduce((s, vi) => s + vi * vi, 0);
      v = Float64Array.from(w, (wi) => wi / length);
    }
    const estimate = topHessianEigenvalue(model, x, y, 300, new Generator(5));
    expect(Math.abs(estimate - lambda)).toBeLessThan(1e-5 * Math.max(1, Math.abs(lambda)));
    expect(flat(params(model))).toEqual(theta); // the parameters are untouched
  });

  it('measures ‖g(θ + s d) − g(θ)‖ / ‖s d‖ and the losses along the step, and restores the parameters bit for bit', () => {
    const { model, x, y } = tiny();
    const theta = params(model).map((p) => p.clone());
    const d = theta.map((t) => randn(t.shape, { dtype: 'float64' }).mul(0.01));
    noGrad(() => params(model).forEach((p, i) => p.copy_(theta[i].add(d[i]))));
    const after = flat(params(model));
    const points = probeAlongStep(model, theta, d, x, y, [0.5, 2]);
    expect(flat(params(model))).toEqual(after);
    // Independently: the gradient and loss at theta + s d.
    const at = (s: number) => {
      noGrad(() => params(model).forEach((p, i) => p.copy_(theta[i].add(d[i].mul(s)))));
      const loss = F.crossEntropy(model.forward(x), y).item();
      return { loss, g: gradientAt(model, x, y) };
    };
    const start = at(0);
    const dNorm = Math.hypot(...flat(d));
    expect(points[0]).toMatchObject({ multiple: 0, loss: start.loss });
    for (const [k, s] of [0.5, 2].entries()) {
      const here = at(s);
      const change = Math.hypot(...here.g.map((g, i) => g - start.g[i]));
      expect(points[k + 1].multiple).toBe(s);
      expect(points[k + 1].loss).toBeCloseTo(here.loss, 12);
      expect(points[k + 1].smoothness).toBeCloseTo(change / (s * dNorm), 10);
    }
  });

  it('rules out a 10% smoothing only when both intervals lie within ±10%', async () => {
    // Per seed: the run's effective smoothness (s = 1) and top eigenvalue, without and with AGR.
    const report = async (agrFactors: number[]) => {
      const jobs: JobResult[] = [];
      for (const agr of [false, true])
        for (const [seed, factor] of agrFactors.entries()) {
          const log = emptyLog();
          const value = (1 + seed) * (agr ? factor : 1);
          log.smoothness = [{ step: 5, multiple: 1, smoothness: value, loss: 1 }];
          log.curvature = [{ step: 5, eigenvalue: 10 * value }];
          log.losses = [{ step: 5, loss: 1 }];
          const arm = `sgd${agr ? '+agr' : ''} lr×1`;
          jobs.push({
            key: `mlp/${arm}/seed${seed}`,
            label: arm,
            info: { arm, seed },
            final: { testAccuracy: 80 },
            log,
          });
        }
      const config: SmoothnessConfig = { ...SMOOTHNESS_PRESETS.smoke, lrMultipliers: [1] };
      return syntheticReport('smoothness', config, jobs, writeSmoothnessReport);
    };
    expect(await report([1.01, 0.99, 1.02, 1.0])).toContain('no smoothing of 10% or more');
    expect(await report([1.3, 0.8, 1.1, 0.9])).toContain('too wide to rule out a 10% change');
    expect(await report([0.8, 0.82, 0.79, 0.81])).toContain('confirms the claim here');
  });
});
