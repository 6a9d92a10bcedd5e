import { type DType, rand, randn, type Shape, type Tensor } from '@agrad/autograd';

/**
 * PyTorch's default initialisations (torch.nn.init), drawn from agrad's seeded generator.
 * fanIn of a weight [out, in, ...kernel] is in * prod(kernel).
 */

export function fanIn(shape: Shape): number {
  return shape.length < 2 ? shape[0] : shape.slice(1).reduce((p, d) => p * d, 1);
}

/** A weight's fan-out: output features times the receptive field (as PyTorch's init computes it). */
export function fanOut(shape: Shape): number {
  return shape.length < 2 ? shape[0] : shape[0] * shape.slice(2).reduce((p, d) => p * d, 1);
}

/** U(low, high). */
export function uniform(shape: Shape, low: number, high: number, dtype: DType = 'float32'): Tensor {
  return rand(shape, { dtype })
    .mul(high - low)
    .add(low);
}

/** N(mean, std^2). */
export function normal(shape: Shape, mean = 0, std = 1, dtype: DType = 'float32'): Tensor {
  return randn(shape, { dtype }).mul(std).add(mean);
}

/**
 * kaiming_uniform_(a = sqrt(5)), torch's default for Linear and Conv weights:
 * bound = gain * sqrt(3 / fanIn) with gain = sqrt(2 / (1 + a^2)), i.e. bound = 1 / sqrt(fanIn).
 */
export function kaimingUniform(shape: Shape, options: { a?: number; dtype?: DType } = {}): Tensor {
  const a = options.a ?? Math.sqrt(5);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn(shape));
  return uniform(shape, -bound, bound, options.dtype);
}

/** xavier_uniform_: bound = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: Shape, options: { gain?: number; dtype?: DType } = {}): Tensor {
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn(shape) + fanOut(shape)));
  return uniform(shape, -bound, bound, options.dtype);
}
