import { arange, type DType, formatShape, noGrad, rand, type Tensor, unfold, where } from '@agrad/autograd';
import { cpuBackend, ops } from '@agrad/tensor';

/**
 * torch.nn.functional, composed from autograd's primitives (no gradient is defined here).
 * Layouts are PyTorch's: images NCHW, conv weights [out, in/groups, kH, kW], linear weights
 * [out, in].
 */

export type Pair = number | readonly [number, number];
/** A number or an [h, w] pair as an [h, w] pair. */
export const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** y = x W^T + b. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new RangeError(
      `linear: input ${formatShape(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  const y = x.matmul(weight.t());
  return bias ? y.add(bias) : y;
}

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) by im2col: unfold the input into columns of
 * C/groups*kH*kW values, then one (grouped, batched) matmul with the flattened weight.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  const groups = options.groups ?? 1;
  if (x.ndim !== 4) throw new RangeError(`conv2d: expected input [N,C,H,W], got ${formatShape(x.shape)}`);
  if (weight.ndim !== 4)
    throw new RangeError(`conv2d: expected weight [out,in/groups,kH,kW], got ${formatShape(weight.shape)}`);
  const [n, c] = x.shape;
  const [out, inPerGroup, kh, kw] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || out % groups !== 0) {
    throw new RangeError(
      `conv2d: groups=${groups} must divide both in channels (${c}) and out channels (${out})`,
    );
  }
  if (c / groups !== inPerGroup) {
    throw new RangeError(
      `conv2d: input has ${c} channels but weight ${formatShape(weight.shape)} expects ${inPerGroup * groups} (groups=${groups})`,
    );
  }
  const window = {
    kernel: [kh, kw] as [number, number],
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
  };
  const cols = unfold(x, window); // [N, C*kh*kw, L]
  const L = cols.shape[2];
  const [outH, outW] = ops.windowOutput('conv2d', x.shape, window);
  let y: Tensor;
  if (groups === 1) {
    y = weight.reshape([out, c * kh * kw]).matmul(cols); // [N, out, L]
  } else {
    const groupedCols = cols.reshape([n, groups, inPerGroup * kh * kw, L]);
    y = weight.reshape([groups, out / groups, inPerGroup * kh * kw]).matmul(groupedCols); // [N, G, out/G, L]
  }
  y = y.reshape([n, out, outH, outW]);
  return bias ? y.add(bias.reshape([1, out, 1, 1])) : y;
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function poolColumns(op: string, x: Tensor, kernel: Pair, options: PoolOptions, padValue: number) {
  if (x.ndim !== 4) throw new RangeError(`${op}: expected input [N,C,H,W], got ${formatShape(x.shape)}`);
  const [n, c, h] = x.shape;
  const k = pair(kernel);
  const window = {
    kernel: k,
    stride: pair(options.stride ?? kernel),
    padding: pair(options.padding ?? 0),
    dilation: pair(options.dilation ?? 1),
  };
  if (window.padding[0] * 2 > k[0] || window.padding[1] * 2 > k[1]) {
    throw new RangeError(
      `${op}: padding ${formatShape(window.padding)} must be at most half the kernel ${formatShape(k)}`,
    );
  }
  const cols = unfold(x.reshape([n * c, 1, h, x.shape[3]]), window, padValue); // [N*C, kh*kw, L]
  const [outH, outW] = ops.windowOutput(op, x.shape, window);
  return { cols, shape: [n, c, outH, outW] };
}

/** Max over each window; the gradient goes to the first maximum (as PyTorch). Padding is -inf. */
export function maxPool2d(x: Tensor, kernel: Pair, options: PoolOptions = {}): Tensor {
  const { cols, shape } = poolColumns('maxPool2d', x, kernel, options, Number.NEGATIVE_INFINITY);
  const winner = cols.argmax(1, true);
  return cols.gather(1, winner).reshape(shape);
}

/** Mean over each window, padding counted as zeros (count_include_pad=True, PyTorch's default). */
export function avgPool2d(x: Tensor, kernel: Pair, options: Omit<PoolOptions, 'dilation'> = {}): Tensor {
  const { cols, shape } = poolColumns('avgPool2d', x, kernel, options, 0);
  return cols.mean(1).reshape(shape);
}

/** Mean over the whole H x W plane: [N, C, H, W] -> [N, C, 1, 1]. */
export function adaptiveAvgPool2dTo1(x: Tensor): Tensor {
  return x.mean([2, 3], true);
}

/** Statistics are taken over every dim but 1 (the channel dim). */
function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalization (Ioffe & Szegedy). Training: normalize by the batch mean and biased
 * variance over every dim but 1, and update running stats in place with the unbiased variance:
 * running <- (1 - momentum) running + momentum * batch. Evaluation: use the running stats.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  if (x.ndim < 2)
    throw new RangeError(`batchNorm: expected at least 2 dims [N,C,...], got ${formatShape(x.shape)}`);
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const shape = channelShape(x);
  let mean: Tensor;
  let variance: Tensor;
  if (training || !runningMean || !runningVar) {
    const count = x.size / x.shape[1];
    if (training && count <= 1) {
      throw new RangeError(
        `batchNorm: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
      );
    }
    mean = x.mean(dims, true);
    variance = x.var(dims, true, { correction: 0 });
    if (training && runningMean && runningVar) {
      noGrad(() => {
        runningMean.copy_(runningMean.mul(1 - momentum).add(mean.reshape([-1]).mul(momentum)));
        runningVar.copy_(
          runningVar.mul(1 - momentum).add(variance.reshape([-1]).mul((momentum * count) / (count - 1))),
        );
      });
    }
  } else {
    mean = runningMean.reshape(shape);
    variance = runningVar.reshape(shape);
  }
  let y = x.sub(mean).div(variance.add(eps).sqrt());
  if (weight) y = y.mul(weight.reshape(shape));
  if (bias) y = y.add(bias.reshape(shape));
  return y;
}

