import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BinaryOp,
  cpuBackend,
  cpuKernels,
  type DType,
  elementwise,
  erf,
  hostOperand,
  layout,
  type NDArray,
  ops,
  simdLoops,
  typedArrayFor,
  type UnaryOp,
} from '../src/index.js';

const operand = (view: NDArray) => hostOperand(cpuBackend, view);

import { createWasmGemm, gemmKinds, getNumThreads, setNumThreads, wasmGemm } from '../src/wasm/gemm.js';

/**
 * Every fast CPU kernel is checked against its plain reference version, on random shapes with
 * odd sizes and tails, on non-contiguous views (permuted, expanded, narrowed), in float32 and
 * float64.
 */
const runs = { numRuns: 60 };
const dtypeArb = fc.constantFrom<DType>('float32', 'float64');
// Sizes up to 40 so the tiled transposed copy (rows of 16 or more) is exercised too.
const shapeArb = fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 16, max: 40 })), {
  minLength: 0,
  maxLength: 3,
});

/** A random array of `shape`, seen through a random view: permuted, or narrowed, or expanded. */
function viewArb(shape: number[], dtype: DType): fc.Arbitrary<NDArray> {
  const size = shape.reduce((p, d) => p * d, 1);
  // Enough values for every view below: at most 3x the shape with empty dims counted as 1.
  const widest = 3 * shape.reduce((p, d) => p * Math.max(d, 1), 1);
  shape.length > 0
    ? ((shape[0] + 2) * size) / Math.max(1, shape[0]) + shape.slice(1).reduce((p, d) => p * d, 2)
    : 1;
  return fc
    .tuple(
      fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: widest + 8, maxLength: widest + 8 }),
      fc.constantFrom('contiguous', 'permuted', 'narrowed', 'expanded', 'expandedLast'),
    )
    .map(([values, kind]) => {
      const data = typedArrayFor(dtype, values.length);
      data.set(values);
      if (kind === 'permuted' && shape.length > 1) {
        const reversed = [...shape].reverse();
        const base = ops.fromTypedArray(data.slice(0, size), reversed);
        return base.permute(reversed.map((_, i) => reversed.length - 1 - i));
      }
      if (kind === 'narrowed' && shape.length > 0) {
        const wider = [...shape];
        wider[0] += 2;
        const base = ops.fromTypedArray(
          data.slice(
            0,
            wider.reduce((p, d) => p * d, 1),
          ),
          wider,
        );
        return base.narrow(0, 1, shape[0]);
      }
      if (kind === 'expandedLast' && shape.length > 0) {
        // Broadcast along the innermost dim: the kernels' scalar (stride 0) row variant.
        const one = shape.map((d, i) => (i === shape.length - 1 ? 1 : d));
        const base = ops.fromTypedArray(
          data.slice(
            0,
            one.reduce((p, d) => p * d, 1),
          ),
          one,
        );
        return base.expand(shape);
      }
      if (kind === 'expanded' && shape.length > 0) {
        const one = shape.map((d, i) => (i === 0 ? 1 : d));
        const base = ops.fromTypedArray(
          data.slice(
            0,
            one.reduce((p, d) => p * d, 1),
          ),
          one,
        );
        return base.expand(shape);
      }
      return ops.fromTypedArray(data.slice(0, size), shape);
    });
}

function expectSame(fast: ArrayLike<number>, reference: ArrayLike<number>): void {
  expect(fast.length).toBe(reference.length);
  for (let i = 0; i < fast.length; i++) {
    if (!Object.is(fast[i], reference[i]) && !(Number.isNaN(fast[i]) && Number.isNaN(reference[i]))) {
      expect(fast[i], `element ${i}`).toBe(reference[i]);
    }
  }
}

