import { pythonFloat, type Tensor } from '@agrad/autograd';
import { checkValue, rules } from '@agrad/tensor';
import { requireTensor } from '../check.js';
import { Layer } from './basic.js';

/** Activation modules, for use in Sequential. */

/** An activation that applies one elementwise function. */
abstract class Elementwise extends Layer {
  /** The function itself, on a checked tensor. */
  protected abstract compute(x: Tensor): Tensor;
  /** Applies the function to `x` (any shape); the output has x's shape. */
  forward(x: Tensor): Tensor {
    requireTensor(this.constructor.name, 'input', x);
    return this.compute(x);
  }
}

/** torch.nn.ReLU: `max(x, 0)` elementwise. */
export class ReLU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.relu();
  }
}
/** torch.nn.GELU: `x * Phi(x)` elementwise, with the exact erf form. */
export class GELU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.gelu();
  }
  override extraRepr(): string {
    return "approximate='none'";
  }
}
/** torch.nn.SiLU: `x * sigmoid(x)` elementwise. */
export class SiLU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.silu();
  }
}
/** torch.nn.Tanh: the hyperbolic tangent elementwise. */
export class Tanh extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.tanh();
  }
}
/** torch.nn.Sigmoid: `1 / (1 + exp(-x))` elementwise. */
export class Sigmoid extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
/** torch.nn.Softplus: `log(1 + exp(x))` elementwise. */
export class Softplus extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.softplus();
  }
}
/** torch.nn.LeakyReLU: `x` where positive, else `negativeSlope * x` (default 0.01). */
export class LeakyReLU extends Elementwise {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkValue('LeakyReLU', 'negativeSlope', negativeSlope, rules.finite);
  }
  protected compute(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pythonFloat(this.negativeSlope)}`;
  }
}

const dimRule = rules.inRange(-64, 64, { integer: true, below: true });

/** torch.nn.Softmax: softmax along `dim`. */
export class Softmax extends Elementwise {
  constructor(readonly dim: number) {
    super();
    checkValue('Softmax', 'dim', dim, dimRule);
  }
  protected compute(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
/** torch.nn.LogSoftmax: log-softmax along `dim`, computed stably. */
export class LogSoftmax extends Elementwise {
  constructor(readonly dim: number) {
    super();
    checkValue('LogSoftmax', 'dim', dim, dimRule);
  }
  protected compute(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
