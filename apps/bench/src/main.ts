/**
 * `pnpm bench`: agrad, TensorFlow.js (cpu and wasm backends) and, where Debian's python3-torch is
 * installed, PyTorch on the same work in one run, with absolute figures and ratios. Each system is
 * measured in a process of its own (as in shared/PERF.md), so one system's heap and JIT state
 * cannot slow another's; the rows are joined into one table. `--json` prints machine-readable
 * results for comparing commits; `--quick` shortens every measurement; `--slow` also runs
 * TensorFlow.js cpu on the CNN (about a minute per step); `--systems agrad,pytorch` measures only
 * those; `--rounds N` measures every system N times in turn (interleaved rounds) and reports the
 * median of the rounds. Medians after warm-up; compare ratios taken in one run, not numbers across
 * machines. Node runs with --experimental-wasm-relaxed-simd, so agrad's GEMM uses its relaxed-SIMD
 * build (fused multiply-adds; the header names the build), as it does in Chromium by default.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { manualSeed } from '@agrad/autograd';
import { gemmKind, getNumThreads } from '@agrad/tensor';
import { type InferenceRow, measureInference } from './inference.js';
import { measure, measurePair } from './measure.js';
import * as agrad from './workloads/agrad.js';
import { CNN, MATMUL_SIZES, MLP, TRANSFORMER } from './workloads/shapes.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    slow: { type: 'boolean', default: false },
    'soak-steps': { type: 'string' },
    systems: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    // Internal: measure one system only and print its results as JSON.
    only: { type: 'string' },
  },
});
const budgetSeconds = args.quick ? 0.3 : 1.5;
const soakSteps = Number(args['soak-steps'] ?? (args.quick ? 300 : 2000));

// agrad on its CPU backend, agrad on the gpu.js backend in each Node mode, TensorFlow.js, PyTorch.
type GpuSystem = 'gpu-headlessgl' | 'gpu-webasm' | 'gpu-javascript';
type System = 'agrad' | GpuSystem | 'tfjs-cpu' | 'tfjs-wasm' | 'pytorch';
const GPU_SYSTEMS: GpuSystem[] = ['gpu-headlessgl', 'gpu-webasm', 'gpu-javascript'];
const SYSTEMS: System[] = ['agrad', ...GPU_SYSTEMS, 'tfjs-cpu', 'tfjs-wasm', 'pytorch'];
const isGpu = (system: System): system is GpuSystem => system.startsWith('gpu-');

interface Row {
  workload: string;
  unit: string;
  /** Figure per system, or a note saying why there is none. */
  results: Partial<Record<System, number | string>>;
}
interface Optimizer {
  parameters: number;
  adamwMs: number;
  adamwAgrMs: number;
  agrOverheadPercent: number;
  /** PyTorch's AdamW step on the same parameters (torch.optim.AdamW, its default for-loop form). */
  pytorchAdamwMs?: number;
}
interface Memory {
  steps: number;
  gcExposed: boolean;
  heapStartMB: number;
  heapEndMB: number;
  heapTrendBytesPerStep: number;
  externalMB: number;
  peakRssMB: number;
}
interface Results {
  rows: Row[];
  /** agrad's forward against onnxruntime-node on the exported model (agrad's process only). */
  inference?: InferenceRow[];
  optimizer?: Optimizer;
  memory?: Memory;
  /** The PyTorch process's setup: version, threads, OpenMP wait policy, the BLAS it loaded. */
  pytorch?: { torch: string; threads: number; ompWaitPolicy: string; blas: string; adamwMs: number };
}

const log = (text: string) => {
  if (!args.json) process.stderr.write(`${text}\n`);
};

type Maker = () => () => void;

/**
 * An agrad workload as a Maker. On a gpu.js backend a kernel call only queues work, so each timed
 * unit ends by reading one value of its result back, which waits for the whole computation.
 */
