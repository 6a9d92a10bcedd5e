import type { DType, Tensor } from '@agrad/autograd';
import * as F from '../functional.js';
import { kaimingUniform, uniform } from '../init.js';
import { Layer } from './basic.js';

export interface Conv2dOptions {
  stride?: F.Pair;
  padding?: F.Pair;
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
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: F.Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new RangeError(
        `Conv2d: groups=${this.groups} must divide in channels (${inChannels}) and out channels (${outChannels})`,
      );
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
}

/** Max over each window (stride defaults to the kernel size). */
export class MaxPool2d extends Layer {
  constructor(
    readonly kernelSize: F.Pair,
    readonly options: F.PoolOptions = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
}

/** Mean over each window (stride defaults to the kernel size; padding counts as zeros). */
export class AvgPool2d extends Layer {
  constructor(
    readonly kernelSize: F.Pair,
    readonly options: Omit<F.PoolOptions, 'dilation'> = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
}
