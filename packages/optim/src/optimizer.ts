import { formatShape, fromTypedArray, noGrad, storagesIn, Tensor } from '@agrad/autograd';
import {
  checkOptions,
  checkValue,
  cpuBackend,
  describeValue,
  ops,
  rules,
  type SimdLoops,
  type Storage,
  simdLoops,
  TypedArrayStorage,
} from '@agrad/tensor';
import { type FloatArray, float32Loops } from './fused.js';
import { type ParamSource, paramRecord } from './params.js';
import { type Donation, type GradientTransformation, isTransform, type Params } from './transform.js';

/** Optimizer's options: whether a step with a non-finite gradient is skipped instead of applied. */
export interface OptimizerOptions {
  /**
   * When a gradient holds NaN or infinity, leave parameters and optimizer state untouched for
   * that step and report it (step() returns { skipped: true }). Without this option non-finite
   * gradients flow into the parameters, as in PyTorch.
   */
  skipNonFinite?: boolean;
}

/** What Optimizer.step() did: whether it was skipped, and which parameters had a non-finite gradient. */
export interface StepReport {
  skipped: boolean;
  /** Names of parameters whose gradient was not finite (checked only with skipNonFinite). */
  nonFinite: string[];
}

/**
 * The stateful wrapper for scripts, PyTorch-shaped: reads each parameter's `.grad`, runs the
 * transform, and adds the updates to the parameters in place.
 *
 * @example
 * const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 1e-3 })));
 * loss.backward();
 * optimizer.step();
 * optimizer.zeroGrad();
 */
export class Optimizer {
  readonly params: Readonly<Record<string, Tensor>>;
  private state: unknown;
  private steps = 0;
  /** Set when an update threw after it may have written into the state (see step). */
  private interrupted: string | null = null;

  constructor(
    params: ParamSource,
    readonly transform: GradientTransformation<unknown>,
    readonly options: OptimizerOptions = {},
  ) {
    checkOptions('Optimizer', options, { skipNonFinite: rules.boolean });
    checkValue('Optimizer', 'the transform (e.g. adamw({ lr: 1e-3 }))', transform, isTransform);
    this.params = paramRecord(params);
    const names = Object.keys(this.params);
    if (names.length === 0) throw new RangeError('Optimizer: got an empty parameter list');
    const seen = new Map<Tensor, string>();
    for (const [name, p] of Object.entries(this.params)) {
      if (!(p instanceof Tensor)) throw new TypeError(`Optimizer: parameter '${name}' is not a tensor`);
      // Its update would be written into a value the graph computed, as PyTorch refuses too.
      if (!p.isLeaf) {
        throw new TypeError(
          `Optimizer: parameter '${name}' is not a leaf (it is the output of '${p.gradFn?.op}'); optimize the tensors it was computed from`,
        );
      }
      // Listed twice, it would take two steps per step().
      const first = seen.get(p);
      if (first !== undefined)
        throw new RangeError(
          `Optimizer: parameters '${first}' and '${name}' are the same tensor; list it once`,
        );
      seen.set(p, name);
    }
    this.state = adopt(
      noGrad(() => transform.init(this.params)),
      this.params,
    );
  }

  /** Number of steps taken (skipped steps not counted). */
  get stepCount(): number {
    return this.steps;
  }

  /** The current learning rate, when the transform has one. */
  get lr(): number | undefined {
    return this.transform.learningRate?.(this.steps);
  }

