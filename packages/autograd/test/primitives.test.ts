import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cat, enableGrad, gradients, type Tensor, tensor } from '../src/index.js';
import * as binary from '../src/primitives/binary.js';
import { type InputDomain, PRIMITIVES, type PrimitiveCase } from '../src/primitives/index.js';
import * as indexing from '../src/primitives/indexing.js';
import * as matmul from '../src/primitives/matmul.js';
import * as movement from '../src/primitives/movement.js';
import * as reduce from '../src/primitives/reduce.js';
import * as unary from '../src/primitives/unary.js';
import * as whereModule from '../src/primitives/where.js';
import * as windowed from '../src/primitives/window.js';
import { expectGradients, tensorArb } from '../src/testing/index.js';

/**
 * The primitive table (src/primitives/index.ts) walked in full: every primitive's first and
 * second derivatives against central finite differences in float64, on random shapes and values
 * in each input's domain. A primitive exported without an entry fails the first test.
 */
const runs = { numRuns: 6, seed: 21 };

it('the table lists every primitive the primitive modules export', () => {
  const modules = [binary, unary, reduce, indexing, matmul, movement, whereModule, windowed];
  const exported = modules.flatMap((m) => Object.keys(m)).sort();
  expect(Object.keys(PRIMITIVES).sort()).toEqual(exported);
});

/** A tensor of `shape` with values in `domain`. */
function valuesArb(shape: number[], domain: InputDomain): fc.Arbitrary<Tensor> {
  const size = shape.reduce((p, d) => p * d, 1);
  if (domain.distinct) {
    // A shuffled arange: no two values within finite-difference reach of each other.
    return fc.shuffledSubarray([...Array(size).keys()], { minLength: size, maxLength: size }).map((order) =>
      tensor(
        Float64Array.from(order, (v) => v * 0.1 - 1),
        { shape },
      ),
    );
  }
  if (domain.grid !== undefined) {
    const offset = domain.grid;
    return fc.array(fc.integer({ min: -3, max: 3 }), { minLength: size, maxLength: size }).map((ks) =>
      tensor(
        Float64Array.from(ks, (k) => k + offset),
        { shape },
      ),
    );
  }
  return tensorArb(shape, domain);
}

function inputsArb(entry: PrimitiveCase): fc.Arbitrary<Tensor[]> {
  const base = fc.array(fc.integer({ min: 2, max: 3 }), { minLength: 2, maxLength: 4 });
  return base.chain((b) => {
    const shapes = entry.shapes?.(b) ?? [b];
    return fc.tuple(...shapes.map((shape, i) => valuesArb(shape, entry.domains?.[i] ?? {})));
  });
}

/** The gradient of sum(f(x) * w) for fixed weights w, flattened: differentiating it is the second order. */
function firstDerivative(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor {
  return (...xs) =>
    // gradcheck's finite differences call this under noGrad with plain inputs: track them here.
    enableGrad(() => {
      const tracked = xs.map((x) => (x.requiresGrad ? x : x.detach().requiresGrad_()));
      const y = f(...tracked);
      const weights = Float64Array.from({ length: y.size }, (_, i) => Math.sin(i + 1));
      const grads = gradients(y.mul(tensor(weights, { shape: y.shape })).sum(), tracked, {
        createGraph: true,
        allowUnused: true,
      });
      return cat(grads.map((g) => g.reshape([-1]).to('float64')));
    });
}

describe('every primitive: first and second derivatives match finite differences', () => {
  for (const [name, entry] of Object.entries(PRIMITIVES)) {
    it(name, () => {
      fc.assert(
        fc.property(inputsArb(entry), (inputs) => {
          expectGradients(entry.call, inputs, entry.tolerance);
          expectGradients(firstDerivative(entry.call), inputs, entry.tolerance);
        }),
        runs,
      );
    });
  }
});
