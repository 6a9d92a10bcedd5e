import {
  arange,
  cat,
  type DType,
  fold,
  formatShape,
  fromTypedArray,
  maxPoolIndices,
  noGrad,
  rand,
  Tensor,
  traceAs,
  unfold,
  where,
} from '@agrad/autograd';
import { checkOptions, checkValue, ops, type Rule, rules, type Window } from '@agrad/tensor';
import {
  avgPoolOptions,
  convOptions,
  maxPoolOptions,
  normalizedShapeOf,
  optionalTensor,
  paddingPair,
  reduction as reductionRule,
  requireDims,
  requireTensor,
  windowPair,
} from './check.js';

/**
 * torch.nn.functional, composed from autograd's primitives (no gradient is defined here).
 * Layouts are PyTorch's: images NCHW, conv weights [out, in/groups, kH, kW], linear weights
 * [out, in]. Every function checks its arguments and names itself in its errors.
 */

export type Pair = number | readonly [number, number];
/** A number or an [h, w] pair as an [h, w] pair. */
export const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** y = x W^T + b. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  requireTensor('linear', 'input', x);
  requireDims('linear', 'weight', weight, 2, '[out, in]');
  checkValue('linear', 'bias', bias ?? null, optionalTensor);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new RangeError(
      `linear: input ${formatShape(x.shape)} has ${x.shape[x.ndim - 1] ?? 0} features but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new RangeError(
      `linear: bias ${formatShape(bias.shape)} does not match the ${weight.shape[0]} outputs of weight ${formatShape(weight.shape)}`,
    );
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return traceAs('linear', inputs, {}, () => {
    const y = x.matmul(weight.t());
    return bias ? y.add(bias) : y;
  });
}

/** F.pad's mode (only 'constant' here) and fill value. */
export interface PadOptions {
  /** Only 'constant' (PyTorch's default). */
  mode?: 'constant';
  /** The fill value (default 0); may be infinite. */
  value?: number;
}

/**
 * Pads (or, with negative amounts, crops) the last dims, as torch.nn.functional.pad:
 * `pad` lists [before, after] amounts from the last dim backwards, so [1, 2] pads the last dim
 * with 1 value before and 2 after, and [1, 1, 2, 2] also pads the dim before it by 2 and 2.
 *
 * @example
 * F.pad(x, [1, 1, 1, 1]);                                      // one pixel of zeros around NCHW images
 * F.pad(x, [0, 1], { value: Number.NEGATIVE_INFINITY });      // one -inf column at the right
 */
export function pad(x: Tensor, amounts: readonly number[], options: PadOptions = {}): Tensor {
  requireTensor('pad', 'input', x);
  checkOptions('pad', options, {
    mode: rules.oneOf('constant'),
    value: (v) => (typeof v === 'number' && !Number.isNaN(v) ? null : 'a number'),
  });
  checkValue('pad', 'pad', amounts, (v) =>
    Array.isArray(v) &&
    v.length % 2 === 0 &&
    v.every((a) => rules.inRange(-(2 ** 31), 2 ** 31, { integer: true })(a) === null)
      ? null
      : 'an array of an even number of integers ([before, after] per dim, last dim first)',
  );
  if (amounts.length / 2 > x.ndim) {
    throw new RangeError(
      `pad: ${amounts.length / 2} dims of padding for input ${formatShape(x.shape)} with ${x.ndim} dims`,
    );
  }
  const value = options.value ?? 0;
  let out = x;
  for (let k = 0; k < amounts.length / 2; k++) {
    const dim = x.ndim - 1 - k;
    let [before, after] = [amounts[2 * k], amounts[2 * k + 1]];
    const size = out.shape[dim];
    if (size + before + after < 0) {
      throw new RangeError(
        `pad: padding [${before}, ${after}] would leave dim ${dim} of ${formatShape(x.shape)} with negative size`,
      );
    }
    // Negative amounts crop.
    const start = Math.max(0, -before);
    const end = size - Math.max(0, -after);
    if (start > 0 || end < size) out = out.slice(dim, start, end);
    before = Math.max(0, before);
    after = Math.max(0, after);
    if (before === 0 && after === 0) continue;
    const filler = (n: number) => {
      const shape = out.shape.map((d, i) => (i === dim ? n : d));
      return new Tensor(ops.full(shape, value, out.dtype, out.backend));
    };
    out = cat([...(before > 0 ? [filler(before)] : []), out, ...(after > 0 ? [filler(after)] : [])], dim);
  }
  return out;
}

/** conv2d's stride, padding, dilation and groups, as torch.nn.functional.conv2d's. */
export interface ConvOptions {
  stride?: Pair;
  /** Zeros added on both sides, or 'valid' (none) or 'same' (the output keeps the input's size; stride 1). */
  padding?: Pair | 'valid' | 'same';
  dilation?: Pair;
  groups?: number;
}

/** convTranspose2d's stride, padding, output padding, dilation and groups, as PyTorch's. */
export interface ConvTransposeOptions {
  stride?: Pair;
  /** Removed from both sides of the output: dilation (k - 1) - padding zeros of implicit padding. */
  padding?: Pair;
  /** Added to one side of the output, to pick among the sizes a strided conv maps to one size. */
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}

/**
 * Transposed 2-D convolution (torch.nn.functional.conv_transpose2d): the adjoint of conv2d, so
 * each input pixel scatters a weighted copy of the kernel into the output. x [N, in, H, W] (or
 * [in, H, W]), weight [in, out/groups, kH, kW] (PyTorch's layout, in channels first); output
 * [N, out, (H - 1) stride - 2 padding + dilation (k - 1) + outputPadding + 1, ...]. Computed as
 * conv2d's adjoint is: a product with the weight, then fold (col2im).
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options: ConvTransposeOptions = {},
): Tensor {
  checkOptions('convTranspose2d', options, {
    stride: windowPair,
    padding: paddingPair,
    outputPadding: paddingPair,
    groups: rules.positiveInteger,
    dilation: windowPair,
  });
  requireDims('convTranspose2d', 'input', x, [3, 4], '[N,C,H,W] or [C,H,W]');
  requireDims('convTranspose2d', 'weight', weight, 4, '[in,out/groups,kH,kW]');
  checkValue('convTranspose2d', 'bias', bias ?? null, optionalTensor);
  const input = x.ndim === 4 ? x : x.unsqueeze(0);
  const groups = options.groups ?? 1;
  const [n, c, h, w] = input.shape;
  const [inChannels, outPerGroup, kh, kw] = weight.shape;
  if (c !== inChannels)
    throw new RangeError(
      `convTranspose2d: input has ${c} channels but weight ${formatShape(weight.shape)} expects ${inChannels}`,
    );
  if (c % groups !== 0)
    throw new RangeError(`convTranspose2d: groups=${groups} must divide the in channels (${c})`);
  const out = outPerGroup * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== out))
    throw new RangeError(
      `convTranspose2d: bias ${formatShape(bias.shape)} does not match the ${out} output channels`,
    );
  const [stride, padding, dilation, extra] = [
    pair(options.stride ?? 1),
    pair(options.padding ?? 0),
    pair(options.dilation ?? 1),
    pair(options.outputPadding ?? 0),
  ];
  extra.forEach((e, k) => {
    if (e >= stride[k] && e >= dilation[k])
      throw new RangeError(
        `convTranspose2d: outputPadding ${formatShape(extra)} must be smaller than the stride ${formatShape(stride)} or the dilation ${formatShape(dilation)}`,
      );
  });
  const size = (i: number, k: number, d: number) =>
    (i - 1) * stride[d] - 2 * padding[d] + dilation[d] * (k - 1) + extra[d] + 1;
  const [outH, outW] = [size(h, kh, 0), size(w, kw, 1)];
  if (outH < 1 || outW < 1)
    throw new RangeError(
      `convTranspose2d: the output would be ${outH}x${outW} for input ${formatShape(x.shape)}`,
    );
  const inPerGroup = c / groups;
  const inputs = bias ? [input, weight, bias] : [input, weight];
  const attributes = { stride, padding, dilation, outputPadding: extra, groups };
  const y = traceAs('convTranspose2d', inputs, attributes, () => {
    // Per group: cols [N, out/G * kh * kw, H W] = W_g^T x_g, the columns conv2d would have read.
    const xs = input.reshape([n, groups, inPerGroup, h * w]);
    const ws = weight.reshape([groups, inPerGroup, outPerGroup * kh * kw]).transpose(1, 2);
    const cols = ws.matmul(xs).reshape([n, out * kh * kw, h * w]);
    const window = { kernel: [kh, kw] as [number, number], stride, padding, dilation };
    const folded = fold(cols, [n, out, outH, outW], window);
    return bias ? folded.add(bias.reshape([1, out, 1, 1])) : folded;
  });
  return x.ndim === 4 ? y : y.squeeze(0);
}

/** conv1d's stride, padding, dilation and groups, as PyTorch's. */
export interface Conv1dOptions {
  stride?: number;
  /** Zeros on both ends, or 'valid' (none) or 'same' (output keeps the input's length; stride 1). */
  padding?: number | 'valid' | 'same';
  dilation?: number;
  groups?: number;
}

/**
 * 1-D convolution (torch.nn.functional.conv1d) over [N, C, L] or unbatched [C, L] input, with a
 * weight of shape [out, in/groups, k]: conv2d over a height of 1, so it shares conv2d's checks and gradient.
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor {
  checkOptions('conv1d', options, {
    stride: rules.positiveInteger,
    padding: rules.either(rules.count, rules.oneOf('valid', 'same')),
    dilation: rules.positiveInteger,
    groups: rules.positiveInteger,
  });
  requireDims('conv1d', 'input', x, [2, 3], '[N,C,L] or [C,L]');
  requireDims('conv1d', 'weight', weight, 3, '[out,in/groups,k]');
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  const batched = x.ndim === 3 ? x : x.unsqueeze(0);
  const y = conv2d(batched.unsqueeze(2), weight.unsqueeze(2), bias, {
    stride: [1, stride],
    padding: typeof padding === 'string' ? padding : [0, padding],
    dilation: [1, dilation],
    groups,
  }).squeeze(2);
  return x.ndim === 3 ? y : y.squeeze(0);
}

/**
 * 2-D convolution (cross-correlation, as PyTorch) by im2col: unfold the input into columns of
 * C/groups*kH*kW values, then one (grouped, batched) matmul with the flattened weight.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  checkOptions('conv2d', options, convOptions);
  requireDims('conv2d', 'input', x, 4, '[N,C,H,W]');
  requireDims('conv2d', 'weight', weight, 4, '[out,in/groups,kH,kW]');
  checkValue('conv2d', 'bias', bias ?? null, optionalTensor);
  const groups = options.groups ?? 1;
  const c = x.shape[1];
  const [out, inPerGroup, kh, kw] = weight.shape;
  if (c % groups !== 0 || out % groups !== 0) {
    throw new RangeError(
      `conv2d: groups=${groups} must divide both in channels (${c}) and out channels (${out})`,
    );
  }
  if (c / groups !== inPerGroup) {
    throw new RangeError(
      `conv2d: input has ${c} channels but weight ${formatShape(weight.shape)} expects ${inPerGroup * groups} (groups=${groups})`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== out)) {
    throw new RangeError(`conv2d: bias ${formatShape(bias.shape)} does not match the ${out} output channels`);
  }
  const stride = pair(options.stride ?? 1);
  const dilation = pair(options.dilation ?? 1);
  let padding: [number, number];
  let extra = [0, 0];
  if (options.padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1)
      throw new RangeError(`conv2d: padding 'same' needs stride 1, got ${formatShape(stride)}`);
    // PyTorch's split of an odd total: the extra zero goes after (right, bottom).
    const total = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
    padding = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
    extra = [total[0] % 2, total[1] % 2];
  } else {
    padding = options.padding === 'valid' ? [0, 0] : pair(options.padding ?? 0);
  }
  // Traced as one convolution; pads are [top, left, bottom, right], as ONNX's Conv takes them.
  const pads = [padding[0], padding[1], padding[0] + extra[0], padding[1] + extra[1]];
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return traceAs('conv2d', inputs, { stride, dilation, groups, pads }, () => {
    const input = extra[0] + extra[1] > 0 ? pad(x, [0, extra[1], 0, extra[0]]) : x;
    return convolve(input, weight, bias ?? null, { kernel: [kh, kw], stride, padding, dilation }, groups);
  });
}

/** conv2d's computation once its options are settled: unfold, then one (grouped) matmul. */
function convolve(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  window: Window,
  groups: number,
): Tensor {
  const [n, c] = input.shape;
  const [out, inPerGroup, kh, kw] = weight.shape;
  const [outH, outW] = ops.windowOutput('conv2d', input.shape, window);
  const cols = unfold(input, window); // [N, C*kh*kw, L]
  const L = cols.shape[2];
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

/** Pooling's stride (default: the kernel size), padding, dilation and ceil mode, as PyTorch's. */
export interface PoolOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  /** Added on both sides (at most half the kernel); max pooling pads with -inf, average with zeros. */
  padding?: Pair;
  dilation?: Pair;
  /** Round the output size up, so a last partial window is kept (PyTorch's ceil_mode). */
  ceilMode?: boolean;
}

/** avgPool2d's options: pooling's without dilation, whether padding counts in the average, and a divisor that overrides the window size. */
export interface AvgPoolOptions extends Omit<PoolOptions, 'dilation'> {
  /** Count padded zeros in each window's divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Divide every window by this instead. */
  divisorOverride?: number;
}

interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  /** Output size per spatial dim. */
  output: [number, number];
  /** Extra padding past the end that ceil mode's last window needs. */
  overhang: [number, number];
}

/**
 * PyTorch's pooling output size: floor((in + 2p - d(k-1) - 1) / s) + 1, rounded up instead in
 * ceil mode, except that the last window must start inside the input or its left padding.
 */
function poolGeometry(op: string, x: Tensor, kernel: Pair, options: PoolOptions): PoolGeometry {
  requireDims(op, 'input', x, 4, '[N,C,H,W]');
  checkValue(op, 'kernel size', kernel, windowPair);
  const k = pair(kernel);
  const stride = pair(options.stride ?? kernel);
  const padding = pair(options.padding ?? 0);
  const dilation = pair(options.dilation ?? 1);
  if (padding[0] * 2 > k[0] || padding[1] * 2 > k[1]) {
    throw new RangeError(
      `${op}: padding ${formatShape(padding)} must be at most half the kernel ${formatShape(k)}`,
    );
  }
  const output: [number, number] = [0, 0];
  const overhang: [number, number] = [0, 0];
  for (const d of [0, 1]) {
    const size = x.shape[2 + d];
    const span = dilation[d] * (k[d] - 1) + 1;
    const room = size + 2 * padding[d] - span;
    let out = Math.floor((room + (options.ceilMode ? stride[d] - 1 : 0)) / stride[d]) + 1;
    if (options.ceilMode && (out - 1) * stride[d] >= size + padding[d]) out -= 1;
    if (room < 0 || out < 1) {
      throw new RangeError(
        `${op}: input ${formatShape(x.shape)} is too small for kernel ${formatShape(k)} with padding ${formatShape(padding)} and dilation ${formatShape(dilation)}`,
      );
    }
    output[d] = out;
    overhang[d] = Math.max(0, (out - 1) * stride[d] + span - (size + 2 * padding[d]));
  }
  return { kernel: k, stride, padding, dilation, output, overhang };
}

/** Each window of every channel as a column: [N*C, kh*kw, outH*outW]. */
function poolColumns(x: Tensor, geometry: PoolGeometry, padValue: number): Tensor {
  const [n, c, h, w] = x.shape;
  const [extraH, extraW] = geometry.overhang;
  const padded = extraH > 0 || extraW > 0 ? pad(x, [0, extraW, 0, extraH], { value: padValue }) : x;
  const window = {
    kernel: geometry.kernel,
    stride: geometry.stride,
    padding: geometry.padding,
    dilation: geometry.dilation,
  };
  return unfold(padded.reshape([n * c, 1, h + extraH, w + extraW]), window, padValue);
}

/**
 * Max over each window, as PyTorch: the first largest value, or the last NaN, is picked, and the
 * gradient goes to it. Padding and ceil mode's overhang are never picked: max pooling is the
 * input gathered at the window's argmax (one pass, ops.maxPoolIndices), so its gradient is
 * gather's, a scatter into the input.
 */
export function maxPool2d(x: Tensor, kernel: Pair, options: PoolOptions = {}): Tensor {
  checkOptions('maxPool2d', options, maxPoolOptions);
  const geometry = poolGeometry('maxPool2d', x, kernel, options);
  const [n, c, h, w] = x.shape;
  const [outH, outW] = geometry.output;
  const { kernel: k, stride, padding, dilation } = geometry;
  const window = { kernel: k, stride, padding, dilation };
  const empty = ops.emptyWindow(x.shape, window, geometry.output) !== null;
  // A window of padding alone has no ONNX equivalent: such pools are traced as their parts.
  const traced = empty ? 'maxPool2dEmptyWindow' : 'maxPool2d';
  const ceilMode = options.ceilMode ?? false;
  return traceAs(traced, [x], { kernel: k, stride, padding, dilation, ceilMode }, () => {
    if (empty) {
      // Dilation steps a window over the whole input: PyTorch gives -inf there (a window of padding).
      const cols = poolColumns(x, geometry, Number.NEGATIVE_INFINITY);
      return cols.gather(1, cols.argmax(1, true)).reshape([n, c, outH, outW]);
    }
    const index = maxPoolIndices(x, window, geometry.output).reshape([n, c, outH * outW]);
    return x
      .reshape([n, c, h * w])
      .gather(2, index)
      .reshape([n, c, outH, outW]);
  });
}

/**
 * How many values each window of an average pool divides by, PyTorch's rule: the window clipped
 * to input plus padding (with countIncludePad) or to the input alone (without).
 */
function poolDivisors(x: Tensor, geometry: PoolGeometry, countIncludePad: boolean): Float64Array {
  const [outH, outW] = geometry.output;
  const counts = [0, 1].map((d) => {
    const size = x.shape[2 + d];
    return Array.from({ length: geometry.output[d] }, (_, o) => {
      const start = o * geometry.stride[d] - geometry.padding[d];
      const end = Math.min(start + geometry.kernel[d], size + geometry.padding[d]);
      return countIncludePad ? end - start : Math.min(end, size) - Math.max(start, 0);
    });
  });
  const out = new Float64Array(outH * outW);
  for (let i = 0; i < outH; i++)
    for (let j = 0; j < outW; j++) out[i * outW + j] = counts[0][i] * counts[1][j];
  return out;
}

/**
 * Mean over each window. Padding counts as zeros in the divisor by default (countIncludePad, as
 * PyTorch); ceil mode's overhang past the padding never does.
 */
export function avgPool2d(x: Tensor, kernel: Pair, options: AvgPoolOptions = {}): Tensor {
  checkOptions('avgPool2d', options, avgPoolOptions);
  const geometry = poolGeometry('avgPool2d', x, kernel, options);
  const shape = [x.shape[0], x.shape[1], ...geometry.output];
  const { kernel: k, stride, padding } = geometry;
  const attributes = {
    kernel: k,
    stride,
    padding,
    ceilMode: options.ceilMode ?? false,
    countIncludePad: options.countIncludePad ?? true,
    divisorOverride: options.divisorOverride ?? null,
  };
  return traceAs('avgPool2d', [x], attributes, () => {
    const sums = poolColumns(x, geometry, 0).sum(1);
    if (options.divisorOverride !== undefined) return sums.div(options.divisorOverride).reshape(shape);
    const divisors = poolDivisors(x, geometry, attributes.countIncludePad);
    const divisor = fromTypedArray(divisors, [divisors.length], x.backend).to(x.dtype);
    return sums.div(divisor).reshape(shape);
  });
}

/** Mean over the whole H x W plane: [N, C, H, W] -> [N, C, 1, 1]. */
export function adaptiveAvgPool2dTo1(x: Tensor): Tensor {
  requireDims('adaptiveAvgPool2dTo1', 'input', x, 4, '[N,C,H,W]');
  return x.mean([2, 3], true);
}

/** Statistics are taken over every dim but 1 (the channel dim). */
function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/** Throws unless a per-channel tensor (weight, bias, running statistic) has `channels` elements. */
function requireChannels(op: string, name: string, t: Tensor | null | undefined, channels: number): void {
  if (t === null || t === undefined) return;
  requireTensor(op, name, t);
  if (t.ndim !== 1 || t.shape[0] !== channels) {
    throw new RangeError(
      `${op}: ${name} has shape ${formatShape(t.shape)}, expected [${channels}] (one per channel)`,
    );
  }
}

/** batchNorm's mode (batch statistics in training, running ones otherwise), the running statistics' momentum, and eps. */
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
  checkOptions('batchNorm', options, {
    training: rules.boolean,
    momentum: rules.probability,
    eps: rules.nonNegative,
  });
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  requireTensor('batchNorm', 'input', x);
  if (x.ndim < 2)
    throw new RangeError(`batchNorm: expected at least 2 dims [N,C,...], got ${formatShape(x.shape)}`);
  const channels = x.shape[1];
  requireChannels('batchNorm', 'runningMean', runningMean, channels);
  requireChannels('batchNorm', 'runningVar', runningVar, channels);
  requireChannels('batchNorm', 'weight', weight, channels);
  requireChannels('batchNorm', 'bias', bias, channels);
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const shape = channelShape(x);
  let mean: Tensor;
  let variance: Tensor;
  if (training || !runningMean || !runningVar) {
    const count = x.size / channels;
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
    // Normalized by the running statistics: traced as one op (ONNX's BatchNormalization).
    const inputs = [x, runningMean, runningVar, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
    return traceAs('batchNorm', inputs, { eps, weight: weight != null, bias: bias != null }, () =>
      normalize(x, runningMean.reshape(shape), runningVar.reshape(shape), weight, bias, shape, eps),
    );
  }
  return normalize(x, mean, variance, weight, bias, shape, eps);
}

/** (x - mean) / sqrt(variance + eps), then the per-channel affine if there is one. */
function normalize(
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  weight: Tensor | null | undefined,
  bias: Tensor | null | undefined,
  shape: readonly number[],
  eps: number,
): Tensor {
  let y = x.sub(mean).div(variance.add(eps).sqrt());
  if (weight) y = y.mul(weight.reshape(shape));
  if (bias) y = y.add(bias.reshape(shape));
  return y;
}

function lastDims(x: Tensor, normalizedShape: readonly number[], op: string): number[] {
  const k = normalizedShape.length;
  if (x.ndim < k || x.shape.slice(x.ndim - k).join() !== normalizedShape.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(x.shape)} does not end with normalized shape ${formatShape(normalizedShape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.ndim - k + i);
}

/** Throws unless an affine tensor of a norm layer has the normalized shape. */
function requireShape(
  op: string,
  name: string,
  t: Tensor | null | undefined,
  shape: readonly number[],
): void {
  if (t === null || t === undefined) return;
  requireTensor(op, name, t);
  if (t.shape.join() !== shape.join())
    throw new RangeError(`${op}: ${name} has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
}