  /**
   * One update from the parameters' current `.grad`; parameters without a gradient are skipped.
   * The state is donated to the transform (see Donation in ./transform.ts): fused loops write the
   * new moments into the old ones' arrays, as torch.optim updates its state in place. So if the
   * update throws part way (a learning-rate schedule returning NaN, say), some moments may have
   * advanced while the parameters did not: the optimizer then refuses further steps until a state
   * dict is loaded, instead of carrying on from a state no step produced.
   */
  step(): StepReport {
    if (this.interrupted !== null) {
      throw new Error(
        `Optimizer.step: a previous step threw part way (${this.interrupted}), so the state may be half updated; load a state dict (loadStateDict) or make a new Optimizer`,
      );
    }
    const grads: Record<string, Tensor> = Object.create(null);
    for (const [name, p] of Object.entries(this.params)) if (p.grad) grads[name] = p.grad;
    const nonFinite = this.options.skipNonFinite
      ? Object.entries(grads)
          .filter(([, g]) => !allFinite(g))
          .map(([name]) => name)
      : [];
    if (nonFinite.length > 0) return { skipped: true, nonFinite };
    noGrad(() =>
      withScratch(this.params, (simd) => {
        let result: { updates: Params; state: unknown };
        try {
          result = this.transform.update(grads, this.state, this.params, DONATE_STATE);
        } catch (error) {
          this.interrupted = (error as Error).message ?? String(error);
          throw error;
        }
        for (const [name, u] of Object.entries(result.updates)) addInPlace(this.params[name], u);
        // A block may keep an update it was given in its state (Adan keeps the gradient): moved
        // to the heap before the scratch region is reused.
        if (simd) for (const storage of storagesIn(result.state)) moveToHeap(storage, simd);
        this.state = adopt(result.state, this.params, this.state);
      }),
    );
    this.steps++;
    return { skipped: false, nonFinite };
  }

  /** Clears every parameter's `.grad` (sets it to null, as PyTorch's default). */
  zeroGrad(): void {
    // On a GPU backend the old gradients' memory is released now (not at the next garbage
    // collection), except where the state still holds them (Adan keeps the previous gradient).
    const held = freesExplicitly(this.params) ? storagesIn(this.state) : null;
    for (const p of Object.values(this.params)) {
      const storage = p.grad?.array.storage;
      if (held && storage && !held.has(storage) && storage !== p.array.storage)
        storage.backend.release?.(storage);
      p.grad = null;
    }
  }

  /**
   * The state as a flat record of tensors (numbers become 0-d float64 tensors), keyed by the
   * path through the transform's state, e.g. `1/fc.weight/expAvg`. Suitable for safetensors.
   * The record has no prototype, so any parameter name is an ordinary key. The tensors are a
   * snapshot (copies): later steps, which update the state in place, do not change them.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = Object.create(null);
    out._steps = hostNumber(this.steps);
    flatten(this.state, '', out);
    return out;
  }

  /**
   * Restores a stateDict(), all or nothing: every key, value type, shape, dtype and count is
   * checked before anything changes, so a bad entry leaves the optimizer as it was. Strict:
   * missing or unexpected keys throw, listing them.
   */
  loadStateDict(dict: Readonly<Record<string, Tensor>>): void {
    const { state, steps } = this.restore(dict);
    this.state = adopt(state, this.params);
    this.steps = steps;
    this.interrupted = null;
  }

  /** Throws what loadStateDict would refuse, changing nothing. For loading several objects at once. */
  checkStateDict(dict: Readonly<Record<string, Tensor>>): void {
    this.restore(dict);
  }

  /** The state and step count a state dict describes, after checking every entry. */
  private restore(dict: Readonly<Record<string, Tensor>>): { state: unknown; steps: number } {
    const op = 'Optimizer.loadStateDict';
    if (typeof dict !== 'object' || dict === null || dict instanceof Tensor)
      throw new TypeError(`${op}: expected a record of tensors, got ${describeValue(dict)}`);
    const template = noGrad(() => this.transform.init(this.params));
    const slots = new Map<string, Slot>([['_steps', { kind: 'number', count: true }]]);
    collectSlots(template, '', this.params, slots);
    const problems: string[] = [];
    const missing = [...slots].filter(([k, slot]) => slot.kind !== 'null' && !Object.hasOwn(dict, k));
    const unexpected = Object.keys(dict).filter((k) => !slots.has(k));
    if (unexpected.length > 0) problems.push(`unexpected keys [${unexpected.join(', ')}]`);
    if (missing.length > 0) problems.push(`missing keys [${missing.map(([k]) => k).join(', ')}]`);
    for (const [key, slot] of slots) {
      if (!Object.hasOwn(dict, key)) continue;
      const problem = slotProblem(slot, dict[key]);
      if (problem) problems.push(`'${key}' ${problem}`);
    }
    if (problems.length > 0) throw new Error(`${op}: nothing was loaded: ${problems.join('; ')}`);
    return { state: unflatten(template, '', dict, slots), steps: dict._steps.item() };
  }
}

