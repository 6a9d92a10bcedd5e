import { optimizerStep } from './workloads/agrad.js';
const a = optimizerStep(false), b = optimizerStep(true);
for (let i = 0; i < 20; i++) { a(); b(); }
const ta: number[] = [], tb: number[] = [];
for (let r = 0; r < 200; r++) {
  let t = performance.now(); a(); ta.push(performance.now() - t);
  t = performance.now(); b(); tb.push(performance.now() - t);
}
const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
console.log('adamw', med(ta).toFixed(3), 'agr+adamw', med(tb).toFixed(3), 'overhead', ((med(tb) / med(ta) - 1) * 100).toFixed(1) + '%');
