import { cat, type DType, formatShape, isTracing, stack, type Tensor, traceAs, zeros } from '@agrad/autograd';
import { checkOptions, checkValue, rules } from '@agrad/tensor';
import { floatDtype, requireDims, requireTensor } from '../check.js';
import * as F from '../functional.js';
import { uniform } from '../init.js';
import { Module } from '../module.js';

/** LSTM's and GRU's options, as PyTorch's: stacked layers, biases, batch-first layout, dropout between layers, both directions, dtype. */
export interface RecurrentOptions {
  /** Stacked layers, each reading the previous one's output (default 1). */
  numLayers?: number;
  /** Biases b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output as [N, L, features] instead of PyTorch's default [L, N, features]. */
  batchFirst?: boolean;
  /** Dropout on each layer's output but the last, in training mode (default 0). */
  dropout?: number;
  /** A second pass over the sequence from its end; outputs of both are concatenated (default false). */
  bidirectional?: boolean;
  dtype?: DType;
}

type Kind = 'LSTM' | 'GRU';

/**
 * What LSTM and GRU share, with PyTorch's parameter layout: for layer l and direction ('' or
 * '_reverse'), `weight_ih_l{l}` [G H, input], `weight_hh_l{l}` [G H, H], `bias_ih_l{l}` and
 * `bias_hh_l{l}` [G H], with the G gates' rows stacked in PyTorch's order; all drawn from
 * U(-1/sqrt(H), 1/sqrt(H)) as there. Composed from linear, sigmoid and tanh, so the gradients
 * follow from autograd (backpropagation through time).
 */
