import { type DType, formatShape, isFloating, keep, noGrad, Tensor } from '@agrad/autograd';
import {
  type Backend,
  backendNames,
  checkOptions,
  checkValue,
  DTYPES,
  describeValue,
  resolveBackend,
  rules,
} from '@agrad/tensor';

/** A tensor registered as a module's parameter: a leaf that requires grad. */
export class Parameter extends Tensor {
  constructor(value: Tensor) {
    super(value.detach().array);
    this.requiresGrad = true;
  }

  /** As PyTorch prints a parameter: `Parameter containing:` then the tensor. */
  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

/** What loadStateDict did not match, as PyTorch's load_state_dict returns it. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Whether a value of `source`'s dtype may be copied into a tensor of `target`'s without losing meaning. */
function compatibleDtypes(target: DType, source: DType): boolean {
  if (isFloating(target)) return isFloating(source);
  if (target === 'int32') return source === 'int32' || source === 'bool';
  return source === 'bool';
}

/** Checks every entry a module would copy from `state`; returns the problems, one line each. */
function stateDictProblems(
  own: Readonly<Record<string, Tensor>>,
  state: Readonly<Record<string, unknown>>,
): string[] {
  const problems: string[] = [];
  for (const [key, target] of Object.entries(own)) {
    if (!Object.hasOwn(state, key)) continue;
    const source = state[key];
    if (!(source instanceof Tensor)) {
      problems.push(`'${key}' is ${source === null ? 'null' : typeof source}, expected a Tensor`);
    } else if (source.shape.join() !== target.shape.join()) {
      problems.push(
        `size mismatch for '${key}': the state dict has ${formatShape(source.shape)}, the module ${formatShape(target.shape)}`,
      );
    } else if (!compatibleDtypes(target.dtype, source.dtype)) {
      problems.push(
        `dtype mismatch for '${key}': the state dict has ${source.dtype}, the module ${target.dtype}`,
      );
    }
  }
  return problems;
}

/**
 * PyTorch's `self.fc = nn.Linear(...)`: a Module or Parameter stored in a field of a module (a
 * class field or an assignment in the constructor) registers itself under the field's name, in
 * the order of assignment. A field that holds a registered name keeps following it.
 */
function registerField(module: Module, name: string | symbol, value: unknown): void {
  if (typeof name !== 'string') return;
  if (value instanceof Parameter || value instanceof Module) {
    module.register(name, value);
    return;
  }
  const kind = module.slotKind(name);
  if (kind === null) return;
  if (value === null || value === undefined) {
    module.register(name, null, kind);
  } else if (kind === 'buffer' && value instanceof Tensor) {
    module.registerBuffer(name, value);
  } else {
    throw new TypeError(
      `${module.constructor.name}: cannot assign ${value instanceof Tensor ? 'a plain Tensor' : typeof value} to '${name}', which is a registered ${kind} (assign a ${kind === 'parameter' ? 'Parameter' : kind === 'module' ? 'Module' : 'Tensor'} or null)`,
    );
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

  constructor() {
    // Fields assigned from here on (a subclass's class fields, `this.fc = ...`) pass through
    // these traps, which register Modules and Parameters as PyTorch's __setattr__ does.
    // biome-ignore lint/correctness/noConstructorReturn: the proxy is the module; see registerField
    return new Proxy(this, {
      defineProperty(target, name, descriptor) {
        if ('value' in descriptor) registerField(target, name, descriptor.value);
        return Reflect.defineProperty(target, name, descriptor);
      },
      set(target, name, value, receiver) {
        registerField(target, name, value);
        return Reflect.set(target, name, value, receiver);
      },
    });
  }

  /** The module's computation (PyTorch's forward); each layer documents its inputs and output. */
  abstract forward(...inputs: never[]): unknown;

  /** @internal which kind of slot holds `name`, if any. */
  slotKind(name: string): 'parameter' | 'buffer' | 'module' | null {
    if (this.parameterSlots.has(name)) return 'parameter';
    if (this.bufferSlots.has(name)) return 'buffer';
    if (this.moduleSlots.has(name)) return 'module';
    return null;
  }

  /** @internal registers a field's value (see registerField), replacing whatever held the name. */
  register(name: string, value: Parameter | Module | null, kind = this.slotKind(name)): void {
    if (value instanceof Module || (value === null && kind === 'module')) {
      this.parameterSlots.delete(name);
      this.bufferSlots.delete(name);
      this.checkName('registerModule', name);
      this.moduleSlots.set(name, value as Module | null);
    } else if (value instanceof Parameter || (value === null && kind === 'parameter')) {
      this.moduleSlots.delete(name);
      this.bufferSlots.delete(name);
      this.registerParameter(name, value);
    } else if (kind === 'buffer') {
      this.bufferSlots.set(name, null);
    }
  }

  /** Registers (or replaces) a parameter; null registers an absent one (e.g. bias: false). */
  registerParameter(name: string, value: Tensor | null): void {
    this.checkName('registerParameter', name, 'parameter');
    if (value !== null && !(value instanceof Tensor))
      throw new TypeError(`registerParameter: '${name}' is not a Tensor or null (got ${typeof value})`);
    const parameter = value === null ? null : value instanceof Parameter ? value : new Parameter(value);
    // A module's tensors live as long as the module, not as long as a tidy() around its creation.
    if (parameter) keep(parameter);
    this.parameterSlots.set(name, parameter);
    this.refreshField(name, parameter);
  }

  /** Registers a buffer: state that is saved but not trained (running statistics). */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    this.checkName('registerBuffer', name, 'buffer');
    checkOptions('registerBuffer', options, { persistent: rules.boolean });
    if (value !== null && !(value instanceof Tensor))
      throw new TypeError(`registerBuffer: '${name}' is not a Tensor or null (got ${typeof value})`);
    const buffer = value === null ? null : keep(value.detach());
    this.bufferSlots.set(name, buffer);
    if (options.persistent === false) this.nonPersistent.add(name);
    else if (options.persistent === true) this.nonPersistent.delete(name);
    this.refreshField(name, buffer);
  }

  /** Registers (or replaces) a sub-module under `name`, so its parameters are this module's too; returns it. */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName('registerModule', name, 'module');
    if (!(module instanceof Module))
      throw new TypeError(`registerModule: '${name}' is not a Module (got ${typeof module})`);
    this.moduleSlots.set(name, module);
    this.refreshField(name, module);
    return module;
  }

