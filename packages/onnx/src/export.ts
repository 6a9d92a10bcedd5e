import { fromTypedArray, noGrad, type Tensor, type TracedOp, trace, traceScope } from '@agrad/autograd';
import { type Module, writeFileAtomic } from '@agrad/nn';
import { checkOptions, describeValue, formatShape, type Rule, rules } from '@agrad/tensor';
import { type Dim, GraphBuilder, type ValueInfo } from './graph.js';
import { isTensor, OPERATORS, type Operator, type OperatorContext, operandsOf } from './operators.js';

/**
 * ONNX export by tracing. The model runs twice in eval mode under a trace (@agrad/autograd's
 * trace.ts): once on the example inputs, and once on a variant of them whose dynamic axes are
 * longer and whose values differ. The first run becomes the graph. The second one proves it
 * general: the two runs must perform the same ops on the same kinds of operands (or the model has
 * control flow that depends on its input, which a graph cannot hold), a constant the graph keeps
 * must be the same in both (or it was computed from the input outside the traced ops), and a
 * shape that differs between the runs is written in terms of the dynamic axes it follows.
 */

export interface ExportOptions {
  /** ONNX opset version, 17 (the default: LayerNormalization's first) to 20. */
  opset?: number;
  /** Names of the graph inputs, one per example input (default 'input', or 'input0', 'input1', ...). */
  inputNames?: readonly string[];
  /** Names of the graph outputs (default 'output', or 'output0', ...). */
  outputNames?: readonly string[];
  /** Axes whose size may change, per input name: `{ input: { 0: 'batch' } }`. */
  dynamicAxes?: Readonly<Record<string, Readonly<Record<number, string>>>>;
}

export const MIN_OPSET = 17;
export const MAX_OPSET = 20;

const names: Rule = (value) =>
  Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0)
    ? null
    : 'an array of non-empty strings';

const dynamicAxesRule: Rule = (value) => {
  const expected = 'an object { inputName: { axis: axisName } }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return expected;
  for (const axes of Object.values(value)) {
    if (typeof axes !== 'object' || axes === null || Array.isArray(axes)) return expected;
    for (const [axis, name] of Object.entries(axes)) {
      if (!/^\d+$/.test(axis) || typeof name !== 'string' || name.length === 0) return expected;
    }
  }
  return null;
};

const exportRules = {
  opset: rules.inRange(MIN_OPSET, MAX_OPSET + 1, { integer: true }),
  inputNames: names,
  outputNames: names,
  dynamicAxes: dynamicAxesRule,
};

/** The model's outputs as a flat list: a tensor, or (nested) arrays of tensors, as LSTM returns. */
function flattenOutputs(value: unknown, into: Tensor[] = []): Tensor[] {
  if (Array.isArray(value)) {
    for (const item of value) flattenOutputs(item, into);
  } else if (isTensor(value)) {
    into.push(value);
  } else {
    throw new TypeError(
      `exportOnnx: the model's forward must return a Tensor or arrays of Tensors, got ${describeValue(value)}`,
    );
  }
  return into;
}

interface Run {
  ops: TracedOp[];
  inputs: Tensor[];
  outputs: Tensor[];
}

/**
 * Runs the model under a trace, each sub-module's forward in a scope named by its path, so an
 * error can say where an op was met.
 */
function traceModel(model: Module, inputs: Tensor[]): Run {
  // Each module's own 'forward' property (usually none: the method is its class's), to restore.
  const patched = new Map<Module, PropertyDescriptor | undefined>();
  try {
    for (const [path, module] of model.namedModules()) {
      if (path === '' || patched.has(module)) continue;
      patched.set(module, Object.getOwnPropertyDescriptor(module, 'forward'));
      const forward = module.forward;
      const scoped = (...args: never[]) => traceScope(path, () => forward.apply(module, args));
      Object.defineProperty(module, 'forward', { value: scoped, configurable: true, writable: true });
    }
    const { result, ops } = trace(() => noGrad(() => model.forward(...(inputs as never[]))));
    return { ops, inputs, outputs: flattenOutputs(result) };
  } finally {
    for (const [module, own] of patched) {
      if (own) Object.defineProperty(module, 'forward', own);
      else delete (module as { forward?: unknown }).forward;
    }
  }
}

/** A dynamic axis of an input: its name, and its size in each run. */
interface Axis {
  name: string;
  input: number;
  axis: number;
  sizes: [number, number];
}

