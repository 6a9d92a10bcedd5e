import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, ones, randn, type Tensor, tensor, zeros } from '@agrad/autograd';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  deserialize,
  Embedding,
  F,
  Linear,
  loadCheckpoint,
  MaxPool2d,
  Module,
  Parameter,
  ReLU,
  Sequential,
  saveCheckpoint,
  serialize,
} from '../src/index.js';

const runs = { numRuns: 200, seed: 5 };

describe('modules and parameters assigned as fields register themselves (PyTorch habit)', () => {
  class Net extends Module {
    fc1 = new Linear(4, 3);
    act = new ReLU();
    fc2 = new Linear(3, 2);
    gain = new Parameter(ones([2]));
    forward(x: Tensor): Tensor {
      return this.fc2.forward(this.act.forward(this.fc1.forward(x))).mul(this.gain);
    }
  }

  it('gives PyTorch’s parameter names and state-dict keys, in declaration order', () => {
    const net = new Net();
    expect([...net.namedParameters()].map(([name]) => name)).toEqual([
      'gain',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    expect(Object.keys(net.stateDict())).toEqual([
      'gain',
      'fc1.weight',
      'fc1.bias',
      'fc2.weight',
      'fc2.bias',
    ]);
    expect(net.numParameters()).toBe(4 * 3 + 3 + 3 * 2 + 2 + 2);
    expect(new Optimizer(net, adamw()).params['fc2.bias']).toBe(net.fc2.bias);
  });

  it('registers assignments in the constructor, replacements, and null', () => {
    class Late extends Module {
      body: Linear | null;
      constructor() {
        super();
        this.body = new Linear(2, 2);
      }
      forward(x: Tensor): Tensor {
        return this.body ? this.body.forward(x) : x;
      }
    }
    const late = new Late();
    expect(Object.keys(late.stateDict())).toEqual(['body.weight', 'body.bias']);
    late.body = new Linear(2, 2, { bias: false });
    expect(Object.keys(late.stateDict())).toEqual(['body.weight']);
    late.body = null;
    expect(Object.keys(late.stateDict())).toEqual([]);
  });

  it('keeps a field in step with its slot (to(dtype) replaces parameters) and refuses a plain tensor for a parameter', () => {
    const net = new Net().to('float64');
    expect(net.gain.dtype).toBe('float64');
    expect(net.gain).toBe(net.param('gain'));
    expect(() => {
      (net as unknown as { gain: Tensor }).gain = ones([2]);
    }).toThrow(/Net: cannot assign a plain Tensor to 'gain', which is a registered parameter/);
  });
});

describe('Module.loadStateDict is all or nothing', () => {
  const model = () => new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));

  it('a wrong shape in a later key leaves the earlier weights untouched', () => {
    const m = model();
    const before = m.stateDict()['0.weight'].toArray();
    const state = { ...new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 5)).stateDict() };
    expect(() => m.loadStateDict(state)).toThrow(
      "loadStateDict: nothing was loaded: size mismatch for '2.weight': the state dict has [5,4], the module [2,4]; size mismatch for '2.bias': the state dict has [5], the module [2]",
    );
    expect(m.stateDict()['0.weight'].toArray()).toEqual(before);
  });

  it('refuses null, non-tensor and incompatible-dtype values, in strict and non-strict mode', () => {
    const m = model();
    const state = { ...m.stateDict() } as Record<string, unknown>;
    state['2.bias'] = null;
    expect(() => m.loadStateDict(state as never)).toThrow("'2.bias' is null, expected a Tensor");
    expect(() => m.loadStateDict(state as never, { strict: false })).toThrow("'2.bias' is null");
    state['2.bias'] = tensor([1, 2], { dtype: 'int32' });
    expect(() => m.loadStateDict(state as never)).toThrow(
      "dtype mismatch for '2.bias': the state dict has int32, the module float32",
    );
    expect(() => m.loadStateDict('weights' as never)).toThrow(
      'loadStateDict: expected a record of tensors, got "weights"',
    );
    expect(() => m.loadStateDict(m.stateDict(), { strcit: false } as never)).toThrow(
      "loadStateDict: unknown option 'strcit' (did you mean 'strict'?)",
    );
  });

  it('returns the missing and unexpected keys when not strict', () => {
    const m = model();
    const { '2.bias': _dropped, ...partial } = m.stateDict();
    const result = m.loadStateDict({ ...partial, extra: ones([1]) }, { strict: false });
    expect(result).toEqual({ missingKeys: ['2.bias'], unexpectedKeys: ['extra'] });
  });

  it('handles a key named __proto__ as an ordinary key', () => {
    class Odd extends Module {
      constructor() {
        super();
        this.registerParameter('__proto__', ones([2]));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const odd = new Odd();
    const state = odd.stateDict();
    expect(Object.keys(state)).toEqual(['__proto__']);
    const loaded = deserialize(serialize(state)).tensors;
    expect(Object.keys(loaded)).toEqual(['__proto__']);
    const fresh = new Odd();
    fresh.loadStateDict({ ['__proto__']: tensor([5, 6]) } as never);
    expect(fresh.param('__proto__').toArray()).toEqual([5, 6]);
  });
});

