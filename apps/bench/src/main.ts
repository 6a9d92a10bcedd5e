/**
 * agrad benchmarks: `pnpm bench` prints a table, `pnpm bench --json` prints JSON for comparing
 * commits. Figures are medians after warm-up; compare ratios taken in one run, not absolute
 * numbers across machines.
 */
import { parseArgs } from 'node:util';
import { manualSeed, randn } from '@agrad/autograd';
import { measure } from './measure.js';

interface Row {
  group: string;
  name: string;
  value: number;
  unit: string;
  runs: number;
}

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});
const budgetSeconds = args.quick ? 0.2 : 1;

manualSeed(0);
const rows: Row[] = [];

for (const n of [128, 256, 512, 1024]) {
  const a = randn([n, n]);
  const b = randn([n, n]);
  const m = measure(() => a.matmul(b), { budgetSeconds, minRuns: n >= 1024 ? 3 : 5 });
  rows.push({
    group: 'matmul float32',
    name: `${n}x${n}`,
    value: (2 * n ** 3) / m.seconds / 1e9,
    unit: 'GFLOP/s',
    runs: m.runs,
  });
}

const size = 1 << 20;
const x = randn([size]);
const y = randn([size]);
const rowsOf = randn([1024, 1024]);
const bias = randn([1024]);
const elementwise: [string, () => unknown][] = [
  ['add (contiguous)', () => x.add(y)],
  ['mul by scalar', () => x.mul(2)],
  ['exp', () => x.exp()],
  ['tanh', () => x.tanh()],
  ['add bias (broadcast [1024,1024] + [1024])', () => rowsOf.add(bias)],
  ['add transposed ([1024,1024]^T + [1024,1024])', () => rowsOf.transpose(0, 1).add(rowsOf)],
  ['sum (all)', () => x.sum()],
  ['sum over dim 0 of [1024,1024]', () => rowsOf.sum(0)],
  ['softmax over rows of [1024,1024]', () => rowsOf.softmax(1)],
];
for (const [name, fn] of elementwise) {
  const m = measure(fn, { budgetSeconds });
  rows.push({
    group: 'elementwise float32, 2^20 elements',
    name,
    value: size / m.seconds / 1e6,
    unit: 'M elements/s',
    runs: m.runs,
  });
}

if (args.json) {
  console.log(JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2));
} else {
  console.log(
    `agrad benchmarks (Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; medians)\n`,
  );
  let group = '';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      console.log(`\n${group}`);
    }
    console.log(
      `  ${row.name.padEnd(46)} ${row.value.toFixed(row.value < 10 ? 2 : 0).padStart(9)} ${row.unit}`,
    );
  }
}
