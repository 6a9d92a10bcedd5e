import { pythonFloat, type Tensor } from '@agrad/autograd';
import { checkValue, rules } from '@agrad/tensor';
import { requireTensor } from '../check.js';
import { Layer } from './basic.js';

/** Activation modules, for use in Sequential. */

/** An activation that applies one elementwise function. */
abstract class Elementwise extends Layer {
  protected abstract compute(x: Tensor): Tensor;
  forward(x: Tensor): Tensor {
    requireTensor(this.constructor.name, 'input', x);
    return this.compute(x);
  }
}

export class ReLU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.relu();
  }
}
export class GELU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.gelu();
  }
  override extraRepr(): string {
    return "approximate='none'";
  }
}
export class SiLU extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.silu();
  }
}
export class Tanh extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Sigmoid extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class Softplus extends Elementwise {
  protected compute(x: Tensor): Tensor {
    return x.softplus();
  }
}
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
