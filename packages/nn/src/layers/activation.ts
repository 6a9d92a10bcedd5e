import type { Tensor } from '@agrad/autograd';
import { Layer } from './basic.js';

/** Activation modules, for use in Sequential. */
export class ReLU extends Layer {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class GELU extends Layer {
  forward(x: Tensor): Tensor {
    return x.gelu();
  }
}
export class SiLU extends Layer {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}
export class Tanh extends Layer {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Sigmoid extends Layer {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class Softplus extends Layer {
  forward(x: Tensor): Tensor {
    return x.softplus();
  }
}
export class LeakyReLU extends Layer {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}
export class Softmax extends Layer {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}
export class LogSoftmax extends Layer {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}