function agradMaker(work: () => agrad.Work): Maker {
  return () => {
    const run = work();
    if (!isGpu(args.only as System)) return () => void run();
    return () => {
      const result = run();
      void result.reshape([result.size]).narrow(0, 0, 1).item();
    };
  };
}
interface Workload {
  name: string;
  unit: string;
  perCall: number;
  makers: Partial<Record<System, Maker>>;
  /** Systems slow enough to get one warm-up and two timed runs. */
  slow?: System[];
  notes?: Partial<Record<System, string>>;
}

/** The same agrad workload for agrad's CPU backend and each gpu.js system. */
function onAgrad(work: () => agrad.Work): Partial<Record<System, Maker>> {
  const maker = agradMaker(work);
  return Object.fromEntries((['agrad', ...GPU_SYSTEMS] as System[]).map((s) => [s, maker]));
}

async function workloads(): Promise<Workload[]> {
  // Loaded only in the TensorFlow.js processes: merely importing esbuild (which bundles it) slows
  // agrad's own workloads in the same process by about a third.
  const tfjs = args.only?.startsWith('tfjs') ? await (await import('./tfjs-loader.js')).loadTfjs() : null;
  const tf = <K extends 'mlpStep' | 'cnnStep' | 'transformerStep'>(name: K) => (() => tfjs![name]()) as Maker;
  const list: Workload[] = MATMUL_SIZES.map((n) => ({
    name: `matmul float32 ${n}x${n}`,
    unit: 'GFLOP/s',
    perCall: (2 * n ** 3) / 1e9,
    makers: {
      ...onAgrad(() => agrad.matmul(n)),
      'tfjs-cpu': () => tfjs!.matmul(n),
      'tfjs-wasm': () => tfjs!.matmul(n),
    },
    slow: ['tfjs-cpu'],
  }));
  list.push({
    name: `MLP ${MLP.sizes.join('-')} train step, batch ${MLP.batch}, Adam`,
    unit: 'samples/s',
    perCall: MLP.batch,
    makers: { ...onAgrad(agrad.mlpStep), 'tfjs-cpu': tf('mlpStep'), 'tfjs-wasm': tf('mlpStep') },
  });
  list.push({
    name: `CNN train step (PERF.md), batch ${CNN.batch}, Adam`,
    unit: 'samples/s',
    perCall: CNN.batch,
    makers: {
      ...onAgrad(agrad.cnnStep),
      ...(args.slow ? { 'tfjs-cpu': tf('cnnStep') } : {}),
      'tfjs-wasm': tf('cnnStep'),
    },
    slow: ['tfjs-cpu'],
    notes: args.slow ? {} : { 'tfjs-cpu': 'skipped: about a minute per step (run with --slow)' },
  });
  list.push({
    name: `transformer block train step (batch ${TRANSFORMER.batch}, seq ${TRANSFORMER.sequence}, width ${TRANSFORMER.width}, ${TRANSFORMER.heads} heads)`,
    unit: 'sequences/s',
    perCall: TRANSFORMER.batch,
    makers: {
      ...onAgrad(agrad.transformerStep),
      'tfjs-cpu': tf('transformerStep'),
      'tfjs-wasm': tf('transformerStep'),
    },
    slow: ['tfjs-cpu'],
  });
  if (tfjs && args.only && args.only !== 'agrad')
    await tfjs.useBackend(args.only === 'tfjs-cpu' ? 'cpu' : 'wasm');
  return list;
}

