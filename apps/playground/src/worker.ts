/**
 * The training loop, in a Web Worker so the page stays responsive. It owns the two runs and
 * answers the page's messages (reset with settings, start, pause, step); after each slice of about
 * 50 ms of training it posts a report: losses, accuracies, what AGR does to each layer's gradient
 * and, for 2-D data, both decision boundaries.
 *
 * Backend: agrad's CPU backend, or gpu.js in WebGL2 or WebGL mode where the worker can open a
 * WebGL context (an OffscreenCanvas); gpu.js's WebAssembly mode is never faster than the CPU
 * backend. 'auto' times a few training steps of this model on each and keeps the faster: for
 * small models on a software or integrated GPU that is often the CPU, by a wide margin.
 */
import { dispose, noGrad, type Tensor, tidy } from '@agrad/autograd';
import { GpuBackend } from '@agrad/gpu';
import { exportOnnx } from '@agrad/onnx';
import { type Backend, cpuBackend, setBackend } from '@agrad/tensor';
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

/** Steps timed per backend by 'auto', after warm-up steps that compile gpu.js's kernels. */
const WARMUP_STEPS = 2;
const TIMED_STEPS = 6;

/** 'auto''s choices per model and data, so a reset with the same shapes does not time again. */
const choices = new Map<string, { backend: Backend; timings: Record<string, number> }>();

/** Milliseconds per training step (both runs) of this model on `backend`, waiting for the results. */
function timeSteps(backend: Backend, settings: Settings, data: Dataset): number {
  setBackend(backend);
  const runs = [new Run(settings.agr[0], settings, data), new Run(settings.agr[1], settings, data)];
  const batches = new Batches(data, settings.batchSize, settings.seed);
  // Reading a value back waits for the queued GPU work, so the clock sees all of it.
  const probe = runs[0].model.parameters()[0];
  const finish = () => probe.array.read();
  const step = () =>
    tidy(() => {
      const batch = batches.next();
      const { x, y } = toTensors(batch.x, batch.y, data.features);
      for (const run of runs) run.step(x, y);
    });
  for (let i = 0; i < WARMUP_STEPS; i++) step();
  finish();
  const started = performance.now();
  for (let i = 0; i < TIMED_STEPS; i++) step();
  finish();
  const ms = (performance.now() - started) / TIMED_STEPS;
  for (const run of runs) dispose([...run.model.parameters(), ...run.drainLosses()]);
  return ms;
}

/** The backend for these settings: the one asked for, or with 'auto' the faster one measured here. */
function chooseBackend(
  settings: Settings,
  data: Dataset,
): { backend: Backend; timings: Record<string, number> } {
  if (settings.backend === 'cpu') return { backend: cpuBackend, timings: {} };
  const gl = webglBackend();
  if (settings.backend === 'gpu') {
    if (!gl) throw new Error('gpu.js cannot open WebGL in this browser’s workers: choose CPU or auto');
    return { backend: gl, timings: {} };
  }
  if (!gl) return { backend: cpuBackend, timings: {} };
  const key = JSON.stringify([
    data.name,
    settings.hidden,
    settings.batchSize,
    settings.optimizer,
    settings.agr,
  ]);
  const known = choices.get(key);
  if (known) return known;
  const timings: Record<string, number> = {};
  for (const backend of [cpuBackend, gl]) timings[backend.name] = timeSteps(backend, settings, data);
  const choice = { backend: timings[cpuBackend.name] <= timings[gl.name] ? cpuBackend : gl, timings };
  choices.set(key, choice);
  return choice;
}

async function reset(settings: Settings, epoch: number, baseUrl: string): Promise<void> {
  running = false;
  generation = epoch;
  const data = await loadDataset(settings.dataset, settings.seed, baseUrl);
  if (generation !== epoch) return; // a newer reset arrived while the data loaded
  const { backend, timings } = chooseBackend(settings, data);
  setBackend(backend);
  const test = toTensors(data.test.x, data.test.y, data.features);
  const runs: [Run, Run] = [
    new Run(settings.agr[0], settings, data),
    new Run(settings.agr[1], settings, data),
  ];
  session = {
    settings,
    data,
    runs,
    batches: new Batches(data, settings.batchSize, settings.seed),
    test,
    grid: data.features === 2 ? toTensors(gridPoints(GRID), new Int32Array(GRID * GRID), 2).x : null,
    step: 0,
  };
  // The graph behind the loss, drawn by the page: computed on a batch-sized slice of the test set.
  const rows = Math.min(settings.batchSize, data.test.count);
  const graph = tidy(() => runs[0].lossGraph(test.x.narrow(0, 0, rows), test.y.narrow(0, 0, rows)));
  post({
    type: 'ready',
    epoch,
    backend: backend.name,
    timings,
    dataset: data.name,
    classes: data.classes,
    points: data.features === 2 ? { x: data.train.x, y: data.train.y } : null,
    grid: GRID,
    graph,
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

/** Posts one run's model as ONNX bytes, with agrad's own logits for a few test inputs. */
function exportRun(index: 0 | 1): void {
  if (!session) return;
  const { model } = session.runs[index];
  const probe = session.test.x.narrow(0, 0, Math.min(8, session.test.x.shape[0]));
  model.eval();
  try {
    const bytes = exportOnnx(model, probe, {
      outputNames: ['logits'],
      dynamicAxes: { input: { 0: 'batch' } },
    });
    const logits = noGrad(() => model.forward(probe) as Tensor);
    const input = Float32Array.from(probe.array.read());
    const values = Float32Array.from(logits.array.read());
    post(
      {
        type: 'onnx',
        epoch: generation,
        run: index,
        step: session.step,
        bytes,
        probe: { input, shape: [...probe.shape], logits: values },
      },
      [bytes.buffer as ArrayBuffer, input.buffer, values.buffer],
    );
    dispose([logits]);
  } finally {
    model.train();
  }
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
    else if (message.type === 'export') exportRun(message.run);
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
