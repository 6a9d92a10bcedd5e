import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArgReduceOp,
  type Backend,
  type BinaryOp,
  cpuBackend,
  type DType,
  Generator,
  NDArray,
  ops,
  type ReduceOp,
  referenceBackend,
  type UnaryOp,
  type Window,
} from '../src/index.js';

/**
 * The op-table conformance suite: every method of the Backend interface, on random shapes and
 * strided views, run on each backend under test (the fast CPU backend here, gpu.js in each mode
 * in @agrad/gpu's tests, which import this suite) and
 * compared with the single oracle: the reference backend's plain loops in float64, on the same
 * (float32-representable) inputs. The suite walks the interface: each backend's methods are
 * counted as the table runs, and a method the table never reached, or one the reference backend
 * lacks, fails.
 *
 * Tolerances are float32's: elementwise results within a few ulps (GLSL's exp, log, sin are not
 * correctly rounded), sums within the float32 summation bound, integer and bool results exact.
 */

type View = 'contiguous' | 'transposed' | 'narrowed' | 'expanded';
interface InputSpec {
  shape: number[];
  view: View;
  dtype: DType;
  seed: number;
  /** Values are drawn uniformly from [low, high] (integers for int32 and bool). */
  low: number;
  high: number;
  /** Round float values to integers (so comparisons see ties). */
  integral?: boolean;
}

/** Builds the input on `backend`; float inputs become `floatType` (float64 for the oracle). */
function materialize(spec: InputSpec, backend: Backend, floatType: DType): NDArray {
  const { shape, view } = spec;
  let base = [...shape];
  if (view === 'transposed' && shape.length >= 2) {
    base = [...shape];
    [base[base.length - 1], base[base.length - 2]] = [base[base.length - 2], base[base.length - 1]];
  } else if (view === 'narrowed' && shape.length >= 1) base[0] += 2;
  else if (view === 'expanded' && shape.length >= 1) base[0] = 1;
  const size = base.reduce((p, d) => p * d, 1);
  const g = new Generator(spec.seed);
  const float = spec.dtype === 'float32' || spec.dtype === 'float64';
  const dtype = float ? floatType : spec.dtype;
  const values = Array.from({ length: size }, () =>
    !float
      ? g.integer(spec.low, spec.high + 1)
      : spec.integral
        ? Math.round(spec.low + (spec.high - spec.low) * g.uniform())
        : Math.fround(spec.low + (spec.high - spec.low) * g.uniform()),
  );
  const data =
    dtype === 'float64'
      ? Float64Array.from(values)
      : dtype === 'float32'
        ? Float32Array.from(values)
        : dtype === 'int32'
          ? Int32Array.from(values)
          : Uint8Array.from(values);
  let a = ops.fromTypedArray(data, base, backend);
  if (view === 'transposed' && shape.length >= 2) a = a.transpose(-1, -2);
  else if (view === 'narrowed' && shape.length >= 1) a = a.narrow(0, 1, shape[0]);
  else if (view === 'expanded' && shape.length >= 1) a = a.expand(shape);
  return a;
}

interface Case {
  inputs: InputSpec[];
  /** Runs the op on arrays of one backend. */
  run: (arrays: NDArray[]) => NDArray;
  /** Absolute tolerance on top of the relative one (sums of many terms need more). */
  atol?: number;
}

interface OpEntry {
  name: string;
  cases: fc.Arbitrary<Case>;
  rtol?: number;
}

const viewArb = fc.constantFrom<View>('contiguous', 'transposed', 'narrowed', 'expanded');
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const dimArb = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 13 }));
const shapeArb = (min = 0, max = 3) => fc.array(dimArb, { minLength: min, maxLength: max });
const spec = (
  shape: fc.Arbitrary<number[]>,
  options: { dtype?: DType; low?: number; high?: number; integral?: boolean } = {},
): fc.Arbitrary<InputSpec> =>
  fc.record({
    shape,
    view: viewArb,
    dtype: fc.constant(options.dtype ?? 'float32'),
    seed: seedArb,
    low: fc.constant(options.low ?? -3),
    high: fc.constant(options.high ?? 3),
    integral: fc.constant(options.integral ?? false),
  });