describe('loadCheckpoint is all or nothing across parts', () => {
  it('a bad optimizer entry leaves the model as it was', () => {
    manualSeed(1);
    const dir = mkdtempSync(join(tmpdir(), 'agrad-ckpt-'));
    const path = join(dir, 'run.safetensors');
    const trained = new Linear(3, 2);
    const optimizer = new Optimizer(trained, chain(agr(), adamw({ lr: 0.1 })));
    trained
      .forward(randn([4, 3]))
      .sum()
      .backward();
    optimizer.step();
    saveCheckpoint(path, { model: trained, optimizer }, { step: '1' });
    // Corrupt the optimizer's step count in the file: -5 steps.
    const state = { ...trained.stateDict() };
    const optimizerState = optimizer.stateDict();
    optimizerState._steps = tensor([-5], { dtype: 'float64' }).reshape([]);
    const tensors: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(state)) tensors[`model.${k}`] = v;
    for (const [k, v] of Object.entries(optimizerState)) tensors[`optimizer.${k}`] = v;
    writeFileSync(path, serialize(tensors));
    const fresh = new Linear(3, 2);
    const before = fresh.weight.toArray();
    const freshOptimizer = new Optimizer(fresh, chain(agr(), adamw({ lr: 0.1 })));
    expect(() => loadCheckpoint(path, { model: fresh, optimizer: freshOptimizer })).toThrow(
      /loadCheckpoint: .*run\.safetensors, part 'optimizer': Optimizer\.loadStateDict: nothing was loaded: '_steps' is -5, expected a count/,
    );
    expect(fresh.weight.toArray()).toEqual(before);
    expect(freshOptimizer.stepCount).toBe(0);
  });

  it('checks the metadata before anything is copied', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-ckpt-'));
    const path = join(dir, 'run.safetensors');
    saveCheckpoint(path, { model: new Linear(2, 2) }, { rng: 'not json' });
    const fresh = new Linear(2, 2);
    const before = fresh.weight.toArray();
    expect(() => loadCheckpoint(path, { model: fresh }, { checkMetadata: (m) => JSON.parse(m.rng) })).toThrow(
      /JSON/,
    );
    expect(fresh.weight.toArray()).toEqual(before);
  });
});

