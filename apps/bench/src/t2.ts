import { randn } from '@agrad/autograd';

const x = randn([64, 32, 26, 26]);
for (let r = 0; r < 5; r++) {
  let t = performance.now();
  const y = x.relu();
  const a = performance.now() - t;
  t = performance.now();
  const z = x.gt(0);
  const b = performance.now() - t;
  t = performance.now();
  const w = x.add(1);
  const c = performance.now() - t;
  t = performance.now();
  const e = x.exp();
  const d = performance.now() - t;
  console.log(
    'relu',
    a.toFixed(2),
    'gt',
    b.toFixed(2),
    'add',
    c.toFixed(2),
    'exp',
    d.toFixed(2),
    y.size + z.size + w.size + e.size,
  );
}
