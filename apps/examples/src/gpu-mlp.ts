/**
 * Trains a small MLP on the gpu.js backend: the same code as on the CPU, after one call that
 * selects the backend. Prints which gpu.js mode runs the kernels and the loss falling.
 *
 *   pnpm --filter @agrad/examples gpu                 (gpu.js picks: headless GL if it can, else webasm)
 *   pnpm --filter @agrad/examples gpu -- webasm       (or headlessgl, javascript)
 */
import { dispose, manualSeed, randint, randn, tidy } from '@agrad/autograd';
import { GpuBackend, type GpuMode, useGpu } from '@agrad/gpu';
import { F, Linear, ReLU, Sequential } from '@agrad/nn';
import { adamw, agr, chain, Optimizer } from '@agrad/optim';

const requested = process.argv.slice(2).find((a) => a !== '--') as GpuMode | undefined;
const backend = useGpu({ mode: requested ?? 'gpu' });
console.log(`gpu.js mode: ${backend.mode}`);

manualSeed(0);
// From here on every tensor is created on the gpu.js backend and stays there.
const model = new Sequential(new Linear(16, 64), new ReLU(), new Linear(64, 4));
const x = randn([256, 16]);
const y = randint(0, 4, [256]);
const optimizer = new Optimizer(model, chain(agr(), adamw({ lr: 0.01 })));

const started = performance.now();
for (let step = 0; step <= 100; step++) {
  // tidy() frees the step's intermediates (GPU textures) as soon as it ends; the garbage
  // collector cannot see GPU memory. The model, gradients and optimizer state live on.
  const loss = tidy(() => {
    const loss = F.crossEntropy(model.forward(x), y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    return loss;
  });
  // item() is the only read-back: the loss comes to the host only when printed.
  if (step % 20 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}`);
  dispose(loss);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `101 steps in ${seconds.toFixed(1)} s; ${backend.compiledKernels} kernels compiled; ${GpuBackend.liveTextures} textures in use`,
);