/** Measures every workload for one system (in this process). */
async function measureSystem(system: System): Promise<Results> {
  manualSeed(0);
  let unavailable: string | null = null;
  if (isGpu(system)) {
    // Loaded only here, so the other systems never load gpu.js.
    const { useGpu } = await import('@agrad/gpu');
    try {
      useGpu({ mode: system.slice('gpu-'.length) as 'headlessgl' | 'webasm' | 'javascript' });
    } catch (error) {
      unavailable = `unavailable: ${(error as Error).message}`;
    }
  }
  const rows: Row[] = [];
  for (const w of await workloads()) {
    const row: Row = { workload: w.name, unit: w.unit, results: {} };
    const make = w.makers[system];
    if (make && unavailable) row.results[system] = unavailable;
    else if (make) {
      log(`  ${w.name}: ${system} ...`);
      try {
        // gpu.js software modes take seconds per call: one warm-up and two timed runs.
        const slow = w.slow?.includes(system) || system === 'gpu-javascript' || system === 'gpu-headlessgl';
        const m = measure(make(), slow ? { warmup: 1, minRuns: 2, budgetSeconds } : { budgetSeconds });
        row.results[system] = w.perCall / m.seconds;
      } catch (error) {
        row.results[system] = `cannot run: ${(error as Error).message.split('\n')[0]}`;
      }
    } else if (w.notes?.[system]) {
      row.results[system] = w.notes[system];
    }
    rows.push(row);
  }
  if (system !== 'agrad') return { rows };
  log('  inference: agrad and onnxruntime-node ...');
  const inference = await measureInference(budgetSeconds);
  return { rows, inference, optimizer: measureOptimizer(), memory: soak() };
}

/** AdamW with and without AGR in front, on the MLP's parameters. */
function measureOptimizer(): Optimizer {
  log('  optimizer step ...');
  const [adamw, adamwAgr] = measurePair(agrad.optimizerStep(false), agrad.optimizerStep(true), {
    budgetSeconds: budgetSeconds * 4,
    minRuns: 40,
  });
  return {
    parameters: agrad.mlpModel().numParameters(),
    adamwMs: adamw.seconds * 1000,
    adamwAgrMs: adamwAgr.seconds * 1000,
    agrOverheadPercent: (adamwAgr.seconds / adamw.seconds - 1) * 100,
  };
}