/** Normalizes over the last dims (biased variance), then an optional elementwise affine. */
export function layerNorm(
  x: Tensor,
  normalizedShape: number | readonly number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor {
  requireTensor('layerNorm', 'input', x);
  const shape = normalizedShapeOf('layerNorm', normalizedShape);
  checkValue('layerNorm', 'eps', eps, rules.nonNegative);
  requireShape('layerNorm', 'weight', weight, shape);
  requireShape('layerNorm', 'bias', bias, shape);
  const dims = lastDims(x, shape, 'layerNorm');
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const attributes = { axis: dims[0], eps, weight: weight != null, bias: bias != null };
  return traceAs('layerNorm', inputs, attributes, () => {
    const mean = x.mean(dims, true);
    let y = x.sub(mean).div(x.var(dims, true, { correction: 0 }).add(eps).sqrt());
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  });
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
  requireTensor('rmsNorm', 'input', x);
  const shape = normalizedShapeOf('rmsNorm', normalizedShape);
  checkValue('rmsNorm', 'eps', eps ?? null, rules.nullable(rules.nonNegative));
  requireShape('rmsNorm', 'weight', weight, shape);
  const dims = lastDims(x, shape, 'rmsNorm');
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
  requireTensor('groupNorm', 'input', x);
  checkValue('groupNorm', 'numGroups', numGroups, rules.positiveInteger);
  checkValue('groupNorm', 'eps', eps, rules.nonNegative);
  const [n, c] = x.shape;
  if (x.ndim < 2 || c % numGroups !== 0) {
    throw new RangeError(
      `groupNorm: ${c ?? 0} channels of input ${formatShape(x.shape)} cannot be split into ${numGroups} groups`,
    );
  }
  requireChannels('groupNorm', 'weight', weight, c);
  requireChannels('groupNorm', 'bias', bias, c);
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
  requireTensor('dropout', 'input', x);
  checkValue('dropout', 'p', p, rules.probability);
  checkValue('dropout', 'training', training, rules.boolean);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  const keep = rand(x.shape, { dtype: x.dtype }).ge(p);
  return where(keep, x.div(1 - p), 0);
}

/** embedding's padding index (its row gets no gradient). */
export interface EmbeddingOptions {
  /** Rows looked up with this id pass their value forward but no gradient back to the table. */
  paddingIdx?: number | null;
}

/** Throws unless every id on the host lies in [0, count), naming the op and the first bad id. */
function requireIds(op: string, ids: Tensor, count: number, what: string): void {
  // Ids on another backend stay there: its own gather checks them (and the error is renamed).
  if (!ops.onHost(ids.array)) return;
  const values = ops.hostView(ids.array) ?? ids.array.read();
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0 || values[i] >= count) {
      throw new RangeError(`${op}: ${what} ${values[i]} (at position ${i}) is out of range [0, ${count})`);
    }
  }
}