  /** Keeps a field that names a slot pointing at the slot's current value (after Module.to). */
  private refreshField(name: string, value: unknown): void {
    const field = Object.getOwnPropertyDescriptor(this, name);
    if (field && 'value' in field && field.value !== value) Reflect.set(this, name, value);
  }

  private checkName(op: string, name: string, kind?: 'parameter' | 'buffer' | 'module'): void {
    if (typeof name !== 'string' || name === '' || name.includes('.'))
      throw new RangeError(`${op}: invalid name '${String(name)}' (a non-empty string without dots)`);
    // One name, one slot: a parameter and a sub-module of one name would make its keys ambiguous.
    const taken = this.slotKind(name);
    if (kind && taken && taken !== kind)
      throw new RangeError(`${op}: '${name}' is already a ${taken} of ${this.constructor.name}`);
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

  /** The buffer registered as `name` (throws if absent). */
  buffer(name: string): Tensor {
    const value = this.bufferSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no buffer '${name}'`);
    return value;
  }

  /** The buffer registered as `name`, or null where it is registered as absent. */
  optionalBuffer(name: string): Tensor | null {
    return this.bufferSlots.get(name) ?? null;
  }

  /** The sub-module registered as `name` (throws if absent). */
  module<M extends Module = Module>(name: string): M {
    const value = this.moduleSlots.get(name);
    if (!value) throw new Error(`${this.constructor.name}: no sub-module '${name}'`);
    return value as M;
  }

  /** Direct sub-modules with their names. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, m] of this.moduleSlots) if (m) yield [name, m];
  }

  /** Direct sub-modules. */
  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** This module and every descendant. */
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

  /** Every parameter, in namedParameters() order (what an optimizer updates). */
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Every buffer with its dotted name (running statistics and the like). */
  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m.bufferSlots) if (b) yield [prefix ? `${prefix}.${name}` : name, b];
    }
  }

  /** Every buffer, in namedBuffers() order. */
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    checkValue('train', 'mode', mode, rules.boolean);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode on this module and every descendant: train(false). */
  eval(): this {
    return this.train(false);
  }

  /**
   * As torch's module.to: a float dtype converts floating parameters and buffers (integer buffers
   * stay); a backend ('cpu', 'gpu' once '@agrad/gpu' is imported, or a Backend) moves every
   * parameter, gradient and buffer there. Parameters are replaced, so build the optimizer after.
   *
   * @example
   * model.to('float64');
   * model.to('gpu');
   */
  to(target: DType | string | Backend): this {
    if (typeof target === 'string' && (DTYPES as readonly string[]).includes(target)) {
      const dtype = target as DType;
      if (!isFloating(dtype)) throw new TypeError(`Module.to: expected float32 or float64, got ${dtype}`);
      this.convert(
        (t) => (t.dtype === dtype ? t : t.to(dtype)),
        (b) => isFloating(b.dtype) && b.dtype !== dtype,
      );
      return this;
    }
    let backend: Backend;
    try {
      backend = resolveBackend(target as string | Backend);
    } catch {
      throw new TypeError(
        `Module.to: unknown dtype or backend ${describeValue(target)}; expected float32, float64 or a backend (${backendNames().join(', ')})`,
      );
    }
    this.convert(
      (t) => (t.backend === backend ? t : t.to(backend)),
      (b) => b.backend !== backend,
    );
    return this;
  }

  /** Replaces every parameter (and its gradient) and the buffers `moves` picks by `change` of them. */
  private convert(change: (t: Tensor) => Tensor, moves: (buffer: Tensor) => boolean): void {
    for (const m of this.modules()) {
      for (const [name, p] of m.parameterSlots) {
        if (!p) continue;
        const value = change(p.detach());
        if (value.array === p.array) continue;
        const moved = new Parameter(value);
        if (p.grad) moved.grad = change(p.grad);
        m.registerParameter(name, moved);
      }
      for (const [name, b] of m.bufferSlots) {
        if (b && moves(b)) m.registerBuffer(name, change(b), { persistent: !m.nonPersistent.has(name) });
      }
    }
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Parameters and persistent buffers by PyTorch's keys. The tensors are the module's own. The
   * record has no prototype, so any key (even `__proto__`) is an ordinary entry.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = Object.create(null);
    for (const [prefix, m] of this.namedModules()) {
      const key = (name: string) => (prefix ? `${prefix}.${name}` : name);
      for (const [name, p] of m.parameterSlots) if (p) out[key(name)] = p;
      for (const [name, b] of m.bufferSlots) if (b && !m.nonPersistent.has(name)) out[key(name)] = b;
    }
    return out;
  }

  /**
   * Copies values from a state dict into this module's tensors (converting between float dtypes),
   * all or nothing: every key, value type, shape and dtype is checked before the first value is
   * copied, so a bad entry leaves the module as it was. Strict by default: missing and unexpected
   * keys throw, listing both; with `strict: false` they are returned instead.
   */
  loadStateDict(state: Readonly<Record<string, Tensor>>, options: { strict?: boolean } = {}): LoadResult {
    const result = this.checkStateDict(state, options);
    const own = this.stateDict();
    noGrad(() => {
      for (const [key, target] of Object.entries(own))
        if (Object.hasOwn(state, key)) target.copy_(state[key]);
    });
    return result;
  }

  /**
   * Throws what loadStateDict would refuse, changing nothing; otherwise returns the keys it would
   * leave missing or unexpected (with `strict: false`). For loading several objects at once.
   */
  checkStateDict(state: Readonly<Record<string, Tensor>>, options: { strict?: boolean } = {}): LoadResult {
    checkOptions('loadStateDict', options, { strict: rules.boolean });
    if (typeof state !== 'object' || state === null || state instanceof Tensor)
      throw new TypeError(`loadStateDict: expected a record of tensors, got ${describeValue(state)}`);
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(state, k));
    const unexpectedKeys = Object.keys(state).filter((k) => !Object.hasOwn(own, k));
    const problems = stateDictProblems(own, state);
    if (strict && missingKeys.length > 0) problems.unshift(`missing keys [${missingKeys.join(', ')}]`);
    if (strict && unexpectedKeys.length > 0)
      problems.unshift(`unexpected keys [${unexpectedKeys.join(', ')}]`);
    if (problems.length > 0) throw new Error(`loadStateDict: nothing was loaded: ${problems.join('; ')}`);
    return { missingKeys, unexpectedKeys };
  }

  /** Extra text shown inside this module's parentheses when printed (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  /**
   * The module tree as PyTorch prints it:
   *
   *     Sequential(
   *       (0): Linear(in_features=4, out_features=3, bias=True)
   *       (1): ReLU()
   *     )
   */
  toString(): string {
    const extra = this.extraRepr() ? this.extraRepr().split('\n') : [];
    const children = [...this.namedChildren()].map(
      ([name, child]) => `(${name}): ${String(child).replaceAll('\n', '\n  ')}`,
    );
    const lines = [...extra, ...children];
    const inner =
      lines.length === 0
        ? ''
        : extra.length === 1 && children.length === 0
          ? extra[0]
          : `\n  ${lines.join('\n  ')}\n`;
    return `${this.constructor.name}(${inner})`;
  }

  /** Node's console.log and util.inspect print what toString() gives. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Calls fn on this module and every descendant. */
  apply(fn: (module: Module) => void): this {
    for (const m of this.modules()) fn(m);
    return this;
  }
}
