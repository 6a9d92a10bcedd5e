import { Tensor, type TracedOp } from '@agrad/autograd';
import type { DType } from '@agrad/tensor';
import { type AttributeValue, type GraphBuilder, ONNX_TYPE } from './graph.js';

/**
 * How each traced op (a primitive of @agrad/autograd, or a composite that marks itself with
 * traceAs) is written as ONNX operators. Each entry is exact: it computes what agrad computes,
 * up to float rounding, or it refuses with the reason. Ops missing here are refused.
 */

/** What an entry can ask of the exporter (./export.ts). */
export interface OperatorContext {
  readonly graph: GraphBuilder;
  readonly opset: number;
  /** The ONNX name of a value of the traced run, emitting whatever produces it. */
  value(t: Tensor): string;
  /** Whether a value is a constant (made inside forward from no input and no parameter). */
  isConstant(t: Tensor): boolean;
  /**
   * An int64 shape that is `first` on the example and `second` when the dynamic axes grow;
   * `fill` may give a plain number for a position that differs (Reshape's 0 or -1, Expand's 1).
   */
  shape(
    first: readonly number[],
    second: readonly number[],
    fill?: (position: number) => number | null,
  ): string;
}

/** How one traced op is written in ONNX, or why it cannot be. */
export interface Operator {
  /** Why this traced op cannot be exported as it was called (undefined: it can). */
  refuse?(op: TracedOp): string | undefined;
  /** Emits the op; returns the ONNX names of its outputs. `other` is the same op in the second run. */
  emit(op: TracedOp, context: OperatorContext, other: TracedOp): string[];
}

export const isTensor = (v: unknown): v is Tensor => v instanceof Tensor;

/**
 * A traced op's tensor operands: its inputs, then the tensors among its attributes (an index, a
 * condition, a custom op's forward result).
 */
export function operandsOf(op: TracedOp): Tensor[] {
  return [...op.inputs, ...Object.values(op.attributes).filter(isTensor)];
}

type Attributes = Readonly<Record<string, AttributeValue | undefined>>;

const attr = <T>(op: TracedOp, name: string) => op.attributes[name] as T;

/** An op that maps one to one: ONNX's `type` over the op's inputs (and fixed attributes). */
function direct(type: string, attributes: (op: TracedOp) => Attributes = () => ({})): Operator {
  return {
    emit: (op, c) =>
      c.graph.node(
        type,
        op.inputs.map((t) => c.value(t)),
        attributes(op),
      ),
  };
}

function refused(reason: string): Operator {
  return { refuse: () => reason, emit: () => [] };
}

/** A scalar constant of `dtype`, for the fixed numbers of a composed equivalent. */
function scalar(c: OperatorContext, value: number, dtype: DType): string {
  const data =
    dtype === 'float64'
      ? Float64Array.of(value)
      : dtype === 'int32'
        ? Int32Array.of(value)
        : dtype === 'bool'
          ? Uint8Array.of(value)
          : Float32Array.of(value);
  return c.graph.initializer('scalar', dtype, [], data);
}

/** A constant filled with one value, for an affine part a layer does not have (ONNX requires it). */
function filled(c: OperatorContext, value: number, shape: readonly number[], dtype: DType): string {
  const size = shape.reduce((p, d) => p * d, 1);
  const data = dtype === 'float64' ? new Float64Array(size).fill(value) : new Float32Array(size).fill(value);
  return c.graph.initializer(value === 0 ? 'zeros' : 'ones', dtype, shape, data);
}

/** ONNX's reductions take their axes as an input from these opsets on (ReduceSum from 13). */
function reduce(type: string, inputAxesFrom: number): Operator {
  return {
    emit: (op, c) => {
      const dims = attr<number[]>(op, 'dims');
      const x = c.value(op.inputs[0]);
      if (dims.length === 0) return c.graph.node('Identity', [x]);
      if (c.opset >= inputAxesFrom) return c.graph.node(type, [x, c.graph.int64s(dims)], { keepdims: 1 });
      return c.graph.node(type, [x], { axes: dims, keepdims: 1 });
    },
  };
}