/** Runs an indexing op, reporting an out-of-range index as the caller's error. */
function asOp<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new RangeError(`${op}: ${error.message}`);
  }
}

/**
 * Rows of `weight` picked by integer ids: [...ids.shape, dim]. With `paddingIdx`, that row is
 * returned as stored but receives no gradient (torch.nn.functional.embedding's padding_idx).
 */
export function embedding(ids: Tensor, weight: Tensor, options: EmbeddingOptions = {}): Tensor {
  checkOptions('embedding', options, {
    paddingIdx: rules.nullable(rules.inRange(-(2 ** 31), 2 ** 31, { integer: true })),
  });
  requireTensor('embedding', 'ids', ids);
  requireDims('embedding', 'weight', weight, 2, '[numEmbeddings, embeddingDim]');
  if (ids.dtype !== 'int32') throw new TypeError(`embedding: ids must be int32, got ${ids.dtype}`);
  const [count, dim] = weight.shape;
  let paddingIdx = options.paddingIdx ?? null;
  if (paddingIdx !== null) {
    if (paddingIdx < -count || paddingIdx >= count)
      throw new RangeError(`embedding: paddingIdx ${paddingIdx} must be within [${-count}, ${count})`);
    if (paddingIdx < 0) paddingIdx += count;
  }
  requireIds('embedding', ids, count, 'id');
  return traceAs('embedding', [weight, ids], {}, () => {
    const flat = ids.reshape([-1]);
    let rows = asOp('embedding', () => weight.indexSelect(0, flat));
    if (paddingIdx !== null && rows.requiresGrad) {
      // The padding positions keep their values but are cut from the graph.
      rows = where(flat.eq(paddingIdx).unsqueeze(1), rows.detach(), rows);
    }
    return rows.reshape([...ids.shape, dim]);
  });
}

