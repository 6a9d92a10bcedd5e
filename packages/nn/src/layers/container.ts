import type { Tensor } from '@agrad/autograd';
import { checkValue, rules } from '@agrad/tensor';
import { Module } from '../module.js';
import { Layer } from './basic.js';

const moduleRule = rules.instanceOf(Module, 'Module');

/** Runs layers in order; sub-modules are named 0, 1, 2, ... as in PyTorch. */
export class Sequential extends Layer {
  readonly layers: readonly Layer[];

  constructor(...layers: Layer[]) {
    super();
    layers.forEach((layer, i) => checkValue('Sequential', `layer ${i}`, layer, moduleRule));
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

  /** Adds a module at the end, registered under the next index. */
  append(module: M): this {
    checkValue('ModuleList', `module ${this.items.length}`, module, moduleRule);
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    checkValue('ModuleList', 'index', index, rules.inRange(-(2 ** 31), 2 ** 31, { integer: true }));
    const m = this.items.at(index);
    if (!m)
      throw new RangeError(`ModuleList: index ${index} is out of range for ${this.items.length} modules`);
    return m;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new Error('ModuleList has no forward; iterate over its modules instead');
  }
}
