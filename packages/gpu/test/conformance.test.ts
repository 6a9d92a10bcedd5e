import { ops } from '@agrad/tensor';
import { describe, expect, it } from 'vitest';
import { describeConformance } from '../../tensor/test/conformance.js';
import { GpuBackend } from '../src/index.js';
import { backendsUnderTest } from './backends.js';

// @agrad/tensor's op-table suite, on gpu.js in every Node mode this machine offers.
describeConformance(backendsUnderTest());

for (const { name, backend } of backendsUnderTest()) {
  const onGl = backend instanceof GpuBackend && ['headlessgl', 'webgl2', 'webgl'].includes(backend.mode);
  describe.runIf(onGl)(`${name}: texture lifetimes`, () => {
    it('frees its own temporaries at once instead of waiting for the garbage collector', () => {
      const gpu = backend as GpuBackend;
      // Synchronous code: no finalizer can run in between, so the count is exact.
      const a = ops.fromTypedArray(new Float32Array(100 * 100).fill(1), [100, 100], gpu);
      const before = GpuBackend.liveTextures;
      expect(a.transpose(0, 1).read()[1]).toBe(1); // read of a strided view: a temporary copy
      expect(GpuBackend.liveTextures).toBe(before);
      const total = ops.reduce('sum', a, [0, 1], false); // two passes: the partial sums are freed
      expect(total.read()[0]).toBe(10000);
      expect(GpuBackend.liveTextures).toBe(before + 1);
      const row = ops.fromTypedArray(new Float32Array(100), [1, 100], gpu);
      gpu.assign(a.narrow(0, 0, 1), row); // the old version of a's storage is freed
      expect(GpuBackend.liveTextures).toBe(before + 2);
    });
  });
}
