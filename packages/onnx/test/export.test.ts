import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad, randint, randn, type Tensor, tensor } from '@agrad/autograd';
import {
  BatchNorm2d,
  Conv2d,
  Dropout,
  Embedding,
  F,
  Flatten,
  GELU,
  GRU,
  LayerNorm,
  Linear,
  LSTM,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
  TransformerEncoderLayer,
} from '@agrad/nn';
import { adamw, Optimizer } from '@agrad/optim';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExportOptions, exportOnnx, saveOnnx } from '../src/index.js';
import { checkModel, expectClose, onnxChecker, runOnnx } from './helpers.js';

const ACTIVATIONS = { relu: ReLU, tanh: Tanh, gelu: GELU, sigmoid: Sigmoid };

/** Exports, checks with onnx.checker (where installed), runs in onnxruntime and compares with agrad. */
async function roundTrip(
  model: Module,
  inputs: Tensor[],
  options: ExportOptions = {},
  runInputs: Tensor[] = inputs,
): Promise<Uint8Array> {
  const bytes = exportOnnx(model, inputs, options);
  if (onnxChecker) expect(checkModel(bytes)).toBe('');
  const names = options.inputNames ?? (inputs.length === 1 ? ['input'] : inputs.map((_, i) => `input${i}`));
  const expected = noGrad(() => model.forward(...(runInputs as never[]))) as Tensor | Tensor[];
  const outputs = await runOnnx(bytes, Object.fromEntries(names.map((n, i) => [n, runInputs[i]])));
  const flat = (Array.isArray(expected) ? expected.flat(2) : [expected]) as Tensor[];
  const outputNames =
    options.outputNames ?? (flat.length === 1 ? ['output'] : flat.map((_, i) => `output${i}`));
  flat.forEach((t, i) => expectClose(outputs[outputNames[i]], t));
  return bytes;
}

/** A few AdamW steps on random data, so weights and running statistics are not their initial values. */
function train(model: Module, input: () => Tensor, target: () => Tensor, steps = 3): void {
  const optimizer = new Optimizer(model, adamw({ lr: 1e-2 }));
  model.train();
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    F.crossEntropy(model.forward(input() as never) as Tensor, target()).backward();
    optimizer.step();
  }
  model.eval();
}

