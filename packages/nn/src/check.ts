import { formatShape, Tensor } from '@agrad/autograd';
import { checkValue, type Rule, rules } from '@agrad/tensor';

/** The rules nn's layers and functions share (see @agrad/tensor's checkOptions). */

/** A float dtype for a layer's parameters. */
export const floatDtype: Rule = rules.oneOf('float32', 'float64');
export const reduction: Rule = rules.oneOf('mean', 'sum', 'none');
export const tensorRule: Rule = rules.instanceOf(Tensor, 'Tensor');
export const optionalTensor: Rule = rules.nullable(tensorRule);
/** A window size, stride or dilation: a positive integer or an [h, w] pair of them. */
export const windowPair: Rule = rules.pairOf(rules.positiveInteger);
/** A padding: an integer >= 0 or an [h, w] pair of them. */
export const paddingPair: Rule = rules.pairOf(rules.count);

/** Throws unless `x` is a Tensor (plain-JavaScript callers may pass anything). */
export function requireTensor(op: string, name: string, x: unknown): asserts x is Tensor {
  checkValue(op, name, x, tensorRule);
}

/** Throws unless `x` has `ndim` dims (one of them, for a list). */
export function requireDims(
  op: string,
  name: string,
  x: Tensor,
  ndim: number | readonly number[],
  layout: string,
): void {
  requireTensor(op, name, x);
  const allowed = typeof ndim === 'number' ? [ndim] : ndim;
  if (!allowed.includes(x.ndim)) {
    throw new RangeError(
      `${op}: expected ${name} ${layout} (${allowed.join(' or ')}-D), got ${formatShape(x.shape)}`,
    );
  }
}

/** A normalized shape: one size or a list of positive sizes, as a list. */
export function normalizedShapeOf(op: string, shape: unknown): number[] {
  checkValue(
    op,
    'normalizedShape',
    shape,
    rules.either(rules.positiveInteger, (v) =>
      Array.isArray(v) && v.length > 0 && v.every((d) => rules.positiveInteger(d) === null)
        ? null
        : 'a non-empty array of positive integers',
    ),
  );
  return typeof shape === 'number' ? [shape] : [...(shape as number[])];
}

/** Python's repr of a bool, for extraRepr. */
export function pythonBool(value: boolean): string {
  return value ? 'True' : 'False';
}

/** Python's repr of an int or an (h, w) tuple, for extraRepr. */
export function pythonPair(value: number | readonly number[]): string {
  return typeof value === 'number' ? String(value) : `(${value.join(', ')})`;
}

/** The options of F.conv2d (Conv2d adds bias and dtype). */
export const convOptions = {
  stride: windowPair,
  padding: rules.either(paddingPair, rules.oneOf('valid', 'same')),
  dilation: windowPair,
  groups: rules.positiveInteger,
};

/** The options of F.maxPool2d and MaxPool2d. */
export const maxPoolOptions = {
  stride: windowPair,
  padding: paddingPair,
  dilation: windowPair,
  ceilMode: rules.boolean,
};

/** The options of F.avgPool2d and AvgPool2d. */
export const avgPoolOptions = {
  stride: windowPair,
  padding: paddingPair,
  ceilMode: rules.boolean,
  countIncludePad: rules.boolean,
  divisorOverride: rules.positiveInteger,
};