describe('elementwise: fast kernels equal the reference kernels', () => {
  const unary = Object.keys(elementwise.UNARY) as UnaryOp[];
  const binary = Object.keys(elementwise.BINARY) as BinaryOp[];
  it('unary ops', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) =>
          fc.tuple(
            dtypeArb.chain((d) => viewArb(s, d)),
            fc.constantFrom(...unary),
          ),
        ),
        ([a, op]) => {
          const fast = typedArrayFor(a.dtype, a.size);
          const reference = typedArrayFor(a.dtype, a.size);
          cpuKernels.fastUnary(op, operand(a), fast);
          cpuKernels.referenceUnary(op, operand(a), reference);
          expectSame(fast, reference);
        },
      ),
      runs,
    );
  });
  it('binary ops', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) =>
          dtypeArb.chain((d) => fc.tuple(viewArb(s, d), viewArb(s, d), fc.constantFrom(...binary))),
        ),
        ([a, b, op]) => {
          const fast = typedArrayFor(a.dtype, a.size);
          const reference = typedArrayFor(a.dtype, a.size);
          cpuKernels.fastBinary(op, operand(a), operand(b), fast);
          cpuKernels.referenceBinary(op, operand(a), operand(b), reference);
          expectSame(fast, reference);
        },
      ),
      runs,
    );
  });
  it('special values (NaN, infinities, signed zeros, extremes) in short and long rows', () => {
    // Every pair of specials, in rows short enough for the 'offset' loops and long enough for the
    // 'contiguous' ones, so each CPU form (relu's, reluBackward's select) meets each value.
    const specials = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -2.5, 0.5];
    const xs = specials.flatMap((x) => specials.map(() => x));
    const ys = specials.flatMap(() => specials);
    for (const dtype of ['float32', 'float64'] as const) {
      for (const repeat of [1, 12]) {
        const [x, y] = [xs, ys].map((values) => {
          const data =
            dtype === 'float32'
              ? new Float32Array(values.length * repeat)
              : new Float64Array(values.length * repeat);
          for (let r = 0; r < repeat; r++) data.set(values, r * values.length);
          return ops.fromTypedArray(data, [data.length]);
        });
        for (const op of unary) {
          const [fast, reference] = [typedArrayFor(dtype, x.size), typedArrayFor(dtype, x.size)];
          cpuKernels.fastUnary(op, operand(x), fast);
          cpuKernels.referenceUnary(op, operand(x), reference);
          expectSame(fast, reference);
        }
        for (const op of binary) {
          const [fast, reference] = [typedArrayFor(dtype, x.size), typedArrayFor(dtype, x.size)];
          cpuKernels.fastBinary(op, operand(x), operand(y), fast);
          cpuKernels.referenceBinary(op, operand(x), operand(y), reference);
          expectSame(fast, reference);
        }
      }
    }
  });
  it('float32 add, sub, mul, div, relu and its backward in WebAssembly SIMD equal the reference, arrays and broadcast values', () => {
    expect(simdLoops()).not.toBeNull();
    const specials = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.5, -2.25];
    const value = fc.oneof(fc.constantFrom(...specials), fc.float({ noDefaultInfinity: false }));
    fc.assert(
      fc.property(
        // Lengths past one staging piece (8192) and with every tail mod 4.
        fc
          .integer({ min: 256, max: 20_000 })
          .chain((n) =>
            fc.tuple(
              fc.array(value, { minLength: n, maxLength: n }),
              fc.array(value, { minLength: n, maxLength: n }),
              fc.constantFrom<BinaryOp>('add', 'sub', 'mul', 'div', 'reluBackward'),
              fc.boolean(),
            ),
          ),
        ([xs, ys, op, broadcast]) => {
          const x = ops.fromTypedArray(Float32Array.from(xs), [xs.length]);
          const y = broadcast
            ? ops.fromTypedArray(Float32Array.of(ys[0]), [1]).expand([xs.length])
            : ops.fromTypedArray(Float32Array.from(ys), [ys.length]);
          const [fast, reference] = [new Float32Array(xs.length), new Float32Array(xs.length)];
          cpuKernels.fastBinary(op, operand(x), operand(y), fast);
          cpuKernels.referenceBinary(op, operand(x), operand(y), reference);
          expectSame(fast, reference);
          // relu too, over the whole array.
          cpuKernels.fastUnary('relu', operand(x), fast);
          cpuKernels.referenceUnary('relu', operand(x), reference);
          expectSame(fast, reference);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('the same over rows, b broadcast as one row (a bias) or one value per row', () => {
    const value = fc.oneof(fc.constantFrom(Number.NaN, Infinity, -0, 0, 1e-45, 3.4e38), fc.float());
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9000 }))
          .filter(([r, c]) => r * c >= 256 && r * c <= 60_000),
        fc.constantFrom<BinaryOp>('add', 'sub', 'mul', 'div'),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        ([rows, cols], op, perRow, seed) => {
          const xs = fc.sample(value, { numRuns: rows * cols, seed });
          const ys = fc.sample(value, { numRuns: perRow ? rows : cols, seed: seed + 1 });
          const x = ops.fromTypedArray(Float32Array.from(xs), [rows, cols]);
          const y = ops
            .fromTypedArray(Float32Array.from(ys), perRow ? [rows, 1] : [1, cols])
            .expand([rows, cols]);
          const [fast, reference] = [new Float32Array(rows * cols), new Float32Array(rows * cols)];
          cpuKernels.fastBinary(op, operand(x), operand(y), fast);
          cpuKernels.referenceBinary(op, operand(x), operand(y), reference);
          expectSame(fast, reference);
        },
      ),
      { numRuns: 40 },
    );
  });
  it('strided copy equals reading element by element', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) => dtypeArb.chain((d) => viewArb(s, d))),
        (a) => {
          const fast = typedArrayFor(a.dtype, a.size);
          cpuKernels.fastCopy(operand(a), fast);
          const { data } = operand(a);
          const reference = Array.from(
            { length: a.size },
            (_, i) => data[layout.offsetOf(i, a.shape, a.strides, a.offset)],
          );
          expectSame(fast, reference);
        },
      ),
      runs,
    );
  });
});