/** Heap after garbage collection over many MLP training steps. */
function soak(): Memory {
  log(`  memory over ${soakSteps} MLP steps ...`);
  const gc = (globalThis as { gc?: () => void }).gc;
  const step = agrad.mlpStep();
  const samples: [number, number][] = [];
  let peakRss = 0;
  for (let i = 0; i <= soakSteps; i++) {
    if (i > 0) step();
    if (i % Math.max(1, Math.floor(soakSteps / 20)) === 0) {
      gc?.();
      samples.push([i, process.memoryUsage().heapUsed]);
    }
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  // The trend is fitted to the second half of the run, after the JIT and caches have warmed up.
  const late = samples.slice(Math.floor(samples.length / 2));
  const mx = late.reduce((s, [x]) => s + x, 0) / late.length;
  const my = late.reduce((s, [, y]) => s + y, 0) / late.length;
  const slope =
    late.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / late.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return {
    steps: soakSteps,
    gcExposed: gc !== undefined,
    heapStartMB: samples[1][1] / 2 ** 20,
    heapEndMB: samples[samples.length - 1][1] / 2 ** 20,
    heapTrendBytesPerStep: slope,
    externalMB: process.memoryUsage().external / 2 ** 20,
    peakRssMB: peakRss / 2 ** 20,
  };
}

function hasXvfb(): boolean {
  try {
    execFileSync('xvfb-run', ['--help'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // xvfb-run --help exits non-zero on some versions; only a missing program matters.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const PYTHON = '/usr/bin/python3';

/** PyTorch in a Python process of its own (./pytorch.py), when Debian's python3-torch is installed. */
async function runPytorch(): Promise<Results> {
  const list = await workloads();
  const rowsWith = (value: (i: number) => number | string): Row[] =>
    list.map((w, i) => ({ workload: w.name, unit: w.unit, results: { pytorch: value(i) } }));
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    log(
      '  pytorch: skipped (python3-torch is not installed: apt-get install python3-torch libopenblas0-pthread)',
    );
    return { rows: rowsWith(() => 'skipped: python3-torch not installed') };
  }
  log('  pytorch: all workloads ...');
  const script = fileURLToPath(new URL('./pytorch.py', import.meta.url));
  const output = execFileSync(
    PYTHON,
    [script, ...(args.quick ? ['--quick'] : []), '--threads', String(getNumThreads())],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', args.json ? 'ignore' : 'inherit'],
      // Passive waiting: OpenMP's default spinning collapses 2 threads on 2 shared cores.
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(getNumThreads()) },
    },
  );
  const { figures, ...setup } = JSON.parse(output) as { figures: number[] } & Required<Results>['pytorch'];
  if (figures.length !== list.length)
    throw new Error(`pytorch.py returned ${figures.length} rows, expected ${list.length}`);
  return { rows: rowsWith((i) => figures[i]), pytorch: setup };
}

/** Runs this script for one system in a fresh process and returns what it measured. */
function runIsolated(system: System): Results {
  const passThrough = [
    ...(args.quick ? ['--quick'] : []),
    ...(args.slow ? ['--slow'] : []),
    ...(args['soak-steps'] ? ['--soak-steps', args['soak-steps']] : []),
  ];
  const command = [
    process.execPath,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--only',
    system,
    ...passThrough,
  ];
  // headless-gl needs an X display: without one, borrow a virtual one from xvfb-run if present.
  if (system === 'gpu-headlessgl' && !process.env.DISPLAY && hasXvfb()) command.unshift('xvfb-run', '-a');
  const output = execFileSync(command[0], command.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', args.json ? 'ignore' : 'inherit'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(output.slice(output.indexOf('{')));
}

if (args.only) {
  const results = await measureSystem(args.only as System);
  process.stdout.write(`${JSON.stringify(results)}\n`);
  process.exit(0);
}

log(
  `agrad benchmarks: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, agrad matmul threads ${getNumThreads()}, GEMM ${gemmKind()}; one process per system`,
);
const selected = args.systems ? (args.systems.split(',') as System[]) : SYSTEMS;
for (const system of selected) {
  if (!SYSTEMS.includes(system))
    throw new Error(`bench: unknown system '${system}' in --systems (one of ${SYSTEMS.join(', ')})`);
}
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  throw new Error(`bench: --rounds must be an integer from 1 to 20, got '${args.rounds}'`);
}
// Interleaved rounds: every system once per round, so a slow phase of a shared machine falls on
// all of them; each figure is the median over the rounds.
const measured = new Map<System, Results[]>(selected.map((s) => [s, []]));
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) log(`round ${round} of ${rounds}`);
  for (const system of selected) {
    measured.get(system)!.push(system === 'pytorch' ? await runPytorch() : runIsolated(system));
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** The median over rounds of a figure; a note (a string) is kept as it is. */
const combine = (values: (number | string | undefined)[]) =>
  values.every((v) => typeof v === 'number') ? median(values as number[]) : values[0];
const perSystem = selected.map((system) => {
  const runs = measured.get(system)!;
  return {
    rows: runs[0].rows.map((row, i) => ({
      ...row,
      results: { [system]: combine(runs.map((r) => r.rows[i].results[system])) },
    })),
    optimizer: runs[0].optimizer && {
      ...runs[0].optimizer,
      adamwMs: median(runs.map((r) => r.optimizer!.adamwMs)),
      adamwAgrMs: median(runs.map((r) => r.optimizer!.adamwAgrMs)),
      agrOverheadPercent: median(runs.map((r) => r.optimizer!.agrOverheadPercent)),
    },
    memory: runs[runs.length - 1].memory,
    inference: runs[0].inference?.map((row, i) => ({
      ...row,
      agrad: median(runs.map((r) => r.inference![i].agrad)),
      onnxruntime: median(runs.map((r) => r.inference![i].onnxruntime)),
    })),
    pytorch: runs[0].pytorch && { ...runs[0].pytorch, adamwMs: median(runs.map((r) => r.pytorch!.adamwMs)) },
  };
});
const rows: Row[] = perSystem[0].rows.map((row, i) => ({
  ...row,
  results: Object.assign({}, ...perSystem.map((r) => r.rows[i].results)),
}));
const optimizer = perSystem.find((r) => r.optimizer)?.optimizer;
const memory = perSystem.find((r) => r.memory)?.memory;
const inference = perSystem.find((r) => r.inference)?.inference;
const pytorch = perSystem.find((r) => r.pytorch)?.pytorch;
if (optimizer && pytorch) optimizer.pytorchAdamwMs = pytorch.adamwMs;

if (args.json) {
  const info = {
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    threads: getNumThreads(),
    gemm: gemmKind(),
    date: new Date().toISOString(),
    rounds,
    pytorch,
  };
  console.log(JSON.stringify({ ...info, rows, inference, optimizer, memory }, null, 2));
} else {
  const format = (v: number | string | undefined) =>
    v === undefined ? '-' : typeof v === 'string' ? v : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  const ratio = (r: Row, peer: System, digits: number) => {
    const [a, w] = [r.results.agrad, r.results[peer]];
    return typeof a === 'number' && typeof w === 'number' ? `${(a / w).toFixed(digits)}x` : '-';
  };
  console.log(
    '\n| workload | unit | agrad | TF.js cpu | TF.js wasm | agrad / TF.js wasm | PyTorch | agrad / PyTorch | agrad gpu.js headlessgl | agrad gpu.js webasm | agrad gpu.js javascript |' +
      '\n|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const gpu = GPU_SYSTEMS.map((s) => format(r.results[s])).join(' | ');
    console.log(
      `| ${r.workload} | ${r.unit} | ${format(r.results.agrad)} | ${format(r.results['tfjs-cpu'])} | ${format(r.results['tfjs-wasm'])} | ${ratio(r, 'tfjs-wasm', 1)} | ${format(r.results.pytorch)} | ${ratio(r, 'pytorch', 2)} | ${gpu} |`,
    );
  }
  if (inference) {
    console.log(
      '\nInference (forward only, eval mode): agrad against onnxruntime-node running the model exported by @agrad/onnx' +
        '\n\n| workload | unit | agrad | onnxruntime-node | agrad / onnxruntime |\n|---|---|---|---|---|',
    );
    for (const r of inference)
      console.log(
        `| ${r.workload} | ${r.unit} | ${format(r.agrad)} | ${format(r.onnxruntime)} | ${(r.agrad / r.onnxruntime).toFixed(2)}x |`,
      );
  }
  if (optimizer) {
    console.log(
      `\nOptimizer step on the MLP's ${optimizer.parameters} parameters: AdamW ${optimizer.adamwMs.toFixed(2)} ms, ` +
        `AGR + AdamW ${optimizer.adamwAgrMs.toFixed(2)} ms (AGR adds ${optimizer.agrOverheadPercent.toFixed(1)}%)` +
        (optimizer.pytorchAdamwMs === undefined
          ? ''
          : `; PyTorch AdamW ${optimizer.pytorchAdamwMs.toFixed(2)} ms (agrad / PyTorch speed ${(optimizer.pytorchAdamwMs / optimizer.adamwMs).toFixed(2)}x)`),
    );
  }
  if (pytorch) {
    console.log(
      `PyTorch ${pytorch.torch}: ${pytorch.threads} threads, OMP_WAIT_POLICY=${pytorch.ompWaitPolicy}, BLAS ${pytorch.blas}`,
    );
  }
  if (memory) {
    console.log(
      `Memory over ${memory.steps} MLP steps: heap after GC ${memory.heapStartMB.toFixed(1)} MB -> ${memory.heapEndMB.toFixed(1)} MB ` +
        `(trend over the second half ${memory.heapTrendBytesPerStep.toFixed(1)} bytes/step${memory.gcExposed ? '' : ', GC not exposed'}), ` +
        `typed arrays ${memory.externalMB.toFixed(1)} MB, peak RSS ${memory.peakRssMB.toFixed(0)} MB`,
    );
  }
}
