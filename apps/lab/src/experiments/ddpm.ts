import { cat, noGrad, randn, type Tensor, tensor } from '@agrad/autograd';
import { Conv2d, GroupNorm, LayerNorm, Linear, Module, ModuleList, SiLU } from '@agrad/nn';

/**
 * DDPM (Ho et al., 2020) pieces for `pnpm lab generate`: a linear beta schedule, two noise
 * predictors (a tiny UNet on images, a residual MLP on vectors such as PCA latents), and
 * deterministic DDIM sampling (Song et al., 2021).
 */

/** A denoiser maps noisy samples x_t [N, ...] and their timesteps to the noise eps (same shape). */
export interface Denoiser extends Module {
  forward(x: Tensor, t: Int32Array): Tensor;
}
export class NoiseSchedule {
  readonly betas: Float64Array;
  /** alpha-bar_t = prod_{s <= t} (1 - beta_s), t = 0 .. T-1. */
  readonly alphasCumprod: Float64Array;

  constructor(
    readonly timesteps = 1000,
    betaStart = 1e-4,
    betaEnd = 0.02,
  ) {
    this.betas = Float64Array.from({ length: timesteps }, (_, t) =>
      timesteps === 1 ? betaStart : betaStart + ((betaEnd - betaStart) * t) / (timesteps - 1),
    );
    this.alphasCumprod = new Float64Array(timesteps);
    let product = 1;
    this.betas.forEach((beta, t) => {
      product *= 1 - beta;
      this.alphasCumprod[t] = product;
    });
  }

  /** x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, per example; x0 and eps are [N, ...]. */
  addNoise(x0: Tensor, noise: Tensor, t: Int32Array): Tensor {
    const shape = x0.shape.map((size, axis) => (axis === 0 ? size : 1));
    const a = tensor(
      Float32Array.from(t, (s) => Math.sqrt(this.alphasCumprod[s])),
      { shape },
    );
    const b = tensor(
      Float32Array.from(t, (s) => Math.sqrt(1 - this.alphasCumprod[s])),
      { shape },
    );
    return x0.mul(a).add(noise.mul(b));
  }
}

/** Sinusoidal embedding of integer timesteps, [N, dim] (dim even), as in the Transformer and DDPM. */
export function timestepEmbedding(t: Int32Array, dim: number): Tensor {
  const half = dim / 2;
  const out = new Float32Array(t.length * dim);
  t.forEach((step, n) => {
    for (let i = 0; i < half; i++) {
      const angle = step * Math.exp((-Math.log(10000) * i) / half);
      out[n * dim + i] = Math.sin(angle);
      out[n * dim + half + i] = Math.cos(angle);
    }
  });
  return tensor(out, { shape: [t.length, dim] });
}

/** Nearest-neighbour 2x upsampling of [N, C, H, W], composed from reshape and expand. */
export function upsample2x(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  return x
    .reshape([n, c, h, 1, w, 1])
    .expand([n, c, h, 2, w, 2])
    .reshape([n, c, 2 * h, 2 * w]);
}

const groupsFor = (channels: number) => Math.min(8, channels / 4);

/** GroupNorm-SiLU-conv twice, with the timestep embedding added between, and a residual path. */
export class ResBlock extends Module {
  private readonly projectSkip: boolean;

  constructor(inChannels: number, outChannels: number, embedding: number) {
    super();
    this.projectSkip = inChannels !== outChannels;
    this.registerModule('norm1', new GroupNorm(groupsFor(inChannels), inChannels));
    this.registerModule('conv1', new Conv2d(inChannels, outChannels, 3, { padding: 1 }));
    this.registerModule('temb', new Linear(embedding, outChannels));
    this.registerModule('norm2', new GroupNorm(groupsFor(outChannels), outChannels));
    this.registerModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1 }));
    if (this.projectSkip) this.registerModule('skip', new Conv2d(inChannels, outChannels, 1));
  }

  forward(x: Tensor, temb: Tensor): Tensor {
    const silu = (t: Tensor) => t.mul(t.sigmoid());
    let h = this.module<Conv2d>('conv1').forward(silu(this.module<GroupNorm>('norm1').forward(x)));
    const [n, c] = h.shape;
    h = h.add(this.module<Linear>('temb').forward(temb).reshape([n, c, 1, 1]));
    h = this.module<Conv2d>('conv2').forward(silu(this.module<GroupNorm>('norm2').forward(h)));
    const skip = this.projectSkip ? this.module<Conv2d>('skip').forward(x) : x;
    return h.add(skip);
  }
}

/**
 * A tiny UNet for 28x28 single-channel images: 28 -> 14 -> 7 and back, with skip connections
 * and the timestep embedding fed to every block. Predicts the noise eps.
 */
