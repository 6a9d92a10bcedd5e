import { gradcheck, manualSeed, noGrad, randn, type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRU, LSTM } from '../src/index.js';

/**
 * LSTM and GRU beyond the PyTorch goldens (layers.test.ts): their gradients, with respect to the
 * input, the initial state and every weight, against central differences (float64) over random
 * sizes and layouts; PyTorch's state-dict keys; and bad input named.
 */

const layouts = fc.record({
  kind: fc.constantFrom('LSTM', 'GRU'),
  inputSize: fc.integer({ min: 1, max: 3 }),
  hiddenSize: fc.integer({ min: 1, max: 3 }),
  numLayers: fc.integer({ min: 1, max: 2 }),
  bidirectional: fc.boolean(),
  batchFirst: fc.boolean(),
  bias: fc.boolean(),
  length: fc.integer({ min: 1, max: 4 }),
  batch: fc.integer({ min: 1, max: 2 }),
  seed: fc.integer({ min: 0, max: 1000 }),
});

describe('LSTM and GRU', () => {
  it("property: gradients for the input and the initial state pass gradcheck; the weights' match central differences", () => {
    fc.assert(
      fc.property(layouts, (o) => {
        manualSeed(o.seed);
        const options = {
          numLayers: o.numLayers,
          bidirectional: o.bidirectional,
          batchFirst: o.batchFirst,
          bias: o.bias,
        };
        const module =
          o.kind === 'LSTM'
            ? new LSTM(o.inputSize, o.hiddenSize, { ...options, dtype: 'float64' })
            : new GRU(o.inputSize, o.hiddenSize, { ...options, dtype: 'float64' });
        const shape = o.batchFirst ? [o.batch, o.length, o.inputSize] : [o.length, o.batch, o.inputSize];
        const states = [(o.bidirectional ? 2 : 1) * o.numLayers, o.batch, o.hiddenSize];
        const [x, h0, c0] = [
          randn(shape, { dtype: 'float64' }),
          randn(states, { dtype: 'float64' }),
          randn(states, { dtype: 'float64' }),
        ];
        // A loss that reads the output and the final states (h squared, so its gradient varies).
        const loss = (xi: Tensor, hi: Tensor, ci: Tensor) => {
          if (module instanceof LSTM) {
            const [out, [h, c]] = module.forward(xi, [hi, ci]);
            return out.mul(out.add(0.5)).sum().add(h.mul(h).sum()).add(c.sum());
          }
          const [out, h] = (module as GRU).forward(xi, hi);
          return out.mul(out.add(0.5)).sum().add(h.mul(h).sum());
        };
        const report = gradcheck(loss, [x, h0, c0], { directions: 2 });
        expect(report.ok, report.message).toBe(true);
        // The weights: <dL/dW, v> against (L(W + eps v) - L(W - eps v)) / 2 eps along a random v.
        const weights = module.parameters();
        for (const w of weights) w.grad = null;
        loss(x, h0, c0).backward();
        const directions = weights.map((w) => randn(w.shape, { dtype: 'float64' }));
        const analytical = weights.reduce(
          (sum, w, i) => sum + (w.grad as Tensor).mul(directions[i]).sum().item(),
          0,
        );
        const originals = weights.map((w) => w.detach().clone());
        const at = (eps: number) =>
          noGrad(() => {
            weights.forEach((w, i) => w.copy_(originals[i].add(directions[i].mul(eps))));
            return loss(x, h0, c0).item();
          });
        const eps = 1e-6;
        const numerical = (at(eps) - at(-eps)) / (2 * eps);
        noGrad(() => weights.forEach((w, i) => w.copy_(originals[i])));
        expect(Math.abs(analytical - numerical)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(numerical)));
      }),
      { numRuns: 15 },
    );
  }, 120_000);

  it("names its parameters as PyTorch's state dict does", () => {
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
    expect(Object.keys(lstm.stateDict())).toEqual([
      'weight_ih_l0',
      'weight_hh_l0',
      'bias_ih_l0',
      'bias_hh_l0',
      'weight_ih_l0_reverse',
      'weight_hh_l0_reverse',
      'bias_ih_l0_reverse',
      'bias_hh_l0_reverse',
      'weight_ih_l1',
      'weight_hh_l1',
      'bias_ih_l1',
      'bias_hh_l1',
      'weight_ih_l1_reverse',
      'weight_hh_l1_reverse',
      'bias_ih_l1_reverse',
      'bias_hh_l1_reverse',
    ]);
    const shapes = Object.fromEntries(Object.entries(lstm.stateDict()).map(([k, v]) => [k, v.shape]));
    expect(shapes.weight_ih_l0).toEqual([16, 3]);
    expect(shapes.weight_ih_l1).toEqual([16, 8]); // the two directions' outputs, concatenated
    expect(shapes.weight_hh_l1_reverse).toEqual([16, 4]);
    const gru = new GRU(2, 5, { bias: false });
    expect(Object.fromEntries(Object.entries(gru.stateDict()).map(([k, v]) => [k, v.shape]))).toEqual({
      weight_ih_l0: [15, 2],
      weight_hh_l0: [15, 5],
    });
    expect(String(lstm)).toBe('LSTM(3, 4, num_layers=2, bidirectional=True)');
  });

  it('returns outputs and states in the documented shapes, batch first and unbatched too', () => {
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
    const [out, [h, c]] = lstm.forward(randn([2, 5, 3]));
    expect([out.shape, h.shape, c.shape]).toEqual([
      [2, 5, 8],
      [4, 2, 4],
      [4, 2, 4],
    ]);
    const [single, hn] = new GRU(3, 4).forward(randn([5, 3]));
    expect([single.shape, hn.shape]).toEqual([
      [5, 4],
      [1, 4],
    ]);
    // The last step's output is the final state of the forward direction.
    expect(Array.from(single.narrow(0, 4, 1).data)).toEqual(Array.from(hn.data));
  });

  it('refuses bad sizes, states and options, naming them', () => {
    const lstm = new LSTM(3, 4);
    expect(() => lstm.forward(randn([5, 2, 2]))).toThrow(
      /LSTM: expected input with 3 features \(inputSize\), got \[5,2,2\]/,
    );
    expect(() => lstm.forward(randn([5]))).toThrow(/LSTM: expected input/);
    expect(() => lstm.forward(randn([0, 2, 3]))).toThrow(/LSTM: the input sequence is empty/);
    expect(() => lstm.forward(randn([5, 2, 3]), [randn([1, 3, 4]), randn([1, 2, 4])])).toThrow(
      /LSTM: expected h0 of shape \[1,2,4\].*got \[1,3,4\]/,
    );
    expect(() => lstm.forward(randn([5, 2, 3]), [randn([1, 2, 4])] as never)).toThrow(
      /LSTM: expected the state as \[h0, c0\]/,
    );
    expect(() => new GRU(3, 4).forward(randn([5, 2, 3]), tensor([1]))).toThrow(
      /GRU: expected h0 of shape \[1,2,4\]/,
    );
    expect(() => new GRU(0, 4)).toThrow(/GRU: inputSize must be an integer >= 1, got 0/);
    expect(() => new LSTM(3, 4, { numLayer: 2 } as never)).toThrow(/LSTM.*numLayer/);
    expect(() => new LSTM(3, 4, { dropout: 1.5 })).toThrow(/LSTM.*dropout/);
    expect(() => new LSTM(3, 4, { projSize: 2 } as never)).toThrow(/LSTM.*projSize/);
  });
});