/** A safetensors file from a header object and a data section. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

describe('safetensors refuses malformed files by file and field', () => {
  const refusals: [string, Uint8Array, RegExp][] = [
    [
      'negative offset',
      file({ w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, f32(1, 2)),
      /tensor 'w': data_offsets \[-8,0\] is not a pair of non-negative integers/,
    ],
    [
      'fractional offset',
      file({ w: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, f32(1, 2)),
      /data_offsets \[0.5,4.5\] is not a pair/,
    ],
    [
      'boolean offset',
      file({ w: { dtype: 'F32', shape: [1], data_offsets: [false, 4] } }, f32(1)),
      /data_offsets \[false,4\] is not a pair/,
    ],
    [
      'offsets out of order',
      file({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)),
      /data_offsets \[4, 0\] end before they begin/,
    ],
    [
      'overlap',
      file(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        f32(1, 2, 3),
      ),
      /tensor 'b' overlaps tensor 'a'/,
    ],
    [
      'gap',
      file({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)),
      /bytes 0 to 4 of the data section belong to no tensor/,
    ],
    [
      'trailing bytes',
      file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)),
      /the data section has 8 bytes but the tensors cover 4/,
    ],
    [
      'negative shape',
      file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }),
      /shape \[-1\] is not a list of non-negative integers/,
    ],
    [
      'fractional shape',
      file({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, f32(1)),
      /shape \[1.5\] is not a list/,
    ],
    [
      'huge shape',
      file({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 0] } }),
      /has too many elements/,
    ],
    [
      'unknown dtype',
      file({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }),
      /dtype "F128" is not supported/,
    ],
    [
      'entry not an object',
      file({ w: [1, 2] }),
      /tensor 'w': entry is \[1,2\], expected \{ dtype, shape, data_offsets \}/,
    ],
    [
      'unknown field',
      file({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, f32(1)),
      /unknown field 'extra'/,
    ],
    [
      'duplicate key',
      file(
        '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        f32(1),
      ),
      /header has the key 'w' twice/,
    ],
    [
      'duplicate inner key',
      file('{"w":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', f32(1)),
      /header has the key 'dtype' twice in w/,
    ],
    [
      'metadata not strings',
      file({ __metadata__: { step: 7 } }),
      /__metadata__ 'step' is 7, expected a string/,
    ],
    [
      'metadata not an object',
      file({ __metadata__: 'x' }),
      /__metadata__ is "x", expected an object of strings/,
    ],
    ['header not an object', file('[1, 2]'), /header is not a JSON object/],
    [
      'NaN in the header',
      file('{"w":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}', f32(1)),
      /header is not valid JSON/,
    ],
    [
      'bool byte 2',
      file({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, Uint8Array.of(1, 2)),
      /tensor 'm' holds byte 2 at element 1, which is not a bool/,
    ],
    [
      'int64 too large',
      file(
        { i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
        new Uint8Array(BigInt64Array.of(2n ** 40n).buffer),
      ),
      /holds int64 value 1099511627776 at element 0, which does not fit int32/,
    ],
    [
      'header length past the end',
      Uint8Array.of(255, 255, 255, 255, 255, 255, 255, 255, 1),
      /header claims 18446744073709551615 bytes but only 1 follow/,
    ],
  ];
  for (const [name, bytes, message] of refusals) {
    it(name, () => {
      let thrown: unknown;
      try {
        deserialize(bytes, 'bad.safetensors');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect((thrown as Error).constructor).toBe(Error);
      expect((thrown as Error).message).toMatch(/^safetensors: bad\.safetensors: /);
      expect((thrown as Error).message).toMatch(message);
    });
  }

  it('round-trips any tensor name, __proto__ and constructor included, without touching prototypes', () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'a.b/c'];
    const tensors: Record<string, Tensor> = Object.create(null);
    names.forEach((name, i) => {
      tensors[name] = tensor([i]);
    });
    const back = deserialize(serialize(tensors, { __proto__: 'meta' } as never)).tensors;
    expect(Object.keys(back).sort()).toEqual([...names].sort());
    names.forEach((name, i) => expect(back[name].item()).toBe(i));
    expect(Object.getPrototypeOf(back)).toBe(null);
    expect(({} as Record<string, unknown>).item).toBeUndefined();
    expect(() => serialize({ __metadata__: tensor([1]) })).toThrow(/a tensor cannot be named '__metadata__'/);
  });

  it('any corruption of a valid file is a named Error, never a raw TypeError or RangeError (property)', () => {
    const good = serialize(
      { w: randn([3, 2]), b: zeros([2], { dtype: 'float64' }), m: tensor([true, false]) },
      { k: 'v' },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(good.length),
        (edits, cut) => {
          const bytes = good.slice(0, Math.max(cut, 1));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            deserialize(bytes, 'fuzz.safetensors');
          } catch (error) {
            expect((error as Error).constructor).toBe(Error);
            expect((error as Error).message.startsWith('safetensors: fuzz.safetensors: ')).toBe(true);
          }
        },
      ),
      runs,
    );
  });
});

describe('errors name the op the user called', () => {
  it('Embedding names itself for an id out of range (not indexSelect)', () => {
    const embedding = new Embedding(10, 3);
    expect(() => embedding.forward(tensor(new Int32Array([2, 12])))).toThrow(
      'embedding: id 12 (at position 1) is out of range [0, 10)',
    );
    expect(() => embedding.forward(tensor([1, 2]))).toThrow('embedding: ids must be int32, got float32');
  });

  it('conv2d and the pools name themselves for a kernel larger than the input (not unfold)', () => {
    expect(() => new Conv2d(1, 1, 5).forward(randn([1, 1, 3, 3]))).toThrow(
      /^conv2d: input \[1,1,3,3\] is too small/,
    );
    expect(() => new MaxPool2d(4).forward(randn([1, 1, 3, 3]))).toThrow(
      /^maxPool2d: input \[1,1,3,3\] is too small/,
    );
    expect(() => new AvgPool2d(4).forward(randn([1, 1, 3, 3]))).toThrow(
      /^avgPool2d: input \[1,1,3,3\] is too small/,
    );
  });
});

describe('layers and functions check every option', () => {
  it('unknown keys are named, with a suggestion and the accepted list', () => {
    expect(() => new Linear(2, 3, { bais: false } as never)).toThrow(
      "Linear: unknown option 'bais' (did you mean 'bias'?); accepted options: bias, dtype",
    );
    expect(() =>
      F.crossEntropy(randn([2, 3]), tensor(new Int32Array([0, 1])), { label_smoothing: 0.1 } as never),
    ).toThrow("crossEntropy: unknown option 'label_smoothing' (did you mean 'labelSmoothing'?)");
    expect(() => new MaxPool2d(2, { ceil_mode: true } as never)).toThrow(
      "MaxPool2d: unknown option 'ceil_mode' (did you mean 'ceilMode'?)",
    );
  });

  it('values out of range, not finite or of the wrong type are refused', () => {
    expect(() => new Conv2d(1, 2, 3, { stride: 0 })).toThrow(
      /Conv2d: option stride must be an integer >= 1 or an array of 2 values/,
    );
    expect(() => new BatchNorm2d(3, { momentum: 2 })).toThrow(
      'BatchNorm2d: option momentum must be a finite number in [0, 1] or null, got 2',
    );
    expect(() => new Dropout(Number.NaN)).toThrow('Dropout: p must be a finite number in [0, 1], got NaN');
    expect(() => new Linear(-1, 3)).toThrow('Linear: inFeatures must be an integer >= 0, got -1');
    expect(() => new Embedding(10, 3, { paddingIdx: 10 })).toThrow(
      /Embedding: option paddingIdx must be an integer in \[-10, 10\) or null, got 10/,
    );
    expect(() => F.dropout(randn([2]), 0.5, 'yes' as never)).toThrow(
      'dropout: training must be true or false, got "yes"',
    );
    expect(() => F.layerNorm(randn([2, 3]), 3, null, null, -1)).toThrow(
      'layerNorm: eps must be a finite number >= 0, got -1',
    );
    expect(() => new Sequential(new Linear(2, 2), 'relu' as never)).toThrow(
      'Sequential: layer 1 must be a Module, got "relu"',
    );
    expect(() => F.linear(randn([2, 3]), randn([4, 3]), randn([3]))).toThrow(
      'linear: bias [3] does not match the 4 outputs of weight [4,3]',
    );
  });
});

describe('module names and moves', () => {
  it('one name is one slot: a parameter and a sub-module cannot share it', () => {
    class Clash extends Module {
      constructor() {
        super();
        this.registerParameter('w', ones([2]));
        this.registerModule('w', new Linear(2, 2));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Clash()).toThrow("registerModule: 'w' is already a parameter of Clash");
  });

  it('to(backend) moves parameters, gradients and buffers; an unknown target is named', () => {
    const model = new Sequential(new Linear(2, 2), new BatchNorm2d(2));

    const weight = model.stateDict()['0.weight'];
    weight.grad = ones([2, 2]);
    model.to('cpu');
    expect(model.stateDict()['0.weight']).toBe(weight); // already there: nothing replaced
    expect(() => model.to('cuda')).toThrow(
      /Module\.to: unknown dtype or backend "cuda"; expected float32, float64 or a backend \(cpu/,
    );
    model.to('float64');
    expect(model.stateDict()['0.weight'].dtype).toBe('float64');
    expect(model.stateDict()['0.weight'].grad?.dtype).toBe('float64');
    expect(model.stateDict()['1.num_batches_tracked'].dtype).toBe('int32');
  });
});