describe('reductions: fast kernels equal the reference kernels', () => {
  it('sum, max and min over any subset of dims', () => {
    fc.assert(
      fc.property(
        shapeArb
          .filter((s) => s.length > 0)
          .chain((s) =>
            fc.tuple(
              dtypeArb.chain((d) => viewArb(s, d)),
              fc.subarray([...s.keys()], { minLength: 1 }),
              fc.constantFrom('sum', 'max', 'min' as const),
            ),
          ),
        ([a, axes, op]) => {
          const outSize = a.shape.reduce((p, d, i) => p * (axes.includes(i) ? 1 : d), 1);
          const fast = new Float64Array(outSize);
          const reference = new Float64Array(outSize);
          cpuKernels.fastReduce(op, operand(a), axes, fast);
          cpuKernels.referenceReduce(op, operand(a), axes, reference);
          // Sums may add in another order: allow rounding.
          fast.forEach((v, i) => expect(v).toBeCloseTo(reference[i], 10));
        },
      ),
      runs,
    );
  });
  it('max propagates NaN, as PyTorch', () => {
    const a = ops.fromTypedArray(new Float64Array([1, Number.NaN, 3, 4]), [2, 2]);
    expect(Array.from(ops.reduce('max', a, [1], false).read())).toEqual([Number.NaN, 4]);
  });
});

describe('matmul: the blocked GEMM equals the triple loop', () => {
  it('on odd sizes, tails past the block sizes, and transposed operands', () => {
    const dim = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 60, max: 300 }));
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 2 }),
          dim,
          dim,
          fc.integer({ min: 0, max: 9 }),
          dtypeArb,
          fc.boolean(),
          fc.boolean(),
        ),
        ([batch, m, k, n, dtype, transposeA, transposeB]) => {
          const make = (rows: number, cols: number, transposed: boolean) => {
            const data = typedArrayFor(dtype, batch * rows * cols);
            for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 12.9898) * 2;
            return transposed
              ? ops.fromTypedArray(data, [batch, cols, rows]).permute([0, 2, 1])
              : ops.fromTypedArray(data, [batch, rows, cols]);
          };
          const a = make(m, k, transposeA);
          const b = make(k, n, transposeB);
          const fast = typedArrayFor(dtype, batch * m * n);
          const reference = typedArrayFor(dtype, batch * m * n);
          cpuKernels.blockedMatmul(operand(a), operand(b), fast);
          cpuKernels.referenceMatmul(operand(a), operand(b), reference);
          const tolerance = dtype === 'float32' ? 1e-4 : 1e-10;
          fast.forEach((v, i) =>
            expect(Math.abs(v - reference[i])).toBeLessThanOrEqual(tolerance * (1 + Math.abs(reference[i]))),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('indexing kernels', () => {
  it('gather and indexSelect refuse out-of-range indices instead of reading garbage', () => {
    const a = ops.fromTypedArray(new Float32Array(6), [2, 3]);
    expect(() => ops.gather(a, 1, ops.fromTypedArray(new Int32Array([0, 3]), [1, 2]))).toThrow(
      /gather: index 3 is out of bounds for dim 1 with size 3/,
    );
    expect(() => ops.indexSelect(a, 0, ops.fromTypedArray(new Int32Array([-1]), [1]))).toThrow(
      /indexSelect: index -1 is out of bounds for dim 0 with size 2/,
    );
  });
});

describe('erf', () => {
  it('matches reference values to double precision', () => {
    // Values from the closed-form series evaluated in high precision (Abramowitz & Stegun table 7.1).
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-1.5, -0.9661051464753108],
    ];
    for (const [x, expected] of table) expect(Math.abs(erf(x) - expected)).toBeLessThan(2e-16 * 4);
  });
  it('is odd and monotone', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -7, max: 7, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (x, dx) => {
          expect(erf(-x) + erf(x)).toBe(0);
          expect(erf(x + dx)).toBeGreaterThanOrEqual(erf(x));
        },
      ),
      runs,
    );
  });
});

