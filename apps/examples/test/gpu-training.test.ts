import { keep, manualSeed, noGrad, randint, randn, type Tensor, tensor, tidy } from '@agrad/autograd';
import { GpuBackend } from '@agrad/gpu';
import { BatchNorm2d, Conv2d, F, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '@agrad/nn';
import {
  adamw,
  adan,
  agr,
  agrCoefficients,
  chain,
  clipByGlobalNorm,
  Optimizer,
  regularize,
  sgd,
} from '@agrad/optim';
import { type Backend, cpuBackend, getBackend, setBackend } from '@agrad/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { gpuUnderTest, NODE_MODES, requiredModes } from '../../../packages/gpu/test/backends.js';

/**
 * A whole training step on the gpu.js backend: forward, backward, AGR and the optimizer, for the
 * MLP and the CNN (conv, BatchNorm, max-pool, cross-entropy). Each run is repeated on the CPU
 * backend from the same seed, and the losses and parameters must agree to float32 precision; no
 * value may be read back to the host during the steps.
 */

interface Run {
  losses: number[];
  params: Map<string, Float32Array>;
  readbacks: number;
  backends: Set<Backend>;
}

function train(
  backend: Backend,
  build: () => Sequential,
  batch: () => { x: Tensor; y: Tensor },
  makeOptimizer: (m: Sequential) => Optimizer,
  steps: number,
  withTidy = false,
): Run {
  const previous = getBackend();
  setBackend(backend);
  try {
    manualSeed(7);
    const model = build();
    const { x, y } = batch();
    const optimizer = makeOptimizer(model);
    const gpu = backend instanceof GpuBackend ? backend : null;
    const before = gpu?.readbacks ?? 0;
    const lossTensors: Tensor[] = [];
    const step = () => {
      const loss = F.crossEntropy(model.forward(x) as Tensor, y);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      return loss.detach();
    };
    for (let k = 0; k < steps; k++) lossTensors.push(withTidy ? tidy(step) : step());
    const readbacks = (gpu?.readbacks ?? 0) - before;
    const backends = new Set<Backend>();
    for (const [, p] of model.namedParameters()) {
      backends.add(p.backend);
      if (p.grad) backends.add(p.grad.backend);
    }
    for (const [, b] of model.namedBuffers()) backends.add(b.backend);
    for (const t of Object.values(optimizer.stateDict())) if (t.dtype !== 'float64') backends.add(t.backend);
    return {
      losses: lossTensors.map((l) => l.item()),
      params: new Map([...model.namedParameters()].map(([name, p]) => [name, Float32Array.from(p.data)])),
      readbacks,
      backends,
    };
  } finally {
    setBackend(previous);
  }
}

const mlp = () =>
  new Sequential(new Linear(6, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 4));
const mlpBatch = () => ({ x: randn([24, 6]), y: randint(0, 4, [24]) });
const cnn = () =>
  new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 6, 3),
    new ReLU(),
    new Flatten(),
    new Linear(6 * 2 * 2, 3),
  );
const cnnBatch = () => ({ x: randn([5, 1, 8, 8]), y: randint(0, 3, [5]) });

function expectSameRun(gpu: Run, cpu: Run, tolerance: number): void {
  gpu.losses.forEach((loss, i) =>
    expect(Math.abs(loss - cpu.losses[i])).toBeLessThan(tolerance * (1 + Math.abs(cpu.losses[i]))),
  );
  for (const [name, values] of cpu.params) {
    const other = gpu.params.get(name) as Float32Array;
    let worst = 0;
    for (let i = 0; i < values.length; i++)
      worst = Math.max(worst, Math.abs(other[i] - values[i]) / (1 + Math.abs(values[i])));
    expect(worst, name).toBeLessThan(tolerance);
  }
}

afterEach(() => {
  setBackend(cpuBackend);
});

