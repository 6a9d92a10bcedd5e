import { noGrad, type Tensor } from '@agrad/autograd';
import { checkValue, rules } from '@agrad/tensor';

/**
 * The functional core, in the style of optax. Parameters, gradients and updates are records
 * from a parameter's name (PyTorch's dotted names, e.g. `layers.0.weight`) to a tensor.
 */
export type Params = Readonly<Record<string, Tensor>>;

/** A learning rate: a number, or a function of the 0-based step (number of updates so far). */
export type Schedule = (step: number) => number;
export type LearningRate = number | Schedule;

/**
 * A pair of pure functions. `init(params)` makes the state; `update(updates, state, params)`
 * maps incoming updates (at the head of a chain: the gradients) to outgoing updates and a new
 * state. Nothing passed in is mutated. `updates` may hold only some of the parameters (those with
 * a gradient this step): their state advances, the others' state is returned unchanged.
 * The final updates are added to the parameters: p <- p + u.
 */
export interface GradientTransformation<State = unknown> {
  init(params: Params): State;
  update(updates: Params, state: State, params: Params): { updates: Params; state: State };
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

export function toSchedule(lr: LearningRate): Schedule {
  return typeof lr === 'number' ? () => lr : lr;
}

/** Runs transforms in order, each one's output updates feeding the next. */
export function chain(...transforms: GradientTransformation<unknown>[]): GradientTransformation<unknown[]> {
  transforms.forEach((t, i) => checkValue('chain', `transform ${i}`, t, isTransform));
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update: (updates, state, params) => {
      const next: unknown[] = [];
      let current = updates;
      transforms.forEach((t, i) => {
        const result = t.update(current, state[i], params);
        current = result.updates;
        next.push(result.state);
      });
      return { updates: current, state: next };
    },
    learningRate: transforms.map((t) => t.learningRate).find((s) => s !== undefined),
  };
}

/**
 * A transform applied to each parameter separately, with per-parameter state (as PyTorch keeps
 * its per-parameter `step`, so a parameter without a gradient does not advance).
 */
export function perParameter<S>(
  init: (param: Tensor, name: string) => S,
  update: (update: Tensor, state: S, param: Tensor, name: string) => [Tensor, S],
  learningRate?: Schedule,
): GradientTransformation<Record<string, S>> {
  return {
    init: (params) => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, init(p, name)])),
    update: (updates, state, params) =>
      noGrad(() => {
        // No prototype: a parameter may be named anything, '__proto__' included.
        const nextUpdates: Record<string, Tensor> = Object.create(null);
        const nextState: Record<string, S> = Object.assign(Object.create(null), state);
        for (const [name, u] of Object.entries(updates)) {
          const param = Object.hasOwn(params, name) ? params[name] : undefined;
          if (!param)
            throw new Error(`optimizer: got an update for '${name}', which is not a known parameter`);
          const [out, s] = update(u, state[name], param, name);
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
  map: (update: Tensor, param: Tensor, name: string) => Tensor,
): GradientTransformation<null> {
  return {
    init: () => null,
    update: (updates, state, params) =>
      noGrad(() => ({
        updates: Object.fromEntries(
          Object.entries(updates).map(([name, u]) => [name, map(u, params[name], name)]),
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
    update: (updates, state, params) => {
      const inner = transform.update(select(updates, params), state, select(params, params));
      return { updates: { ...updates, ...inner.updates }, state: inner.state };
    },
    learningRate: transform.learningRate,
  };
}

/** The identity transform (useful as a placeholder in a chain). */
export function identity(): GradientTransformation<null> {
  return { init: () => null, update: (updates, state) => ({ updates, state }) };
}
