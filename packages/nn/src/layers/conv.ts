import type { DType, Tensor } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import {
  avgPoolOptions,
  convOptions,
  floatDtype,
  maxPoolOptions,
  paddingPair,
  pythonBool,
  pythonPair,
  windowPair,
} from '../check.js';
import * as F from '../functional.js';
import { kaimingUniform, uniform } from '../init.js';
import { Layer } from './basic.js';

/** Conv2d's stride, padding (a size, 'valid' or 'same'), dilation, groups, bias and dtype, as PyTorch's. */
export interface Conv2dOptions {
  stride?: F.Pair;
  /** Zeros on both sides, or 'valid' (none) or 'same' (output keeps the input's size; stride 1). */
  padding?: F.Pair | 'valid' | 'same';
  dilation?: F.Pair;
  groups?: number;
  bias?: boolean;
  dtype?: DType;
}

const { pair } = F;

/**
 * What PyTorch's _ConvNd gives its convolutions: a weight of the given shape from kaiming uniform
 * (a = sqrt(5)), a bias (unless `bias: false`) from U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn
 * the weight's shape[1] * kernel size, and extra_repr's text.
 */
abstract class ConvLayer extends Layer {
  constructor(
    op: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly groups: number,
  ) {
    super();
    checkValue(op, 'inChannels', inChannels, rules.positiveInteger);
    checkValue(op, 'outChannels', outChannels, rules.positiveInteger);
    if (inChannels % groups !== 0 || outChannels % groups !== 0)
      throw new RangeError(
        `${op}: groups=${groups} must divide in channels (${inChannels}) and out channels (${outChannels})`,
      );
  }

  /** Registers the weight and the optional bias, initialised as PyTorch initialises them (Kaiming uniform, bias uniform in ±1/sqrt(fan-in)). */
  protected initParameters(weightShape: number[], bias: boolean | undefined, dtype: DType): void {
    this.registerParameter('weight', kaimingUniform(weightShape, { dtype }));
    const fanIn = weightShape.slice(1).reduce((a, b) => a * b, 1);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    this.registerParameter('bias', bias === false ? null : uniform([this.outChannels], -bound, bound, dtype));
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }

  /** torch's _ConvNd.extra_repr: sizes as Python tuples, then what differs from the defaults, in its order. */
  protected convRepr(sizes: {
    kernel: number[];
    stride: number[];
    padding: number[] | string;
    dilation: number[];
    outputPadding?: number[];
  }): string {
    const tuple = (v: number[]) => (v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`);
    const parts = [
      `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(sizes.kernel)}, stride=${tuple(sizes.stride)}`,
    ];
    const { padding, dilation, outputPadding } = sizes;
    if (typeof padding === 'string') parts.push(`padding=${padding}`);
    else if (padding.some((p) => p !== 0)) parts.push(`padding=${tuple(padding)}`);
    if (dilation.some((d) => d !== 1)) parts.push(`dilation=${tuple(dilation)}`);
    if (outputPadding?.some((p) => p !== 0)) parts.push(`output_padding=${tuple(outputPadding)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push(`bias=${pythonBool(false)}`);
    return parts.join(', ');
  }
}

/**
 * 2-D convolution over NCHW input; weight [out, in/groups, kH, kW] initialised as PyTorch
 * (kaiming uniform, a = sqrt(5); bias U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
 */
export class Conv2d extends ConvLayer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: F.Pair, options: Conv2dOptions = {}) {
    checkValue('Conv2d', 'kernelSize', kernelSize, windowPair);
    checkOptions('Conv2d', options, { ...convOptions, bias: rules.boolean, dtype: floatDtype });
    super('Conv2d', inChannels, outChannels, options.groups ?? 1);
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    const padding = options.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : pair(padding);
    this.dilation = pair(options.dilation ?? 1);
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError(`Conv2d: padding 'same' needs stride 1, got stride ${pythonPair(this.stride)}`);
    }
    this.initParameters(
      [outChannels, inChannels / this.groups, ...this.kernelSize],
      options.bias,
      options.dtype ?? 'float32',
    );
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this;
    return F.conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }

  override extraRepr(): string {
    return this.convRepr({
      kernel: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
    });
  }
}

export interface Conv1dOptions extends F.Conv1dOptions {
  bias?: boolean;
  dtype?: DType;
}

/**
 * 1-D convolution over [N, C, L] (or [C, L]) input, as torch.nn.Conv1d: weight [out, in/groups, k]
 * and bias initialised as PyTorch's (kaiming uniform, a = sqrt(5); bias U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
 */
export class Conv1d extends ConvLayer {
  readonly stride: number;
  readonly padding: number | 'valid' | 'same';
  readonly dilation: number;

  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number,
    options: Conv1dOptions = {},
  ) {
    checkValue('Conv1d', 'kernelSize', kernelSize, rules.positiveInteger);
    checkOptions('Conv1d', options, {
      stride: rules.positiveInteger,
      padding: rules.either(rules.count, rules.oneOf('valid', 'same')),
      dilation: rules.positiveInteger,
      groups: rules.positiveInteger,
      bias: rules.boolean,
      dtype: floatDtype,
    });
    super('Conv1d', inChannels, outChannels, options.groups ?? 1);
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    if (this.padding === 'same' && this.stride !== 1)
      throw new RangeError(`Conv1d: padding 'same' needs stride 1, got stride ${this.stride}`);
    this.initParameters(
      [outChannels, inChannels / this.groups, kernelSize],
      options.bias,
      options.dtype ?? 'float32',
    );
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this;
    return F.conv1d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }

  override extraRepr(): string {
    const padding = typeof this.padding === 'string' ? this.padding : [this.padding];
    return this.convRepr({
      kernel: [this.kernelSize],
      stride: [this.stride],
      padding,
      dilation: [this.dilation],
    });
  }
}

