/**
 * `pnpm --filter @agrad/bench rows`: why the CPU backend's elementwise loops pick a variant by
 * row length (LONG_ROW in packages/tensor/src/cpu/elementwise.ts). The same float32 add over
 * 2^20 elements, cut into rows of each length, as the two stride-1 variants run it: 'contiguous'
 * makes three subarrays per row and indexes them from 0; 'offset' indexes the whole arrays from
 * each row's offset. Prints microseconds per add; compare the columns of one run.
 */
import { measure } from './measure.js';

const TOTAL = 1 << 20;
const a = Float32Array.from({ length: TOTAL }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: TOTAL }, (_, i) => Math.cos(i));
const out = new Float32Array(TOTAL);

// Written as the backend compiles them (new Function), so V8 sees the same shapes of code.
const contiguous = new Function(
  'return function addRow(out, a, b, n) { for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; out[i] = x + y; } };',
)() as (out: Float32Array, a: Float32Array, b: Float32Array, n: number) => void;
const offset = new Function(
  'return function addRow(out, o, a, ao, b, bo, n) { for (let i = 0; i < n; i++) { const x = a[ao + i]; const y = b[bo + i]; out[o + i] = x + y; } };',
)() as (
  out: Float32Array,
  o: number,
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  n: number,
) => void;

console.log(`add of ${TOTAL} float32 elements, in rows of each length\n`);
console.log('| row length | contiguous (us) | offset (us) | contiguous / offset |\n|---|---|---|---|');
for (const n of [16, 128, 1024, 4096, 16384, TOTAL]) {
  const rows = TOTAL / n;
  const byContiguous = measure(() => {
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      contiguous(out.subarray(o, o + n), a.subarray(o, o + n), b.subarray(o, o + n), n);
    }
  });
  const byOffset = measure(() => {
    for (let r = 0; r < rows; r++) offset(out, r * n, a, r * n, b, r * n, n);
  });
  const [c, o] = [byContiguous.seconds * 1e6, byOffset.seconds * 1e6];
  console.log(`| ${n} | ${c.toFixed(0)} | ${o.toFixed(0)} | ${(c / o).toFixed(2)} |`);
}