describe('exportOnnx, run in onnxruntime-node', () => {
  it('an MLP matches agrad, and its dynamic batch axis takes another batch size', async () => {
    manualSeed(1);
    const model = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 4)).eval();
    const options = { dynamicAxes: { input: { 0: 'batch' } } };
    await roundTrip(model, [randn([3, 8])], options);
    await roundTrip(model, [randn([3, 8])], options, [randn([7, 8])]);
  });

  it('a CNN with BatchNorm (trained, so running statistics matter), max pooling and dropout', async () => {
    manualSeed(2);
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(4, 6, 3, { padding: 'same', stride: 1 }),
      new ReLU(),
      new Dropout(0.3),
      new Flatten(),
      new Linear(6 * 4 * 4, 3),
    );
    train(
      model,
      () => randn([8, 1, 8, 8]),
      () => randint(0, 3, [8]),
    );
    const bn = model.layers[1] as BatchNorm2d;
    expect(bn.buffer('running_mean').abs().sum().item()).toBeGreaterThan(0);
    const options = { dynamicAxes: { input: { 0: 'batch' } } };
    await roundTrip(model, [randn([2, 1, 8, 8])], options);
    await roundTrip(model, [randn([2, 1, 8, 8])], options, [randn([5, 1, 8, 8])]);
  });

  it('a TransformerEncoderLayer with a key padding mask (two inputs, one of them bool)', async () => {
    manualSeed(3);
    class Encoder extends Module {
      layer = new TransformerEncoderLayer(16, 4, {
        dimFeedforward: 32,
        batchFirst: true,
        activation: 'gelu',
      });
      forward(x: Tensor, padding: Tensor): Tensor {
        return this.layer.forward(x, { srcKeyPaddingMask: padding });
      }
    }
    const model = new Encoder().eval();
    const x = randn([2, 5, 16]);
    const padding = tensor([
      [false, false, false, true, true],
      [false, false, false, false, false],
    ]);
    const options = {
      inputNames: ['tokens', 'padding'],
      dynamicAxes: { tokens: { 0: 'batch' }, padding: { 0: 'batch' } },
    };
    await roundTrip(model, [x, padding], options);
    const three = tensor([
      [false, true, true, true, true],
      [false, false, false, false, false],
      [false, false, false, false, true],
    ]);
    await roundTrip(model, [x, padding], options, [randn([3, 5, 16]), three]);
  });

  it('an Embedding + LayerNorm text model on integer ids', async () => {
    manualSeed(4);
    class Text extends Module {
      embed = new Embedding(20, 8);
      norm = new LayerNorm(8);
      head = new Linear(8, 2);
      forward(ids: Tensor): Tensor {
        return this.head.forward(this.norm.forward(this.embed.forward(ids)).mean(1));
      }
    }
    const model = new Text().eval();
    const options = { dynamicAxes: { input: { 0: 'batch' } } };
    await roundTrip(model, [randint(0, 20, [3, 6])], options, [randint(0, 20, [4, 6])]);
  });

  it('LSTM (two layers, bidirectional, batch first) and GRU, with their final states', async () => {
    manualSeed(5);
    const lstm = new LSTM(3, 5, { numLayers: 2, bidirectional: true, batchFirst: true }).eval();
    const options = { dynamicAxes: { input: { 0: 'batch' } } };
    await roundTrip(lstm, [randn([2, 4, 3])], options, [randn([3, 4, 3])]);
    const gru = new GRU(3, 4).eval();
    await roundTrip(gru, [randn([6, 2, 3])]);
  });

  it('an LSTM given initial states exports them as inputs', async () => {
    manualSeed(6);
    class WithState extends Module {
      lstm = new LSTM(3, 4);
      forward(x: Tensor, h: Tensor, c: Tensor): Tensor {
        return this.lstm.forward(x, [h, c])[0];
      }
    }
    const model = new WithState().eval();
    await roundTrip(model, [randn([5, 2, 3]), randn([1, 2, 4]), randn([1, 2, 4])]);
  });

  it('GELU (exact) is composed of Erf below opset 20, and opset 18 exports too', async () => {
    manualSeed(7);
    const model = new Sequential(new Linear(4, 6), new GELU(), new Linear(6, 2)).eval();
    await roundTrip(model, [randn([3, 4])]);
    const bytes = exportOnnx(model, randn([3, 4]), { opset: 18 });
    const outputs = await runOnnx(bytes, { input: randn([3, 4]) });
    expect(outputs.output.dims).toEqual([3, 2]);
  });
});

describe('exportOnnx on random models (fast-check)', () => {
  it('random stacks of Linear, activations and LayerNorm match at a batch size the export never saw', async () => {
    const layer = fc.constantFrom('relu', 'tanh', 'gelu', 'sigmoid', 'layerNorm');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), layer), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 1000 }),
        async (hidden, features, exampleBatch, otherBatch, seed) => {
          manualSeed(seed);
          const layers: Module[] = [];
          let width = features;
          for (const [size, kind] of hidden) {
            layers.push(new Linear(width, size));
            width = size;
            layers.push(kind === 'layerNorm' ? new LayerNorm(size) : new ACTIVATIONS[kind]());
          }
          const model = new Sequential(...(layers as never[])).eval();
          const options = { dynamicAxes: { input: { 0: 'batch' } } };
          await roundTrip(model, [randn([exampleBatch, features])], options, [randn([otherBatch, features])]);
        },
      ),
      { numRuns: 12 },
    );
  });
});

describe('saveOnnx', () => {
  it("writes exportOnnx's bytes, and nothing at all when the export fails", () => {
    const directory = mkdtempSync(join(tmpdir(), 'agrad-onnx-save-'));
    try {
      manualSeed(8);
      const model = new Sequential(new Linear(3, 2)).eval();
      const x = randn([2, 3]);
      const path = join(directory, 'model.onnx');
      saveOnnx(path, model, x);
      expect(new Uint8Array(readFileSync(path))).toEqual(exportOnnx(model, x));
      const failing = join(directory, 'failing.onnx');
      model.train();
      expect(() => saveOnnx(failing, model, x)).toThrow(/training mode/);
      expect(existsSync(failing)).toBe(false);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
