import { randn } from '@agrad/autograd';
import { cpuKernels, ops } from '@agrad/tensor';

const x = randn([64, 32, 26, 26]);
const arr = x.array;
for (let r = 0; r < 6; r++) {
  let t = performance.now();
  ops.unary('relu', arr);
  const a = performance.now() - t;
  const out = new Float32Array(arr.size);
  t = performance.now();
  cpuKernels.fastUnary(
    'relu',
    { data: (arr.storage as any).data, shape: arr.shape, strides: arr.strides, offset: 0 },
    out,
  );
  const b = performance.now() - t;
  t = performance.now();
  cpuKernels.fastUnary(
    'relu',
    { data: (arr.storage as any).data, shape: arr.shape, strides: arr.strides, offset: 0 },
    out,
  );
  const c = performance.now() - t;
  t = performance.now();
  new Float32Array(arr.size);
  const d = performance.now() - t;
  console.log(
    'ops.unary',
    a.toFixed(2),
    'kernel fresh',
    b.toFixed(2),
    'kernel reused',
    c.toFixed(2),
    'alloc',
    d.toFixed(2),
  );
}