describe('matmul: the WebAssembly SIMD GEMM equals the triple loop (float32)', () => {
  it('is available here, both builds (this project runs Node with --experimental-wasm-relaxed-simd)', () => {
    expect(wasmGemm).not.toBeNull();
    expect(gemmKinds()).toEqual(['relaxed-simd', 'simd128']);
    expect(wasmGemm!.kind).toBe('relaxed-simd');
  });
  for (const kind of ['relaxed-simd', 'simd128'] as const)
    it(`${kind}: on odd sizes, tails past the block sizes, transposed and batch-broadcast operands`, () => {
      const gemm = createWasmGemm(kind)!;
      const dim = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 300 }));
      fc.assert(
        fc.property(
          fc.tuple(
            fc.integer({ min: 1, max: 3 }),
            dim,
            dim,
            // Past two column blocks (NC = 256) is enough for the tails; wider only slows the
            // triple-loop oracle (1100-wide cases made this test overrun a minute on a busy machine).
            fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 250, max: 600 })),
            fc.boolean(),
            fc.boolean(),
            fc.boolean(),
          ),
          ([batch, m, k, n, transposeA, transposeB, broadcastA]) => {
            const make = (b: number, rows: number, cols: number, transposed: boolean, magnitude = false) => {
              const data = new Float32Array(b * rows * cols);
              for (let i = 0; i < data.length; i++) {
                const v = Math.sin(i * 12.9898) * 2;
                data[i] = magnitude ? Math.abs(v) : v;
              }
              return transposed
                ? ops.fromTypedArray(data, [b, cols, rows]).permute([0, 2, 1])
                : ops.fromTypedArray(data, [b, rows, cols]);
            };
            const operands = (magnitude: boolean) => [
              broadcastA
                ? make(1, m, k, transposeA, magnitude).expand([batch, m, k])
                : make(batch, m, k, transposeA, magnitude),
              make(batch, k, n, transposeB, magnitude),
            ];
            const [a, b] = operands(false);
            const fast = new Float32Array(batch * m * n);
            const reference = new Float32Array(batch * m * n);
            gemm.matmul(operand(a), operand(b), fast);
            cpuKernels.referenceMatmul(operand(a), operand(b), reference);
            // Two float32 summation orders differ by at most 2 k u (|A| |B|)_ij (u = 2^-24), the
            // standard bound; a wrong index or a dropped term is off by O(|A| |B|) and still fails.
            const [absA, absB] = operands(true);
            const scale = new Float32Array(batch * m * n);
            cpuKernels.referenceMatmul(operand(absA), operand(absB), scale);
            fast.forEach((v, i) =>
              expect(Math.abs(v - reference[i])).toBeLessThanOrEqual(2 * k * 2 ** -24 * scale[i] + 1e-6),
            );
          },
        ),
        { numRuns: 30 },
      );
      // The oracle is a plain triple loop over up to 3 x 300 x 300 x 600 products, run twice.
    }, 180_000);
});