const UNARY_DOMAINS: Record<UnaryOp, [number, number]> = {
  neg: [-3, 3],
  exp: [-10, 10],
  log: [0.01, 100],
  log1p: [-0.9, 10],
  sqrt: [0, 100],
  abs: [-3, 3],
  sign: [-3, 3],
  tanh: [-30, 30],
  sigmoid: [-30, 30],
  relu: [-3, 3],
  erf: [-4, 4],
  sin: [-6, 6],
  cos: [-6, 6],
  not: [-1, 1],
};

const unaryEntries: OpEntry[] = (Object.keys(UNARY_DOMAINS) as UnaryOp[]).map((op) => ({
  name: `unary ${op}`,
  cases: spec(shapeArb(), { low: UNARY_DOMAINS[op][0], high: UNARY_DOMAINS[op][1] }).map((s) => ({
    inputs: [s],
    run: ([a]) => ops.unary(op, a),
  })),
}));

/**
 * Every binary op of the elementwise table, with the ranges its operands are drawn from: a Record
 * over BinaryOp, so an op added to the table does not compile until it is listed here.
 * Comparisons and the like get integral values, so ties are likely and both outcomes are seen.
 */
const BINARY_DOMAINS: Record<BinaryOp, { a: [number, number]; b: [number, number]; integral: boolean }> = {
  add: { a: [-3, 3], b: [-3, 3], integral: false },
  sub: { a: [-3, 3], b: [-3, 3], integral: false },
  mul: { a: [-3, 3], b: [-3, 3], integral: false },
  div: { a: [-3, 3], b: [0.5, 3], integral: false },
  // A positive base: a negative one with a fractional exponent is NaN, which GLSL cannot keep.
  pow: { a: [0.5, 3], b: [-2, 2], integral: false },
  maximum: { a: [-3, 3], b: [-3, 3], integral: true },
  minimum: { a: [-3, 3], b: [-3, 3], integral: true },
  reluBackward: { a: [-3, 3], b: [-3, 3], integral: true },
  eq: { a: [-3, 3], b: [-3, 3], integral: true },
  ne: { a: [-3, 3], b: [-3, 3], integral: true },
  lt: { a: [-3, 3], b: [-3, 3], integral: true },
  le: { a: [-3, 3], b: [-3, 3], integral: true },
  gt: { a: [-3, 3], b: [-3, 3], integral: true },
  ge: { a: [-3, 3], b: [-3, 3], integral: true },
  and: { a: [-3, 3], b: [-3, 3], integral: true },
  or: { a: [-3, 3], b: [-3, 3], integral: true },
};
const BINARY = Object.keys(BINARY_DOMAINS) as BinaryOp[];

/** Two shapes that broadcast: the second drops leading dims and sets some dims to 1. */
const broadcastArb = shapeArb(1, 3).chain((shape) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: shape.length - 1 }),
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
    )
    .map(([drop, ones]) => [shape, shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d))] as const),
);

const binaryEntries: OpEntry[] = BINARY.map((op) => ({
  name: `binary ${op}`,
  cases: broadcastArb.chain(([sa, sb]) =>
    fc
      .tuple(
        spec(fc.constant(sa), {
          low: BINARY_DOMAINS[op].a[0],
          high: BINARY_DOMAINS[op].a[1],
          integral: BINARY_DOMAINS[op].integral,
        }),
        spec(fc.constant(sb), {
          low: BINARY_DOMAINS[op].b[0],
          high: BINARY_DOMAINS[op].b[1],
          integral: BINARY_DOMAINS[op].integral,
        }),
      )
      .map((inputs) => ({ inputs, run: ([x, y]) => ops.binary(op, x, y) })),
  ),
}));

const reduceEntries: OpEntry[] = (['sum', 'max', 'min'] as ReduceOp[]).map((op) => ({
  name: `reduce ${op}`,
  cases: fc
    .tuple(
      spec(shapeArb(1, 3), { low: -1, high: 1 }),
      fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
      fc.boolean(),
    )
    .map(([s, pick, keepdim]) => {
      const dims = s.shape.map((_, d) => d).filter((d) => pick[d]);
      const axes = dims.length > 0 ? dims : [0];
      return {
        inputs: [s],
        run: ([a]) => ops.reduce(op, a, axes, keepdim),
        atol: 1e-5 * s.shape.reduce((p, d) => p * d, 1),
      };
    }),
}));