/** Attention's mask (`attnMask`), causal masking, dropout probability and scale, as torch's scaled_dot_product_attention. */
export interface AttentionOptions {
  /** Bool: true where attention is allowed; float: added to the scores. Broadcasts to [..., L, S]. */
  attnMask?: Tensor | null;
  isCausal?: boolean;
  dropoutP?: number;
  /** Defaults to 1/sqrt(E). */
  scale?: number | null;
}

/** Lower-triangular [L, S] bool mask: query i may attend to keys 0..i. */
export function causalMask(l: number, s: number): Tensor {
  checkValue('causalMask', 'L', l, rules.count);
  checkValue('causalMask', 'S', s, rules.count);
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
  checkOptions('scaledDotProductAttention', options, {
    attnMask: optionalTensor,
    isCausal: rules.boolean,
    dropoutP: rules.probability,
    scale: rules.nullable(rules.finite),
  });
  const op = 'scaledDotProductAttention';
  for (const [name, t] of [
    ['query', q],
    ['key', k],
    ['value', v],
  ] as const) {
    requireTensor(op, name, t);
    if (t.ndim < 2)
      throw new RangeError(
        `${op}: ${name} must have at least 2 dims [..., L, E], got ${formatShape(t.shape)}`,
      );
  }
  const e = q.shape[q.ndim - 1];
  if (k.shape[k.ndim - 1] !== e || k.shape[k.ndim - 2] !== v.shape[v.ndim - 2]) {
    throw new RangeError(
      `${op}: query ${formatShape(q.shape)}, key ${formatShape(k.shape)} and value ${formatShape(v.shape)} do not fit (key must end in E = ${e}; key and value need the same S)`,
    );
  }
  if (options.isCausal && options.attnMask)
    throw new RangeError(`${op}: give attnMask or isCausal, not both (as PyTorch)`);
  const [l, s] = [q.shape[q.ndim - 2], k.shape[k.ndim - 2]];
  let scores = q.matmul(k.transpose(-2, -1)).mul(options.scale ?? 1 / Math.sqrt(e));
  if (options.isCausal) scores = where(causalMask(l, s), scores, Number.NEGATIVE_INFINITY);
  const mask = options.attnMask;
  if (mask) scores = mask.dtype === 'bool' ? where(mask, scores, Number.NEGATIVE_INFINITY) : scores.add(mask);
  let weights = scores.softmax(-1);
  if (options.dropoutP) weights = dropout(weights, options.dropoutP, true);
  return weights.matmul(v);
}