/**
 * The second run's inputs: every dynamic axis grows by a different amount (the k-th axis name by
 * k + 1, its first entries repeated), so a size found in a shape can be traced to the one axis it
 * follows (axes that share a name grow alike); values are reversed in order (and numbers moved,
 * x / 2 + 1/4), so a constant computed from the input, its sum or its order, shows as a difference.
 */
function variantInputs(inputs: Tensor[], axes: Axis[]): Tensor[] {
  return inputs.map((x, i) => {
    let grown = x;
    for (const axis of axes.filter((a) => a.input === i)) {
      const size = grown.shape[axis.axis];
      const growth = [...new Set(axes.map((a) => a.name))].indexOf(axis.name) + 1;
      const positions = Array.from({ length: size + growth }, (_, p) => p % size);
      grown = grown.indexSelect(axis.axis, indexTensor(positions, x));
      axis.sizes[1] = size + growth;
    }
    const flat = grown.reshape([-1]);
    const reversed = Array.from({ length: flat.shape[0] }, (_, p) => flat.shape[0] - 1 - p);
    const moved = flat.indexSelect(0, indexTensor(reversed, x)).reshape(grown.shape);
    return x.dtype === 'float32' || x.dtype === 'float64' ? moved.mul(0.5).add(0.25) : moved;
  });
}

function indexTensor(values: number[], like: Tensor): Tensor {
  return fromTypedArray(Int32Array.from(values), [values.length], like.backend);
}

/** Exports `model` as ONNX bytes, traced on `exampleInputs` (see the README's "Export and serve"). */
export function exportOnnx(
  model: Module,
  exampleInputs: Tensor | readonly Tensor[],
  options: ExportOptions = {},
): Uint8Array {
  checkOptions('exportOnnx', options, exportRules);
  const inputs = Array.isArray(exampleInputs) ? [...exampleInputs] : [exampleInputs as Tensor];
  inputs.forEach((x, i) => {
    if (!isTensor(x))
      throw new TypeError(`exportOnnx: example input ${i} must be a Tensor, got ${describeValue(x)}`);
  });
  const opset = options.opset ?? MIN_OPSET;
  const inputNames = options.inputNames ? [...options.inputNames] : defaultNames('input', inputs.length);
  if (inputNames.length !== inputs.length)
    throw new RangeError(
      `exportOnnx: ${inputNames.length} inputNames for ${inputs.length} example inputs; give one name per input`,
    );
  const stillTraining = [...model.namedModules()]
    .filter(([, m]) => m.training)
    .map(([p]) => p || '(the model)');
  if (stillTraining.length > 0)
    throw new Error(
      `exportOnnx: the model is in training mode (${stillTraining.slice(0, 3).join(', ')}${stillTraining.length > 3 ? ', ...' : ''}); ` +
        'dropout and batch statistics would be exported as they behave in training. Call model.eval() first.',
    );
  const axes = dynamicAxesOf(options.dynamicAxes ?? {}, inputNames, inputs);
  const first = traceModel(model, inputs);
  const second = traceModel(model, variantInputs(inputs, axes));
  const outputNames = options.outputNames
    ? [...options.outputNames]
    : defaultNames('output', first.outputs.length);
  if (outputNames.length !== first.outputs.length)
    throw new RangeError(
      `exportOnnx: ${outputNames.length} outputNames for the model's ${first.outputs.length} outputs`,
    );
  const graph = new GraphBuilder();
  const context = new ExportContext(model, graph, opset, first, second, axes, inputNames);
  const outputs = first.outputs.map((tensor, k) =>
    context.bindOutput(tensor, second.outputs[k], outputNames[k]),
  );
  return graph.encode({
    name: model.constructor.name,
    opset,
    inputs: inputs.map((x, i) => context.inputInfo(x, i)),
    outputs,
    producerVersion: '0.1.0',
  });
}

/** Writes `exportOnnx(model, exampleInputs, options)` to `path` atomically (never half a file). */
export function saveOnnx(
  path: string,
  model: Module,
  exampleInputs: Tensor | readonly Tensor[],
  options: ExportOptions = {},
): void {
  writeFileAtomic(path, exportOnnx(model, exampleInputs, options));
}

function defaultNames(stem: string, count: number): string[] {
  return count === 1 ? [stem] : Array.from({ length: count }, (_, i) => `${stem}${i}`);
}