const LONG: OpEntry = {
  // More than 4096 reduced elements: the two-pass path of the gpu backend.
  name: 'reduce over many elements',
  cases: fc
    .tuple(
      spec(fc.constantFrom([3, 70, 80], [5000, 2], [2, 3, 900])),
      fc.constantFrom<ReduceOp>('sum', 'max', 'min'),
    )
    .map(([s, op]) => ({
      inputs: [{ ...s, view: 'contiguous' as View }],
      run: ([a]) => ops.reduce(op, a, s.shape[0] === 5000 ? [0] : [1, 2], false),
      atol: 1e-3,
    })),
};

const argEntries: OpEntry[] = (['argmax', 'argmin'] as ArgReduceOp[]).map((op) => ({
  name: op,
  cases: fc.tuple(spec(shapeArb(1, 3)), fc.nat(), fc.boolean()).map(([s, d, keepdim]) => ({
    inputs: [s],
    run: ([a]) => ops.argReduce(op, a, d % s.shape.length, keepdim),
  })),
}));

const matmulEntry: OpEntry = {
  name: 'matmul',
  cases: fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      dimArb,
      fc.integer({ min: 1, max: 37 }),
      dimArb,
      viewArb,
      viewArb,
      seedArb,
    )
    .map(([B, M, K, N, va, vb, seed]) => ({
      inputs: [
        { shape: [B, M, K], view: va, dtype: 'float32', seed, low: -1, high: 1 },
        { shape: [B, K, N], view: vb, dtype: 'float32', seed: seed + 1, low: -1, high: 1 },
      ],
      run: ([a, b]) => ops.matmul3d(a, b),
      atol: 1e-6 * K,
    })),
};

const whereEntry: OpEntry = {
  name: 'where',
  cases: broadcastArb.chain(([sa, sb]) =>
    fc
      .tuple(
        spec(fc.constant(sb), { dtype: 'bool', low: 0, high: 1 }),
        spec(fc.constant(sa)),
        spec(fc.constant(sb)),
      )
      .map((inputs) => ({
        inputs,
        run: ([c, a, b]) => ops.where(c, a, b),
      })),
  ),
};

const CASTS: [DType, DType][] = [
  ['float32', 'int32'],
  ['float32', 'bool'],
  ['int32', 'float32'],
  ['bool', 'int32'],
  ['float32', 'float32'],
];
const copyEntry: OpEntry = {
  name: 'copy and cast',
  cases: fc.tuple(spec(shapeArb()), fc.constantFrom(...CASTS)).map(([s, [from, to]]) => ({
    inputs: [{ ...s, dtype: from, low: from === 'bool' ? 0 : -5, high: from === 'bool' ? 1 : 5 }],
    run: ([a]) => a.backend.copy(a, to === 'float32' && a.dtype === 'float64' ? 'float64' : to),
  })),
};

const uploadEntry: OpEntry = {
  // fromTypedArray adopts host arrays where it can; upload is the copying path every backend has.
  name: 'upload of host data',
  cases: spec(shapeArb()).map((s) => ({
    inputs: [s],
    run: ([a]) => {
      const values = a.read();
      const uploaded = NDArray.contiguous(a.backend.upload(values), a.shape);
      values.fill(0); // the upload is a copy: changing the host array afterwards changes nothing
      return uploaded;
    },
  })),
};

const catEntry: OpEntry = {
  name: 'cat (assign through narrowed views)',
  cases: fc
    .tuple(shapeArb(1, 3), fc.nat(), fc.integer({ min: 1, max: 4 }), seedArb)
    .chain(([shape, d, extra, seed]) => {
      const dim = d % shape.length;
      const other = [...shape];
      other[dim] = extra;
      return fc.tuple(viewArb, viewArb).map(([va, vb]) => ({
        inputs: [
          { shape, view: va, dtype: 'float32' as DType, seed, low: -3, high: 3 },
          { shape: other, view: vb, dtype: 'float32' as DType, seed: seed + 1, low: -3, high: 3 },
        ],
        run: ([a, b]) => ops.cat([a, b, a], dim),
      }));
    }),
};

const assignEntry: OpEntry = {
  // copy_ into a transposed view: the write lands in a permuted layout.
  name: 'assign into a permuted view',
  cases: fc.tuple(spec(shapeArb(2, 3)), seedArb).map(([s, seed]) => ({
    inputs: [s, { ...s, seed, view: 'contiguous' as View }],
    run: ([a, b]) => {
      const target = a.backend.copy(b, b.dtype);
      const view = target.transpose(0, target.ndim - 1);
      a.backend.assign(view, a.transpose(0, a.ndim - 1));
      return target;
    },
  })),
};

