/**
 * `pnpm --filter @agrad/bench loops`: three facts about V8's loops over Float32Arrays that shape
 * the CPU backend's elementwise kernels (packages/tensor/src/cpu/elementwise.ts), each as the same
 * work written two ways, timed in one run (medians, microseconds per pass):
 * 1. rows: an add over 2^20 elements cut into rows, with three subarrays per row ('contiguous')
 *    or indexed from each row's offset ('offset'): why rows under 1024 take the second.
 * 2. fresh memory: the same add into a new zero-filled array each time, and into one reused
 *    array: the cost of new pages, which a buffer pool would save.
 * 3. branches: relu's backward on random signs as `y > 0 ? g : 0` and as a select through a
 *    two-entry table: why the table form is the CPU's.
 * 4. a copy by a JavaScript loop and by TypedArray.set (native code): what a loop costs.
 */
import { measure } from './measure.js';

const TOTAL = 1 << 20;
const a = Float32Array.from({ length: TOTAL }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: TOTAL }, (_, i) => Math.cos(i * 1.7));
const out = new Float32Array(TOTAL);
const us = (fn: () => void) => measure(fn).seconds * 1e6;

// Written as the backend compiles them (new Function), so V8 sees the same shapes of code.
const compile = <T>(source: string, ...scope: unknown[]): T =>
  new Function(...scope.map((_, i) => `s${i}`), source)(...scope) as T;
type Contiguous = (out: Float32Array, a: Float32Array, b: Float32Array, n: number) => void;
type Offset = (
  out: Float32Array,
  o: number,
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  n: number,
) => void;
const contiguous = compile<Contiguous>(
  'return function addRow(out, a, b, n) { for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; out[i] = x + y; } };',
);
const offset = compile<Offset>(
  'return function addRow(out, o, a, ao, b, bo, n) { for (let i = 0; i < n; i++) { const x = a[ao + i]; const y = b[bo + i]; out[o + i] = x + y; } };',
);

console.log(`1. rows: an add of ${TOTAL} float32 elements, in rows of each length\n`);
console.log('| row length | contiguous (us) | offset (us) | contiguous / offset |\n|---|---|---|---|');
for (const n of [16, 128, 1024, 4096, 16384, TOTAL]) {
  const rows = TOTAL / n;
  const c = us(() => {
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      contiguous(out.subarray(o, o + n), a.subarray(o, o + n), b.subarray(o, o + n), n);
    }
  });
  const o = us(() => {
    for (let r = 0; r < rows; r++) offset(out, r * n, a, r * n, b, r * n, n);
  });
  console.log(`| ${n} | ${c.toFixed(0)} | ${o.toFixed(0)} | ${(c / o).toFixed(2)} |`);
}

console.log('\n2. fresh memory: an add into a new array each time, and into one reused array\n');
console.log('| elements | new array (us) | reused array (us) | new / reused |\n|---|---|---|---|');
for (const n of [1 << 14, 1 << 17, TOTAL]) {
  const fresh = us(() => contiguous(new Float32Array(n), a, b, n));
  const reused = us(() => contiguous(out, a, b, n));
  console.log(`| ${n} | ${fresh.toFixed(0)} | ${reused.toFixed(0)} | ${(fresh / reused).toFixed(2)} |`);
}

console.log('\n3. branches: relu backward over random signs, in cache and out of it\n');
type Backward = (out: Float32Array, g: Float32Array, y: Float32Array, n: number) => void;
const branch = compile<Backward>(
  'return function reluBackwardRow(out, g, y, n) { for (let i = 0; i < n; i++) { const x = g[i]; const v = y[i]; out[i] = v > 0 ? x : 0; } };',
);
const select = compile<Backward>(
  'return function reluBackwardRow(out, g, y, n) { for (let i = 0; i < n; i++) { const x = g[i]; const v = y[i]; s0[1] = x; out[i] = s0[+(v > 0)]; } };',
  new Float64Array(2),
);
const signs = Float32Array.from({ length: TOTAL }, () => Math.random() - 0.5);
console.log('| elements | y > 0 ? g : 0 (ns/element) | table select (ns/element) |\n|---|---|---|');
for (const n of [1 << 15, TOTAL]) {
  const [withBranch, withSelect] = [us(() => branch(out, a, signs, n)), us(() => select(out, a, signs, n))];
  console.log(`| ${n} | ${((withBranch * 1e3) / n).toFixed(2)} | ${((withSelect * 1e3) / n).toFixed(2)} |`);
}

console.log('\n4. a JavaScript loop against native code: the same copy by a loop and by TypedArray.set\n');
console.log('| elements | loop (ns/element) | set (ns/element) | loop / set |\n|---|---|---|---|');
const copy = compile<(out: Float32Array, a: Float32Array, n: number) => void>(
  'return function copyRow(out, a, n) { for (let i = 0; i < n; i++) out[i] = a[i]; };',
);
for (const n of [1 << 15, TOTAL]) {
  const [loop, native] = [us(() => copy(out, a, n)), us(() => out.set(a.subarray(0, n)))];
  console.log(
    `| ${n} | ${((loop * 1e3) / n).toFixed(2)} | ${((native * 1e3) / n).toFixed(2)} | ${(loop / native).toFixed(1)} |`,
  );
}