export class TinyUNet extends Module implements Denoiser {
  constructor(readonly channels = 16) {
    super();
    const c = channels;
    const e = 4 * c;
    this.registerModule('time_mlp', new ModuleList([new Linear(c, e), new SiLU(), new Linear(e, e)]));
    this.registerModule('conv_in', new Conv2d(1, c, 3, { padding: 1 }));
    this.registerModule('down1', new ResBlock(c, c, e));
    this.registerModule('downsample1', new Conv2d(c, c, 3, { stride: 2, padding: 1 }));
    this.registerModule('down2', new ResBlock(c, 2 * c, e));
    this.registerModule('downsample2', new Conv2d(2 * c, 2 * c, 3, { stride: 2, padding: 1 }));
    this.registerModule('mid', new ResBlock(2 * c, 2 * c, e));
    this.registerModule('up2', new ResBlock(4 * c, 2 * c, e));
    this.registerModule('up1', new ResBlock(3 * c, c, e));
    this.registerModule('norm_out', new GroupNorm(groupsFor(c), c));
    this.registerModule('conv_out', new Conv2d(c, 1, 3, { padding: 1 }));
  }

  forward(x: Tensor, t: Int32Array): Tensor {
    let temb = timestepEmbedding(t, this.channels);
    for (const layer of this.module<ModuleList<Module & { forward(x: Tensor): Tensor }>>('time_mlp'))
      temb = layer.forward(temb);
    const block = (name: string) => this.module<ResBlock>(name);
    const conv = (name: string) => this.module<Conv2d>(name);
    const s1 = block('down1').forward(conv('conv_in').forward(x), temb); // [N, c, 28, 28]
    const s2 = block('down2').forward(conv('downsample1').forward(s1), temb); // [N, 2c, 14, 14]
    let h = block('mid').forward(conv('downsample2').forward(s2), temb); // [N, 2c, 7, 7]
    h = block('up2').forward(cat([upsample2x(h), s2], 1), temb); // [N, 2c, 14, 14]
    h = block('up1').forward(cat([upsample2x(h), s1], 1), temb); // [N, c, 28, 28]
    const out = this.module<GroupNorm>('norm_out').forward(h);
    return conv('conv_out').forward(out.mul(out.sigmoid()));
  }
}

/** One residual block of the MLP denoiser: h + Linear(SiLU(LayerNorm(h + Linear(temb)))). */
export class MlpBlock extends Module {
  constructor(width: number, embedding: number) {
    super();
    this.registerModule('time', new Linear(embedding, width));
    this.registerModule('norm', new LayerNorm(width));
    this.registerModule('linear', new Linear(width, width));
  }

  forward(h: Tensor, temb: Tensor): Tensor {
    const z = this.module<LayerNorm>('norm').forward(h.add(this.module<Linear>('time').forward(temb)));
    return h.add(this.module<Linear>('linear').forward(z.mul(z.sigmoid())));
  }
}

/**
 * A residual MLP noise predictor for vectors [N, features] (the lab's PCA latents): in
 * (features -> width), `depth` MlpBlocks, out (width -> features). Every unit sees every
 * coordinate, so on image latents the global shape of a garment is learned from the first steps.
 */
export class MlpDenoiser extends Module implements Denoiser {
  /** Width of the sinusoidal timestep embedding. */
  static readonly EMBEDDING = 128;

  constructor(
    readonly features: number,
    readonly width: number,
    readonly depth: number,
  ) {
    super();
    this.registerModule('input', new Linear(features, width));
    const blocks = Array.from({ length: depth }, () => new MlpBlock(width, MlpDenoiser.EMBEDDING));
    this.registerModule('blocks', new ModuleList(blocks));
    this.registerModule('output', new Linear(width, features));
  }

  forward(x: Tensor, t: Int32Array): Tensor {
    const temb = timestepEmbedding(t, MlpDenoiser.EMBEDDING);
    let h = this.module<Linear>('input').forward(x);
    for (const block of this.module<ModuleList<MlpBlock>>('blocks')) h = block.forward(h, temb);
    return this.module<Linear>('output').forward(h);
  }
}

/**
 * Deterministic DDIM sampling (eta = 0) over `steps` evenly spaced timesteps: from x_T ~ N(0, I)
 * of shape [count, ...sampleShape], predict eps, form the x0 estimate (clipped to [-1, 1] for
 * images; latents are not bounded), and step to the previous timestep.
 */
export function ddimSample(
  model: Pick<Denoiser, 'forward' | 'training' | 'train' | 'eval'>,
  schedule: NoiseSchedule,
  count: number,
  steps: number,
  options: { sampleShape?: number[]; clip?: boolean } = {},
): Tensor {
  const { sampleShape = [1, 28, 28], clip = true } = options;
  return noGrad(() => {
    const wasTraining = model.training;
    model.eval();
    const stride = schedule.timesteps / steps;
    const times = Array.from({ length: steps }, (_, i) => Math.round(i * stride));
    let x = randn([count, ...sampleShape]);
    for (let i = steps - 1; i >= 0; i--) {
      const t = times[i];
      const abar = schedule.alphasCumprod[t];
      const abarPrev = i > 0 ? schedule.alphasCumprod[times[i - 1]] : 1;
      const eps = model.forward(x, new Int32Array(count).fill(t));
      const estimate = x.sub(eps.mul(Math.sqrt(1 - abar))).div(Math.sqrt(abar));
      const x0 = clip ? estimate.clamp(-1, 1) : estimate;
      x = x0.mul(Math.sqrt(abarPrev)).add(eps.mul(Math.sqrt(1 - abarPrev)));
    }
    if (wasTraining) model.train();
    return x;
  });
}
