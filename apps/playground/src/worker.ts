/**
 * The training loop, in a Web Worker so the page stays responsive. It owns the two runs and
 * answers the page's messages (reset with settings, start, pause, step); after each slice of about
 * 50 ms of training it posts a report: losses, accuracies, what AGR does to each layer's gradient
 * and, for 2-D data, both decision boundaries.
 *
 * Backend: gpu.js in WebGL2 or WebGL mode where the worker can open a WebGL context (an
 * OffscreenCanvas), otherwise agrad's CPU backend, which is faster than gpu.js's WebAssembly mode.
 */
import { type Tensor, tidy } from '@agrad/autograd';
import { type Backend, cpuBackend, setBackend } from '@agrad/tensor';
import { GpuBackend } from '@agrad/tensor/gpu';
import { type Dataset, loadDataset } from './datasets.js';
import type { FromWorker, ToWorker } from './messages.js';
import { Batches, gridPoints, Run, type RunReport, type Settings, toTensors } from './trainer.js';

const GRID = 40;
// Short slices: between them the event loop turns, which also frees the GPU memory of dead tensors.
const SLICE_MS = 50;

let gpu: GpuBackend | null | undefined;
/** The gpu.js backend when it runs on WebGL here, else null (made once: kernels stay cached). */
function webglBackend(): GpuBackend | null {
  if (gpu === undefined) {
    try {
      const candidate = new GpuBackend({ mode: 'gpu' });
      gpu = candidate.mode === 'webgl2' || candidate.mode === 'webgl' ? candidate : null;
    } catch {
      gpu = null;
    }
  }
  return gpu;
}

interface Session {
  settings: Settings;
  data: Dataset;
  runs: [Run, Run];
  batches: Batches;
  test: { x: Tensor; y: Tensor };
  grid: Tensor | null;
  step: number;
}

let session: Session | null = null;
let running = false;
/** The page's number for the latest reset: a loop from before a reset stops. */
let generation = 0;

const post = (message: FromWorker, transfer: Transferable[] = []) =>
  (self as unknown as Worker).postMessage(message, transfer);

async function reset(settings: Settings, epoch: number, baseUrl: string): Promise<void> {
  running = false;
  generation = epoch;
  const backend: Backend = settings.backend === 'cpu' ? cpuBackend : (webglBackend() ?? cpuBackend);
  setBackend(backend);
  const data = await loadDataset(settings.dataset, settings.seed, baseUrl);
  if (generation !== epoch) return; // a newer reset arrived while the data loaded
  const test = toTensors(data.test.x, data.test.y, data.features);
  session = {
    settings,
    data,
    runs: [new Run(settings.agr[0], settings, data), new Run(settings.agr[1], settings, data)],
    batches: new Batches(data, settings.batchSize, settings.seed),
    test,
    grid: data.features === 2 ? toTensors(gridPoints(GRID), new Int32Array(GRID * GRID), 2).x : null,
    step: 0,
  };
  post({
    type: 'ready',
    epoch,
    backend: backend.name,
    dataset: data.name,
    classes: data.classes,
    points: data.features === 2 ? { x: data.train.x, y: data.train.y } : null,
    grid: GRID,
  });
  report();
}

function trainSteps(count: number): void {
  if (!session) return;
  const { runs, batches, data } = session;
  for (let i = 0; i < count; i++) {
    const batch = batches.next();
    // tidy(): the step's intermediates (textures on gpu.js) are freed now, not at the next GC.
    tidy(() => {
      const { x, y } = toTensors(batch.x, batch.y, data.features);
      for (const run of runs) run.step(x, y);
    });
    session.step++;
  }
}

function report(): void {
  if (!session) return;
  const { runs, test, grid } = session;
  // Plain numbers and typed arrays come out; every tensor made on the way is freed.
  const { reports, boundaries } = tidy(() => ({
    reports: [runs[0].report(test), runs[1].report(test)] as [RunReport, RunReport],
    boundaries: grid ? runs.map((run) => run.boundary(grid)) : null,
  }));
  post(
    {
      type: 'report',
      epoch: generation,
      step: session.step,
      runs: reports,
      boundaries,
    },
    boundaries ? boundaries.flatMap((b) => [b.classes.buffer, b.confidence.buffer]) : [],
  );
}

async function loop(): Promise<void> {
  const mine = generation;
  while (running && mine === generation) {
    const started = performance.now();
    while (performance.now() - started < SLICE_MS) trainSteps(1);
    report();
    // Let the messages that arrived meanwhile (pause, reset) run before the next slice.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  try {
    if (message.type === 'reset') await reset(message.settings, message.epoch, message.baseUrl);
    else if (message.type === 'start' && !running) {
      running = true;
      loop().catch(fail);
    } else if (message.type === 'pause') running = false;
    else if (message.type === 'step' && !running) {
      trainSteps(message.count);
      report();
    }
  } catch (error) {
    fail(error);
  }
};

function fail(error: unknown): void {
  running = false;
  post({ type: 'error', message: String((error as Error)?.stack ?? error) });
}
