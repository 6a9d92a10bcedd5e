import { checkOptions, checkValue, formatShape, rules } from '@agrad/tensor';
import { onesLike, zerosLike } from './creation.js';
import {
  type BackwardOptions,
  enableGrad,
  isGradEnabled,
  noGrad,
  record,
  runBackward,
  type VectorJacobianProduct,
} from './engine.js';
import { Tensor } from './tensor.js';

/**
 * Gradients of `outputs` with respect to `inputs`, returned rather than written to `.grad`
 * (torch.autograd.grad). `gradOutputs` defaults to ones for a single-element output.
 */
export function gradients(
  output: Tensor,
  inputs: readonly Tensor[],
  options: BackwardOptions & { gradOutput?: Tensor; allowUnused?: boolean } = {},
): Tensor[] {
  checkOptions('grad', options, {
    retainGraph: rules.boolean,
    createGraph: rules.boolean,
    gradOutput: rules.instanceOf(Tensor, 'Tensor'),
    allowUnused: rules.boolean,
  });
  for (const [i, input] of inputs.entries()) {
    if (!input.requiresGrad) throw new Error(`grad: input ${i} does not require grad`);
  }
  if (!output.requiresGrad)
    throw new Error('grad: the output does not depend on any input that requires grad');
  let gradOutput = options.gradOutput;
  if (!gradOutput) {
    if (output.size !== 1) {
      throw new RangeError(
        `grad: output has shape ${formatShape(output.shape)}; pass gradOutput or reduce it to one element`,
      );
    }
    gradOutput = onesLike(output);
  }
  const grads = runBackward(output, gradOutput, { ...options, targets: inputs });
  return grads.map((g, i) => {
    if (g) return g;
    if (!options.allowUnused) {
      throw new Error(
        `grad: input ${i} was not used to compute the output (pass allowUnused: true to get zeros)`,
      );
    }
    return zerosLike(inputs[i]);
  });
}

/** Which arguments grad and valueAndGrad differentiate: `argnums`, one index (default 0) or several. */
export interface GradOptions {
  /** Which positional arguments to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
}

/**
 * JAX-style functional gradient: `grad(f)(...args)` is the gradient of the scalar `f(...args)`
 * with respect to args[argnums]. Calls nest: `grad(grad(f))` gives second derivatives.
 *
 * @example
 * const df = grad((x: Tensor) => x.pow(3).sum());
 * df(tensor([2])).toArray(); // [12]
 */
export function grad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options?: { argnums?: number },
): (...args: Args) => Tensor;
export function grad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options: { argnums: readonly number[] },
): (...args: Args) => Tensor[];
export function grad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options: GradOptions = {},
): (...args: Args) => Tensor | Tensor[] {
  const vg = valueAndGrad(f, options as { argnums: number });
  return (...args: Args) => vg(...args)[1];
}

/** Like grad, but also returns f's value: `[value, gradient]`. */
export function valueAndGrad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options?: { argnums?: number },
): (...args: Args) => [Tensor, Tensor];
export function valueAndGrad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options: { argnums: readonly number[] },
): (...args: Args) => [Tensor, Tensor[]];
export function valueAndGrad<Args extends Tensor[]>(
  f: (...args: Args) => Tensor,
  options: GradOptions = {},
): (...args: Args) => [Tensor, Tensor | Tensor[]] {
  checkValue('grad', 'f', f, rules.func);
  checkOptions('grad', options, {
    argnums: rules.either(rules.count, (v) =>
      Array.isArray(v) && v.every((n) => rules.count(n) === null) ? null : 'an array of argument positions',
    ),
  });
  const argnums = options.argnums ?? 0;
  const positions = typeof argnums === 'number' ? [argnums] : [...argnums];
  return (...args: Args) => {
    // Inside an outer differentiation (args already tracked), record this one too.
    const nested = isGradEnabled() && positions.some((p) => args[p]?.requiresGrad);
    const inputs = args.map((a, i) =>
      positions.includes(i) && !a.requiresGrad ? a.detach().requiresGrad_() : a,
    ) as Args;
    for (const p of positions) {
      if (!(inputs[p] instanceof Tensor)) throw new TypeError(`grad: argument ${p} is not a tensor`);
    }
    // f is differentiated even when called inside noGrad (as torch.func.grad does).
    const value = enableGrad(() => f(...inputs));
    if (value.size !== 1) {
      throw new RangeError(
        `grad: f must return a single-element tensor, got shape ${formatShape(value.shape)}`,
      );
    }
    const targets = positions.map((p) => inputs[p]);
    const grads = value.requiresGrad
      ? gradients(value, targets, { createGraph: nested, allowUnused: true })
      : targets.map((t) => zerosLike(t));
    const result = typeof argnums === 'number' ? grads[0] : grads;
    return [nested ? value : value.detach(), result];
  };
}

/**
 * Defines a differentiable op from a forward computation and its own backward (the public
 * counterpart of the built-in primitives). `forward` runs without recording; `backward` gets
 * the output's gradient and returns one gradient (or null) per input.
 *
 * @example
 * const cube = customOp('cube', {
 *   forward: (x) => x.mul(x).mul(x),
 *   backward: (g, { inputs: [x] }) => [g.mul(x.mul(x)).mul(3)],
 * });
 */
export function customOp<Inputs extends Tensor[]>(
  name: string,
  definition: {
    forward: (...inputs: Inputs) => Tensor;
    backward: (
      grad: Tensor,
      context: { inputs: Inputs; output: Tensor },
    ) => readonly (Tensor | null | undefined)[];
  },
): (...inputs: Inputs) => Tensor {
  checkValue('customOp', 'name', name, rules.string);
  checkOptions(`customOp '${name}'`, definition, {
    forward: rules.required(rules.func),
    backward: rules.required(rules.func),
  });
  return (...inputs: Inputs) => {
    const value = noGrad(() => definition.forward(...inputs));
    let output: Tensor;
    const vjp: VectorJacobianProduct = (g) => {
      const grads = definition.backward(g, { inputs, output });
      if (grads.length !== inputs.length) {
        throw new RangeError(
          `${name}: backward returned ${grads.length} gradients for ${inputs.length} inputs`,
        );
      }
      return grads;
    };
    // A trace sees the forward's own ops, and this op as their result (`forward`): an exporter
    // writes the forward, as inference needs no backward.
    output = record(name, inputs, value.array, vjp, undefined, { forward: value });
    return output;
  };
}
