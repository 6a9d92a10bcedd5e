import type { BinaryOp, UnaryOp } from './backend.js';
import { erf } from './math.js';

/**
 * Elementwise math, defined once. Each entry's `math` is the op's definition: a JavaScript
 * expression over `x` (and `y`), evaluated in float64. Every backend is derived from this table:
 * - the reference backend evaluates `math` as written (see `scalarFunction`);
 * - the fast CPU backend compiles it into tight row loops, or uses `cpu`, a faster form of the same
 *   function kept beside it (the kernel tests require both to agree bit for bit);
 * - the gpu.js backend writes it into its kernels as `let v = <math>;`, or uses `gpu`, statements
 *   that set `v` where GLSL lacks the function, approximates it too loosely or has no NaN (the
 *   conformance suite holds them to the reference within float32's tolerance).
 * A new op is one entry here; a new backend reads the same entries.
 */
export interface ElementwiseDefinition {
  /** The definition: a JavaScript expression over x (and y). `erf` is in scope. */
  readonly math: string;
  /**
   * A faster CPU form: `prelude` statements run first (locals the expression uses). `erf` and
   * `pick`, a Float64Array [0, 0] of the compiled loop's own, are in scope.
   */
  readonly cpu?: { readonly expression: string; readonly prelude?: string };
  /** gpu.js statements that set `v`, in the JavaScript subset gpu.js translates to GLSL. */
  readonly gpu?: string;
}

/**
 * A 0/1 test. Comparisons as +(boolean) on the CPU: V8 emits a branch-free set instruction, where
 * `? 1 : 0` branches and mispredicts on random data (about 5x slower). GLSL has no boolean to
 * number conversion in gpu.js's subset, so the GPU form branches.
 */
function predicate(test: string, cpu = `+(${test})`): ElementwiseDefinition {
  return {
    math: `(${test} ? 1 : 0)`,
    cpu: { expression: cpu },
    gpu: `let v = 0.0;\nif (${test}) { v = 1.0; }`,
  };
}

/** Every unary op's math, once: the CPU loops and the gpu.js kernels are generated from it. */
export const UNARY: Record<UnaryOp, ElementwiseDefinition> = {
  neg: { math: '-x' },
  exp: { math: 'Math.exp(x)' },
  log: { math: 'Math.log(x)' },
  log1p: {
    math: 'Math.log1p(x)',
    // log(u) * x / (u - 1) with u = 1 + x cancels the rounding of u (Goldberg's trick).
    gpu: 'let u = 1.0 + x;\nlet v = x;\nif (u !== 1.0) { v = Math.log(u) * x / (u - 1.0); }',
  },
  sqrt: { math: 'Math.sqrt(x)' },
  abs: { math: 'Math.abs(x)' },
  sign: {
    // Math.sign(-0) is -0; torch.sign gives 0. NaN stays NaN (GLSL has no NaN to keep).
    math: '(x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x)',
    gpu: 'let v = 0.0;\nif (x > 0.0) { v = 1.0; }\nif (x < 0.0) { v = -1.0; }',
  },
  tanh: {
    math: 'Math.tanh(x)',
    // tanh from exp(-2|x|), which never overflows; the series near 0 keeps the relative precision.
    gpu:
      'let ax = Math.abs(x);\nlet e = Math.exp(-2.0 * ax);\nlet t = (1.0 - e) / (1.0 + e);\n' +
      'if (ax < 0.01) { t = ax * (1.0 - ax * ax / 3.0); }\nlet v = t;\nif (x < 0.0) { v = -t; }',
  },
  sigmoid: {
    // Two branches so exp never overflows: for x < 0, e^x / (1 + e^x).
    math: '(x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))',
    gpu: 'let v = 0.0;\nif (x >= 0.0) { v = 1.0 / (1.0 + Math.exp(-x)); } else { let e = Math.exp(x); v = e / (1.0 + e); }',
  },
  erf: {
    math: 'erf(x)',
    // Taylor series below 0.5 (relative error < 1e-8), Abramowitz & Stegun 7.1.26 above
    // (absolute error < 1.5e-7, where erf > 0.5): enough for float32, cheaper than math.ts's erf.
    gpu:
      'let ax = Math.abs(x);\nlet x2 = ax * ax;\n' +
      'let s = ax * (1.1283791670955126 + x2 * (-0.37612638903183754 + x2 * (0.11283791670955126 + x2 * (-0.026866170645131252 + x2 * (0.005223977625442188 + x2 * -0.0008548327023450852)))));\n' +
      'if (ax >= 0.5) { let t = 1.0 / (1.0 + 0.3275911 * ax); ' +
      's = 1.0 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x2); }\n' +
      'let v = s;\nif (x < 0.0) { v = -s; }',
  },
  relu: {
    // NaN passes through, as torch.relu.
    math: '(x > 0 || x !== x ? x : 0)',
    // (x + |x|) / 2 is x for x >= 0 and +0 below, without a data-dependent branch; the branch
    // left is taken only for NaN, -inf and overflow, so it is always predicted.
    cpu: {
      prelude: 'const y = (x + Math.abs(x)) * 0.5;',
      expression: '(y === y && y !== Infinity ? y : x === x ? Math.max(x, 0) : x)',
    },
    gpu: 'let v = 0.0;\nif (x > 0.0) { v = x; }',
  },
  sin: { math: 'Math.sin(x)' },
  cos: { math: 'Math.cos(x)' },
  not: predicate('x === 0.0'),
};

