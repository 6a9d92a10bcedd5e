import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cat,
  fold,
  Generator,
  gather,
  indexSelect,
  maximum,
  minimum,
  randint,
  stack,
  type Tensor,
  tensor,
  unfold,
  where,
} from '../src/index.js';
import { broadcastPairArb, expectGradients, shapeArb, tensorArb } from '../src/testing/index.js';

/**
 * Every primitive's vector-Jacobian product is checked against central finite differences in
 * float64 (gradcheck), on random shapes that include broadcasting, size-1 and empty dims.
 * fast-check prints the seed and the shrunk counterexample when a property fails.
 */
const runs = { numRuns: 25 };

describe('unary primitives match finite differences', () => {
  const table: [string, (x: Tensor) => Tensor, { min?: number; max?: number; awayFromZero?: number }][] = [
    ['neg', (x) => x.neg(), {}],
    ['exp', (x) => x.exp(), {}],
    ['log', (x) => x.log(), { min: 0.1, max: 5 }],
    ['log1p', (x) => x.log1p(), { min: -0.9, max: 5 }],
    ['sqrt', (x) => x.sqrt(), { min: 0.1, max: 5 }],
    ['abs', (x) => x.abs(), { awayFromZero: 1e-3 }],
    ['sign', (x) => x.sign(), { awayFromZero: 1e-3 }],
    ['sin', (x) => x.sin(), {}],
    ['cos', (x) => x.cos(), {}],
    ['tanh', (x) => x.tanh(), {}],
    ['sigmoid', (x) => x.sigmoid(), { min: -8, max: 8 }],
    ['relu', (x) => x.relu(), { awayFromZero: 1e-3 }],
    ['erf', (x) => x.erf(), {}],
  ];
  for (const [name, fn, domain] of table) {
    it(name, () => {
      fc.assert(
        fc.property(
          shapeArb({ allowEmpty: true }).chain((s) => tensorArb(s, domain)),
          (x) => expectGradients(fn, [x]),
        ),
        runs,
      );
    });
  }
});

describe('binary primitives match finite differences under broadcasting', () => {
  const table: [
    string,
    (a: Tensor, b: Tensor) => Tensor,
    { min?: number; max?: number; awayFromZero?: number },
    { min?: number; max?: number; awayFromZero?: number },
  ][] = [
    ['add', (a, b) => a.add(b), {}, {}],
    ['sub', (a, b) => a.sub(b), {}, {}],
    ['mul', (a, b) => a.mul(b), {}, {}],
    ['div', (a, b) => a.div(b), {}, { min: 0.5, max: 3 }],
    ['pow', (a, b) => a.pow(b), { min: 0.2, max: 3 }, { min: -2, max: 2 }],
    // Ties would sit on the kink; the values are drawn apart by construction below.
    ['maximum', (a, b) => maximum(a, b), {}, {}],
    ['minimum', (a, b) => minimum(a, b), {}, {}],
  ];
  for (const [name, fn, domainA, domainB] of table) {
    it(name, () => {
      fc.assert(
        fc.property(
          broadcastPairArb({ allowEmpty: true }).chain(([sa, sb]) =>
            fc.tuple(tensorArb(sa, domainA), tensorArb(sb, domainB)),
          ),
          ([a, b]) => {
            // maximum/minimum have a kink where a = b: put a on k + 0.25 and b on k + 0.75.
            const kinked = name === 'maximum' || name === 'minimum';
            expectGradients(fn, kinked ? [onGrid(a, 0.25), onGrid(b, 0.75)] : [a, b]);
          },
        ),
        runs,
      );
    });
  }
  it('pow with a scalar exponent and a scalar base', () => {
    fc.assert(
      fc.property(
        shapeArb().chain((s) => tensorArb(s, { min: 0.2, max: 3 })),
        (x) => {
          expectGradients((a) => a.pow(3), [x]);
          expectGradients((a) => a.pow(0.5), [x]);
        },
      ),
      runs,
    );
  });
});

