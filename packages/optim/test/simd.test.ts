import { fromTypedArray, storagesIn, type Tensor } from '@agrad/autograd';
import { cpuBackend, referenceBackend, simdLoops, type TypedArrayStorage, useSimdLoops } from '@agrad/tensor';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adamw,
  adan,
  addDecayedWeights,
  agr,
  chain,
  type GradientTransformation,
  Optimizer,
  reference,
  regularize,
  scaleByAdam,
  scaleByLearningRate,
} from '../src/index.js';

/**
 * The WebAssembly SIMD loops (@agrad/tensor's src/wasm/loops.ts) run float32 arrays of 256 elements and more.
 * Adam's, the weight decay's, the learning rate's and the parameter update's compute in float32
 * op for op as the composed rules do, so they must equal those rules run on the reference backend
 * (the oracle: plain loops, one element at a time) bit for bit. AGR's must equal its JavaScript
 * loop bit for bit. Lengths are random, so every tail length (n mod 4, 8 and 16) comes up, and gradients
 * come as contiguous arrays and as transposed views.
 */

const bits = (t: Tensor) => Array.from(new Uint32Array(new Float32Array(t.data).buffer));

/** float32 values of random magnitudes (1e-6 to 1e3), signs and zeros, from fast-check. */
const entries = (n: number) =>
  fc.array(
    fc.oneof(
      fc.constant(0),
      fc.float({ min: Math.fround(-1e3), max: Math.fround(1e3), noNaN: true, noDefaultInfinity: true }),
      fc.float({ min: Math.fround(-1e-6), max: Math.fround(1e-6), noNaN: true }),
    ),
    { minLength: n, maxLength: n },
  );

/** A [rows, cols] float32 tensor on `backend`, optionally as the transpose of a [cols, rows] one. */
function matrix(values: number[], rows: number, cols: number, transposed: boolean, backend = cpuBackend) {
  if (!transposed) return fromTypedArray(Float32Array.from(values), [rows, cols], backend);
  return fromTypedArray(Float32Array.from(values), [cols, rows], backend).t();
}

const onBackend = (t: Tensor, backend = referenceBackend) =>
  fromTypedArray(Float32Array.from(t.data), t.shape, backend);

afterEach(() => void useSimdLoops(true));

/** AdamW (lr 1e-2, weight decay 0.01) as it runs, and the same chain composed, for `slow`'s parameters. */
function adamwPair(fast: Record<string, Tensor>, slow: Record<string, Tensor>): [Optimizer, Optimizer] {
  const composed = chain(
    reference.scaleByAdam(),
    reference.addDecayedWeights(0.01),
    reference.scaleByLearningRate(1e-2),
  );
  return [new Optimizer(fast, adamw({ lr: 1e-2, weightDecay: 0.01 })), new Optimizer(slow, composed)];
}

