import { measure } from './measure.js';
import * as a from './workloads/agrad.js';

for (const [name, make, per] of [
  ['mlp', a.mlpStep, 128],
  ['cnn', a.cnnStep, 64],
  ['transformer', a.transformerStep, 16],
  ['adamw', () => a.optimizerStep(false), 1],
  ['adamw+agr', () => a.optimizerStep(true), 1],
] as const) {
  const m = measure(make(), { budgetSeconds: 2, minRuns: 3 });
  console.log(name, (m.seconds * 1000).toFixed(1), 'ms', (per / m.seconds).toFixed(0), '/s');
}
