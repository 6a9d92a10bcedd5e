import type { Tensor } from '@agrad/autograd';
import { checkOptions, checkValue, ops, type Rule } from '@agrad/tensor';
import {
  type GradientTransformation,
  perParameter,
  type Reuse,
  type Schedule,
  stateless,
} from './transform.js';

/**
 * A building block of optimizers, defined once: the rule (in the definition's docstring), its
 * options with their rules and defaults, the per-parameter state it starts from, the update
 * composed from tensor ops, and, for the hot blocks, the same update as one fused loop over host
 * arrays. Fusion is an execution choice, not a second block: both forms take and return the same
 * state, the fused one runs where the values are in host memory (ops.onHost), the composed one
 * everywhere else (a GPU backend) and whenever fusion is turned off (`reference`). The test of
 * fused against composed walks `BLOCKS`, so a new block is checked without being listed.
 *
 * In the rules, `g` is the incoming update (the gradient at a chain's head), `u` the outgoing one.
 */
export interface BlockDefinition<O extends object, S> {
  /** The transform's name, as its errors name it. */
  readonly name: string;
  /** Every option with its rule: an unknown key is refused, a bad value named. */
  readonly rules: { readonly [K in keyof O]-?: Rule };
  /** The value of each option that is not given. */
  readonly defaults: Partial<O>;
  /**
   * For blocks called with positional arguments (`scale(0.5)`): the options' names in argument
   * order. They are checked as arguments (`scale: factor must be ...`).
   */
  readonly positional?: readonly (keyof O & string)[];
  /** Checks that need the options together, or more than a rule (a schedule's first value). */
  readonly check?: (options: O) => void;
  /** The state of one parameter at the start; a block without it is stateless (state null). */
  readonly init?: (param: Tensor, options: O) => S;
  /** The rule as tensor ops, for any backend: the outgoing update and the parameter's next state. */
  readonly update: (g: Tensor, state: S, param: Tensor, options: O) => [Tensor, S];
  /**
   * The same rule as one pass over host arrays (see ./fused.ts): same state in, same state out.
   * Where `reuse` allows (a donation, see ../transform.ts), it writes the new state into the old
   * state's arrays and the outgoing update into the incoming one's, instead of allocating.
   */
  readonly fused?: (g: Tensor, state: S, param: Tensor, options: O, reuse: Reuse) => [Tensor, S];
  /** The learning-rate schedule the block applies (Optimizer.lr reports it). */
  readonly learningRate?: (options: O) => Schedule;
  /**
   * Options to exercise the block with in the fused-versus-composed test (default: none given).
   * A block whose options are required must list some, or that test fails to build it.
   */
  readonly examples?: readonly Partial<O>[];
}

/** A defined block: builds its transform, fused on the host or always composed. */
export interface Block<O extends object, S> {
  readonly definition: BlockDefinition<O, S>;
  /** The transform for `given` options; `fusion: false` runs the composed update everywhere. */
  transform(given: Partial<O> | undefined, fusion?: boolean): BlockTransform<S>;
}

/** A stateful block keeps a record of per-parameter states; a stateless one keeps null. */
export type BlockTransform<S> = GradientTransformation<[S] extends [null] ? null : Record<string, S>>;

/** Every block defined so far, for the tests that must cover them all. */
// biome-ignore lint/suspicious/noExplicitAny: a registry of blocks of every option and state type
export const BLOCKS: Block<any, any>[] = [];

export function defineBlock<O extends object, S = null>(definition: BlockDefinition<O, S>): Block<O, S> {
  const { name, rules, positional } = definition;
  const resolve = (given: Partial<O> | undefined): O => {
    if (positional) {
      for (const key of positional)
        checkValue(name, key, (given as Record<string, unknown>)[key], rules[key]);
    } else checkOptions(name, given, rules as Record<string, Rule>);
    const options = { ...definition.defaults } as Record<string, unknown>;
    for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) options[key] = value;
    definition.check?.(options as O);
    return options as O;
  };
  const block: Block<O, S> = {
    definition,
    transform(given, fusion = true) {
      const options = resolve(given);
      const { init, update, fused } = definition;
      const step = (g: Tensor, state: S, param: Tensor, reuse: Reuse): [Tensor, S] =>
        fusion && fused && ops.onHost(g.array, param.array)
          ? fused(g, state, param, options, reuse)
          : update(g, state, param, options);
      const learningRate = definition.learningRate?.(options);
      if (!init) {
        const transform = stateless(
          (g, param, _, reuseUpdate) => step(g, null as S, param, { state: false, update: reuseUpdate })[0],
        );
        return (learningRate ? { ...transform, learningRate } : transform) as BlockTransform<S>;
      }
      return perParameter<S>(
        (param) => init(param, options),
        (g, state, param, _, reuse) => step(g, state, param, reuse),
        learningRate,
      ) as BlockTransform<S>;
    },
  };
  BLOCKS.push(block as unknown as (typeof BLOCKS)[number]);
  return block;
}