function dynamicAxesOf(
  spec: Readonly<Record<string, Readonly<Record<number, string>>>>,
  inputNames: string[],
  inputs: Tensor[],
): Axis[] {
  const axes: Axis[] = [];
  for (const [inputName, entries] of Object.entries(spec)) {
    const input = inputNames.indexOf(inputName);
    if (input < 0)
      throw new RangeError(
        `exportOnnx: dynamicAxes names input '${inputName}', but the inputs are ${inputNames.map((n) => `'${n}'`).join(', ')}`,
      );
    for (const [key, name] of Object.entries(entries)) {
      const axis = Number(key);
      const shape = inputs[input].shape;
      if (axis >= shape.length)
        throw new RangeError(
          `exportOnnx: dynamicAxes gives axis ${axis} of input '${inputName}', which has shape ${formatShape(shape)}`,
        );
      // Broadcasting treats size 1 apart (an expand to the same shape is skipped): an example of
      // size 1 would trace a graph for that size alone.
      if (shape[axis] < 2)
        throw new RangeError(
          `exportOnnx: dynamic axis ${axis} of input '${inputName}' has size ${shape[axis]} in the example; give an example with at least 2 along it (size 1 broadcasts, so its graph would not generalize)`,
        );
      const namesake = axes.find((a) => a.name === name);
      if (namesake && namesake.sizes[0] !== shape[axis])
        throw new RangeError(
          `exportOnnx: dynamic axis '${name}' is ${namesake.sizes[0]} long in input '${inputNames[namesake.input]}' but ${shape[axis]} in input '${inputName}'; axes that share a name must agree in the example`,
        );
      axes.push({ name, input, axis, sizes: [shape[axis], shape[axis]] });
    }
  }
  return axes;
}

/** Where a value comes from, comparable between the two runs. */
type Source =
  | { kind: 'input'; index: number }
  | { kind: 'op'; index: number; slot: number }
  | { kind: 'parameter'; key: string }
  | { kind: 'constant' };

function describeSource(source: Source): string {
  switch (source.kind) {
    case 'input':
      return `input ${source.index}`;
    case 'op':
      return `output ${source.slot} of op ${source.index}`;
    case 'parameter':
      return `parameter '${source.key}'`;
    case 'constant':
      return 'a constant';
  }
}

/** Every tensor's source in one run (the first source wins: a value produced once). */
function sourcesOf(run: Run, parameters: Map<Tensor, string>): (t: Tensor) => Source {
  const produced = new Map<Tensor, Source>();
  run.inputs.forEach((t, index) => produced.set(t, { kind: 'input', index }));
  run.ops.forEach((op, index) =>
    op.outputs.forEach((t, slot) => {
      if (!produced.has(t)) produced.set(t, { kind: 'op', index, slot });
    }),
  );
  return (t) => {
    const known = produced.get(t);
    if (known) return known;
    const key = parameters.get(t);
    return key !== undefined ? { kind: 'parameter', key } : { kind: 'constant' };
  };
}

const sameSource = (a: Source, b: Source) => describeSource(a) === describeSource(b);

/**
 * What the operator table (./operators.ts) works with: ONNX names for the first run's values,
 * emitted on demand (a parameter as an initializer named by its state-dict key, a constant as an
 * initializer checked against the second run, an op's outputs by emitting the op), and shapes
 * resolved against the dynamic axes.
 */
class ExportContext {
  private readonly names = new Map<Tensor, string>();
  private readonly source: (t: Tensor) => Source;
  private readonly secondSource: (t: Tensor) => Source;
  private readonly axisDims = new Map<Axis, string>();
  /** The op being emitted, for error messages. */
  private current: { op: TracedOp; index: number } | null = null;

  constructor(
    model: Module,
    readonly graph: GraphBuilder,
    readonly opset: number,
    private readonly first: Run,
    private readonly second: Run,
    private readonly axes: Axis[],
    private readonly inputNames: string[],
  ) {
    const parameters = new Map<Tensor, string>();
    for (const [key, p] of model.namedParameters()) parameters.set(p, key);
    for (const [key, b] of model.namedBuffers()) parameters.set(b, key);
    this.source = sourcesOf(first, parameters);
    this.secondSource = sourcesOf(second, parameters);
    if (first.ops.length !== second.ops.length)
      throw this.divergence(`${first.ops.length} ops in one run and ${second.ops.length} in the other`);
    first.ops.forEach((op, index) => {
      const other = second.ops[index];
      if (other.op !== op.op)
        throw this.divergence(`op ${index} is '${op.op}' in one run and '${other.op}' in the other`, op);
      const [a, b] = [operandsOf(op), operandsOf(other)];
      a.forEach((t, k) => {
        const [sa, sb] = [this.source(t), this.secondSource(b[k])];
        if (!sameSource(sa, sb))
          throw this.divergence(
            `operand ${k} of op ${index} '${op.op}' is ${describeSource(sa)} in one run and ${describeSource(sb)} in the other`,
            op,
          );
      });
    });
    first.inputs.forEach((t, i) => this.names.set(t, inputNames[i]));
    for (const name of inputNames) this.reserve(name);
  }