describe('reductions match finite differences', () => {
  const withDims = shapeArb({ minDims: 1, allowEmpty: false }).chain((shape) =>
    fc.tuple(
      tensorArb(shape),
      fc.subarray(shape.map((_, i) => i - (shape.length > 1 && i % 2 ? shape.length : 0))),
      fc.boolean(),
    ),
  );
  it('sum over any dims, with and without keepdim (negative dims too)', () => {
    fc.assert(
      fc.property(withDims, ([x, dims, keep]) => expectGradients((a) => a.sum(dims, keep), [x])),
      runs,
    );
  });
  it('sum over empty dims', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1, allowEmpty: true }).chain((s) => tensorArb(s)),
        (x) => expectGradients((a) => a.sum(0), [x]),
      ),
      runs,
    );
  });
  it('mean, var and std', () => {
    fc.assert(
      fc.property(withDims, ([x, dims, keep]) => {
        expectGradients((a) => a.mean(dims, keep), [x]);
        const count =
          dims.length === 0 ? x.size : dims.reduce((n, d) => n * x.shape[d < 0 ? d + x.ndim : d], 1);
        if (count > 1) {
          expectGradients((a) => a.var(dims, keep), [x]);
          // std = sqrt(var) has an infinite slope where the variance is 0.
          if ((x.var(dims, keep).min().item() as number) > 1e-3)
            expectGradients((a) => a.std(dims, keep), [x]);
        }
      }),
      runs,
    );
  });
  it('max and min without ties', () => {
    // Distinct values: a shuffled arange scaled, so no two elements are within finite-difference reach.
    const distinct = shapeArb({ minDims: 1 }).chain((shape) => {
      const size = shape.reduce((p, d) => p * d, 1);
      return fc
        .tuple(
          fc.shuffledSubarray([...Array(size).keys()], { minLength: size, maxLength: size }),
          fc.nat(shape.length - 1),
          fc.boolean(),
        )
        .map(
          ([perm, dim, keep]) =>
            [
              tensor(
                Float64Array.from(perm, (v) => v * 0.1 - 1),
                { shape },
              ),
              dim,
              keep,
            ] as const,
        );
    });
    fc.assert(
      fc.property(distinct, ([x, dim, keep]) => {
        expectGradients((a) => a.max(dim, keep).values, [x]);
        expectGradients((a) => a.min(dim, keep).values, [x]);
        expectGradients((a) => a.amax(dim, keep), [x]);
        expectGradients((a) => a.amin(dim, keep), [x]);
        expectGradients((a) => a.max(), [x]);
      }),
      runs,
    );
  });
  it('max with ties shares the gradient evenly (torch.amax)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 4 }), (ties, others) => {
        const values = [...Array(ties).fill(2), ...Array.from({ length: others }, (_, i) => i * 0.1)];
        const x = tensor(values, { requiresGrad: true, dtype: 'float64' });
        x.max().backward();
        const grad = x.grad!.toArray() as number[];
        grad.forEach((g, i) => {
          const expected = i < ties ? 1 / ties : 0;
          if (Math.abs(g - expected) > 1e-12) throw new Error(`element ${i}: ${g} != ${expected}`);
        });
      }),
      runs,
    );
  });
  it('logsumexp, softmax and logSoftmax', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1 }).chain((s) => fc.tuple(tensorArb(s), fc.nat(s.length - 1))),
        ([x, dim]) => {
          expectGradients((a) => a.logsumexp(dim), [x]);
          expectGradients((a) => a.softmax(dim), [x]);
          expectGradients((a) => a.logSoftmax(-1 - dim + x.ndim - x.ndim), [x]);
        },
      ),
      runs,
    );
  });
});

describe('movement primitives match finite differences', () => {
  it('reshape, permute, transpose, flatten, squeeze, unsqueeze', () => {
    fc.assert(
      fc.property(
        shapeArb({ minDims: 1, allowEmpty: true }).chain((shape) =>
          fc.tuple(
            tensorArb(shape),
            fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
          ),
        ),
        ([x, perm]) => {
          expectGradients((a) => a.permute(perm).mul(a.permute(perm)), [x]);
          expectGradients((a) => a.reshape([-1]).mul(2), [x]);
          expectGradients((a) => a.transpose(0, -1).flatten().unsqueeze(0).squeeze(), [x]);
        },
      ),
      runs,
    );
  });
  it('expand (broadcast) sums gradients back', () => {
    fc.assert(
      fc.property(
        broadcastPairArb().chain(([sa, sb]) => {
          const target = sa.length >= sb.length ? sa : sb;
          const small = target === sa ? sb : sa;
          return fc.tuple(
            tensorArb(small),
            fc.constant(target.map((d, i) => Math.max(d, small[i - target.length + small.length] ?? 1))),
          );
        }),
        ([x, target]) => expectGradients((a) => a.expand(target).mul(a.expand(target)), [x]),
      ),
      runs,
    );
  });
  it('narrow and cat (adjoint pair), stack', () => {
    const arb = shapeArb({ minDims: 1 }).chain((shape) =>
      fc
        .nat(shape.length - 1)
        .chain((dim) =>
          fc.tuple(
            tensorArb(shape),
            tensorArb(shape.map((d, i) => (i === dim ? d + 1 : d))),
            fc.constant(dim),
            fc.nat(shape[dim]),
          ),
        ),
    );
    fc.assert(
      fc.property(arb, ([a, b, dim, start]) => {
        expectGradients((x) => x.narrow(dim, start, a.shape[dim] - start).mul(3), [a]);
        expectGradients((x, y) => cat([x, y, x], dim).pow(2), [a, b]);
        expectGradients((x, y) => stack([x, x.mul(y.narrow(dim, 0, a.shape[dim]))], -1), [a, b]);
      }),
      runs,
    );
  });
  it('cast between float64 and float32 passes the gradient through', () => {
    const x = tensor([1.5, -2.25], { dtype: 'float64', requiresGrad: true });
    x.to('float32').mul(2).sum().backward();
    expect(x.grad!.dtype).toBe('float64');
    expect(Array.from(x.grad!.data)).toEqual([2, 2]);
  });
});

