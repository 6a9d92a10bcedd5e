import { getNumThreads, ops } from '@agrad/tensor';

console.log('threads', getNumThreads());
const a = ops.randn([1, 256, 256]);
const b = ops.randn([1, 256, 256]);
const t = performance.now();
ops.matmul3d(a, b);
console.log('one matmul', performance.now() - t);