function lastDims(x: Tensor, normalizedShape: readonly number[], op: string): number[] {
  const k = normalizedShape.length;
  if (x.shape.slice(x.ndim - k).join() !== normalizedShape.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(x.shape)} does not end with normalized shape ${formatShape(normalizedShape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.ndim - k + i);
}

/** Normalizes over the last dims (biased variance), then an optional elementwise affine. */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const dims = lastDims(
    x,
    typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape,
    'layerNorm',
  );
  const mean = x.mean(dims, true);
  let y = x.sub(mean).div(x.var(dims, true, { correction: 0 }).add(eps).sqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** Machine epsilon of a float dtype (torch.finfo(dtype).eps): RMSNorm's default eps. */
export function machineEpsilon(dtype: DType): number {
  return dtype === 'float64' ? 2 ** -52 : 2 ** -23;
}

/** x / sqrt(mean(x^2 over the last dims) + eps) * weight (Zhang & Sennrich; torch.nn.RMSNorm). */
export function rmsNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  eps?: number | null,
): Tensor {
  const dims = lastDims(
    x,
    typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape,
    'rmsNorm',
  );
  const y = x.div(
    x
      .mul(x)
      .mean(dims, true)
      .add(eps ?? machineEpsilon(x.dtype))
      .sqrt(),
  );
  return weight ? y.mul(weight) : y;
}

/** Group normalization (Wu & He): channels in `numGroups` groups, each normalized per sample. */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  const [n, c] = x.shape;
  if (x.ndim < 2 || c % numGroups !== 0) {
    throw new RangeError(
      `groupNorm: ${c} channels of input ${formatShape(x.shape)} cannot be split into ${numGroups} groups`,
    );
  }
  const grouped = x.reshape([n, numGroups, -1]);
  const mean = grouped.mean(2, true);
  const normalized = grouped
    .sub(mean)
    .div(grouped.var(2, true, { correction: 0 }).add(eps).sqrt())
    .reshape(x.shape);
  const shape = channelShape(x);
  let y = normalized;
  if (weight) y = y.mul(weight.reshape(shape));
  if (bias) y = y.add(bias.reshape(shape));
  return y;
}

/** Zeroes each element with probability p during training and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { dtype: x.dtype }).ge(p);
  return where(keep, x.div(1 - p), 0);
}

/** Rows of `weight` picked by integer ids: [...ids.shape, dim]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (ids.dtype !== 'int32') throw new TypeError(`embedding: ids must be int32, got ${ids.dtype}`);
  return weight.indexSelect(0, ids.reshape([-1])).reshape([...ids.shape, weight.shape[1]]);
}

export interface AttentionOptions {
  /** Bool: true where attention is allowed; float: added to the scores. Broadcasts to [..., L, S]. */
  attnMask?: Tensor | null;
  isCausal?: boolean;
  dropoutP?: number;
  /** Defaults to 1/sqrt(E). */
  scale?: number;
}

/** Lower-triangular [L, S] bool mask: query i may attend to keys 0..i. */
export function causalMask(l: number, s: number): Tensor {
  return arange(l)
    .reshape([l, 1])
    .ge(arange(s).reshape([1, s]));
}

/**
 * softmax(q k^T * scale + mask) v, with torch.nn.functional.scaled_dot_product_attention's
 * mask convention (a bool mask is true where attention is allowed).
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): Tensor {
  const e = q.shape[q.ndim - 1];
  const [l, s] = [q.shape[q.ndim - 2], k.shape[k.ndim - 2]];
  let scores = q.matmul(k.transpose(-2, -1)).mul(options.scale ?? 1 / Math.sqrt(e));
  if (options.isCausal) scores = where(causalMask(l, s), scores, Number.NEGATIVE_INFINITY);
  const mask = options.attnMask;
  if (mask) scores = mask.dtype === 'bool' ? where(mask, scores, Number.NEGATIVE_INFINITY) : scores.add(mask);
  let weights = scores.softmax(-1);
  if (options.dropoutP) weights = dropout(weights, options.dropoutP, true);
  return weights.matmul(v);
}

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction, op: string): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  if (reduction === 'none') return loss;
  throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
}

export interface NllOptions {
  reduction?: Reduction;
  /** Targets equal to this contribute nothing and are left out of the mean (default -100). */
  ignoreIndex?: number;
}

