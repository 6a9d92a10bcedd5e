import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkOptions, checkValue, describeValue, rules } from '../src/index.js';

describe('checkOptions', () => {
  const spec = {
    lr: rules.required(rules.nonNegative),
    betas: rules.tuple(2, rules.inRange(0, 1, { below: true })),
    amsgrad: rules.boolean,
    mode: rules.oneOf('a', 'b'),
  };

  it('accepts undefined and objects whose keys and values follow the rules', () => {
    expect(() => checkOptions('op', undefined, { amsgrad: rules.boolean })).not.toThrow();
    expect(() =>
      checkOptions('op', { lr: 0.1, betas: [0.9, 0.99], amsgrad: true, mode: 'b' }, spec),
    ).not.toThrow();
    // An option given as undefined counts as not given.
    expect(() => checkOptions('op', { lr: 1, amsgrad: undefined }, spec)).not.toThrow();
  });

  it('refuses an unknown key by name, suggesting the closest accepted one and listing them all', () => {
    expect(() => checkOptions('adamw', { lr: 1, amsgard: true }, spec)).toThrow(
      "adamw: unknown option 'amsgard' (did you mean 'amsgrad'?); accepted options: lr, betas, amsgrad, mode",
    );
    expect(() => checkOptions('adamw', { lr: 1, momentum: 0.9 }, spec)).toThrow(
      "adamw: unknown option 'momentum'; accepted options: lr, betas, amsgrad, mode",
    );
  });

  it('names the option, the value and the rule', () => {
    expect(() => checkOptions('op', {}, spec)).toThrow('op: option lr is required (a finite number >= 0)');
    expect(() => checkOptions('op', { lr: '0.1' }, spec)).toThrow(
      'op: option lr must be a finite number >= 0, got "0.1"',
    );
    expect(() => checkOptions('op', { lr: Number.POSITIVE_INFINITY }, spec)).toThrow(
      'op: option lr must be a finite number >= 0, got Infinity',
    );
    expect(() => checkOptions('op', { lr: 1, betas: [0.9] }, spec)).toThrow(
      'op: option betas must be an array of 2 values, each a finite number in [0, 1), got [0.9]',
    );
    expect(() => checkOptions('op', { lr: 1, mode: 'c' }, spec)).toThrow(
      'op: option mode must be one of "a", "b", got "c"',
    );
    expect(() => checkOptions('op', 'fast', spec)).toThrow('op: options must be an object, got "fast"');
    expect(() => checkOptions('op', null, spec)).toThrow('op: options must be an object, got null');
  });

  it('never lets NaN or infinity through a number rule', () => {
    const numberRules = [
      rules.finite,
      rules.nonNegative,
      rules.positive,
      rules.probability,
      rules.count,
      rules.positiveInteger,
      rules.inRange(-1, 1),
    ];
    for (const rule of numberRules) {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1', null, true]) {
        expect(() => checkValue('op', 'x', bad, rule)).toThrow(/op: x must be/);
      }
    }
  });

  it('ranges include or exclude their ends as told, and integers are integers', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(rules.positive(x) === null).toBe(Number.isFinite(x) && x > 0);
        expect(rules.probability(x) === null).toBe(x >= 0 && x <= 1);
        expect(rules.count(x) === null).toBe(Number.isSafeInteger(x) && x >= 0);
        expect(rules.inRange(0, 1, { below: true })(x) === null).toBe(x >= 0 && x < 1);
      }),
    );
  });

  it('describes values readably', () => {
    expect(describeValue([0.9, 'a', null])).toBe('[0.9, "a", null]');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue({})).toBe('an object');
  });
});
