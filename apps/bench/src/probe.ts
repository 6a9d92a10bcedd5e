import { measure } from './measure.js';
import * as agrad from './workloads/agrad.js';

for (const n of [128, 256, 512, 1024]) {
  const m = measure(agrad.matmul(n), { budgetSeconds: 1 });
  console.log(n, ((2 * n ** 3) / m.seconds / 1e9).toFixed(1));
}