for (const mode of NODE_MODES) {
  const under = gpuUnderTest(mode);
  const required = requiredModes.includes(mode);
  describe(`training on gpu:${mode}`, () => {
    if (!under.backend) {
      it.skipIf(!required)(`is available (${under.missing})`, () => {
        throw new Error(`gpu:${mode} is required by AGRAD_GPU_MODES but unavailable: ${under.missing}`);
      });
      return;
    }
    const backend = under.backend as GpuBackend;

    it('an MLP with AGR + AdamW (and gradient clipping) matches the CPU, with no read-back', () => {
      const optimizer = (m: Sequential) =>
        new Optimizer(m, chain(clipByGlobalNorm(1), agr(), adamw({ lr: 0.01, weightDecay: 0.01 })));
      const gpu = train(backend, mlp, mlpBatch, optimizer, 4);
      const cpu = train(cpuBackend, mlp, mlpBatch, optimizer, 4);
      expect(gpu.backends).toEqual(new Set([backend]));
      expect(gpu.readbacks).toBe(0);
      expect(gpu.losses[3]).toBeLessThan(gpu.losses[0]);
      expectSameRun(gpu, cpu, 2e-4);
    });

    it('a CNN (conv, BatchNorm, max-pool) with AGR + SGD momentum matches the CPU, with no read-back', () => {
      const optimizer = (m: Sequential) => new Optimizer(m, chain(agr(), sgd({ lr: 0.05, momentum: 0.9 })));
      const gpu = train(backend, cnn, cnnBatch, optimizer, 3);
      const cpu = train(cpuBackend, cnn, cnnBatch, optimizer, 3);
      expect(gpu.backends).toEqual(new Set([backend]));
      expect(gpu.readbacks).toBe(0);
      expectSameRun(gpu, cpu, 5e-4);
    });

    it('module.to(backend) moves a model built on the CPU, which then trains there like one built there', () => {
      setBackend(cpuBackend);
      manualSeed(7);
      const model = mlp().to(backend);
      for (const [, p] of model.namedParameters()) expect(p.backend).toBe(backend);
      const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 0.01 })));
      setBackend(backend);
      try {
        const { x, y } = mlpBatch();
        const loss = F.crossEntropy(model.forward(x) as Tensor, y);
        loss.backward();
        optimizer.step();
        expect(Number.isFinite(loss.item())).toBe(true);
        model.to('cpu');
        for (const [, p] of model.namedParameters()) {
          expect(p.backend).toBe(cpuBackend);
          expect(p.grad?.backend).toBe(cpuBackend);
        }
      } finally {
        setBackend(cpuBackend);
      }
    });

    it("AGR's helpers (regularize, agrCoefficients) work on the device, as on the CPU", () => {
      manualSeed(3);
      const g = randn([5, 7]);
      const zero = tensor([0, 0, 0]);
      const onGpu = (t: Tensor) => t.to(backend);
      const close = (a: Tensor, b: Tensor) => {
        const [x, y] = [a.to('cpu').data, b.data];
        x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-6 * (1 + Math.abs(y[i]))));
      };
      noGrad(() => {
        close(regularize(onGpu(g)), regularize(g));
        close(agrCoefficients(onGpu(g)), agrCoefficients(g));
        expect(regularize(onGpu(zero)).to('cpu').toArray()).toEqual([0, 0, 0]);
        expect(regularize(onGpu(g)).backend).toBe(backend);
      });
    });

    it('tidy() frees every intermediate of a step at once and changes no number', () => {
      const optimizers = {
        adamw: (m: Sequential) => new Optimizer(m, chain(clipByGlobalNorm(1), agr(), adamw({ lr: 0.01 }))),
        // Adan's state holds the previous gradient: zeroGrad must not free it.
        adan: (m: Sequential) => new Optimizer(m, chain(agr(), adan({ lr: 0.01 }))),
        sgd: (m: Sequential) => new Optimizer(m, chain(agr(), sgd({ lr: 0.05, momentum: 0.9 }))),
      };
      for (const [name, make] of Object.entries(optimizers)) {
        const model = name === 'sgd' ? cnn : mlp;
        const data = name === 'sgd' ? cnnBatch : mlpBatch;
        const before = GpuBackend.liveTextures;
        const tidied = train(backend, model, data, make, 4, true);
        const grown = GpuBackend.liveTextures - before;
        const plain = train(backend, model, data, make, 4);
        expect(tidied.losses, name).toEqual(plain.losses);
        expect([...tidied.params.values()], name).toEqual([...plain.params.values()]);
        // Without tidy a step leaves hundreds of textures to the garbage collector; with it, only
        // what lives on (the model, the batch, the optimizer state, the losses) remains.
        if (backend.mode === 'headlessgl') expect(grown, name).toBeLessThan(120);
      }
    });

    it('a tensor released by tidy() throws when used; returned and kept ones live on', () => {
      setBackend(backend);
      let leaked: Tensor | null = null;
      let kept: Tensor | null = null;
      const returned = tidy(() => {
        leaked = tensor([1, 2]).mul(2);
        kept = keep(tensor([3, 4]).mul(2));
        // A nested tidy hands its result to the enclosing one.
        const inner = tidy(() => tensor([5]).add(1));
        return { pair: [inner.mul(2)] };
      });
      expect(returned.pair[0].toArray()).toEqual([12]);
      expect((kept as unknown as Tensor).toArray()).toEqual([6, 8]);
      expect(() => (leaked as unknown as Tensor).toArray()).toThrow(
        `${backend.name} backend: this tensor's memory was released by tidy()`,
      );
      expect(() => tidy(() => Promise.resolve(1))).toThrow('tidy: fn must be synchronous');
    });

    it('mixing backends in one op names both; float64 and bad indices are refused', () => {
      setBackend(backend);
      const onGpu = tensor([1, 2, 3]);
      const onCpu = onGpu.to('cpu');
      expect(onCpu.backend).toBe(cpuBackend);
      expect(() => onGpu.add(onCpu)).toThrow(
        `add: operands live on different backends ('${backend.name}' and 'cpu')`,
      );
      expect(() => tensor([1], { dtype: 'float64' })).toThrow(/float64 is not supported/);
      // An index computed on the device has no known bounds: it is read back and checked.
      const index = tensor([0.5, 3.7]).to('int32');
      expect(() => tensor([1, 2, 3]).gather(0, index)).toThrow(
        'gather: index 3 is out of bounds for dim 0 with size 3',
      );
      // Values come back intact, and the gradient of a move flows back to the other backend.
      const x = tensor([1, 2, 3], { requiresGrad: true });
      noGrad(() => expect(x.to('cpu').toArray()).toEqual([1, 2, 3]));
      setBackend(cpuBackend);
      const leaf = tensor([1, 2], { requiresGrad: true });
      leaf.to(backend).mul(leaf.to(backend)).sum().backward();
      expect(leaf.grad?.toArray()).toEqual([2, 4]);
      expect(leaf.grad?.backend).toBe(cpuBackend);
    });
  });
}
