import { type DType, formatShape, isFloating, keep, noGrad, Tensor } from '@agrad/autograd';

/** A tensor registered as a module's parameter: a leaf that requires grad. */
export class Parameter extends Tensor {
  constructor(value: Tensor) {
    super(value.detach().array);
    this.requiresGrad = true;
  }
}

/**
 * Base class of every layer, shaped like torch.nn.Module: parameters, buffers and sub-modules
 * are registered under the names PyTorch uses, so `namedParameters()` and `stateDict()` give
 * PyTorch's keys (`0.weight`, `bn.running_mean`) and PyTorch state dicts load as they are.
 *
 * @example
 * class Affine extends Module {
 *   constructor() { super(); this.registerParameter('weight', ones([3])); }
 *   forward(x: Tensor) { return x.mul(this.param('weight')); }
 * }
 */
export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics). */
  training = true;
  private readonly parameterSlots = new Map<string, Parameter | null>();
  private readonly bufferSlots = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly moduleSlots = new Map<string, Module | null>();

  abstract forward(...inputs: never[]): unknown;

  /** Registers (or replaces) a parameter; null registers an absent one (e.g. bias: false). */
  registerParameter(name: string, value: Tensor | null): void {
    this.checkName('registerParameter', name);
    const parameter = value === null ? null : value instanceof Parameter ? value : new Parameter(value);
    // A module's tensors live as long as the module, not as long as a tidy() around its creation.
    if (parameter) keep(parameter);
    this.parameterSlots.set(name, parameter);
  }

  /** Registers a buffer: state that is saved but not trained (running statistics). */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    this.checkName('registerBuffer', name);
    this.bufferSlots.set(name, value === null ? null : keep(value.detach()));
    if (options.persistent === false) this.nonPersistent.add(name);
  }

  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName('registerModule', name);
    this.moduleSlots.set(name, module);
    return module;
  }

  private checkName(op: string, name: string): void {
    if (name === '' || name.includes('.'))
      throw new RangeError(`${op}: invalid name '${name}' (non-empty, no dots)`);
  }

  /** The parameter registered as `name` (throws if absent). */
  param(name: string): Parameter {
    const value = this.parameterSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no parameter '${name}'`);
    return value;
  }

  /** The parameter registered as `name`, or null (for optional ones such as bias). */
  optionalParam(name: string): Parameter | null {
    return this.parameterSlots.get(name) ?? null;
  }

  buffer(name: string): Tensor {
    const value = this.bufferSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no buffer '${name}'`);
    return value;
  }

  optionalBuffer(name: string): Tensor | null {
    return this.bufferSlots.get(name) ?? null;
  }

  module<M extends Module = Module>(name: string): M {
    const value = this.moduleSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no sub-module '${name}'`);
    return value as M;
  }

  /** Direct sub-modules with their names. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, m] of this.moduleSlots) if (m) yield [name, m];
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Every parameter with its dotted name; a parameter shared by two modules is listed once. */
  *namedParameters(): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.parameterSlots) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${name}` : name, p];
      }
    }
  }

  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.bufferSlots) if (b) yield [prefix ? `${prefix}.${name}` : name, b];
    }
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Converts floating parameters and buffers to `dtype` (integer buffers stay), in place. */
  to(dtype: DType): this {
    if (!isFloating(dtype)) throw new TypeError(`Module.to: expected float32 or float64, got ${dtype}`);
    for (const m of this.modules()) {
      for (const [name, p] of m.parameterSlots) {
        if (p && p.dtype !== dtype) m.parameterSlots.set(name, new Parameter(p.detach().to(dtype)));
      }
      for (const [name, b] of m.bufferSlots) {
        if (b && isFloating(b.dtype) && b.dtype !== dtype) m.bufferSlots.set(name, b.to(dtype));
      }
    }
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and persistent buffers by PyTorch's keys. The tensors are the module's own. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.parameterSlots) if (p) out[key(name)] = p;
      for (const [name, b] of m.bufferSlots) if (b && !m.nonPersistent.has(name)) out[key(name)] = b;
    }
    return out;
  }

  /**
   * Copies values from a state dict into this module's tensors (converting dtypes). Strict by
   * default: missing and unexpected keys throw, listing both; a shape mismatch names the key.
   */
  loadStateDict(state: Readonly<Record<string, Tensor>>, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      throw new Error(
        `loadStateDict: missing keys [${missing.join(', ')}]; unexpected keys [${unexpected.join(', ')}]`,
      );
    }
    for (const [key, target] of Object.entries(own)) {
      const source = state[key];
      if (!source) continue;
      if (source.shape.join() !== target.shape.join()) {
        throw new RangeError(
          `loadStateDict: size mismatch for ${key}: the checkpoint has ${formatShape(source.shape)}, the module ${formatShape(target.shape)}`,
        );
      }
      noGrad(() => target.copy_(source));
    }
  }

  /** Calls fn on this module and every descendant. */
  apply(fn: (module: Module) => void): this {
    for (const m of this.modules()) fn(m);
    return this;
  }
}