describe('matmul, where and indexing match finite differences', () => {
  it('matmul with 1-D operands and broadcast batch dims', () => {
    const dims = fc.integer({ min: 1, max: 4 });
    const arb = fc
      .tuple(
        dims,
        dims,
        dims,
        fc.constantFrom('2d', '1d-left', '1d-right', 'dot', 'batched'),
        broadcastPairArb({ maxDims: 2, maxSize: 3 }),
      )
      .chain(([m, k, n, kind, [ba, bb]]) => {
        const shapes: Record<string, [number[], number[]]> = {
          '2d': [
            [m, k],
            [k, n],
          ],
          '1d-left': [[k], [k, n]],
          '1d-right': [[m, k], [k]],
          dot: [[k], [k]],
          batched: [
            [...ba, m, k],
            [...bb, k, n],
          ],
        };
        const [sa, sb] = shapes[kind];
        return fc.tuple(tensorArb(sa), tensorArb(sb));
      });
    fc.assert(
      fc.property(arb, ([a, b]) => expectGradients((x, y) => x.matmul(y), [a, b])),
      runs,
    );
  });
  it('matmul with an empty inner dimension gives zeros', () => {
    expectGradients(
      (x, y) => x.matmul(y),
      [tensor(new Float64Array(0), { shape: [2, 0] }), tensor(new Float64Array(0), { shape: [0, 3] })],
    );
  });
  it('where routes each gradient to the chosen branch', () => {
    fc.assert(
      fc.property(
        broadcastPairArb().chain(([sa, sb]) => fc.tuple(tensorArb(sa), tensorArb(sb))),
        ([a, b]) => expectGradients((x, y) => where(x.gt(0), x.mul(y), y.sub(x)), [onGrid(a, 0.5), b]),
      ),
      runs,
    );
  });
  it('gather and indexSelect (and their adjoints scatterAdd and indexAdd)', () => {
    const arb = shapeArb({ minDims: 1, maxDims: 3 }).chain((shape) =>
      fc.tuple(tensorArb(shape), fc.nat(shape.length - 1), fc.integer({ min: 0, max: 5 }), fc.nat(1000)),
    );
    fc.assert(
      fc.property(arb, ([x, dim, count, seed]) => {
        const indexShape = x.shape.map((d, i) => (i === dim ? count : d));
        const index = randint(0, x.shape[dim], indexShape, { generator: generatorFrom(seed) });
        expectGradients((a) => gather(a, dim, index).pow(2), [x]);
        const picks = randint(0, x.shape[dim], [count], { generator: generatorFrom(seed + 1) });
        expectGradients((a) => indexSelect(a, dim, picks).pow(2), [x]);
      }),
      runs,
    );
  });
});

describe('composite activations match finite differences', () => {
  const table: [string, (x: Tensor) => Tensor][] = [
    ['relu', (x) => x.relu()],
    ['leakyRelu', (x) => x.leakyRelu(0.1)],
    ['gelu', (x) => x.gelu()],
    ['silu', (x) => x.silu()],
    ['softplus', (x) => x.softplus()],
    ['clamp', (x) => x.clamp(-0.5, 1)],
  ];
  for (const [name, fn] of table) {
    it(name, () => {
      fc.assert(
        fc.property(
          shapeArb().chain((s) => tensorArb(s, { awayFromZero: 1e-3 })),
          (x) => {
            // clamp's kinks at -0.5 and 1: move values off them.
            const safe =
              name === 'clamp'
                ? x
                    .add(x.sub(1).abs().lt(1e-3).to('float64').mul(0.01))
                    .add(x.add(0.5).abs().lt(1e-3).to('float64').mul(0.01))
                : x;
            expectGradients(fn, [safe]);
          },
        ),
        runs,
      );
    });
  }
});

/** Moves every value to floor(v) + offset, so values from two grids never tie and never hit 0. */
function onGrid(t: Tensor, offset: number): Tensor {
  return tensor(
    Float64Array.from(t.data, (v) => Math.floor(v) + offset),
    { shape: t.shape },
  );
}

function generatorFrom(seed: number): Generator {
  return new Generator(seed);
}

describe('window primitives match finite differences', () => {
  it('unfold and fold (adjoint pair) over random windows', () => {
    const arb = fc
      .tuple(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 3, max: 6 }),
        fc.integer({ min: 3, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 2 }),
      )
      .filter(([, , h, w, kh, kw, , p, d]) => h + 2 * p >= d * (kh - 1) + 1 && w + 2 * p >= d * (kw - 1) + 1)
      .chain(([n, c, h, w, kh, kw, s, p, d]) =>
        fc.tuple(
          tensorArb([n, c, h, w]),
          fc.constant({
            kernel: [kh, kw] as [number, number],
            stride: [s, s] as [number, number],
            padding: [p, p] as [number, number],
            dilation: [d, d] as [number, number],
          }),
        ),
      );
    fc.assert(
      fc.property(arb, ([x, window]) => {
        expectGradients((a) => unfold(a, window).pow(2), [x]);
        const cols = unfold(x, window);
        expectGradients((c) => fold(c, x.shape, window).pow(2), [cols]);
      }),
      runs,
    );
  });
});