abstract class Recurrent extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;

  constructor(
    private readonly kind: Kind,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RecurrentOptions,
  ) {
    super();
    checkValue(kind, 'inputSize', inputSize, rules.positiveInteger);
    checkValue(kind, 'hiddenSize', hiddenSize, rules.positiveInteger);
    checkOptions(kind, options, {
      numLayers: rules.positiveInteger,
      bias: rules.boolean,
      batchFirst: rules.boolean,
      dropout: rules.probability,
      bidirectional: rules.boolean,
      dtype: floatDtype,
    });
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    const dtype = options.dtype ?? 'float32';
    const rows = this.gates * hiddenSize;
    const bound = 1 / Math.sqrt(hiddenSize);
    for (let layer = 0; layer < this.numLayers; layer++) {
      const inputs = layer === 0 ? inputSize : hiddenSize * this.directions;
      for (const suffix of this.suffixes) {
        this.registerParameter(`weight_ih_l${layer}${suffix}`, uniform([rows, inputs], -bound, bound, dtype));
        this.registerParameter(
          `weight_hh_l${layer}${suffix}`,
          uniform([rows, hiddenSize], -bound, bound, dtype),
        );
        if (this.bias) {
          this.registerParameter(`bias_ih_l${layer}${suffix}`, uniform([rows], -bound, bound, dtype));
          this.registerParameter(`bias_hh_l${layer}${suffix}`, uniform([rows], -bound, bound, dtype));
        }
      }
    }
  }

  /** Rows per hidden unit in the weights: LSTM's input, forget, cell and output gates; GRU's reset, update and new. */
  private get gates(): number {
    return this.kind === 'LSTM' ? 4 : 3;
  }

  private get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  private get suffixes(): string[] {
    return this.bidirectional ? ['', '_reverse'] : [''];
  }

  /**
   * Runs every layer and direction over x: [L, N, input] (or batch first, or [L, input]
   * unbatched), from the states h0 (and c0 for LSTM), each [layers * directions, N, H] or
   * [layers * directions, H] unbatched, zeros when not given. Returns the last layer's output
   * and the final states, in x's layout.
   */
  protected run(x: Tensor, h0: Tensor | null, c0: Tensor | null): [Tensor, Tensor, Tensor | null] {
    const op = this.kind;
    requireDims(op, 'input', x, [2, 3], '[L, N, input] (or [N, L, input] with batchFirst, or [L, input])');
    const unbatched = x.ndim === 2;
    const input = unbatched ? x.unsqueeze(1) : this.batchFirst ? x.transpose(0, 1) : x;
    const [length, batch, features] = input.shape;
    if (features !== this.inputSize)
      throw new RangeError(
        `${op}: expected input with ${this.inputSize} features (inputSize), got ${formatShape(x.shape)}`,
      );
    if (length === 0) throw new RangeError(`${op}: the input sequence is empty (${formatShape(x.shape)})`);
    const stateShape = [this.numLayers * this.directions, batch, this.hiddenSize];
    const initial = (state: Tensor | null, name: string) => {
      if (state === null) return zeros(stateShape, { dtype: x.dtype });
      requireTensor(op, name, state);
      const expected = unbatched ? [stateShape[0], stateShape[2]] : stateShape;
      if (state.shape.length !== expected.length || state.shape.some((d, i) => d !== expected[i]))
        throw new RangeError(
          `${op}: expected ${name} of shape ${formatShape(expected)} (layers * directions, ${unbatched ? '' : 'batch, '}hiddenSize), got ${formatShape(state.shape)}`,
        );
      return unbatched ? state.unsqueeze(1) : state;
    };
    const [h, c] = [initial(h0, 'h0'), this.kind === 'LSTM' ? initial(c0, 'c0') : null];
    const [hs, cs]: [Tensor[], Tensor[]] = [[], []];
    // The sequence as a list of steps [N, features], from layer to layer: slicing one tensor per
    // step would give each step's gradient the whole sequence's size (quadratic in L).
    let steps = Array.from({ length }, (_, t) => input.narrow(0, t, 1).squeeze(0));
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outputs = this.suffixes.map((suffix, direction) => {
        const at = layer * this.directions + direction;
        const [output, hN, cN] = this.layer(
          steps,
          `l${layer}${suffix}`,
          direction === 1,
          h.narrow(0, at, 1).squeeze(0),
          c ? c.narrow(0, at, 1).squeeze(0) : null,
        );
        hs.push(hN);
        if (cN) cs.push(cN);
        return output;
      });
      steps =
        outputs.length === 2 ? outputs[0].map((forward, t) => cat([forward, outputs[1][t]], 1)) : outputs[0];
      if (layer < this.numLayers - 1 && this.dropout > 0)
        steps = steps.map((step) => F.dropout(step, this.dropout, this.training));
    }
    const sequence = stack(steps, 0);
    const output = unbatched ? sequence.squeeze(1) : this.batchFirst ? sequence.transpose(0, 1) : sequence;
    const final = (states: Tensor[]) => (unbatched ? stack(states, 0).squeeze(1) : stack(states, 0));
    return [output, final(hs), cs.length > 0 ? final(cs) : null];
  }

  /**
   * One layer in one direction, as `pass`; under a trace (./trace in @agrad/autograd) it is one
   * traced op ('lstm' or 'gru') from the sequence as one tensor [L, N, features], the initial
   * states and the weights to the output sequence [L, N, H] and the final states, so exporters
   * see a recurrent layer (ONNX's LSTM and GRU) rather than its unrolled steps.
   */
  private layer(
    steps: Tensor[],
    name: string,
    reverse: boolean,
    h0: Tensor,
    c0: Tensor | null,
  ): [Tensor[], Tensor, Tensor | null] {
    if (!isTracing()) return this.pass(steps, name, reverse, h0, c0);
    const weights = ['ih', 'hh'].map((kind) => this.param(`weight_${kind}_${name}`));
    const biases = this.bias ? ['ih', 'hh'].map((kind) => this.param(`bias_${kind}_${name}`)) : [];
    const inputs = [stack(steps, 0), h0, ...(c0 ? [c0] : []), ...weights, ...biases];
    const attributes = { hiddenSize: this.hiddenSize, reverse, bias: this.bias };
    const [sequence, hN, cN] = traceAs(this.kind.toLowerCase(), inputs, attributes, () => {
      const [outputs, h, c] = this.pass(steps, name, reverse, h0, c0);
      return c ? [stack(outputs, 0), h, c] : [stack(outputs, 0), h];
    });
    const outputs = Array.from({ length: steps.length }, (_, t) => sequence.narrow(0, t, 1).squeeze(0));
    return [outputs, hN, cN ?? null];
  }

  /** One layer in one direction over the steps [N, features]: its outputs [N, H] per step and final h (and c). */
  private pass(
    inputs: Tensor[],
    name: string,
    reverse: boolean,
    h0: Tensor,
    c0: Tensor | null,
  ): [Tensor[], Tensor, Tensor | null] {
    const weight = (kind: string) => this.param(`weight_${kind}_${name}`);
    const bias = (kind: string) => (this.bias ? this.param(`bias_${kind}_${name}`) : null);
    const H = this.hiddenSize;
    const gate = (t: Tensor, k: number) => t.narrow(-1, k * H, H);
    const length = inputs.length;
    const outputs: Tensor[] = new Array(length);
    let [h, c] = [h0, c0];
    for (let s = 0; s < length; s++) {
      const t = reverse ? length - 1 - s : s;
      const x = F.linear(inputs[t], weight('ih'), bias('ih'));
      const r = F.linear(h, weight('hh'), bias('hh'));
      if (this.kind === 'LSTM') {
        // i, f, g, o:  c' = f c + i g;  h' = o tanh(c')
        const gates = x.add(r);
        const [i, f, g, o] = [0, 1, 2, 3].map((k) => gate(gates, k));
        c = f
          .sigmoid()
          .mul(c as Tensor)
          .add(i.sigmoid().mul(g.tanh()));
        h = o.sigmoid().mul(c.tanh());
      } else {
        // r, z, n:  n = tanh(x_n + r (W_hn h + b_hn));  h' = (1 - z) n + z h
        const reset = gate(x, 0).add(gate(r, 0)).sigmoid();
        const update = gate(x, 1).add(gate(r, 1)).sigmoid();
        const candidate = gate(x, 2)
          .add(reset.mul(gate(r, 2)))
          .tanh();
        h = update.neg().add(1).mul(candidate).add(update.mul(h));
      }
      outputs[t] = h;
    }
    return [outputs, h, c];
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.numLayers !== 1) parts.push(`num_layers=${this.numLayers}`);
    if (!this.bias) parts.push('bias=False');
    if (this.batchFirst) parts.push('batch_first=True');
    if (this.dropout !== 0) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=True');
    return parts.join(', ');
  }
}