/** An indexing op on a random input, a random dim of it and a random size (index width or output size). */
function indexEntry(
  name: string,
  sizes: { min: number; max: number },
  build: (s: InputSpec, dim: number, size: number, seed: number) => Case,
): OpEntry {
  return {
    name,
    cases: fc
      .tuple(spec(shapeArb(1, 3)), fc.nat(), fc.integer(sizes), seedArb)
      .map(([s, d, size, seed]) => build(s, d % s.shape.length, size, seed)),
  };
}
const indices = (shape: number[], seed: number, high: number): InputSpec => ({
  shape,
  view: 'contiguous',
  dtype: 'int32',
  seed,
  low: 0,
  high,
});

const indexEntries: OpEntry[] = [
  indexEntry('gather', { min: 1, max: 6 }, (s, dim, width, seed) => ({
    inputs: [
      s,
      indices(
        s.shape.map((n, i) => (i === dim ? width : n)),
        seed,
        s.shape[dim] - 1,
      ),
    ],
    run: ([a, index]) => ops.gather(a, dim, index),
  })),
  indexEntry('scatterAdd', { min: 1, max: 6 }, (s, dim, size, seed) => ({
    inputs: [indices(s.shape, s.seed, size - 1), { ...s, seed }],
    run: ([index, source]) =>
      ops.scatterAdd(
        s.shape.map((n, i) => (i === dim ? size : n + 1)),
        dim,
        index,
        source,
      ),
  })),
  indexEntry('indexSelect', { min: 0, max: 7 }, (s, dim, count, seed) => ({
    inputs: [s, indices([count], seed, s.shape[dim] - 1)],
    run: ([a, index]) => ops.indexSelect(a, dim, index),
  })),
  indexEntry('indexAdd', { min: 1, max: 6 }, (s, dim, size, seed) => ({
    inputs: [indices([s.shape[dim]], seed, size - 1), s],
    run: ([index, source]) =>
      ops.indexAdd(
        s.shape.map((n, i) => (i === dim ? size : n)),
        dim,
        index,
        source,
      ),
  })),
];

const windowArb: fc.Arbitrary<Window> = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 2 }),
    fc.integer({ min: 0, max: 1 }),
    fc.integer({ min: 1, max: 2 }),
  )
  .map(
    ([kh, kw, s, p, d]) =>
      ({ kernel: [kh, kw], stride: [s, s], padding: [p, p], dilation: [d, 1] }) as Window,
  );

/** [N, C, H, W] images, W = H + 1 so the two spatial dims differ. */
const imageShapeArb = fc
  .tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 5, max: 9 }))
  .map(([N, C, H]) => [N, C, H, H + 1]);

const windowEntries: OpEntry[] = [
  {
    name: 'unfold (im2col)',
    cases: fc
      .tuple(imageShapeArb, windowArb, viewArb, seedArb, fc.boolean())
      .map(([shape, window, view, seed, maxPad]) => ({
        inputs: [{ shape, view, dtype: 'float32', seed, low: -3, high: 3 }],
        run: ([x]) => ops.unfold(x, window, maxPad ? Number.NEGATIVE_INFINITY : 0),
      })),
  },
  {
    name: 'fold (col2im)',
    cases: fc.tuple(imageShapeArb, windowArb, seedArb).map(([shape, window, seed]) => {
      const size = shape.reduce((p, d) => p * d, 1);
      const cols = ops.unfold(ops.fromTypedArray(new Float32Array(size), shape, referenceBackend), window, 0);
      return {
        inputs: [
          {
            shape: [...cols.shape],
            view: 'contiguous' as View,
            dtype: 'float32' as DType,
            seed,
            low: -3,
            high: 3,
          },
        ],
        run: ([c]) => ops.fold(c, shape, window),
      };
    }),
  },
  {
    name: 'maxPoolIndices',
    cases: fc
      .tuple(imageShapeArb, windowArb, viewArb, seedArb, fc.boolean())
      .map(([shape, w, view, seed, ceil]) => {
        // Padding at most half the kernel, as max pooling allows.
        const padding = w.kernel.map((k, d) => Math.min(w.padding[d], Math.floor(k / 2))) as [number, number];
        const sizes = (window: Window) => {
          const floor = ops.windowOutput('test', shape, window);
          // Ceil mode's extra window, where it starts inside the input.
          return floor.map((o, d) =>
            ceil && o * window.stride[d] - padding[d] < shape[2 + d] ? o + 1 : o,
          ) as [number, number];
        };
        let window: Window = { ...w, padding };
        // A window that steps over the whole input (dilation) is refused: pool without dilation.
        if (ops.emptyWindow(shape, window, sizes(window))) window = { ...window, dilation: [1, 1] };
        const size = sizes(window);
        return {
          inputs: [{ shape, view, dtype: 'float32' as DType, seed, low: -3, high: 3 }],
          run: ([x]) => ops.maxPoolIndices(x, window, size),
        };
      }),
  },
];