  /** Claims a name the user chose (an input's or output's); two values cannot share one. */
  private reserve(name: string): void {
    if (this.graph.fresh(name, true) !== name)
      throw new RangeError(
        `exportOnnx: the name '${name}' is given to two graph values; names must be unique`,
      );
  }

  private divergence(detail: string, op?: TracedOp): Error {
    return new Error(
      `exportOnnx: the model did different things on the example inputs and on a variant of them (${detail}${op ? `, in ${where(op)}` : ''}). ` +
        'Its forward branches on input values or sizes, which a graph cannot hold; only dynamicAxes may change sizes.',
    );
  }

  /** The ONNX name of a first-run tensor, emitting whatever produces it. */
  value(t: Tensor): string {
    const known = this.names.get(t);
    if (known !== undefined) return known;
    const source = this.source(t);
    let name: string;
    if (source.kind === 'parameter') {
      name = this.graph.initializer(source.key, t.dtype, t.shape, t.array.read(), true);
    } else if (source.kind === 'constant' || (source.kind === 'op' && this.isFolded(source.index))) {
      name = this.constant(t);
    } else if (source.kind === 'op') {
      this.emit(source.index);
      name = this.names.get(t) as string;
    } else {
      throw new Error('exportOnnx: internal error, an input without a name');
    }
    this.names.set(t, name);
    return name;
  }

  /** Whether a first-run tensor is constant: computed inside forward from no input and no parameter. */
  isConstant(t: Tensor): boolean {
    const source = this.source(t);
    return source.kind === 'constant' || (source.kind === 'op' && this.isConstantOp(source.index));
  }

  private readonly constantOps = new Map<number, boolean>();

  private isConstantOp(index: number): boolean {
    let known = this.constantOps.get(index);
    if (known === undefined) {
      known = operandsOf(this.first.ops[index]).every((t) => this.isConstant(t));
      this.constantOps.set(index, known);
    }
    return known;
  }

  /**
   * A constant op is folded (its outputs become initializers) unless an output follows a dynamic
   * axis (a constant expanded to the batch): then it stays an op, whose shape the graph computes.
   */
  private isFolded(index: number): boolean {
    const [op, other] = [this.first.ops[index], this.second.ops[index]];
    return (
      this.isConstantOp(index) &&
      op.outputs.every((t, slot) => t.shape.join() === other.outputs[slot].shape.join())
    );
  }

  /** The second run's counterpart of a first-run tensor (same source, same operand position). */
  private counterpart(t: Tensor): Tensor | null {
    const source = this.source(t);
    if (source.kind === 'op') return this.second.ops[source.index].outputs[source.slot];
    for (let i = 0; i < this.first.ops.length; i++) {
      const k = operandsOf(this.first.ops[i]).indexOf(t);
      if (k >= 0) return operandsOf(this.second.ops[i])[k];
    }
    return null;
  }

  private constant(t: Tensor): string {
    const other = this.counterpart(t);
    const values = t.array.read();
    if (other) {
      const scope = this.current ? ` (used by '${this.current.op.op}' in ${where(this.current.op)})` : '';
      if (other.shape.join() !== t.shape.join())
        throw new Error(
          `exportOnnx: a constant made inside forward${scope} has shape ${formatShape(t.shape)} on the example and ${formatShape(other.shape)} when a dynamic axis grows; ` +
            'a graph constant cannot follow an axis. Make it at a fixed size and expand() it to the axis (the graph then expands it), or leave that axis static.',
        );
      const otherValues = other.array.read();
      if (values.some((v, i) => !Object.is(v, otherValues[i])))
        throw new Error(
          `exportOnnx: a value made inside forward${scope} depends on the input (its values, or the size of a dynamic axis), but outside the traced ops ` +
            '(through JavaScript numbers: item(), toArray(), a shape), so a graph would hold it as a constant. Compute it with tensor ops, or leave that axis static.',
        );
    }
    return this.graph.initializer('const', t.dtype, t.shape, values);
  }