/**
 * A multi-layer long short-term memory (Hochreiter & Schmidhuber, 1997), as torch.nn.LSTM:
 *     i = sigma(W_ii x + b_ii + W_hi h + b_hi)    f = sigma(W_if x + b_if + W_hf h + b_hf)
 *     g = tanh(W_ig x + b_ig + W_hg h + b_hg)     o = sigma(W_io x + b_io + W_ho h + b_ho)
 *     c' = f c + i g;   h' = o tanh(c')
 * `forward(x, [h0, c0]?)` returns `[output, [hN, cN]]`: output [L, N, D H] (D = 2 when
 * bidirectional, the two directions concatenated), hN and cN [layers * D, N, H].
 */
export class LSTM extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('LSTM', inputSize, hiddenSize, options);
  }

  forward(x: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    if (state != null && (!Array.isArray(state) || state.length !== 2))
      throw new TypeError('LSTM: expected the state as [h0, c0], two tensors');
    const [output, h, c] = this.run(x, state?.[0] ?? null, state?.[1] ?? null);
    return [output, [h, c as Tensor]];
  }
}

/**
 * A multi-layer gated recurrent unit (Cho et al., 2014), as torch.nn.GRU:
 *     r = sigma(W_ir x + b_ir + W_hr h + b_hr)    z = sigma(W_iz x + b_iz + W_hz h + b_hz)
 *     n = tanh(W_in x + b_in + r (W_hn h + b_hn));   h' = (1 - z) n + z h
 * `forward(x, h0?)` returns `[output, hN]`, shaped as LSTM's.
 */
export class GRU extends Recurrent {
  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('GRU', inputSize, hiddenSize, options);
  }

  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const [output, h] = this.run(x, h0 ?? null, null);
    return [output, h];
  }
}