/** Pads [begin..., end...] as ONNX writes them, from one padding per spatial dim on both sides. */
const symmetric = (padding: readonly number[]) => [...padding, ...padding];

/** Blocks of `rows` rows of a stacked weight or bias, reordered: PyTorch's gate order to ONNX's. */
function gates(c: OperatorContext, value: string, rows: number, order: readonly number[]): string {
  const blocks = order.map(
    (k) =>
      c.graph.node('Slice', [
        value,
        c.graph.int64s([k * rows]),
        c.graph.int64s([(k + 1) * rows]),
        c.graph.int64s([0]),
      ])[0],
  );
  return c.graph.node('Concat', blocks, { axis: 0 })[0];
}

const unsqueeze0 = (c: OperatorContext, value: string) =>
  c.graph.node('Unsqueeze', [value, c.graph.int64s([0])])[0];

/**
 * ONNX's LSTM and GRU over one layer in one direction, from a traced 'lstm' or 'gru' (see
 * @agrad/nn's recurrent layers): X [L, N, F], weights stacked as [1, G H, F], biases as
 * [1, 2 G H], gates reordered (PyTorch's LSTM i f g o is ONNX's i o f c; GRU's r z n is z r h),
 * and the outputs' direction axis dropped.
 */
function recurrent(kind: 'LSTM' | 'GRU'): Operator {
  // Rows of PyTorch's stacked weight, in ONNX's gate order.
  const order = kind === 'LSTM' ? [0, 3, 1, 2] : [1, 0, 2];
  return {
    emit: (op, c) => {
      const hidden = attr<number>(op, 'hiddenSize');
      const states = kind === 'LSTM' ? 2 : 1;
      const [sequence, ...rest] = op.inputs;
      const initial = rest.slice(0, states);
      const [wIh, wHh, bIh, bHh] = rest.slice(states);
      const stacked = (t: Tensor) => unsqueeze0(c, gates(c, c.value(t), hidden, order));
      const inputs = [c.value(sequence), stacked(wIh), stacked(wHh)];
      if (bIh) {
        const both = c.graph.node(
          'Concat',
          [gates(c, c.value(bIh), hidden, order), gates(c, c.value(bHh), hidden, order)],
          {
            axis: 0,
          },
        )[0];
        inputs.push(unsqueeze0(c, both));
      } else inputs.push('');
      inputs.push(''); // sequence_lens: every sequence is whole
      // A state of zeros is ONNX's default: omitting it keeps the graph free of the batch size.
      for (const state of initial) inputs.push(isZeroConstant(c, state) ? '' : unsqueeze0(c, c.value(state)));
      while (inputs[inputs.length - 1] === '') inputs.pop();
      const outputs = c.graph.node(
        kind,
        inputs,
        {
          hidden_size: hidden,
          direction: attr<boolean>(op, 'reverse') ? 'reverse' : 'forward',
          linear_before_reset: kind === 'GRU' ? 1 : undefined,
        },
        1 + states,
      );
      const squeeze = (value: string, axis: number) =>
        c.graph.node('Squeeze', [value, c.graph.int64s([axis])])[0];
      return [squeeze(outputs[0], 1), ...outputs.slice(1).map((state) => squeeze(state, 0))];
    },
  };
}

function isZeroConstant(c: OperatorContext, t: Tensor): boolean {
  return c.isConstant(t) && t.array.read().every((v) => v === 0);
}

const COMPARISONS: Record<string, string> = {
  eq: 'Equal',
  lt: 'Less',
  le: 'LessOrEqual',
  gt: 'Greater',
  ge: 'GreaterOrEqual',
  and: 'And',
  or: 'Or',
};

