import { noGrad, storagesIn, type Tensor } from '@agrad/autograd';
import { checkValue, rules, type Storage } from '@agrad/tensor';

/**
 * The functional core, in the style of optax. Parameters, gradients and updates are records
 * from a parameter's name (PyTorch's dotted names, e.g. `layers.0.weight`) to a tensor.
 */
export type Params = Readonly<Record<string, Tensor>>;

/** A learning rate: a number, or a function of the 0-based step (number of updates so far). */
export type Schedule = (step: number) => number;
/** A constant learning rate, or a schedule of the step. */
export type LearningRate = number | Schedule;

/**
 * What a caller of `update` lends to it (JAX calls this buffer donation): buffers it will not read
 * again, so a fused loop may write its results into them instead of allocating. Without a
 * donation nothing passed in is touched. Optimizer.step donates the state (it keeps only the new
 * one), and chain donates the intermediate updates it owns; the gradients are never donated.
 */
export interface Donation {
  /** The caller will not read `state` again: its host arrays may hold the new state. */
  readonly state: boolean;
  /** The parameters whose incoming update the caller will not read again. */
  readonly updates: ReadonlySet<string>;
}

export const NO_DONATION: Donation = { state: false, updates: new Set() };

/**
 * A pair of functions. `init(params)` makes the state; `update(updates, state, params)` maps
 * incoming updates (at the head of a chain: the gradients) to outgoing updates and a new state.
 * They are pure unless the caller donates buffers (see Donation). `updates` may hold only some of
 * the parameters (those with a gradient this step): their state advances, the others' state is
 * returned unchanged. The final updates are added to the parameters: p <- p + u.
 *
 * Under Optimizer.step an incoming update is valid for the call only: a later block may write
 * over it (donation), and between steps its memory is reused (the SIMD loops' scratch memory,
 * see @agrad/tensor's src/wasm/loops.ts). A transform that keeps an update beyond the call, other than in the
 * state it returns (which the Optimizer moves out of scratch memory), must copy it.
 */
export interface GradientTransformation<State = unknown> {
  /** The state for `params` (moments at zero, step counts at zero). */
  init(params: Params): State;
  /** Maps the incoming updates to outgoing ones and the next state; `donation` says which buffers may be overwritten in place. */
  update(
    updates: Params,
    state: State,
    params: Params,
    donation?: Donation,
  ): { updates: Params; state: State };
  /** The learning-rate schedule of the scaleByLearningRate in this transform, if any. */
  readonly learningRate?: Schedule;
}

/** What chain and masked accept as a transform (an object with init and update functions). */
export const isTransform = (value: unknown): string | null =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as GradientTransformation).init === 'function' &&
  typeof (value as GradientTransformation).update === 'function'
    ? null
    : 'a GradientTransformation (an object with init and update functions)';

/** A learning rate as a schedule (a constant becomes a function returning it). */
export function toSchedule(lr: LearningRate): Schedule {
  return typeof lr === 'number' ? () => lr : lr;
}

/**
 * Runs transforms in order, each one's output updates feeding the next. When the caller donates
 * (see Donation), an update one transform made is the chain's own, so it is donated to the next,
 * unless it shares storage with what must not be overwritten: an incoming update that was not
 * donated, the parameter, or the new state (momentum hands out its buffer as the update). Without
 * a donation every result is a fresh array, as in a pure function.
 */
export function chain(...transforms: GradientTransformation<unknown>[]): GradientTransformation<unknown[]> {
  transforms.forEach((t, i) => checkValue('chain', `transform ${i}`, t, isTransform));
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (updates, state, params, donation) => {
      const next: unknown[] = [];
      let current = updates;
      let donated = donation?.updates ?? NO_DONATION.updates;
      // Storages the chain must not write over: every new state so far, and the old state
      // unless it was donated (built up as the transforms run, so each state is walked once).
      const held = donation && !donation.state ? storagesIn(state) : new Set<Storage>();
      transforms.forEach((t, i) => {
        const result = t.update(
          current,
          state[i],
          params,
          donation && { state: donation.state, updates: donated },
        );
        if (donation) storagesIn(result.state, held);
        donated =
          donation && i + 1 < transforms.length
            ? ownedUpdates(result.updates, held, updates, donation, params)
            : NO_DONATION.updates;
        current = result.updates;
        next.push(result.state);
      });
      return { updates: current, state: next };
    },
    learningRate: transforms.map((t) => t.learningRate).find((s) => s !== undefined),
  };
}