  private emit(index: number): void {
    const op = this.first.ops[index];
    const operator = OPERATORS[op.op];
    const previous = this.current;
    this.current = { op, index };
    try {
      if (isTensor(op.attributes.forward)) {
        // A customOp: its forward's ops were traced before it; the op is their result.
        this.names.set(op.outputs[0], this.value(op.attributes.forward as Tensor));
        return;
      }
      const refusal = operator ? operator.refuse?.(op) : 'no ONNX operator corresponds to it';
      if (refusal) throw new Error(`exportOnnx: cannot export op '${op.op}' (in ${where(op)}): ${refusal}`);
      const other = this.second.ops[index];
      if (settings(op) !== settings(other))
        throw new Error(
          `exportOnnx: the arguments of '${op.op}' (in ${where(op)}) are ${settings(op)} on the example and ${settings(other)} when the dynamic axes grow; ` +
            'they would be fixed in the graph. Slice, pool or reshape by sizes that do not follow a dynamic axis, or leave that axis static.',
        );
      const outputs = (operator as Operator).emit(op, this as OperatorContext, other);
      op.outputs.forEach((t, slot) => {
        if (!this.names.has(t)) this.names.set(t, outputs[slot]);
      });
    } finally {
      this.current = previous;
    }
  }

  /**
   * An int64 shape for `first` (a shape in the first run) that is `second` in the second run:
   * a constant when they agree, else built from the dynamic axes' sizes (Shape of the input that
   * declares each axis, times the multiple of it the dim is).
   */
  shape(
    first: readonly number[],
    second: readonly number[],
    fill?: (position: number) => number | null,
  ): string {
    if (first.every((d, i) => d === second[i])) return this.graph.int64s(first);
    const pieces: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) pieces.push(this.graph.int64s(run));
      run = [];
    };
    first.forEach((d, i) => {
      if (d === second[i]) return run.push(d);
      const filled = fill?.(i) ?? null;
      if (filled !== null) return run.push(filled);
      flush();
      pieces.push(this.dynamicDim(d, second[i]));
    });
    flush();
    return pieces.length === 1 ? pieces[0] : this.graph.node('Concat', pieces, { axis: 0 })[0];
  }

  /** A 1-element int64 tensor holding a dim that is `a` in the first run and `b` in the second. */
  private dynamicDim(a: number, b: number): string {
    for (const axis of this.axes) {
      const [sa, sb] = axis.sizes;
      if (a % sa !== 0) continue;
      const multiple = a / sa;
      if (multiple * sb !== b) continue;
      const size = this.axisDim(axis);
      return multiple === 1 ? size : this.graph.node('Mul', [size, this.graph.int64s([multiple])])[0];
    }
    const op = this.current?.op;
    throw new Error(
      `exportOnnx: a shape of '${op?.op}' (in ${op ? where(op) : 'the model'}) has a dim that is ${a} on the example and ${b} when the dynamic axes grow, ` +
        'which is no multiple of one dynamic axis; it cannot be written in terms of the declared axes.',
    );
  }

  private axisDim(axis: Axis): string {
    let name = this.axisDims.get(axis);
    if (name === undefined) {
      const input = this.inputNames[axis.input];
      name = this.graph.node('Shape', [input], { start: axis.axis, end: axis.axis + 1 })[0];
      this.axisDims.set(axis, name);
    }
    return name;
  }

  /** The declared shape of a value from its sizes in the two runs: dynamic dims by axis name. */
  private dims(first: readonly number[], second: readonly number[]): Dim[] {
    return first.map((d, i) => {
      if (d === second[i]) return d;
      const axis = this.axes.find((a) => a.sizes[0] === d && a.sizes[1] === second[i]);
      return axis ? axis.name : null;
    });
  }

  inputInfo(t: Tensor, index: number): ValueInfo {
    return {
      name: this.inputNames[index],
      dtype: t.dtype,
      shape: this.dims(t.shape, this.second.inputs[index].shape),
    };
  }

  bindOutput(t: Tensor, other: Tensor, name: string): ValueInfo {
    const value = this.value(t);
    this.reserve(name);
    this.graph.node('Identity', [value], {}, [name]);
    return { name, dtype: t.dtype, shape: this.dims(t.shape, other.shape) };
  }
}

/** An op's arguments that are not tensors, as text: they must not change with the dynamic axes. */
function settings(op: TracedOp): string {
  return JSON.stringify(op.attributes, (_, v) => (isTensor(v) ? undefined : v));
}

/** Where an op ran, for error messages: its module path, or the model's own forward. */
function where(op: TracedOp): string {
  return op.scope ? `module '${op.scope}'` : "the model's own forward";
}
