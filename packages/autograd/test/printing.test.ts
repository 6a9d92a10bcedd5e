import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatExponential, formatFixed, pythonFloat, type Tensor, tensor } from '../src/index.js';
import fixture from './fixtures/printing.json' with { type: 'json' };

/**
 * Tensors print as PyTorch prints them: scripts/golden/printing.py stores the values of each case
 * and PyTorch's repr; agrad builds the same tensor and must print the same text.
 */
interface PrintCase {
  /** Non-finite values come as 'nan', 'inf', '-inf'. */
  values: (number | string)[];
  shape: number[];
  dtype: 'float32' | 'float64' | 'int32' | 'bool';
  requires_grad: boolean;
  doubled: boolean;
  expected: string;
}

function build(c: PrintCase): Tensor {
  const numbers = c.values.map((v) =>
    v === 'nan'
      ? Number.NaN
      : v === 'inf'
        ? Number.POSITIVE_INFINITY
        : v === '-inf'
          ? Number.NEGATIVE_INFINITY
          : Number(v),
  );
  const data = c.dtype === 'bool' ? numbers.map((v) => v !== 0) : numbers;
  const leaf = tensor(data, { shape: c.shape, dtype: c.dtype, requiresGrad: c.requires_grad });
  return c.doubled ? leaf.mul(2) : leaf;
}

describe('printing (PyTorch repr)', () => {
  for (const [name, c] of Object.entries(fixture.tensors as Record<string, PrintCase>)) {
    it(name, () => {
      expect(build(c).toString()).toBe(c.expected);
    });
  }

  it('console.log and util.inspect print what toString gives', () => {
    const t = tensor([[0.12345, 2]], { requiresGrad: true });
    expect(inspect(t)).toBe('tensor([[0.1235, 2.0000]], requires_grad=True)');
    expect(`${t}`).toBe(inspect(t));
  });

  it("rounds as Python's format does: the exact binary value, halves to even", () => {
    expect(formatFixed(0.125, 2)).toBe('0.12');
    expect(formatFixed(0.375, 2)).toBe('0.38');
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(0.1, 20)).toBe('0.10000000000000000555');
    expect(formatFixed(-0, 0)).toBe('-0');
    expect(formatExponential(100005, 4)).toBe('1.0000e+05');
    expect(formatExponential(9.99995e-7, 4)).toBe('1.0000e-06'); // the double is just above the half
    expect(formatFixed(2.675, 2)).toBe('2.67'); // and this one just below
    expect(formatFixed(1.00005, 4)).toBe('1.0001');
    expect(formatExponential(99999.5, 4)).toBe('1.0000e+05');
    expect(formatExponential(0, 4)).toBe('0.0000e+00');
    expect(pythonFloat(1e-5)).toBe('1e-05');
    expect(pythonFloat(0.1)).toBe('0.1');
    expect(pythonFloat(2)).toBe('2.0');
    expect(pythonFloat(1e16)).toBe('1e+16');
    expect(pythonFloat(123456789012345.6)).toBe('123456789012345.6');
    expect(pythonFloat(-1.5e-7)).toBe('-1.5e-07');
  });
});