/** What the state holds at one path: a tensor like `like`, a number, or an empty slot. */
type Slot =
  | { kind: 'tensor'; like: Tensor }
  | { kind: 'number'; count: boolean }
  | { kind: 'null'; param: Tensor | null };

/** Leaves named like these count steps: non-negative integers. */
const COUNT_NAMES = /^(step|steps|count)$|(Step|Steps|Count)$/;

/** Every leaf of a fresh state, by path; an empty slot remembers the parameter it belongs to. */
function collectSlots(value: unknown, path: string, params: Params, out: Map<string, Slot>): void {
  const leaf = path.split(SEPARATOR).at(-1) ?? '';
  if (value instanceof Tensor) out.set(path, { kind: 'tensor', like: value });
  else if (typeof value === 'number') out.set(path, { kind: 'number', count: COUNT_NAMES.test(leaf) });
  else if (value === null) {
    const owner = path.split(SEPARATOR).find((part) => Object.hasOwn(params, part));
    out.set(path, { kind: 'null', param: owner === undefined ? null : params[owner] });
  } else if (typeof value === 'object' && value !== undefined) {
    for (const [key, inner] of Object.entries(value))
      collectSlots(inner, path ? `${path}${SEPARATOR}${key}` : key, params, out);
  }
}

/** Why `value` cannot fill `slot`, or null when it can. */
function slotProblem(slot: Slot, value: unknown): string | null {
  if (!(value instanceof Tensor)) return `is ${describeValue(value)}, expected a Tensor`;
  if (slot.kind === 'number') {
    if (value.size !== 1) return `has shape ${formatShape(value.shape)}, expected a single number`;
    const n = value.item();
    if (slot.count && !(Number.isSafeInteger(n) && n >= 0))
      return `is ${n}, expected a count (an integer >= 0)`;
    if (!Number.isFinite(n)) return `is ${n}, expected a finite number`;
    return null;
  }
  const like = slot.kind === 'tensor' ? slot.like : slot.param;
  if (like && (value.dtype !== like.dtype || value.shape.join() !== like.shape.join()))
    return `has ${value.dtype} ${formatShape(value.shape)}, expected ${like.dtype} ${formatShape(like.shape)}`;
  return null;
}

