import type { Tensor } from '@agrad/autograd';

/**
 * Where parameters come from, as PyTorch accepts them: a list (named by position), named pairs
 * or a record, or a module (its namedParameters()).
 */
export type ParamSource =
  | readonly Tensor[]
  | Iterable<readonly [string, Tensor]>
  | Readonly<Record<string, Tensor>>
  | {
      /** Named parameters, as a Module gives them. */
      namedParameters(): Iterable<readonly [string, Tensor]>;
    };

export function paramRecord(source: ParamSource): Record<string, Tensor> {
  if (Array.isArray(source)) return Object.fromEntries(source.map((t, i) => [String(i), t as Tensor]));
  if (typeof (source as { namedParameters?: unknown }).namedParameters === 'function') {
    return Object.fromEntries(
      (source as { namedParameters(): Iterable<[string, Tensor]> }).namedParameters(),
    );
  }
  if (Symbol.iterator in (source as object)) return Object.fromEntries(source as Iterable<[string, Tensor]>);
  return { ...(source as Record<string, Tensor>) };
}
