import type { BackendUnderTest } from '../../tensor/test/conformance.js';
import { GPU_MODES, GpuBackend, type GpuMode } from '../src/index.js';

/**
 * The backends @agrad/tensor's conformance suite runs against here: the gpu.js backend in every
 * mode this machine offers. gpu.js's 'javascript' and 'webasm' modes run anywhere; 'headlessgl'
 * needs the `gl` package built and an X display (CI runs the tests under xvfb-run).
 * AGRAD_GPU_MODES=headlessgl,webasm,javascript makes those modes required: a missing one fails the run
 * instead of being skipped, so CI cannot pass without exercising them.
 */
export const requiredModes = (process.env.AGRAD_GPU_MODES ?? '')
  .split(',')
  .map((m) => m.trim())
  .filter(Boolean) as GpuMode[];

const gpuBackends = new Map<GpuMode, BackendUnderTest>();

export function gpuUnderTest(mode: GpuMode): BackendUnderTest {
  let entry = gpuBackends.get(mode);
  const required = requiredModes.includes(mode);
  if (!entry) {
    try {
      entry = { name: `gpu:${mode}`, backend: new GpuBackend({ mode }), missing: null, required };
    } catch (error) {
      entry = { name: `gpu:${mode}`, backend: null, missing: (error as Error).message, required };
    }
    gpuBackends.set(mode, entry);
  }
  return entry;
}

/** Node-side modes: webgl and webgl2 exist only in browsers (see the browser test). */
export const NODE_MODES = GPU_MODES.filter((m) => m === 'headlessgl' || m === 'webasm' || m === 'javascript');

export const backendsUnderTest = (): BackendUnderTest[] => NODE_MODES.map(gpuUnderTest);
