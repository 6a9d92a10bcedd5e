import { checkOptions, checkValue, Generator, isFloating, layout, ops, rules } from '@agrad/tensor';
import { noGrad } from './engine.js';
import { gradients } from './functional.js';
import { Tensor } from './tensor.js';

/** gradcheck's finite-difference step `eps`, tolerances `atol` and `rtol`, the `seed` of its random projections, and how many random `directions` it checks. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Seed of the random output projection and directions (default 0). */
  seed?: number;
  /** How many random directions the JAX-style check uses (default 2). */
  directions?: number;
}

/** One disagreement gradcheck found: where, and the analytical and numerical values. */
export interface GradcheckFailure {
  /** Which input (position in `inputs`). */
  input: number;
  /** Multi-index of the element, or null for a directional check. */
  element: number[] | null;
  analytical: number;
  numerical: number;
}

/** gradcheck's result: `ok`, every failure, and a sentence naming the first. */
export interface GradcheckReport {
  ok: boolean;
  failures: GradcheckFailure[];
  /** A sentence naming the first failing input and element. */
  message: string;
}

/**
 * Checks `fn`'s analytical gradients against central finite differences, in float64.
 *
 * The output is projected onto a fixed random tensor r, L(x) = sum(fn(x) * r), so any output
 * shape reduces to one scalar; then (1) every element of every floating input is perturbed by
 * +-eps and (L(x+) - L(x-)) / 2eps compared with dL/dx, and (2) as JAX's check_grads does, the
 * directional derivative along random directions v is compared with <dL/dx, v>.
 * Integer inputs (indices) are passed through unchanged.
 *
 * @example
 * const report = gradcheck((a, b) => a.mul(b).sum(), [randn([3]), randn([3])]);
 * if (!report.ok) throw new Error(report.message);
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): GradcheckReport {
  checkOptions('gradcheck', options, {
    eps: rules.positive,
    atol: rules.nonNegative,
    rtol: rules.nonNegative,
    seed: rules.inRange(0, 2 ** 32, { integer: true }),
    directions: rules.count,
  });
  checkValue('gradcheck', 'fn', fn, rules.func);
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const generator = new Generator(options.seed ?? 0);
  const differentiable = inputs.map((t) => isFloating(t.dtype));
  const base = inputs.map((t, i) => (differentiable[i] ? Float64Array.from(t.array.read()) : null));
  const make = (values: readonly (Float64Array | null | undefined)[], track: boolean) =>
    inputs.map((t, i) => {
      if (!differentiable[i]) return t;
      const x = new Tensor(ops.fromTypedArray(values[i]!.slice(), t.shape));
      return track ? x.requiresGrad_() : x;
    });

  const tracked = make(base, true);
  const output = fn(...tracked);
  if (!isFloating(output.dtype))
    throw new TypeError(`gradcheck: fn must return a float tensor, got ${output.dtype}`);
  const projection = new Tensor(ops.randn(output.shape, 'float64', generator));
  const loss = (out: Tensor) => out.to('float64').mul(projection).sum();
  const used = tracked.filter((_, i) => differentiable[i]);
  const analyticalGrads = loss(output).requiresGrad
    ? gradients(loss(output), used, { allowUnused: true })
    : used.map((t) => t.mul(0));
  const analytical = new Map<number, Float64Array>();
  let k = 0;
  inputs.forEach((_, i) => {
    if (differentiable[i]) analytical.set(i, Float64Array.from(analyticalGrads[k++].array.read()));
  });

  const evaluate = (values: readonly (Float64Array | null | undefined)[]) =>
    noGrad(() => loss(fn(...make(values, false))).item());
  const close = (a: number, n: number) => Math.abs(a - n) <= atol + rtol * Math.abs(n);
  const failures: GradcheckFailure[] = [];

  inputs.forEach((t, i) => {
    if (!differentiable[i]) return;
    const grad = analytical.get(i)!;
    for (let e = 0; e < t.size; e++) {
      const plus = base.map((b) => b?.slice());
      const minus = base.map((b) => b?.slice());
      plus[i]![e] += eps;
      minus[i]![e] -= eps;
      const numerical = (evaluate(plus) - evaluate(minus)) / (2 * eps);
      if (!close(grad[e], numerical))
        failures.push({
          input: i,
          element: layout.coordinatesOf(e, t.shape),
          analytical: grad[e],
          numerical,
        });
    }
  });

  for (let r = 0; r < (options.directions ?? 2); r++) {
    const directions = base.map((b) => (b ? Float64Array.from(b, () => generator.normal()) : null));
    const plus = base.map((b, i) => b?.map((v, e) => v + eps * directions[i]![e]));
    const minus = base.map((b, i) => b?.map((v, e) => v - eps * directions[i]![e]));
    const numerical = (evaluate(plus) - evaluate(minus)) / (2 * eps);
    let predicted = 0;
    analytical.forEach((grad, i) => grad.forEach((g, e) => (predicted += g * directions[i]![e])));
    if (!close(predicted, numerical))
      failures.push({ input: -1, element: null, analytical: predicted, numerical });
  }

  const first = failures[0];
  const message = !first
    ? 'gradcheck: all gradients match finite differences'
    : first.element
      ? `gradcheck: input ${first.input}, element [${first.element.join(',')}]: analytical ${first.analytical} vs numerical ${first.numerical} (${failures.length} mismatches)`
      : `gradcheck: directional derivative along a random direction: analytical ${first.analytical} vs numerical ${first.numerical}`;
  return { ok: failures.length === 0, failures, message };
}