const TABLE: OpEntry[] = [
  ...unaryEntries,
  ...binaryEntries,
  whereEntry,
  copyEntry,
  uploadEntry,
  catEntry,
  assignEntry,
  ...reduceEntries,
  LONG,
  ...argEntries,
  matmulEntry,
  ...indexEntries,
  ...windowEntries,
];

/** Compares a backend's result with the float64 oracle: same shape and dtype class, close values. */
function expectConforms(actual: NDArray, expected: NDArray, rtol: number, atol: number): void {
  expect(actual.shape).toEqual(expected.shape);
  const floating = (d: DType) => d === 'float32' || d === 'float64';
  expect(floating(actual.dtype)).toBe(floating(expected.dtype));
  if (!floating(actual.dtype)) expect(actual.dtype).toBe(expected.dtype);
  const a = actual.read();
  const e = expected.read();
  for (let i = 0; i < e.length; i++) {
    const tolerance = floating(actual.dtype) ? atol + rtol * Math.abs(e[i]) : 0;
    if (!(Math.abs(a[i] - e[i]) <= tolerance) && !(a[i] === e[i])) {
      throw new Error(`element ${i}: got ${a[i]}, expected ${e[i]} (tolerance ${tolerance})`);
    }
  }
}

const RUNS = Number(process.env.AGRAD_CONFORMANCE_RUNS ?? 12);

/**
 * Every member of the Backend interface, by kind. `satisfies` makes the typecheck fail when the
 * interface gains a member this list lacks; the test below fails when a computing method is never
 * reached by the table or has no reference.
 */
type BackendMember = Exclude<keyof Backend, 'name' | 'host'>;
const MEMBERS = {
  upload: 'computes',
  zeros: 'computes',
  read: 'computes',
  copy: 'computes',
  assign: 'computes',
  unary: 'computes',
  binary: 'computes',
  where: 'computes',
  reduce: 'computes',
  argReduce: 'computes',
  matmul: 'computes',
  gather: 'computes',
  scatterAdd: 'computes',
  indexSelect: 'computes',
  indexAdd: 'computes',
  unfold: 'computes',
  fold: 'computes',
  maxPoolIndices: 'computes',
  // Optional capabilities, not computations: what they change is checked where they matter
  // (adopt by every fromTypedArray on a host backend, release by the tidy() tests, knownRange by
  // the index-check tests on the gpu backend).
  adopt: 'optional',
  release: 'optional',
  knownRange: 'optional',
} as const satisfies Record<BackendMember, 'computes' | 'optional'>;
const COMPUTING = (Object.keys(MEMBERS) as BackendMember[]).filter((m) => MEMBERS[m] === 'computes');

/** Counts which methods of `backend` are called, until the returned function restores them. */
function recordCalls(backend: Backend, called: Set<string>): () => void {
  const target = backend as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = COMPUTING.map((m) => [m, target[m]] as const);
  for (const [m, original] of originals) {
    target[m] = function (this: unknown, ...args: unknown[]) {
      called.add(m);
      return original.apply(this, args);
    };
  }
  return () => {
    for (const [m] of originals) delete target[m];
  };
}

/** A backend the suite runs on, or why it is unavailable here. */
export interface BackendUnderTest {
  name: string;
  backend: Backend | null;
  /** Why the backend is unavailable (null when it is available). */
  missing: string | null;
  /** An unavailable backend that is required fails the run instead of being skipped. */
  required: boolean;
}

