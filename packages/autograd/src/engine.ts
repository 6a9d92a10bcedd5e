import { formatShape, type NDArray, ops, shapesEqual } from '@agrad/tensor';
import { retainGradient } from './memory.js';
import type { Tensor } from './tensor.js';
import { noteOp, type TraceAttributes } from './trace.js';

/**
 * The tape. Every differentiable result remembers a Node: the op's name, its inputs, and the
 * vector-Jacobian product that maps the gradient of the output to gradients of the inputs.
 * backward() walks the nodes in reverse topological order, adding up contributions, so a tensor
 * used twice receives both.
 */
export type VectorJacobianProduct = (gradOutput: Tensor) => readonly (Tensor | null | undefined)[];

/** What the tape records for an op's result: the op, its inputs, its vector-Jacobian product and the tensors the vjp will read. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Null once an earlier backward() freed the graph. */
  vjp: VectorJacobianProduct | null;
  /** The tensors the vjp reads, with their storage's version when the op ran. */
  readonly saved: readonly SavedTensor[];
}

/** A tensor an op's vjp reads, with its storage version when saved: a later in-place write is detected instead of silently giving a wrong gradient. */
export interface SavedTensor {
  readonly tensor: Tensor;
  readonly version: number;
}

/**
 * What a primitive's vjp reads besides the incoming gradient: some of its inputs, its own output
 * ('output'), or other tensors (an index, a condition). By default everything: inputs and output.
 */
export type Saved = readonly (Tensor | 'output')[];

/**
 * The Tensor class, registered by ./tensor.ts when it loads. The layers below it (this engine,
 * the primitives, the composites) make tensors through `wrap` instead of importing the class,
 * so the package reads bottom-up (engine, primitives, composites, Tensor) with no import cycle.
 */
let TensorClass: (new (array: NDArray) => Tensor) | null = null;

export function registerTensorClass(tensorClass: new (array: NDArray) => Tensor): void {
  TensorClass = tensorClass;
}

/**
 * The result of an op without a gradient (a comparison, argmax), noted in a trace (./trace.ts)
 * like a primitive, so exporters see where it came from.
 */
export function recordNonDifferentiable(
  op: string,
  inputs: readonly Tensor[],
  output: NDArray,
  attributes?: TraceAttributes,
): Tensor {
  const result = wrap(output);
  noteOp(op, inputs, [result], attributes);
  return result;
}

/** A Tensor holding `array`, with no graph. */
export function wrap(array: NDArray): Tensor {
  if (!TensorClass)
    throw new Error("autograd: import from '@agrad/autograd' (its entry registers the Tensor class)");
  return new TensorClass(array);
}

let gradEnabled = true;

/** Whether ops record the graph now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording a graph, as `with torch.no_grad():` does. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording switched on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Wraps a primitive's result: when recording and any input requires a gradient, the result
 * gets a Node holding the primitive's vjp. `attributes` are the primitive's arguments that are
 * not tensors, for a trace (./trace.ts); the tape itself does not need them.
 */
export function record(
  op: string,
  inputs: readonly Tensor[],
  output: NDArray,
  vjp: VectorJacobianProduct,
  saves: Saved = [...inputs, 'output'],
  attributes?: TraceAttributes,
): Tensor {
  const result = wrap(output);
  noteOp(op, inputs, [result], attributes);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    const saved = saves.map((t) => {
      const tensor = t === 'output' ? result : t;
      return { tensor, version: tensor.array.storage.version };
    });
    result.attachNode({ op, inputs, vjp, saved });
  }
  return result;
}

/**
 * Refuses to differentiate through values that were overwritten in place (copy_, an optimizer
 * step) after the op saved them: its vjp would compute the gradient of a different function.
 */
function checkSavedVersions(node: Node, output: Tensor): void {
  for (const { tensor, version } of node.saved) {
    const now = tensor.array.storage.version;
    if (now === version) continue;
    const position = node.inputs.indexOf(tensor);
    const role =
      tensor === output
        ? `its output (${describe(tensor)})`
        : position >= 0
          ? `its input ${position} (${describe(tensor)})`
          : `a tensor it saved (${describe(tensor)})`;
    throw new Error(
      `backward: '${node.op}' needs ${role} as it was when the op ran, but it was modified in place ` +
        `afterwards (version ${version}, now ${now}), e.g. by copy_() or optimizer.step(); the gradient ` +
        'would be wrong. Run backward() before changing it, or change a clone() of it instead.',
    );
  }
}

