/**
 * `pnpm bench`: agrad and TensorFlow.js (cpu and wasm backends) on the same work in one run, with
 * absolute figures and ratios. `--json` prints machine-readable results for comparing commits;
 * `--quick` shortens every measurement; `--slow` also runs TensorFlow.js cpu on the CNN (one step
 * takes about a minute there). Medians after warm-up; compare ratios taken in one run, not
 * absolute numbers across machines.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { manualSeed } from '@agrad/autograd';
import { getNumThreads } from '@agrad/tensor';
import { measure } from './measure.js';
import { loadTfjs } from './tfjs-loader.js';
import * as agrad from './workloads/agrad.js';
import { CNN, MATMUL_SIZES, MLP, TRANSFORMER } from './workloads/shapes.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    slow: { type: 'boolean', default: false },
    'soak-steps': { type: 'string' },
  },
});
const budgetSeconds = args.quick ? 0.3 : 1.5;
const soakSteps = Number(args['soak-steps'] ?? (args.quick ? 300 : 2000));

type System = 'agrad' | 'tfjs-cpu' | 'tfjs-wasm';
const SYSTEMS: System[] = ['agrad', 'tfjs-cpu', 'tfjs-wasm'];

interface Row {
  workload: string;
  unit: string;
  /** Figure per system, or a note saying why there is none. */
  results: Partial<Record<System, number | string>>;
}

const rows: Row[] = [];
const tfjs = await loadTfjs();
const log = (text: string) => {
  if (!args.json) process.stderr.write(`${text}\n`);
};

/** Runs one cell: a workload maker, turned into a rate by `perCall` units of work per call. */
async function cell(
  system: System,
  make: () => () => void,
  perCall: number,
  slow = false,
): Promise<number | string> {
  try {
    if (system !== 'agrad') await tfjs.useBackend(system === 'tfjs-cpu' ? 'cpu' : 'wasm');
    const run = make();
    const m = measure(run, slow ? { warmup: 1, minRuns: 2, budgetSeconds } : { budgetSeconds });
    return perCall / m.seconds;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    return `cannot run: ${message}`;
  }
}

async function workload(
  name: string,
  unit: string,
  perCall: number,
  makers: Partial<Record<System, () => () => void>>,
  slow: System[] = [],
) {
  const row: Row = { workload: name, unit, results: {} };
  for (const system of SYSTEMS) {
    const make = makers[system];
    if (!make) continue;
    log(`  ${name}: ${system} ...`);
    row.results[system] = await cell(system, make, perCall, slow.includes(system));
  }
  rows.push(row);
}

manualSeed(0);
log(
  `agrad benchmarks: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, agrad matmul threads ${getNumThreads()}`,
);

for (const n of MATMUL_SIZES) {
  const flop = (2 * n ** 3) / 1e9;
  await workload(
    `matmul float32 ${n}x${n}`,
    'GFLOP/s',
    flop,
    { agrad: () => agrad.matmul(n), 'tfjs-cpu': () => tfjs.matmul(n), 'tfjs-wasm': () => tfjs.matmul(n) },
    ['tfjs-cpu'],
  );
}
await workload(`MLP ${MLP.sizes.join('-')} train step, batch ${MLP.batch}, Adam`, 'samples/s', MLP.batch, {
  agrad: agrad.mlpStep,
  'tfjs-cpu': tfjs.mlpStep,
  'tfjs-wasm': tfjs.mlpStep,
});
await workload(
  `CNN train step (PERF.md), batch ${CNN.batch}, Adam`,
  'samples/s',
  CNN.batch,
  { agrad: agrad.cnnStep, ...(args.slow ? { 'tfjs-cpu': tfjs.cnnStep } : {}), 'tfjs-wasm': tfjs.cnnStep },
  ['tfjs-cpu'],
);
if (!args.slow)
  rows[rows.length - 1].results['tfjs-cpu'] = 'skipped: about a minute per step (run with --slow)';
await workload(
  `transformer block train step (batch ${TRANSFORMER.batch}, seq ${TRANSFORMER.sequence}, width ${TRANSFORMER.width}, ${TRANSFORMER.heads} heads)`,
  'sequences/s',
  TRANSFORMER.batch,
  { agrad: agrad.transformerStep, 'tfjs-cpu': tfjs.transformerStep, 'tfjs-wasm': tfjs.transformerStep },
  ['tfjs-cpu'],
);

// Optimizer cost: AdamW with and without AGR in front, on the MLP's parameters.
log('  optimizer step ...');
const adamw = measure(agrad.optimizerStep(false), { budgetSeconds: budgetSeconds * 2, minRuns: 20 });
const adamwAgr = measure(agrad.optimizerStep(true), { budgetSeconds: budgetSeconds * 2, minRuns: 20 });
const parameterCount = agrad.mlpModel().numParameters();

// Memory: heap after garbage collection over many MLP training steps.
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
const slope = (() => {
  const n = samples.length;
  const mx = samples.reduce((s, [x]) => s + x, 0) / n;
  const my = samples.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = samples.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = samples.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
})();
const memory = {
  steps: soakSteps,
  gcExposed: gc !== undefined,
  heapStartMB: samples[1][1] / 2 ** 20,
  heapEndMB: samples[samples.length - 1][1] / 2 ** 20,
  heapTrendBytesPerStep: slope,
  peakRssMB: peakRss / 2 ** 20,
};

const optimizer = {
  parameters: parameterCount,
  adamwMs: adamw.seconds * 1000,
  adamwAgrMs: adamwAgr.seconds * 1000,
  agrOverheadPercent: (adamwAgr.seconds / adamw.seconds - 1) * 100,
};

if (args.json) {
  console.log(
    JSON.stringify(
      {
        node: process.version,
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        threads: getNumThreads(),
        date: new Date().toISOString(),
        rows,
        optimizer,
        memory,
      },
      null,
      2,
    ),
  );
} else {
  const format = (v: number | string | undefined) =>
    v === undefined ? '-' : typeof v === 'string' ? v : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  const ratio = (r: Row) => {
    const [a, w] = [r.results.agrad, r.results['tfjs-wasm']];
    return typeof a === 'number' && typeof w === 'number' ? `${(a / w).toFixed(1)}x` : '-';
  };
  console.log(
    `\n| workload | unit | agrad | TF.js cpu | TF.js wasm | agrad / TF.js wasm |\n|---|---|---|---|---|---|`,
  );
  for (const r of rows) {
    console.log(
      `| ${r.workload} | ${r.unit} | ${format(r.results.agrad)} | ${format(r.results['tfjs-cpu'])} | ${format(r.results['tfjs-wasm'])} | ${ratio(r)} |`,
    );
  }
  console.log(
    `\nOptimizer step on the MLP's ${parameterCount} parameters: AdamW ${optimizer.adamwMs.toFixed(2)} ms, ` +
      `AGR + AdamW ${optimizer.adamwAgrMs.toFixed(2)} ms (AGR adds ${optimizer.agrOverheadPercent.toFixed(1)}%)`,
  );
  console.log(
    `Memory over ${soakSteps} MLP steps: heap after GC ${memory.heapStartMB.toFixed(1)} MB -> ${memory.heapEndMB.toFixed(1)} MB ` +
      `(trend ${memory.heapTrendBytesPerStep.toFixed(1)} bytes/step${memory.gcExposed ? '' : ', GC not exposed'}), peak RSS ${memory.peakRssMB.toFixed(0)} MB`,
  );
}