/** The oracle itself: the reference backend implements every computing method. */
export function describeReferenceCompleteness(): void {
  describe('the reference backend', () => {
    it('implements every computing method of the Backend interface', () => {
      const reference: Backend = referenceBackend;
      const missing = COMPUTING.filter((m) => typeof reference[m] !== 'function');
      expect(missing).toEqual([]);
    });
  });
}

/**
 * The suite on each backend: the op table against the reference, then (beyond the table) index
 * arithmetic near float32's integer limit and the backend's refusals, for every backend but the CPU.
 */
export function describeConformance(backends: BackendUnderTest[]): void {
  for (const under of backends) {
    const required = under.required;
    describe(`conformance on ${under.name}`, () => {
      if (!under.backend) {
        it.skipIf(!required)(`is available (${under.missing})`, () => {
          throw new Error(`${under.name} is required by AGRAD_GPU_MODES but unavailable: ${under.missing}`);
        });
        return;
      }
      const backend = under.backend;
      const called = { backend: new Set<string>(), reference: new Set<string>() };
      const restore: (() => void)[] = [];
      beforeAll(() => {
        restore.push(recordCalls(backend, called.backend), recordCalls(referenceBackend, called.reference));
      });
      afterAll(() => {
        for (const undo of restore) undo();
      });
      for (const entry of TABLE) {
        it(entry.name, () => {
          fc.assert(
            fc.property(entry.cases, (c) => {
              const expected = c.run(c.inputs.map((s) => materialize(s, referenceBackend, 'float64')));
              const actual = c.run(c.inputs.map((s) => materialize(s, backend, 'float32')));
              expect(actual.backend).toBe(backend);
              expectConforms(actual, expected, entry.rtol ?? 2e-5, c.atol ?? 1e-6);
            }),
            { numRuns: RUNS, seed: 20261124 },
          );
        });
      }
      it('reached every computing method of the interface, here and on the reference', () => {
        expect(COMPUTING.filter((m) => !called.backend.has(m))).toEqual([]);
        expect(COMPUTING.filter((m) => !called.reference.has(m))).toEqual([]);
      });
    });
  }

  /**
   * Beyond the table: index arithmetic near float32's integer limit (splitting flat indices into
   * coordinates must stay exact for millions of elements), and the backend's refusals.
   */
  for (const under of backends) {
    const backend = under.backend;
    if (!backend || backend === cpuBackend) continue;
    describe(`${under.name}: large arrays and refusals`, () => {
      it('copies a transposed 1999 x 3001 view (6 million elements) exactly', () => {
        const [rows, cols] = [1999, 3001];
        const values = new Float32Array(rows * cols);
        for (let i = 0; i < values.length; i++) values[i] = i % 8191;
        const source = ops.fromTypedArray(values, [rows, cols], backend).transpose(0, 1);
        const copied = backend.copy(source, 'float32').read();
        let wrong = 0;
        for (let c = 0; c < cols; c += 1) {
          for (let r = 0; r < rows; r += 1) if (copied[c * rows + r] !== values[r * cols + c]) wrong++;
        }
        expect(wrong).toBe(0);
      });

      it('refuses float64, oversized arrays, out-of-range indices and overlapping writes', () => {
        expect(() => ops.fromTypedArray(new Float64Array(2), [2], backend)).toThrow(
          `upload on the ${backend.name} backend: float64 is not supported`,
        );
        expect(() => backend.zeros('float32', 2 ** 24 + 1)).toThrow(/exceed the limit of 2\^24/);
        const a = ops.fromTypedArray(new Float32Array([1, 2, 3]), [3], backend);
        // An index made on the device (a cast) has no known bounds: it is read back and checked.
        const bad = backend.copy(ops.fromTypedArray(new Float32Array([0, 3.5]), [2], backend), 'int32');
        expect(() => ops.gather(a, 0, bad)).toThrow('gather: index 3 is out of bounds for dim 0 with size 3');
        const negative = ops.fromTypedArray(new Int32Array([-1]), [1], backend);
        expect(() => ops.indexSelect(a, 0, negative)).toThrow('indexSelect: index -1 is out of bounds');
        const target = ops.fromTypedArray(new Float32Array([0]), [1], backend).expand([3]);
        expect(() => ops.assign(target, a)).toThrow(/cannot write through a view whose elements overlap/);
      });
    });
  }
}