function checkTargets(op: string, input: Tensor, target: Tensor, ignoreIndex: number): void {
  if (target.dtype !== 'int32')
    throw new TypeError(`${op}: target must hold int32 class ids, got ${target.dtype}`);
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (target.shape.join() !== expected.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(input.shape)} needs target of shape ${formatShape(expected)}, got ${formatShape(target.shape)}`,
    );
  }
  const classes = input.shape[1];
  // Targets on another backend stay there: its gather checks them (see pickTargets).
  if (target.backend !== cpuBackend) return;
  for (const t of target.data) {
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new RangeError(`${op}: target ${t} is out of bounds for ${classes} classes`);
    }
  }
}

/**
 * Negative log-likelihood of class ids under log-probabilities: input [N, C] or [N, C, d...],
 * target [N] or [N, d...]. 'mean' divides by the number of targets that are not ignored.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NllOptions = {}): Tensor {
  const { reduction = 'mean', ignoreIndex = -100 } = options;
  checkTargets('nllLoss', logProbs, target, ignoreIndex);
  const valid = target.ne(ignoreIndex);
  const safeTarget = where(valid, target, 0).to('int32').unsqueeze(1);
  const picked = pickTargets('nllLoss', logProbs, safeTarget).squeeze(1).neg();
  const loss = where(valid, picked, 0);
  if (reduction === 'mean') return loss.sum().div(valid.sum().to(loss.dtype));
  return reduce(loss, reduction, 'nllLoss');
}

/** gather along the classes, with an out-of-range target reported as the loss's error. */
function pickTargets(op: string, logProbs: Tensor, target: Tensor): Tensor {
  try {
    return logProbs.gather(1, target);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(
      `${op}: a target is out of bounds for ${logProbs.shape[1]} classes (${error.message})`,
    );
  }
}

export interface CrossEntropyOptions extends NllOptions {
  /** Mixes the target with the uniform distribution: (1 - e) one-hot + e / C. */
  labelSmoothing?: number;
}

/** logSoftmax over dim 1, then nllLoss; with label smoothing as torch.nn.functional.cross_entropy. */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { reduction = 'mean', ignoreIndex = -100, labelSmoothing = 0 } = options;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  if (logits.ndim < 2)
    throw new RangeError(`crossEntropy: expected logits [N, C, ...], got ${formatShape(logits.shape)}`);
  const logProbs = logits.logSoftmax(1);
  const nll = nllLoss(logProbs, target, { reduction: 'none', ignoreIndex });
  const valid = target.ne(ignoreIndex);
  let loss = nll;
  if (labelSmoothing > 0) {
    const smooth = where(valid, logProbs.mean(1).neg(), 0);
    loss = nll.mul(1 - labelSmoothing).add(smooth.mul(labelSmoothing));
  }
  if (reduction === 'mean') return loss.sum().div(valid.sum().to(loss.dtype));
  return reduce(loss, reduction, 'crossEntropy');
}

function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.join() !== b.shape.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(a.shape)} and target ${formatShape(b.shape)} must have the same shape`,
    );
  }
}

export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkSameShape('mseLoss', input, target);
  return reduce(input.sub(target).pow(2), options.reduction ?? 'mean', 'mseLoss');
}

export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkSameShape('l1Loss', input, target);
  return reduce(input.sub(target).abs(), options.reduction ?? 'mean', 'l1Loss');
}

/**
 * Binary cross-entropy on logits, (1 - y) x + (1 + (w - 1) y) softplus(-x), with w = posWeight
 * (1 by default), as PyTorch computes it. softplus keeps exp from overflowing and has the right
 * slope at x = 0, where log1p(e^-|x|) + max(-x, 0) would meet two kinks.
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  target: Tensor,
  options: { reduction?: Reduction; posWeight?: Tensor | null } = {},
): Tensor {
  checkSameShape('binaryCrossEntropyWithLogits', logits, target);
  const logSigmoidNeg = logits.neg().softplus();
  const weight = options.posWeight ? options.posWeight.sub(1).mul(target).add(1) : null;
  const loss = target
    .neg()
    .add(1)
    .mul(logits)
    .add(weight ? weight.mul(logSigmoidNeg) : logSigmoidNeg);
  return reduce(loss, options.reduction ?? 'mean', 'binaryCrossEntropyWithLogits');
}