function describe(t: Tensor): string {
  const origin = t.gradFn ? `output of '${t.gradFn.op}'` : t.requiresGrad ? 'a leaf' : 'a constant';
  return `${t.dtype} ${formatShape(t.shape)}, ${origin}`;
}

/** Options of backward(): keep the graph for another backward (`retainGraph`), or record the backward pass itself for higher-order gradients (`createGraph`). */
export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients (implies retainGraph). */
  createGraph?: boolean;
}

/**
 * The tensors reachable from `root` through the inputs of the ops that made them, inputs before
 * the tensors computed from them (a post-order walk), following only the inputs `follow` accepts.
 */
export function inputsFirst(root: Tensor, follow: (input: Tensor) => boolean): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative depth-first search: deep graphs (long RNN unrolls) must not overflow the stack.
  const stack: [Tensor, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [tensor, next] = top;
    const inputs = tensor.gradFn?.inputs ?? [];
    if (next < inputs.length) {
      top[1]++;
      const input = inputs[next];
      if (follow(input) && !visited.has(input)) {
        visited.add(input);
        stack.push([input, 0]);
      }
    } else {
      stack.pop();
      order.push(tensor);
    }
  }
  return order;
}

/** Tensors reachable from `root` that take part in differentiation, inputs before users. */
const topologicalOrder = (root: Tensor) => inputsFirst(root, (input) => input.requiresGrad);

function checkGradient(where: string, grad: Tensor, target: Tensor): void {
  if (!shapesEqual(grad.shape, target.shape)) {
    throw new RangeError(
      `${where}: gradient has shape ${formatShape(grad.shape)} but the tensor has shape ${formatShape(target.shape)}`,
    );
  }
  if (grad.dtype !== target.dtype) {
    throw new TypeError(
      `${where}: gradient has dtype ${grad.dtype} but the tensor has dtype ${target.dtype}`,
    );
  }
}

function accumulate(existing: Tensor | undefined | null, addition: Tensor, createGraph: boolean): Tensor {
  if (!existing) return addition;
  if (createGraph) return existing.add(addition);
  return wrap(ops.binary('add', existing.array, addition.array));
}

/**
 * Propagates `gradOutput` from `root` back through the graph. With `targets`, the gradients of
 * those tensors are returned and nothing is written to `.grad` (torch.autograd.grad); without,
 * gradients are added into the `.grad` of leaves (and of tensors that called retainGrad()).
 */
export function runBackward(
  root: Tensor,
  gradOutput: Tensor,
  options: BackwardOptions & { targets?: readonly Tensor[] } = {},
): (Tensor | null)[] {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const targets = options.targets;
  checkGradient('backward', gradOutput, root);
  const order = topologicalOrder(root);
  const grads = new Map<Tensor, Tensor>([[root, gradOutput]]);
  const captured = new Map<Tensor, Tensor>();
  const targetSet = new Set(targets ?? []);

  const propagate = () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const tensor = order[i];
      let grad = grads.get(tensor);
      if (!grad) continue;
      grads.delete(tensor);
      grad = tensor.runHooks(grad);
      if (targetSet.has(tensor)) captured.set(tensor, accumulate(captured.get(tensor), grad, createGraph));
      const node = tensor.gradFn;
      if (!targets && (!node || tensor.retainsGrad)) {
        tensor.grad = retainGradient(
          accumulate(tensor.grad, createGraph ? grad : grad.detach(), createGraph),
        );
      }
      if (!node) continue;
      if (!node.vjp) {
        throw new Error(
          `backward: the graph through '${node.op}' was already freed by an earlier backward(); ` +
            'pass { retainGraph: true } to the first backward() to go through it twice',
        );
      }
      checkSavedVersions(node, tensor);
      const inputGrads = node.vjp(grad);
      if (!retainGraph) node.vjp = null;
      node.inputs.forEach((input, k) => {
        const inputGrad = inputGrads[k];
        if (!inputGrad || !input.requiresGrad) return;
        checkGradient(`backward of '${node.op}' (input ${k})`, inputGrad, input);
        grads.set(input, accumulate(grads.get(input), inputGrad, createGraph));
      });
    }
  };
  if (createGraph) enableGrad(propagate);
  else noGrad(propagate);
  return (targets ?? []).map((t) => captured.get(t) ?? null);
}
