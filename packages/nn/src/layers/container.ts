import type { Tensor } from '@agrad/autograd';
import type { Module } from '../module.js';
import { Layer } from './basic.js';

/** Runs layers in order; sub-modules are named 0, 1, 2, ... as in PyTorch. */
export class Sequential extends Layer {
  readonly layers: readonly Layer[];

  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

/** A list of modules registered as 0, 1, 2, ...; it has no forward of its own. */
export class ModuleList<M extends Module = Module> extends Layer {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    const m = this.items.at(index);
    if (!m)
      throw new RangeError(`ModuleList: index ${index} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new Error('ModuleList has no forward; iterate over its modules instead');
  }
}