/** Every binary op's math, once: the CPU loops and the gpu.js kernels are generated from it. */
export const BINARY: Record<BinaryOp, ElementwiseDefinition> = {
  add: { math: 'x + y' },
  sub: { math: 'x - y' },
  mul: { math: 'x * y' },
  div: { math: 'x / y' },
  pow: {
    math: 'x ** y',
    // GLSL's pow is undefined for x < 0 and for x = 0, y <= 0: those cases are spelled out.
    gpu:
      'let v = 1.0;\nlet ax = Math.abs(x);\n' +
      'if (y !== 0.0) { if (ax === 0.0) { v = 0.0; if (y < 0.0) { v = 3.4028234663852886e38 * 10.0; } } else { v = Math.pow(ax, y); } }\n' +
      'if (x < 0.0) { let half = y * 0.5; if (Math.floor(half) !== half) { v = -v; } }',
  },
  // NaN wins, as in torch.maximum / torch.minimum (GLSL has no NaN to keep).
  maximum: { math: '(x > y || x !== x ? x : y)', gpu: 'let v = y;\nif (x > y) { v = x; }' },
  minimum: { math: '(x < y || x !== x ? x : y)', gpu: 'let v = y;\nif (x < y) { v = x; }' },
  // relu's vector-Jacobian product in one pass: the gradient x where relu's input y is positive,
  // else 0 (instead of a bool mask, then a where). On the CPU a select without a branch (which
  // mispredicts half the time on real activations): pick[1] holds x, pick[0] stays +0, and the
  // comparison as 0/1 indexes them; exactly the definition's value, NaN, infinities and -0 included.
  reluBackward: {
    math: '(y > 0 ? x : 0)',
    cpu: { prelude: 'pick[1] = x;', expression: 'pick[+(y > 0)]' },
    gpu: 'let v = 0.0;\nif (y > 0.0) { v = x; }',
  },
  eq: predicate('x === y'),
  ne: predicate('x !== y'),
  lt: predicate('x < y'),
  le: predicate('x <= y'),
  gt: predicate('x > y'),
  ge: predicate('x >= y'),
  and: predicate('x !== 0.0 && y !== 0.0', '+(x !== 0) & +(y !== 0)'),
  or: predicate('x !== 0.0 || y !== 0.0', '+(x !== 0) | +(y !== 0)'),
};

/** Ops whose result is bool whatever the operands' dtype. */
export const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or']);

const scalars = new Map<string, (x: number, y: number) => number>();

/** An entry's `math` as a plain function of x and y (compiled once), for the reference loops. */
export function scalarFunction(definition: ElementwiseDefinition): (x: number, y: number) => number {
  let f = scalars.get(definition.math);
  if (!f) {
    f = new Function('erf', `return function (x, y) { return ${definition.math}; };`)(erf) as (
      x: number,
      y: number,
    ) => number;
    scalars.set(definition.math, f);
  }
  return f;
}

/** The CPU loop body's expression and prelude for an entry. */
export const cpuForm = (definition: ElementwiseDefinition) =>
  definition.cpu ?? { expression: definition.math, prelude: '' };

/** The gpu.js statements for an entry. */
export const gpuForm = (definition: ElementwiseDefinition) => definition.gpu ?? `let v = ${definition.math};`;
