import type { DType, Tensor } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import {
  avgPoolOptions,
  convOptions,
  floatDtype,
  maxPoolOptions,
  pythonBool,
  pythonPair,
  windowPair,
} from '../check.js';
import * as F from '../functional.js';
import { kaimingUniform, uniform } from '../init.js';
import { Layer } from './basic.js';

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
 * 2-D convolution over NCHW input; weight [out, in/groups, kH, kW] initialised as PyTorch
 * (kaiming uniform, a = sqrt(5); bias U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
 */
export class Conv2d extends Layer {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: F.Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    checkValue('Conv2d', 'inChannels', inChannels, rules.positiveInteger);
    checkValue('Conv2d', 'outChannels', outChannels, rules.positiveInteger);
    checkValue('Conv2d', 'kernelSize', kernelSize, windowPair);
    checkOptions('Conv2d', options, { ...convOptions, bias: rules.boolean, dtype: floatDtype });
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    const padding = options.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : pair(padding);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new RangeError(
        `Conv2d: groups=${this.groups} must divide in channels (${inChannels}) and out channels (${outChannels})`,
      );
    }
    if (this.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
      throw new RangeError(`Conv2d: padding 'same' needs stride 1, got stride ${pythonPair(this.stride)}`);
    }
    const dtype = options.dtype ?? 'float32';
    const shape = [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.registerParameter('weight', kaimingUniform(shape, { dtype }));
    const fanIn = (inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    this.registerParameter(
      'bias',
      options.bias === false ? null : uniform([outChannels], -bound, bound, dtype),
    );
  }

  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.optionalParam('bias');
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    const parts = [
      `${this.inChannels}, ${this.outChannels}, kernel_size=${pythonPair(this.kernelSize)}, stride=${pythonPair(this.stride)}`,
    ];
    if (typeof this.padding === 'string') parts.push(`padding=${this.padding}`);
    else if (this.padding.some((p) => p !== 0)) parts.push(`padding=${pythonPair(this.padding)}`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${pythonPair(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push(`bias=${pythonBool(false)}`);
    return parts.join(', ');
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