export interface ConvTranspose2dOptions extends F.ConvTransposeOptions {
  bias?: boolean;
  dtype?: DType;
}

/**
 * Transposed 2-D convolution, as torch.nn.ConvTranspose2d (see F.convTranspose2d): weight
 * [in, out/groups, kH, kW], initialised as PyTorch's (kaiming uniform with a = sqrt(5) over
 * fan-in = out/groups * kH * kW, bias U(-1/sqrt(fan-in), 1/sqrt(fan-in))).
 */
export class ConvTranspose2d extends ConvLayer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: F.Pair,
    options: ConvTranspose2dOptions = {},
  ) {
    checkValue('ConvTranspose2d', 'kernelSize', kernelSize, windowPair);
    checkOptions('ConvTranspose2d', options, {
      stride: windowPair,
      padding: paddingPair,
      outputPadding: paddingPair,
      groups: rules.positiveInteger,
      dilation: windowPair,
      bias: rules.boolean,
      dtype: floatDtype,
    });
    super('ConvTranspose2d', inChannels, outChannels, options.groups ?? 1);
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.outputPadding = pair(options.outputPadding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.outputPadding.forEach((e, k) => {
      if (e >= this.stride[k] && e >= this.dilation[k])
        throw new RangeError(
          `ConvTranspose2d: outputPadding ${pythonPair(this.outputPadding)} must be smaller than the stride ${pythonPair(this.stride)} or the dilation ${pythonPair(this.dilation)}`,
        );
    });
    // PyTorch's layout, in channels first: the fan-in is out/groups * kH * kW.
    this.initParameters(
      [inChannels, outChannels / this.groups, ...this.kernelSize],
      options.bias,
      options.dtype ?? 'float32',
    );
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding, groups, dilation } = this;
    return F.convTranspose2d(x, this.weight, this.bias, { stride, padding, outputPadding, groups, dilation });
  }

  override extraRepr(): string {
    const { kernelSize: kernel, stride, padding, dilation, outputPadding } = this;
    return this.convRepr({ kernel, stride, padding, dilation, outputPadding });
  }
}

/** Max over each window (stride defaults to the kernel size; padding and overhang count as -inf). */
export class MaxPool2d extends Layer {
  constructor(
    readonly kernelSize: F.Pair,
    readonly options: F.PoolOptions = {},
  ) {
    super();
    checkValue('MaxPool2d', 'kernelSize', kernelSize, windowPair);
    checkOptions('MaxPool2d', options, maxPoolOptions);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    const { stride = this.kernelSize, padding = 0, dilation = 1, ceilMode = false } = this.options;
    return `kernel_size=${pythonPair(this.kernelSize)}, stride=${pythonPair(stride)}, padding=${pythonPair(padding)}, dilation=${pythonPair(dilation)}, ceil_mode=${pythonBool(ceilMode)}`;
  }
}

/** Mean over each window (stride defaults to the kernel size; padding counts as zeros by default). */
export class AvgPool2d extends Layer {
  constructor(
    readonly kernelSize: F.Pair,
    readonly options: F.AvgPoolOptions = {},
  ) {
    super();
    checkValue('AvgPool2d', 'kernelSize', kernelSize, windowPair);
    checkOptions('AvgPool2d', options, avgPoolOptions);
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    const { stride = this.kernelSize, padding = 0 } = this.options;
    return `kernel_size=${pythonPair(this.kernelSize)}, stride=${pythonPair(stride)}, padding=${pythonPair(padding)}`;
  }
}

/** Averages over adaptive windows to a fixed output size, as torch.nn.AdaptiveAvgPool2d. */
export class AdaptiveAvgPool2d extends Layer {
  constructor(readonly outputSize: F.SizePair) {
    super();
    checkValue('AdaptiveAvgPool2d', 'outputSize', outputSize, F.sizePairRule);
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
  override extraRepr(): string {
    const size = this.outputSize;
    return `output_size=${typeof size === 'number' ? size : `(${size.map((v) => (v === null ? 'None' : v)).join(', ')})`}`;
  }
}

/** Resizes images, as torch.nn.Upsample: F.interpolate with the options given here. */
export class Upsample extends Layer {
  constructor(readonly options: F.InterpolateOptions) {
    super();
    F.checkInterpolateOptions('Upsample', options);
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, this.options);
  }
  override extraRepr(): string {
    const { size, scaleFactor, mode = 'nearest', alignCorners } = this.options;
    const value = (v: number | readonly number[]) =>
      typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(1) : String(v)) : `(${v.join(', ')})`;
    const parts = [
      size !== undefined
        ? `size=${typeof size === 'number' ? size : `(${size.join(', ')})`}`
        : `scale_factor=${value(scaleFactor as number)}`,
      `mode='${mode}'`,
    ];
    if (alignCorners !== undefined) parts.push(`align_corners=${pythonBool(alignCorners)}`);
    return parts.join(', ');
  }
}