/** Every traced op the exporter knows, by name: its ONNX form, or its refusal. */
export const OPERATORS: Record<string, Operator> = {
  // Elementwise primitives.
  add: direct('Add'),
  mul: direct('Mul'),
  div: direct('Div'),
  pow: direct('Pow'),
  maximum: direct('Max'),
  // Only bools reach minimum as a plain kernel (../autograd functions.ts): the smaller is AND.
  minimum: direct('And'),
  exp: direct('Exp'),
  log: direct('Log'),
  sqrt: direct('Sqrt'),
  sin: direct('Sin'),
  cos: direct('Cos'),
  tanh: direct('Tanh'),
  relu: direct('Relu'),
  sigmoid: direct('Sigmoid'),
  erf: direct('Erf'),
  sign: direct('Sign'),
  not: direct('Not'),
  log1p: {
    emit: (op, c) => {
      const x = op.inputs[0];
      const shifted = c.graph.node('Add', [c.value(x), scalar(c, 1, x.dtype)])[0];
      return c.graph.node('Log', [shifted]);
    },
  },
  ...Object.fromEntries(Object.entries(COMPARISONS).map(([name, type]) => [name, direct(type)])),
  ne: {
    emit: (op, c) =>
      c.graph.node(
        'Not',
        c.graph.node(
          'Equal',
          op.inputs.map((t) => c.value(t)),
        ),
      ),
  },
  where: {
    emit: (op, c) =>
      c.graph.node('Where', [c.value(attr<Tensor>(op, 'condition')), ...op.inputs.map((t) => c.value(t))]),
  },
  // Identities.
  detach: direct('Identity'),
  clone: direct('Identity'),
  to: direct('Identity'),
  cast: direct('Cast', (op) => ({ to: ONNX_TYPE[attr<DType>(op, 'dtype')] })),
  // Reductions (kept dims, as the primitives keep them).
  sum: reduce('ReduceSum', 13),
  amax: reduce('ReduceMax', 18),
  argmax: argReduce('ArgMax'),
  argmin: argReduce('ArgMin'),
  // Movement.
  reshape: {
    emit: (op, c, other) => {
      const [x, y] = [op.inputs[0], op.outputs[0]];
      const [xOther, yOther] = [other.inputs[0], other.outputs[0]];
      const differs = y.shape.map((d, i) => d !== yOther.shape[i]);
      // A dim that follows the input's dim at the same position is ONNX's 0 ("copy it"); one
      // remaining dynamic dim is -1 ("whatever is left"); more are built from the axes' sizes.
      // An empty tensor's shape holds a literal 0: then 0 means 0 (allowzero) and nothing copies.
      const empty = y.shape.includes(0);
      const copies = (i: number) =>
        !empty && i < x.ndim && x.shape[i] === y.shape[i] && xOther.shape[i] === yOther.shape[i];
      const left = differs.filter((d, i) => d && !copies(i)).length;
      const shape = c.shape(y.shape, yOther.shape, (i) => (copies(i) ? 0 : left === 1 ? -1 : null));
      return c.graph.node('Reshape', [c.value(x), shape], { allowzero: empty ? 1 : undefined });
    },
  },
  expand: {
    emit: (op, c, other) => {
      const [x, y] = [op.inputs[0], op.outputs[0]];
      const [xOther, yOther] = [other.inputs[0], other.outputs[0]];
      const lead = y.ndim - x.ndim;
      // Where the input already has the dynamic dim, 1 broadcasts to it.
      const own = (i: number) =>
        i >= lead && x.shape[i - lead] === y.shape[i] && xOther.shape[i - lead] === yOther.shape[i]
          ? 1
          : null;
      return c.graph.node('Expand', [c.value(x), c.shape(y.shape, yOther.shape, own)]);
    },
  },
  permute: direct('Transpose', (op) => ({ perm: attr<number[]>(op, 'dims') })),
  narrow: {
    emit: (op, c) => {
      const [dim, start, length] = ['dim', 'start', 'length'].map((k) => attr<number>(op, k));
      return slice(c, op.inputs[0], dim, start, start + length, 1);
    },
  },
  slice: {
    emit: (op, c) => {
      const [dim, start, end, step] = ['dim', 'start', 'end', 'step'].map((k) => attr<number>(op, k));
      return slice(c, op.inputs[0], dim, start, end, step);
    },
  },
  cat: direct('Concat', (op) => ({ axis: attr<number>(op, 'dim') })),
  // Indexing.
  gather: {
    emit: (op, c) =>
      c.graph.node('GatherElements', [c.value(op.inputs[0]), c.value(attr<Tensor>(op, 'index'))], {
        axis: attr<number>(op, 'dim'),
      }),
  },
  indexSelect: {
    emit: (op, c) =>
      c.graph.node('Gather', [c.value(op.inputs[0]), c.value(attr<Tensor>(op, 'index'))], {
        axis: attr<number>(op, 'dim'),
      }),
  },
  matmul: direct('MatMul'),
  // Composites (traceAs in @agrad/autograd and @agrad/nn).
  linear: {
    emit: (op, c) => {
      const [x, weight, bias] = op.inputs;
      if (x.ndim === 2)
        return c.graph.node('Gemm', [c.value(x), c.value(weight), ...(bias ? [c.value(bias)] : [])], {
          transB: 1,
        });
      const transposed = c.graph.node('Transpose', [c.value(weight)], { perm: [1, 0] })[0];
      const product = c.graph.node('MatMul', [c.value(x), transposed]);
      return bias ? c.graph.node('Add', [product[0], c.value(bias)]) : product;
    },
  },
  conv2d: {
    emit: (op, c) => {
      const [x, weight, bias] = op.inputs;
      return c.graph.node('Conv', [c.value(x), c.value(weight), ...(bias ? [c.value(bias)] : [])], {
        kernel_shape: weight.shape.slice(2),
        strides: attr<number[]>(op, 'stride'),
        dilations: attr<number[]>(op, 'dilation'),
        group: attr<number>(op, 'groups'),
        pads: attr<number[]>(op, 'pads'),
      });
    },
  },
  convTranspose2d: {
    emit: (op, c) => {
      const [x, weight, bias] = op.inputs;
      return c.graph.node('ConvTranspose', [c.value(x), c.value(weight), ...(bias ? [c.value(bias)] : [])], {
        kernel_shape: weight.shape.slice(2),
        strides: attr<number[]>(op, 'stride'),
        dilations: attr<number[]>(op, 'dilation'),
        group: attr<number>(op, 'groups'),
        pads: symmetric(attr<number[]>(op, 'padding')),
        output_padding: attr<number[]>(op, 'outputPadding'),
      });
    },
  },
  maxPool2d: direct('MaxPool', (op) => ({
    kernel_shape: attr<number[]>(op, 'kernel'),
    strides: attr<number[]>(op, 'stride'),
    pads: symmetric(attr<number[]>(op, 'padding')),
    dilations: attr<number[]>(op, 'dilation'),
    ceil_mode: attr<boolean>(op, 'ceilMode') ? 1 : 0,
  })),
  maxPool2dEmptyWindow: refused(
    'some windows cover only padding (dilation steps over the whole input), where PyTorch gives -inf and ONNX MaxPool has no equivalent',
  ),
  avgPool2d: {
    refuse: (op) =>
      attr<number | null>(op, 'divisorOverride') !== null
        ? 'divisorOverride has no ONNX equivalent'
        : undefined,
    emit: direct('AveragePool', (op) => ({
      kernel_shape: attr<number[]>(op, 'kernel'),
      strides: attr<number[]>(op, 'stride'),
      pads: symmetric(attr<number[]>(op, 'padding')),
      ceil_mode: attr<boolean>(op, 'ceilMode') ? 1 : 0,
      count_include_pad: attr<boolean>(op, 'countIncludePad') ? 1 : 0,
    })).emit,
  },
  adaptiveAvgPool2d: {
    refuse: (op) => {
      const [input, output] = [attr<number[]>(op, 'input'), attr<number[]>(op, 'output')];
      if (op.inputs[0].ndim !== 4) return 'only batched [N, C, H, W] input is exported';
      if (input[0] % output[0] !== 0 || input[1] % output[1] !== 0)
        return `output ${output.join('x')} does not divide input ${input.join('x')}, so the cells differ in size (no ONNX pool does that)`;
      return undefined;
    },
    emit: (op, c) => {
      const [input, output] = [attr<number[]>(op, 'input'), attr<number[]>(op, 'output')];
      const x = c.value(op.inputs[0]);
      if (output[0] === 1 && output[1] === 1) return c.graph.node('GlobalAveragePool', [x]);
      const kernel = [input[0] / output[0], input[1] / output[1]];
      return c.graph.node('AveragePool', [x], { kernel_shape: kernel, strides: kernel });
    },
  },
  batchNorm: {
    emit: (op, c) => {
      const [x, mean, variance, ...affine] = op.inputs;
      const channels = [x.shape[1]];
      const weight = attr<boolean>(op, 'weight')
        ? c.value(affine.shift() as Tensor)
        : filled(c, 1, channels, x.dtype);
      const bias = attr<boolean>(op, 'bias')
        ? c.value(affine.shift() as Tensor)
        : filled(c, 0, channels, x.dtype);
      return c.graph.node(
        'BatchNormalization',
        [c.value(x), weight, bias, c.value(mean), c.value(variance)],
        {
          epsilon: { float: attr<number>(op, 'eps') },
        },
      );
    },
  },
  layerNorm: {
    emit: (op, c) => {
      const [x, ...affine] = op.inputs;
      const axis = attr<number>(op, 'axis');
      const normalized = x.shape.slice(axis);
      const weight = attr<boolean>(op, 'weight')
        ? c.value(affine.shift() as Tensor)
        : filled(c, 1, normalized, x.dtype);
      const bias = attr<boolean>(op, 'bias') ? [c.value(affine.shift() as Tensor)] : [];
      return c.graph.node('LayerNormalization', [c.value(x), weight, ...bias], {
        axis,
        epsilon: { float: attr<number>(op, 'eps') },
      });
    },
  },
  softmax: direct('Softmax', (op) => ({ axis: attr<number>(op, 'dim') })),
  logSoftmax: direct('LogSoftmax', (op) => ({ axis: attr<number>(op, 'dim') })),
  embedding: direct('Gather', () => ({ axis: 0 })),
  lstm: recurrent('LSTM'),
  gru: recurrent('GRU'),
  // Refused, with the reason.
  reluBackward: refused('it belongs to a backward pass, which an inference graph does not hold'),
  unfold: refused(
    'sliding windows are exported only as part of conv2d or pooling (no ONNX operator is im2col)',
  ),
  fold: refused(
    'col2im is exported only as part of convTranspose2d (no ONNX operator is col2im before opset 18)',
  ),
  scatterAdd: refused('scatterAdd is not exported yet'),
  indexAdd: refused('indexAdd is not exported yet'),
  maxPoolIndices: refused('max pooling indices are exported only inside maxPool2d'),
  sort: refused('sort and topk are not exported: ONNX TopK does not promise their order among ties and NaN'),
};

