/**
 * Checking of arguments and option objects, for every package: plain-JavaScript callers get no
 * type check, so a misspelt option, a string where a number belongs or an infinite learning rate
 * must fail loudly, naming the op, the option, the value and what was expected.
 *
 * A rule is a function from a value to what was expected of it (null when the value is fine):
 *
 *     checkOptions('adamw', options, { lr: required(learningRate), eps: positive, amsgrad: boolean });
 */
export interface Rule {
  (value: unknown): string | null;
  /** The option must be given (not undefined). */
  readonly required?: boolean;
}

/** A readable rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 8).map(describeValue).join(', ');
    return `[${shown}${value.length > 8 ? ', ...' : ''}]`;
  }
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

/**
 * Edit distance ignoring case, a swap of neighbours counting as one edit (optimal string
 * alignment), to suggest the accepted option a misspelt one was meant to be.
 */
function distance(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** Throws `${op}: ${name} must be ${expected}, got ${value}` unless `rule` accepts the value. */
export function checkValue(op: string, name: string, value: unknown, rule: Rule): void {
  const expected = rule(value);
  if (expected !== null) {
    const error = `${op}: ${name} must be ${expected}, got ${describeValue(value)}`;
    throw typeof value === 'number' || value === undefined ? new RangeError(error) : new TypeError(error);
  }
}

/**
 * Checks an options object: undefined or a plain object whose keys are all in `rules`, each
 * given value accepted by its rule, and every required option present. An unknown key throws,
 * naming it and listing the accepted ones.
 */
export function checkOptions(op: string, options: unknown, rules: Readonly<Record<string, Rule>>): void {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
  }
  const accepted = Object.keys(rules);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(rules, key)) continue;
    const closest = accepted
      .map((name) => [name, distance(key, name)] as const)
      .filter(([, d]) => d <= Math.max(1, Math.floor(key.length / 3)))
      .sort((a, b) => a[1] - b[1])[0];
    throw new TypeError(
      `${op}: unknown option '${key}'${closest ? ` (did you mean '${closest[0]}'?)` : ''}; accepted options: ${accepted.join(', ') || 'none'}`,
    );
  }
  for (const [key, rule] of Object.entries(rules)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) {
      if (rule.required) {
        throw new TypeError(`${op}: option ${key} is required (${rule(undefined) ?? 'a value'})`);
      }
      continue;
    }
    checkValue(op, `option ${key}`, value, rule);
  }
}

/** The same rule, but the option must be given. */
export function required(rule: Rule): Rule {
  return Object.assign((value: unknown) => rule(value), { required: true });
}

/** A rule that also accepts null (PyTorch's None). */
export function nullable(rule: Rule): Rule {
  return (value) => (value === null ? null : rule(value) && `${rule(value)} or null`);
}

/** inRange's strictness at each end (`above`: excluding the minimum, `below`: excluding the maximum) and whether only integers pass. */
export interface RangeOptions {
  /** Exclude the lower bound itself. */
  above?: boolean;
  /** Exclude the upper bound itself. */
  below?: boolean;
  integer?: boolean;
}

/**
 * A finite number in [min, max] (ends excluded with `above` / `below`), an integer if asked.
 * Infinite values and NaN are refused: no option of the library means anything infinite.
 */
export function inRange(min: number, max: number, options: RangeOptions = {}): Rule {
  const kind = options.integer ? 'an integer' : 'a finite number';
  const low = min === Number.NEGATIVE_INFINITY ? '' : `${options.above ? '>' : '>='} ${min}`;
  const high = max === Number.POSITIVE_INFINITY ? '' : `${options.below ? '<' : '<='} ${max}`;
  const bounds =
    low && high
      ? ` in ${options.above ? '(' : '['}${min}, ${max}${options.below ? ')' : ']'}`
      : low || high
        ? ` ${low || high}`
        : '';
  const expected = `${kind}${bounds}`;
  return (value) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return expected;
    if (options.integer && !Number.isSafeInteger(value)) return expected;
    if (options.above ? value <= min : value < min) return expected;
    if (options.below ? value >= max : value > max) return expected;
    return null;
  };
}

/** Any finite number. */
export const finite: Rule = inRange(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
/** A finite number >= 0. */
export const nonNegative: Rule = inRange(0, Number.POSITIVE_INFINITY);
/** A finite number > 0. */
export const positive: Rule = inRange(0, Number.POSITIVE_INFINITY, { above: true });
/** A probability: a number in [0, 1]. */
export const probability: Rule = inRange(0, 1);
/** An integer >= 0. */
export const count: Rule = inRange(0, Number.POSITIVE_INFINITY, { integer: true });
/** An integer >= 1. */
export const positiveInteger: Rule = inRange(1, Number.POSITIVE_INFINITY, { integer: true });

/** Accepts true or false. */
export const boolean: Rule = (value) => (typeof value === 'boolean' ? null : 'true or false');
/** Accepts a string. */
export const string: Rule = (value) => (typeof value === 'string' ? null : 'a string');
/** Accepts a function. */
export const func: Rule = (value) => (typeof value === 'function' ? null : 'a function');

/** One of the listed values. */
export function oneOf(...values: readonly unknown[]): Rule {
  const expected = `one of ${values.map(describeValue).join(', ')}`;
  return (value) => (values.includes(value) ? null : expected);
}

/** Either rule. */
export function either(first: Rule, second: Rule): Rule {
  return (value) => {
    const a = first(value);
    if (a === null) return null;
    const b = second(value);
    return b === null ? null : `${a} or ${b}`;
  };
}

/** An array of exactly `length` values, each accepted by `rule`. */
export function tuple(length: number, rule: Rule): Rule {
  return (value) => {
    // Every rule refuses NaN, so this is its description of what it expects.
    const inner = rule(Number.NaN) ?? 'a value';
    const expected = `an array of ${length} values, each ${inner}`;
    if (!Array.isArray(value) || value.length !== length) return expected;
    return value.every((v) => rule(v) === null) ? null : expected;
  };
}

/** A number accepted by `rule`, or an [h, w] pair of them (sizes of 2-D windows). */
export function pairOf(rule: Rule): Rule {
  return either(rule, tuple(2, rule));
}

/** An instance of the class. */
export function instanceOf(Class: abstract new (...args: never[]) => unknown, name = Class.name): Rule {
  return (value) => (value instanceof Class ? null : `a ${name}`);
}
