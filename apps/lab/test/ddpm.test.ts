import { gradcheck, manualSeed, randn, type Tensor, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import {
  ddimSample,
  MlpDenoiser,
  NoiseSchedule,
  TinyUNet,
  timestepEmbedding,
  upsample2x,
} from '../src/experiments/ddpm.js';

describe('DDPM pieces', () => {
  it('the linear schedule runs from 1e-4 to 0.02 and alpha-bar is the running product of 1 - beta', () => {
    const s = new NoiseSchedule(1000);
    expect(s.betas[0]).toBeCloseTo(1e-4, 15);
    expect(s.betas[999]).toBeCloseTo(0.02, 15);
    let product = 1;
    for (let t = 0; t < 1000; t++) product *= 1 - s.betas[t];
    expect(s.alphasCumprod[999]).toBeCloseTo(product, 15);
    // Known value of this standard schedule (as computed by torch.cumprod in float64): abar_999 ~ 4.04e-5.
    expect(s.alphasCumprod[999]).toBeGreaterThan(4.0e-5);
    expect(s.alphasCumprod[999]).toBeLessThan(4.1e-5);
  });

  it('addNoise mixes x0 and noise with sqrt(abar) and sqrt(1 - abar) per example', () => {
    const s = new NoiseSchedule(10);
    const x0 = tensor([1, 2], { shape: [2, 1, 1, 1] });
    const noise = tensor([3, 4], { shape: [2, 1, 1, 1] });
    const xt = s.addNoise(x0, noise, Int32Array.from([0, 9])).data;
    const a = s.alphasCumprod;
    expect(xt[0]).toBeCloseTo(Math.sqrt(a[0]) * 1 + Math.sqrt(1 - a[0]) * 3, 6);
    expect(xt[1]).toBeCloseTo(Math.sqrt(a[9]) * 2 + Math.sqrt(1 - a[9]) * 4, 6);
  });

  it('upsample2x repeats each pixel into a 2x2 block, and its gradient passes gradcheck', () => {
    const x = tensor([1, 2, 3, 4], { shape: [1, 1, 2, 2] });
    expect([...upsample2x(x).data]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    manualSeed(0);
    const input = randn([2, 3, 2, 3], { dtype: 'float64', requiresGrad: true });
    const report = gradcheck((t) => upsample2x(t), [input]);
    expect(report.ok, report.message).toBe(true);
  });

  it('timestep embeddings are sin/cos pairs on the unit circle', () => {
    const e = timestepEmbedding(Int32Array.from([0, 17, 999]), 8).data;
    for (let n = 0; n < 3; n++)
      for (let i = 0; i < 4; i++) expect(e[n * 8 + i] ** 2 + e[n * 8 + 4 + i] ** 2).toBeCloseTo(1, 6);
    expect(e[0]).toBe(0); // sin(0)
  });

  it('DDIM with the exact noise predictor of a one-image dataset returns that image', () => {
    // For data that is always x*, the optimal eps(x_t, t) = (x_t - sqrt(abar_t) x*) / sqrt(1 - abar_t).
    const schedule = new NoiseSchedule(1000);
    const target = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i / 7) * 0.9);
    const star = tensor(target, { shape: [1, 1, 28, 28] });
    const oracle = {
      training: false,
      train: () => oracle,
      eval: () => oracle,
      forward: (x: Tensor, t: Int32Array) => {
        const abar = schedule.alphasCumprod[t[0]];
        return x.sub(star.mul(Math.sqrt(abar))).div(Math.sqrt(1 - abar));
      },
    };
    manualSeed(0);
    const samples = ddimSample(oracle as never, schedule, 3, 25).data;
    for (let n = 0; n < 3; n++)
      for (let i = 0; i < 784; i += 37) expect(samples[n * 784 + i]).toBeCloseTo(target[i], 4);
  });

  it('the UNet maps [N,1,28,28] to noise of the same shape; DDIM samples are in [-1, 1] and reproducible', () => {
    manualSeed(0);
    const model = new TinyUNet(8);
    expect(model.forward(randn([2, 1, 28, 28]), Int32Array.from([5, 500])).shape).toEqual([2, 1, 28, 28]);
    const s = new NoiseSchedule(100);
    manualSeed(3);
    const a = ddimSample(model, s, 2, 4).data;
    manualSeed(3);
    const b = ddimSample(model, s, 2, 4).data;
    expect([...a]).toEqual([...b]);
    for (const v of a) {
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
    }
  });
});

describe('latent diffusion pieces', () => {
  it('the MLP denoiser maps [N, k] latents to noise of the same shape, and DDIM samples latents unclipped', () => {
    manualSeed(0);
    const model = new MlpDenoiser(6, 16, 2);
    expect(model.forward(randn([3, 6]), Int32Array.from([0, 10, 999])).shape).toEqual([3, 6]);
    // An exact noise predictor for a one-point data set z*: eps = (x - sqrt(abar) z*) / sqrt(1 - abar).
    const star = tensor([3, -2, 0.5, 4, -5, 1], { shape: [1, 6] });
    const schedule = new NoiseSchedule();
    const oracle = {
      training: false,
      train() {},
      eval() {},
      forward: (x: Tensor, t: Int32Array) => {
        const abar = schedule.alphasCumprod[t[0]];
        return x.sub(star.mul(Math.sqrt(abar))).div(Math.sqrt(1 - abar));
      },
    };
    manualSeed(1);
    const samples = ddimSample(oracle as never, schedule, 2, 20, { sampleShape: [6], clip: false });
    expect(samples.shape).toEqual([2, 6]);
    const values = samples.data as Float32Array;
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < 6; i++) expect(values[n * 6 + i]).toBeCloseTo((star.data as Float32Array)[i], 3);
  });
});