describe('the committed WebAssembly modules', () => {
  it("are what the package's build:wasm script makes from wasm/gemm.ts and wasm/loops.ts", () => {
    const root = join(import.meta.dirname, '..');
    const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['build:wasm'];
    const commands = script.split(' && ');
    expect(commands).toHaveLength(3);
    for (const command of commands) {
      const [, ...args] = command.split(' ');
      const output = execFileSync(process.execPath, [...args, '--check'], { cwd: root, encoding: 'utf8' });
      expect(output).toContain('up to date');
    }
  });
});

/** Random windows over small images (filtered so that at least one window fits). */
const windowCaseArb = (maxPadding: (kh: number, kw: number) => number = () => 2) =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 7 }),
      w: fc.integer({ min: 1, max: 7 }),
      kh: fc.integer({ min: 1, max: 3 }),
      kw: fc.integer({ min: 1, max: 3 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.integer({ min: 1, max: 3 }),
      p: fc.integer({ min: 0, max: 2 }),
      d: fc.integer({ min: 1, max: 2 }),
      permuted: fc.boolean(),
      dtype: dtypeArb,
    })
    .map((r) => ({ ...r, p: Math.min(r.p, maxPadding(r.kh, r.kw)) }))
    .filter((r) => r.h + 2 * r.p >= r.d * (r.kh - 1) + 1 && r.w + 2 * r.p >= r.d * (r.kw - 1) + 1);
type WindowCase = ReturnType<typeof windowCaseArb> extends fc.Arbitrary<infer R> ? R : never;

/** The case's [n, c, h, w] image, element i = fill(i), as a permuted (strided) view if asked. */
function imageOf(r: WindowCase, fill: (i: number) => number): NDArray {
  const data = typedArrayFor(r.dtype, r.n * r.c * r.h * r.w);
  for (let i = 0; i < data.length; i++) data[i] = fill(i);
  return r.permuted
    ? ops.fromTypedArray(data, [r.n, r.h, r.w, r.c]).permute([0, 3, 1, 2])
    : ops.fromTypedArray(data, [r.n, r.c, r.h, r.w]);
}

const windowOf = (r: WindowCase) => ({
  kernel: [r.kh, r.kw] as const,
  stride: [r.sh, r.sw] as const,
  padding: [r.p, r.p] as const,
  dilation: [r.d, r.d] as const,
});

describe('unfold: the row-copy kernel equals the reference, and fold is its adjoint', () => {
  it('on random windows over strided inputs', () => {
    fc.assert(
      fc.property(windowCaseArb(), (r) => {
        const x = imageOf(r, (i) => Math.cos(i * 1.7));
        const window = windowOf(r);
        const fast = ops.unfold(x, window, -7).read();
        const reference = typedArrayFor(r.dtype, fast.length);
        cpuKernels.referenceUnfold(operand(x), window, -7, ops.unfold(x, window, -7).shape, reference);
        expectSame(fast, reference);
        // <unfold(x), y> = <x, fold(y)> for any y: fold is unfold's adjoint.
        const y = ops.fromTypedArray(
          Float64Array.from({ length: fast.length }, (_, i) => Math.sin(i)),
          [r.n, r.c * r.kh * r.kw, fast.length / (r.n * r.c * r.kh * r.kw)],
        );
        const x64 = ops.cast(x, 'float64');
        const left = ops
          .reduce('sum', ops.binary('mul', ops.unfold(x64, window, 0), y), [0, 1, 2], false)
          .read()[0];
        const right = ops
          .reduce('sum', ops.binary('mul', x64, ops.fold(y, x.shape, window)), [0, 1, 2, 3], false)
          .read()[0];
        expect(left).toBeCloseTo(right, 9);
      }),
      { numRuns: 80 },
    );
  });
});