describe('WebAssembly SIMD optimizer loops', () => {
  it('are available in this engine, so the tests below run them', () => {
    expect(simdLoops()).not.toBeNull();
    expect(simdLoops()?.suits(256)).toBe(true);
    expect(simdLoops()?.suits(255)).toBe(false);
  });

  const shapes = fc.record({
    rows: fc.integer({ min: 16, max: 40 }),
    cols: fc.integer({ min: 16, max: 70 }),
    transposed: fc.boolean(),
    steps: fc.integer({ min: 1, max: 3 }),
  });

  const blocks: Record<string, [GradientTransformation, GradientTransformation]> = {
    scaleByAdam: [
      scaleByAdam({ betas: [0.8, 0.95], eps: 1e-6 }),
      reference.scaleByAdam({ betas: [0.8, 0.95], eps: 1e-6 }),
    ],
    addDecayedWeights: [addDecayedWeights(0.1), reference.addDecayedWeights(0.1)],
    scaleByLearningRate: [scaleByLearningRate(3e-3), reference.scaleByLearningRate(3e-3)],
  };

  for (const [name, [fused, composed]] of Object.entries(blocks)) {
    it(`${name} equals its composed rule on the reference backend bit for bit`, () => {
      fc.assert(
        fc.property(
          shapes.chain((s) =>
            fc.tuple(
              fc.constant(s),
              entries(s.rows * s.cols),
              fc.array(entries(s.rows * s.cols), { minLength: 3, maxLength: 3 }),
            ),
          ),
          ([{ rows, cols, transposed, steps }, p, grads]) => {
            const param = { w: matrix(p, rows, cols, false) };
            const paramRef = { w: onBackend(param.w) };
            let [sa, sb] = [fused.init(param), composed.init(paramRef)];
            for (let step = 0; step < steps; step++) {
              const g = matrix(grads[step], rows, cols, transposed);
              const ra = fused.update({ w: g }, sa, param);
              const rb = composed.update({ w: onBackend(g.contiguous()) }, sb, paramRef);
              expect(ra.updates.w.array.backend).toBe(cpuBackend);
              expect(rb.updates.w.array.backend).toBe(referenceBackend);
              expect(bits(ra.updates.w)).toEqual(bits(rb.updates.w));
              [sa, sb] = [ra.state, rb.state];
            }
          },
        ),
        { numRuns: 25 },
      );
    });
  }

  it('an AdamW step (with donated buffers, updated in place) equals the composed one bit for bit', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 256, max: 3000 })
          .chain((n) => fc.tuple(entries(n), fc.array(entries(n), { minLength: 3, maxLength: 3 }))),
        ([p, grads]) => {
          const fast = { w: fromTypedArray(Float32Array.from(p), [p.length]) };
          const slow = { w: fromTypedArray(Float32Array.from(p), [p.length], referenceBackend) };
          const [a, b] = adamwPair(fast, slow);
          for (const g of grads) {
            fast.w.grad = fromTypedArray(Float32Array.from(g), [g.length]);
            slow.w.grad = fromTypedArray(Float32Array.from(g), [g.length], referenceBackend);
            a.step();
            b.step();
            expect(bits(fast.w)).toEqual(bits(slow.w));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('AGR on float32 gradients, contiguous or transposed, equals regularize on the reference backend to float32 rounding, inside and outside an Optimizer step', () => {
    fc.assert(
      fc.property(
        shapes.chain((s) => fc.tuple(fc.constant(s), entries(s.rows * s.cols))),
        ([{ rows, cols, transposed }, values]) => {
          const g = matrix(values, rows, cols, transposed);
          const expected = regularize(onBackend(g.contiguous())).data;
          const close = (actual: ArrayLike<number>, sign: number) =>
            g
              .contiguous()
              .data.forEach((gi, i) =>
                expect(Math.abs(sign * actual[i] - expected[i])).toBeLessThanOrEqual(1e-6 * Math.abs(gi)),
              );
          // A plain update (the SIMD loops read the gradient where it is) ...
          const t = agr();
          const params = {
            w: matrix(
              values.map(() => 0),
              rows,
              cols,
              false,
            ),
          };
          close(t.update({ w: g }, t.init(params), params).updates.w.contiguous().data, 1);
          // ... and an Optimizer step, where the gradient is staged into the loops' memory:
          // from zeros, p - 1 * AGR(g) is exactly -AGR(g).
          params.w.grad = g;
          new Optimizer(params, chain(agr(), scaleByLearningRate(1))).step();
          close(params.w.data, -1);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("AGR's SIMD loops equal its JavaScript loop bit for bit, zeros, NaN and infinities included", () => {
    const special = fc.constantFrom(0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e38);
    fc.assert(
      fc.property(
        fc
          .integer({ min: 256, max: 2000 })
          .chain((n) =>
            fc.tuple(entries(n), fc.array(fc.tuple(fc.nat(n - 1), special), { maxLength: 2 }), fc.boolean()),
          ),
        ([values, specials, allZero]) => {
          const g = Float32Array.from(values, (v) => (allZero ? 0 : v));
          for (const [at, v] of specials) g[at] = v;
          const run = (simd: boolean) => {
            useSimdLoops(simd);
            const [t, params] = [agr(), { w: fromTypedArray(new Float32Array(g.length), [g.length]) }];
            return t.update({ w: fromTypedArray(g.slice(), [g.length]) }, t.init(params), params).updates.w;
          };
          expect(bits(run(true))).toEqual(bits(run(false)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('AGR on float32 keeps every sign and shrinks every entry, also where 1/sum|g| is not a normal float32', () => {
    // Gradients led by one entry near the float32 maximum: there 1/sum|g| rounds to a subnormal
    // float32, and |g| * that can round above 1 (for 3.4028228e38, to 1 + 2^-23), which would
    // flip the entry's sign; such sums take the float64 loop. And a gradient with a normal
    // reciprocal, on the float32 loops (SIMD for 300 elements, JavaScript for 20).
    for (const lead of [3.4028228579130005e38, 1.701410009187828e38, 12.5]) {
      for (const n of [300, 20]) {
        for (const simd of [true, false]) {
          useSimdLoops(simd);
          const g = Float32Array.from({ length: n }, (_, i) => (i === 0 ? lead : (-1) ** i * 1e-3 * (i % 7)));
          const [t, params] = [agr(), { w: fromTypedArray(new Float32Array(n), [n]) }];
          const out = t.update({ w: fromTypedArray(g.slice(), [n]) }, t.init(params), params).updates.w.data;
          out.forEach((v, i) => {
            expect(v * g[i] >= 0 && Math.abs(v) <= Math.abs(g[i])).toBe(true);
            // The value too: g (1 - |g| / sum|g|) to float32 precision (the sum over the rest is tiny).
            const sum = g.reduce((a, x) => a + Math.abs(x), 0);
            expect(Math.abs(v - g[i] * (1 - Math.abs(g[i]) / sum))).toBeLessThanOrEqual(
              2 ** -22 * Math.abs(g[i]),
            );
          });
        }
      }
    }
  });

  it('arrays longer than one piece (8192 elements) give the same results piece by piece', () => {
    for (const n of [8192, 16387, 20001]) {
      const values = (seed: number) =>
        Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 10 ** ((i % 7) - 3));
      // AdamW with its parameter update, against the composed rules on the reference backend.
      const fast = { w: fromTypedArray(values(0), [n]) };
      const slow = { w: fromTypedArray(values(0), [n], referenceBackend) };
      const [a, b] = adamwPair(fast, slow);
      for (let step = 1; step <= 3; step++) {
        fast.w.grad = fromTypedArray(values(step), [n]);
        slow.w.grad = fromTypedArray(values(step), [n], referenceBackend);
        a.step();
        b.step();
      }
      expect(bits(fast.w)).toEqual(bits(slow.w));
      // AGR (its sum runs over the pieces with four running sums), against its JavaScript loop.
      const agrOf = (simd: boolean) => {
        const previous = useSimdLoops(simd);
        const [t, params] = [agr(), { w: fromTypedArray(new Float32Array(n), [n]) }];
        const out = t.update({ w: fromTypedArray(values(9), [n]) }, t.init(params), params).updates.w;
        useSimdLoops(previous);
        return out;
      };
      expect(bits(agrOf(true))).toEqual(bits(agrOf(false)));
    }
  });

  it('AGR in front of AdamW trains the same with the SIMD loops on and off, to float32 rounding', () => {
    const n = 1000;
    const run = (simd: boolean) => {
      useSimdLoops(simd);
      const params = {
        w: fromTypedArray(
          Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
          [n],
        ),
      };
      const optimizer = new Optimizer(params, chain(agr(), adamw({ lr: 1e-2 })));
      for (let step = 0; step < 5; step++) {
        params.w.grad = fromTypedArray(
          Float32Array.from({ length: n }, (_, i) => Math.cos(i * step)),
          [n],
        );
        optimizer.step();
      }
      return Array.from(params.w.data);
    };
    const [on, off] = [run(true), run(false)];
    // The JavaScript Adam loop keeps intermediates in double: last-bit differences only.
    on.forEach((v, i) => expect(Math.abs(v - off[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(off[i]))));
    expect(on).not.toEqual(Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i))));
  });
});

describe('the scratch memory of an Optimizer step', () => {
  const run = (simd: boolean, transform: () => GradientTransformation, steps = 4) => {
    useSimdLoops(simd);
    const n = 777;
    const params = {
      w: fromTypedArray(
        Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
        [n],
      ),
    };
    const optimizer = new Optimizer(params, transform());
    for (let step = 1; step <= steps; step++) {
      params.w.grad = fromTypedArray(
        Float32Array.from({ length: n }, (_, i) => Math.cos(i * step)),
        [n],
      );
      optimizer.step();
    }
    return { params, optimizer };
  };

  it('is never left in the state: Adan keeps the update AGR made, moved to the heap', () => {
    const { params, optimizer } = run(true, () => chain(agr(), adan({ lr: 1e-2 })));
    const state = optimizer.stateDict();
    const kept = Object.keys(state).filter((key) => key.endsWith('previousGrad'));
    expect(kept).toHaveLength(1);
    const live = (optimizer as unknown as { state: unknown }).state;
    for (const storage of storagesIn(live))
      expect(simdLoops()?.isScratch((storage as TypedArrayStorage).data)).toBe(false);
    // Reused scratch memory would have overwritten the kept gradient: the trajectory would part.
    const off = run(false, () => chain(agr(), adan({ lr: 1e-2 }))).params.w.data;
    params.w.data.forEach((v, i) =>
      expect(Math.abs(v - off[i])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(off[i]))),
    );
  });

  it('is closed after a step that throws, and the optimizer refuses to go on', () => {
    const failing = () => adamw({ lr: (step: number) => (step < 2 ? 1e-3 : Number.NaN) });
    expect(() => run(true, failing)).toThrow(/learning rate/);
    expect(simdLoops()?.scratch(16)).toBeNull();
  });
});
