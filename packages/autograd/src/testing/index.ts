/**
 * Test helpers for code built on agrad: fast-check arbitraries for shapes and tensors, and an
 * assertion form of gradcheck. Import from '@agrad/autograd/testing'.
 */
import fc from 'fast-check';
import { tensor } from '../creation.js';
import { type GradcheckOptions, gradcheck } from '../gradcheck.js';
import type { Tensor } from '../tensor.js';

export { gradcheck };

/** The shapes shapeArb draws: how many dims, how large each, and whether size 0 may appear. */
export interface ShapeOptions {
  minDims?: number;
  maxDims?: number;
  /** Largest size of one dim (default 4). */
  maxSize?: number;
  /** Allow size-0 dims (default false). */
  allowEmpty?: boolean;
}

/** A random shape; sizes include 1 so broadcasting cases come up. */
export function shapeArb(options: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minDims = 0, maxDims = 3, maxSize = 4, allowEmpty = false } = options;
  return fc.array(fc.integer({ min: allowEmpty ? 0 : 1, max: maxSize }), {
    minLength: minDims,
    maxLength: maxDims,
  });
}

/**
 * Two shapes that broadcast together: b is a suffix of a's dims with some sizes replaced by 1
 * (and the roles of a and b are sometimes swapped).
 */
export function broadcastPairArb(options: ShapeOptions = {}): fc.Arbitrary<[number[], number[]]> {
  return shapeArb(options).chain((shape) =>
    fc
      .tuple(
        fc.integer({ min: 0, max: shape.length }),
        fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
        fc.boolean(),
      )
      .map(([drop, ones, swap]): [number[], number[]] => {
        const other = shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
        return swap ? [other, shape] : [shape, other];
      }),
  );
}

/** The values tensorArb draws: their range, and a distance from 0 to keep (away from kinks). */
export interface ValueOptions {
  min?: number;
  max?: number;
  /** Keep |x| at least this far from 0 (for kinks at 0 like abs, relu). */
  awayFromZero?: number;
}

/** Float64 values for a shape, as a tensor. */
export function tensorArb(shape: readonly number[], options: ValueOptions = {}): fc.Arbitrary<Tensor> {
  const { min = -3, max = 3, awayFromZero = 0 } = options;
  const size = shape.reduce((p, d) => p * d, 1);
  const value = fc
    .double({ min, max, noNaN: true, noDefaultInfinity: true })
    .map((v) => (Math.abs(v) < awayFromZero ? (v < 0 ? -awayFromZero : awayFromZero) + v : v));
  return fc
    .array(value, { minLength: size, maxLength: size })
    .map((values) => tensor(Float64Array.from(values), { shape }));
}

/** Throws with gradcheck's message (input and element) when gradients disagree. */
export function expectGradients(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): void {
  const report = gradcheck(fn, inputs, options);
  if (!report.ok) throw new Error(report.message);
}