function allFinite(t: Tensor): boolean {
  const data = ops.hostView(t.array) ?? t.array.read();
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

/**
 * p <- p + u, in place: straight into the storage when it is a contiguous CPU array. Either way
 * the write counts in the storage's version, so a graph that saved p refuses backward after it.
 */
function addInPlace(p: Tensor, u: Tensor): void {
  const target = u.dtype === p.dtype ? ops.hostView(p.array) : null;
  if (target) {
    const source = (ops.hostView(u.array) ?? u.array.read()) as FloatArray;
    const simd = float32Loops(source, target as FloatArray);
    if (simd) simd.addScaled(source as Float32Array, target as Float32Array, target as Float32Array, 1);
    else for (let i = 0; i < target.length; i++) target[i] += source[i];
    p.array.storage.version++;
  } else {
    p.copy_(p.add(u));
  }
}

/**
 * Runs a step with the SIMD loops' scratch region open (@agrad/tensor's src/wasm/loops.ts): room for two
 * updates per float32 element of the parameters (AGR's output and Adam's, say; the blocks after
 * those write in place). When it is full, further updates are ordinary arrays.
 */
function withScratch(params: Params, body: (simd: SimdLoops | null) => void): void {
  const simd = simdLoops();
  let [total, largest] = [0, 0];
  for (const p of Object.values(params)) {
    if (p.dtype !== 'float32' || !ops.onHost(p.array)) continue;
    total += p.size;
    largest = Math.max(largest, p.size);
  }
  if (simd?.suits(largest)) simd.scope(2 * total, () => body(simd));
  else body(null);
}

function moveToHeap(storage: Storage, simd: SimdLoops): void {
  if (storage instanceof TypedArrayStorage && simd.isScratch(storage.data))
    storage.relocate(new Float32Array(storage.data.length));
}

const SEPARATOR = '/';

/** What step lends the transform: its state (it keeps only the new one), never the gradients. */
const DONATE_STATE: Donation = { state: true, updates: new Set() };

/**
 * The optimizer's state outlives any tidy() around a step (see @agrad/autograd's tidy); the
 * previous state's tensors that the new one no longer holds are released (a no-op on the CPU).
 */
function adopt<S>(state: S, params: Params, previous?: unknown): S {
  // On the CPU the garbage collector frees everything: no bookkeeping on the hot path.
  if (!freesExplicitly(params)) return state;
  const kept = storagesIn(state);
  for (const storage of kept) ops.unrecordStorage(storage);
  if (previous !== undefined) {
    // Parameters and their gradients are never the optimizer's to free.
    const protect = storagesIn(params);
    for (const storage of kept) protect.add(storage);
    for (const storage of storagesIn(previous)) if (!protect.has(storage)) storage.backend.release?.(storage);
  }
  return state;
}

/** Whether the parameters live on a backend whose memory is freed explicitly (gpu.js). */
function freesExplicitly(params: Params): boolean {
  return Object.values(params).some((p) => p.array.backend.release !== undefined);
}

/** A number of the state as a 0-d float64 tensor, kept on the CPU whatever the current backend. */
function hostNumber(value: number): Tensor {
  return fromTypedArray(Float64Array.of(value), [], cpuBackend);
}

/** Writes the tensor and number leaves of a nested state to `out`; null leaves are skipped. */
function flatten(value: unknown, path: string, out: Record<string, Tensor>): void {
  if (value === null || value === undefined) return;
  if (value instanceof Tensor) out[path] = noGrad(() => value.clone());
  else if (typeof value === 'number') out[path] = hostNumber(value);
  else if (typeof value === 'object') {
    for (const [key, inner] of Object.entries(value))
      flatten(inner, path ? `${path}${SEPARATOR}${key}` : key, out);
  }
}

/**
 * `t`, or a copy of it where it shares memory with the caller's `given`: steps update the state in
 * place, which must not reach into the dict the caller loaded (PyTorch deep-copies it too).
 */
function ownCopy(t: Tensor, given: Tensor): Tensor {
  return t.array.storage === given.array.storage ? noGrad(() => t.clone()) : t;
}

/** Rebuilds the nested state shaped like `template` from checked flat entries, on the parameters' backends. */
function unflatten(
  template: unknown,
  path: string,
  dict: Readonly<Record<string, Tensor>>,
  slots: ReadonlyMap<string, Slot>,
): unknown {
  const slot = slots.get(path);
  if (slot?.kind === 'null') {
    if (!Object.hasOwn(dict, path)) return null;
    return ownCopy(slot.param ? dict[path].to(slot.param.backend) : dict[path], dict[path]);
  }
  if (slot?.kind === 'tensor') return ownCopy(dict[path].to(slot.like.backend), dict[path]);
  if (slot?.kind === 'number') return dict[path].item();
  if (template === null || typeof template !== 'object') return template;
  const entries = Object.entries(template).map(([key, inner]) => [
    key,
    unflatten(inner, path ? `${path}${SEPARATOR}${key}` : key, dict, slots),
  ]);
  return Array.isArray(template) ? entries.map(([, v]) => v) : Object.fromEntries(entries);
}