/** How a loss reduces over its elements: their mean (the default), their sum, or none. */
export type Reduction = 'mean' | 'sum' | 'none';

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return loss.mean();
  if (reduction === 'sum') return loss.sum();
  return loss;
}

/** nllLoss's reduction, per-class weights and ignored index, as PyTorch's. */
export interface NllOptions {
  reduction?: Reduction;
  /** Targets equal to this contribute nothing and are left out of the mean (default -100). */
  ignoreIndex?: number;
  /** A weight per class, [C]: each target's loss is scaled by its class's weight, and 'mean' divides by their sum. */
  weight?: Tensor | null;
}

const nllRules = {
  reduction: reductionRule,
  ignoreIndex: rules.inRange(-(2 ** 31), 2 ** 31, { integer: true }),
  weight: optionalTensor,
};

function checkTargets(op: string, input: Tensor, target: Tensor, options: NllOptions): void {
  requireTensor(op, 'input', input);
  requireTensor(op, 'target', target);
  if (input.ndim < 2)
    throw new RangeError(`${op}: expected input [N, C, ...], got ${formatShape(input.shape)}`);
  if (target.dtype !== 'int32')
    throw new TypeError(`${op}: target must hold int32 class ids, got ${target.dtype}`);
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (target.shape.join() !== expected.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(input.shape)} needs target of shape ${formatShape(expected)}, got ${formatShape(target.shape)}`,
    );
  }
  const classes = input.shape[1];
  const weight = options.weight;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== classes)) {
    throw new RangeError(
      `${op}: weight has shape ${formatShape(weight.shape)}, expected [${classes}] (one per class)`,
    );
  }
  // Targets on another backend stay there: its gather checks them (see pickTargets).
  if (!ops.onHost(target.array)) return;
  const ignoreIndex = options.ignoreIndex ?? -100;
  for (const t of ops.hostView(target.array) ?? target.array.read()) {
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new RangeError(`${op}: target ${t} is out of bounds for ${classes} classes`);
    }
  }
}

/** gather along the classes, with an out-of-range target reported as the loss's error. */
function pickTargets(op: string, logProbs: Tensor, target: Tensor): Tensor {
  return asOp(op, () => logProbs.gather(1, target));
}

/** Per-element class weights w[target] (0 where ignored), shaped like the target. */
function targetWeights(weight: Tensor, safeTarget: Tensor, valid: Tensor, dtype: DType): Tensor {
  const picked = weight
    .to(dtype)
    .indexSelect(0, safeTarget.reshape([-1]))
    .reshape(safeTarget.shape);
  return where(valid, picked, 0);
}

/**
 * Negative log-likelihood of class ids under log-probabilities: input [N, C] or [N, C, d...],
 * target [N] or [N, d...]. Each loss is scaled by its class's `weight` if given; 'mean' divides
 * by the summed weights of the targets that are not ignored (their count without weights).
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NllOptions = {}): Tensor {
  checkOptions('nllLoss', options, nllRules);
  checkTargets('nllLoss', logProbs, target, options);
  return weightedNll('nllLoss', logProbs, target, options).reduced;
}

/** The per-element weighted NLL, its reduction, and what 'mean' divides by. */
function weightedNll(
  op: string,
  logProbs: Tensor,
  target: Tensor,
  options: NllOptions,
): { perElement: Tensor; reduced: Tensor; divisor: Tensor; valid: Tensor; weights: Tensor | null } {
  const { reduction = 'mean', ignoreIndex = -100, weight = null } = options;
  const valid = target.ne(ignoreIndex);
  const safeTarget = where(valid, target, 0).to('int32');
  const picked = pickTargets(op, logProbs, safeTarget.unsqueeze(1)).squeeze(1).neg();
  const weights = weight ? targetWeights(weight, safeTarget, valid, logProbs.dtype) : null;
  const perElement = weights ? picked.mul(weights) : where(valid, picked, 0);
  const divisor = weights ? weights.sum() : valid.sum().to(logProbs.dtype);
  const reduced = reduction === 'mean' ? perElement.sum().div(divisor) : reduce(perElement, reduction);
  return { perElement, reduced, divisor, valid, weights };
}

/** crossEntropy's options: nllLoss's plus label smoothing. */
export interface CrossEntropyOptions extends NllOptions {
  /** Mixes the target with the uniform distribution: (1 - e) one-hot + e / C. */
  labelSmoothing?: number;
}

/**
 * logSoftmax over dim 1, then nllLoss; with class weights and label smoothing as
 * torch.nn.functional.cross_entropy computes them:
 *     loss_i = (1 - e) w[y_i] (-log p_i,y_i) + e / C * sum_c w[c] (-log p_i,c)
 * and 'mean' divides the sum by sum_i w[y_i] over the targets that are not ignored.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  checkOptions('crossEntropy', options, { ...nllRules, labelSmoothing: rules.probability });
  const { reduction = 'mean', labelSmoothing = 0, weight = null } = options;
  checkTargets('crossEntropy', logits, target, options);
  const logProbs = logits.logSoftmax(1);
  const nll = weightedNll('crossEntropy', logProbs, target, { ...options, reduction: 'none' });
  if (labelSmoothing === 0) {
    return reduction === 'mean' ? nll.perElement.sum().div(nll.divisor) : reduce(nll.perElement, reduction);
  }
  const classes = logits.shape[1];
  const perClass = weight ? logProbs.mul(weight.to(logProbs.dtype).reshape(channelShape(logits))) : logProbs;
  const smooth = where(nll.valid, perClass.sum(1).neg(), 0);
  const loss = nll.perElement.mul(1 - labelSmoothing).add(smooth.mul(labelSmoothing / classes));
  return reduction === 'mean' ? loss.sum().div(nll.divisor) : reduce(loss, reduction);
}

function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  requireTensor(op, 'input', a);
  requireTensor(op, 'target', b);
  if (a.shape.join() !== b.shape.join()) {
    throw new RangeError(
      `${op}: input ${formatShape(a.shape)} and target ${formatShape(b.shape)} must have the same shape`,
    );
  }
}

/** Mean squared error between `input` and `target` (torch.nn.functional.mse_loss). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions('mseLoss', options, { reduction: reductionRule });
  checkSameShape('mseLoss', input, target);
  return reduce(input.sub(target).pow(2), options.reduction ?? 'mean');
}

/** Mean absolute error between `input` and `target` (torch.nn.functional.l1_loss). */
export function l1Loss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkOptions('l1Loss', options, { reduction: reductionRule });
  checkSameShape('l1Loss', input, target);
  return reduce(input.sub(target).abs(), options.reduction ?? 'mean');
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
  checkOptions('binaryCrossEntropyWithLogits', options, {
    reduction: reductionRule,
    posWeight: optionalTensor,
  });
  checkSameShape('binaryCrossEntropyWithLogits', logits, target);
  const logSigmoidNeg = logits.neg().softplus();
  const weight = options.posWeight ? options.posWeight.sub(1).mul(target).add(1) : null;
  const loss = target
    .neg()
    .add(1)
    .mul(logits)
    .add(weight ? weight.mul(logSigmoidNeg) : logSigmoidNeg);
  return reduce(loss, options.reduction ?? 'mean');
}

// ---------------------------------------------------------------------------------------------
// Resampling: adaptive average pooling and interpolation, separable along H then W, composed
// from narrow, mean, indexSelect and arithmetic (so their gradients follow).

/** An output size: one size for both dims, or [h, w] where null keeps the input's size. */
export type SizePair = number | readonly [number | null, number | null];

/** The rule of a SizePair. */
export const sizePairRule: Rule = (value) =>
  rules.positiveInteger(value) === null ||
  (Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => v === null || rules.positiveInteger(v) === null))
    ? null
    : 'a positive integer or an [h, w] pair of them (null keeps the input size)';

/** x as [N, C, H, W] (unbatched [C, H, W] gets a batch of 1) and how to undo that. */
function batched4d(op: string, x: Tensor): [Tensor, (y: Tensor) => Tensor] {
  requireDims(op, 'input', x, [3, 4], '[N,C,H,W] or [C,H,W]');
  return x.ndim === 4 ? [x, (y) => y] : [x.unsqueeze(0), (y) => y.squeeze(0)];
}

/**
 * Adaptive average pooling (torch.nn.functional.adaptive_avg_pool2d): output cell (i, j) is the
 * mean over rows floor(i H / outH) to ceil((i + 1) H / outH) and the same for columns.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: SizePair): Tensor {
  checkValue('adaptiveAvgPool2d', 'outputSize', outputSize, sizePairRule);
  const [input, restore] = batched4d('adaptiveAvgPool2d', x);
  const [, , H, W] = input.shape;
  const [outH, outW] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const outputs = [outH ?? H, outW ?? W];
  return traceAs('adaptiveAvgPool2d', [x], { input: [H, W], output: outputs }, () =>
    restore(pool(pool(input, 2, H, outputs[0]), 3, W, outputs[1])),
  );
}

/** Mean over cells floor(i size / out) to ceil((i + 1) size / out) of one dim, joined. */
function pool(t: Tensor, dim: number, size: number, out: number): Tensor {
  if (out === size) return t;
  const cells = Array.from({ length: out }, (_, i) => {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    return t.narrow(dim, start, end - start).mean(dim, true);
  });
  return cat(cells, dim);
}

/** interpolate's output size or scale factor, mode ('nearest' or 'bilinear') and corner alignment, as PyTorch's. */
export interface InterpolateOptions {
  /** The output size [h, w] (or one for both); give this or scaleFactor. */
  size?: number | readonly [number, number];
  /** The factor by which H and W grow (one for both, or [h, w]); give this or size. */
  scaleFactor?: number | readonly [number, number];
  /** 'nearest' (default) or 'bilinear'. */
  mode?: 'nearest' | 'bilinear';
  /** bilinear: corner pixels' centres line up (default false, as PyTorch). */
  alignCorners?: boolean;
}

/** Checks interpolate's options (Upsample checks its own with them, at construction). */
export function checkInterpolateOptions(op: string, options: InterpolateOptions): void {
  checkOptions(op, options, {
    size: rules.pairOf(rules.positiveInteger),
    scaleFactor: rules.either(rules.positive, rules.tuple(2, rules.positive)),
    mode: rules.oneOf('nearest', 'bilinear'),
    alignCorners: rules.boolean,
  });
  if ((options.size === undefined) === (options.scaleFactor === undefined))
    throw new RangeError(`${op}: give exactly one of size and scaleFactor`);
  if ((options.mode ?? 'nearest') === 'nearest' && options.alignCorners !== undefined)
    throw new RangeError(`${op}: alignCorners applies to mode 'bilinear' only, as in PyTorch`);
}

/**
 * Resizes images (torch.nn.functional.interpolate, modes 'nearest' and 'bilinear') with
 * PyTorch's index arithmetic: nearest reads source floor(i * scale) (scale = in / out, or
 * 1 / scaleFactor when given, in float32 as PyTorch computes it); bilinear samples at
 * (i + 0.5) scale - 0.5 (clamped at 0), or i (in - 1) / (out - 1) with alignCorners.
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  checkInterpolateOptions('interpolate', options);
  const { size, scaleFactor, mode = 'nearest', alignCorners } = options;
  const [input, restore] = batched4d('interpolate', x);
  const inSizes = [input.shape[2], input.shape[3]];
  const factors =
    scaleFactor === undefined
      ? null
      : typeof scaleFactor === 'number'
        ? [scaleFactor, scaleFactor]
        : scaleFactor;
  const outSizes =
    size !== undefined
      ? typeof size === 'number'
        ? [size, size]
        : [size[0], size[1]]
      : inSizes.map((n, k) => Math.floor(n * (factors as readonly number[])[k]));
  outSizes.forEach((n, k) => {
    if (n < 1)
      throw new RangeError(
        `interpolate: the output would have ${n} ${k === 0 ? 'rows' : 'columns'} (input ${formatShape(input.shape)}, scaleFactor ${JSON.stringify(scaleFactor)})`,
      );
  });
  const along = (t: Tensor, dim: number, k: number) => {
    const [n, out] = [inSizes[k], outSizes[k]];
    if (mode === 'nearest') {
      // PyTorch's nearest_idx: exact halving when out = 2 in, else floor(i * scale) in float32.
      const scale = Math.fround(factors ? 1 / factors[k] : n / out);
      const index = Int32Array.from({ length: out }, (_, i) =>
        out === 2 * n ? i >> 1 : Math.min(Math.floor(Math.fround(Math.fround(i) * scale)), n - 1),
      );
      return t.indexSelect(dim, fromTypedArray(index, [out]));
    }
    const scale = alignCorners ? (out > 1 ? (n - 1) / (out - 1) : 0) : factors ? 1 / factors[k] : n / out;
    const [low, high] = [new Int32Array(out), new Int32Array(out)];
    const weight = new Float64Array(out);
    for (let i = 0; i < out; i++) {
      const source = alignCorners ? scale * i : Math.max(scale * (i + 0.5) - 0.5, 0);
      low[i] = Math.floor(source);
      high[i] = low[i] + (low[i] < n - 1 ? 1 : 0);
      weight[i] = source - low[i];
    }
    const shape = dim === 2 ? [out, 1] : [out];
    const lambda = fromTypedArray(weight, shape).to(t.dtype);
    const a = t.indexSelect(dim, fromTypedArray(low, [out]));
    const b = t.indexSelect(dim, fromTypedArray(high, [out]));
    return a.mul(lambda.neg().add(1)).add(b.mul(lambda));
  };
  return restore(along(along(input, 2, 0), 3, 1));
}