/** The names whose update in `made` the chain may donate onward (see chain): not in `held`. */
function ownedUpdates(
  made: Params,
  held: ReadonlySet<Storage>,
  incoming: Params,
  donation: Donation,
  params: Params,
): Set<string> {
  const owned = new Set<string>();
  for (const [name, u] of Object.entries(made)) {
    const storage = u.array.storage;
    const lent = Object.hasOwn(incoming, name) && incoming[name].array.storage === storage;
    if (held.has(storage) || (lent && !donation.updates.has(name))) continue;
    if (Object.hasOwn(params, name) && params[name].array.storage === storage) continue;
    owned.add(name);
  }
  return owned;
}

/** Per parameter, what a per-parameter update may overwrite (see Donation). */
export interface Reuse {
  readonly state: boolean;
  readonly update: boolean;
}

/**
 * A transform applied to each parameter separately, with per-parameter state (as PyTorch keeps
 * its per-parameter `step`, so a parameter without a gradient does not advance).
 */
export function perParameter<S>(
  init: (param: Tensor, name: string) => S,
  update: (update: Tensor, state: S, param: Tensor, name: string, reuse: Reuse) => [Tensor, S],
  learningRate?: Schedule,
): GradientTransformation<Record<string, S>> {
  return {
    init: (params) => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, init(p, name)])),
    update: (updates, state, params, donation = NO_DONATION) =>
      noGrad(() => {
        // No prototype: a parameter may be named anything, '__proto__' included.
        const nextUpdates: Record<string, Tensor> = Object.create(null);
        const nextState: Record<string, S> = Object.assign(Object.create(null), state);
        for (const [name, u] of Object.entries(updates)) {
          const param = Object.hasOwn(params, name) ? params[name] : undefined;
          if (!param)
            throw new Error(`optimizer: got an update for '${name}', which is not a known parameter`);
          const [out, s] = update(u, state[name], param, name, {
            state: donation.state,
            update: donation.updates.has(name),
          });
          nextUpdates[name] = out;
          nextState[name] = s;
        }
        return { updates: nextUpdates, state: nextState };
      }),
    learningRate,
  };
}

/** A stateless per-parameter map. */
export function stateless(
  map: (update: Tensor, param: Tensor, name: string, reuseUpdate: boolean) => Tensor,
): GradientTransformation<null> {
  return {
    init: () => null,
    update: (updates, state, params, donation = NO_DONATION) =>
      noGrad(() => ({
        updates: Object.fromEntries(
          Object.entries(updates).map(([name, u]) => [
            name,
            map(u, params[name], name, donation.updates.has(name)),
          ]),
        ),
        state,
      })),
  };
}

/** Decides per parameter whether a masked transform applies (by name, shape or size). */
export type ParamPredicate = (param: Tensor, name: string) => boolean;

/**
 * Applies `transform` only to parameters for which `predicate` holds; others pass through
 * unchanged. E.g. `masked(addDecayedWeights(0.01), (p) => p.ndim > 1)` spares biases and norms.
 */
export function masked<S>(
  transform: GradientTransformation<S>,
  predicate: ParamPredicate,
): GradientTransformation<S> {
  checkValue('masked', 'transform', transform, isTransform);
  checkValue('masked', 'predicate', predicate, rules.func);
  const select = (record: Params, params: Params) =>
    Object.fromEntries(Object.entries(record).filter(([name]) => predicate(params[name], name)));
  return {
    init: (params) => transform.init(select(params, params)),
    update: (updates, state, params, donation) => {
      const inner = transform.update(select(updates, params), state, select(params, params), donation);
      return { updates: { ...updates, ...inner.updates }, state: inner.state };
    },
    learningRate: transform.learningRate,
  };
}

/** The identity transform (useful as a placeholder in a chain). */
export function identity(): GradientTransformation<null> {
  return { init: () => null, update: (updates, state) => ({ updates, state }) };
}