describe('maxPoolIndices: the fast loop equals the reference, with ties and NaN', () => {
  it('on random windows over strided inputs of few distinct values', () => {
    // Padding at most half the kernel, as max pooling allows; values from a small set, so
    // windows hold ties, -inf and NaN.
    const arb = fc.tuple(
      windowCaseArb((kh, kw) => Math.floor(Math.min(kh, kw) / 2)),
      fc.array(fc.constantFrom(-1, 0, 2, Number.NEGATIVE_INFINITY, Number.NaN), {
        minLength: 1,
        maxLength: 30,
      }),
    );
    fc.assert(
      fc.property(arb, ([r, values]) => {
        const x = imageOf(r, (i) => values[(i * 7) % values.length]);
        const window = windowOf(r);
        const outSize = ops.windowOutput('test', x.shape, window);
        fc.pre(ops.emptyWindow(x.shape, window, outSize) === null);
        const fast = ops.maxPoolIndices(x, window, outSize);
        const reference = new Int32Array(fast.size);
        cpuKernels.referenceMaxPoolIndices(operand(x), window, fast.shape, reference);
        expect([...fast.read()]).toEqual([...reference]);
        // Each index names its window's maximum: NaN where the window holds one, else the largest.
        const plain = x.read();
        const [outH, outW] = outSize;
        [...fast.read()].forEach((at, o) => {
          const [plane, oh, ow] = [Math.floor(o / (outH * outW)), Math.floor(o / outW) % outH, o % outW];
          const seen: number[] = [];
          for (let ki = 0; ki < r.kh; ki++)
            for (let kj = 0; kj < r.kw; kj++) {
              const [h, w] = [oh * r.sh - r.p + ki * r.d, ow * r.sw - r.p + kj * r.d];
              if (h >= 0 && h < r.h && w >= 0 && w < r.w) seen.push(plain[plane * r.h * r.w + h * r.w + w]);
            }
          const expected = seen.some(Number.isNaN) ? Number.NaN : Math.max(...seen);
          expect(plain[plane * r.h * r.w + at]).toBe(expected);
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('gather and scatterAdd kernels', () => {
  it('equal their definitions on strided operands', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(1000),
        (rows, cols, picks, seed) => {
          const a = ops
            .fromTypedArray(
              Float64Array.from({ length: rows * cols }, (_, i) => i * 1.5),
              [cols, rows],
            )
            .permute([1, 0]);
          const idx = Int32Array.from({ length: rows * picks }, (_, i) => (i * 7 + seed) % cols);
          const index = ops.fromTypedArray(idx, [rows, picks]);
          const got = ops.gather(a, 1, index).read();
          const full = a.read();
          for (let r = 0; r < rows; r++)
            for (let k = 0; k < picks; k++)
              expect(got[r * picks + k]).toBe(full[r * cols + idx[r * picks + k]]);
          const source = ops.fromTypedArray(
            Float64Array.from({ length: rows * picks }, (_, i) => i + 1),
            [rows, picks],
          );
          const scattered = ops.scatterAdd([rows, cols], 1, index, source).read();
          const expected = new Float64Array(rows * cols);
          for (let r = 0; r < rows; r++)
            for (let k = 0; k < picks; k++) expected[r * cols + idx[r * picks + k]] += r * picks + k + 1;
          expect(Array.from(scattered)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('matmul on two threads', () => {
  it('gives bit-identical results on one and on two threads', async () => {
    const a = ops.randn([3, 200, 300]);
    const b = ops.randn([3, 300, 170]);
    setNumThreads(2);
    // The helper announces itself asynchronously; give it a moment so the split path runs.
    for (let i = 0; i < 50 && !wasmGemm!.helperReady; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(wasmGemm!.helperReady).toBe(true);
    // A batch (split by products), one product (split by rows), a weight broadcast over a batch
    // (conv's shape), and a batch past one chunk of wasm memory (64 MiB).
    const cases: [NDArray, NDArray][] = [
      [a, b],
      [ops.randn([1, 200, 300]), ops.randn([1, 300, 170])],
      [ops.randn([1, 64, 288]).expand([9, 64, 288]), ops.randn([9, 288, 121])],
      [ops.randn([90, 256, 256]), ops.randn([90, 256, 300])],
    ];
    for (const [x, y] of cases) {
      const two = ops.matmul3d(x, y).read();
      setNumThreads(1);
      expect(getNumThreads()).toBe(1);
      const one = ops.matmul3d(x, y).read();
      setNumThreads(2);
      expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      // And right: the last product against the reference loop.
      const [batch, m, n] = [x.shape[0], x.shape[1], y.shape[2]];
      const last = (t: NDArray) => t.narrow(0, batch - 1, 1);
      const expected = new Float32Array(m * n);
      cpuKernels.referenceMatmul(operand(last(x)), operand(last(y)), expected);
      const got = two.subarray((batch - 1) * m * n);
      expected.forEach((v, i) => expect(Math.abs(got[i] - v)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(v))));
    }
  });
});