function argReduce(type: string): Operator {
  return {
    emit: (op, c) => {
      const x = op.inputs[0];
      const dim = attr<number | undefined>(op, 'dim');
      const keepdim = attr<boolean>(op, 'keepdim') ? 1 : 0;
      // Without a dim, over the flattened tensor, as torch.argmax.
      const source =
        dim === undefined ? c.graph.node('Reshape', [c.value(x), c.graph.int64s([-1])])[0] : c.value(x);
      const index = c.graph.node(type, [source], {
        axis: dim ?? 0,
        keepdims: dim === undefined ? 0 : keepdim,
      })[0];
      // ONNX's arg reductions give int64; agrad's indices are int32.
      const cast = c.graph.node('Cast', [index], { to: ONNX_TYPE.int32 });
      if (dim !== undefined || !keepdim) return cast;
      return c.graph.node('Reshape', [cast[0], c.graph.int64s(op.outputs[0].shape)]);
    },
  };
}

function slice(
  c: OperatorContext,
  x: Tensor,
  dim: number,
  start: number,
  end: number,
  step: number,
): string[] {
  const inputs = [c.value(x), c.graph.int64s([start]), c.graph.int64s([end]), c.graph.int64s([dim])];
  if (step !== 1) inputs.push(c.graph.int64s([step]));
  return c.graph.node('Slice', inputs);
}
