/**
 * `pnpm --filter @agrad/bench profile <mlp|cnn|transformer|adamw> [steps]`: where one of the
 * bench's agrad workloads spends its time. Runs a few warm-up steps, then `steps` steps under V8's
 * sampling profiler (node:inspector), and prints the functions with the most self time, as shares
 * of the profiled time. The figures in the README's "what limits each" come from this.
 */
import { Session } from 'node:inspector/promises';
import { cnnStep, mlpStep, optimizerStep, transformerStep } from './workloads/agrad.js';

const workloads = {
  mlp: mlpStep,
  cnn: cnnStep,
  transformer: transformerStep,
  adamw: () => optimizerStep(false),
};
const [name = 'cnn', count = '20'] = process.argv.slice(2);
if (!(name in workloads))
  throw new Error(`profile: unknown workload '${name}' (one of ${Object.keys(workloads).join(', ')})`);
const steps = Number(count);
if (!Number.isSafeInteger(steps) || steps < 1)
  throw new Error(`profile: steps must be a positive integer, got '${count}'`);

const step = workloads[name as keyof typeof workloads]();
for (let i = 0; i < 3; i++) step();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');
const started = performance.now();
for (let i = 0; i < steps; i++) step();
const elapsed = performance.now() - started;
const { profile } = await session.post('Profiler.stop');
session.disconnect();

// Self time per function: each sample is charged to the node it landed in.
const selfTime = new Map<number, number>();
profile.samples?.forEach((id, i) =>
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas?.[i] ?? 0)),
);
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${url.split('/').pop() ?? ''}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + (selfTime.get(node.id) ?? 0));
}
const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
console.log(`${name}: ${(elapsed / steps).toFixed(1)} ms a step over ${steps} steps; self time by function:`);
for (const [key, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 20))
  console.log(`${((100 * time) / total).toFixed(1).padStart(6)}%  ${key}`);
