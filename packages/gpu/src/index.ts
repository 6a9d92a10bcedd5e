/**
 * @agrad/gpu: the gpu.js backend for @agrad/tensor. Importing this entry registers it as 'gpu', so
 * `setBackend('gpu')` selects it; `useGpu({ mode })` picks a gpu.js mode explicitly. The CPU path
 * never loads gpu.js: it lives only behind this entry point.
 */
import { registerBackend, setBackend } from '@agrad/tensor';
import { GpuBackend, type GpuBackendOptions } from './backend.js';

export {
  GPU_MODES,
  GpuBackend,
  type GpuBackendOptions,
  type GpuMode,
  MAX_ELEMENTS,
} from './backend.js';
export { type Device, GpuStorage, type Texture } from './memory.js';

let defaultGpu: GpuBackend | null = null;

/** The backend 'gpu' names: the one made by useGpu, else one in gpu.js's automatic mode. */
export function gpuBackend(): GpuBackend {
  defaultGpu ??= new GpuBackend();
  return defaultGpu;
}

/**
 * Creates a gpu.js backend (mode 'gpu': gpu.js's choice; or 'headlessgl', 'webgl2', 'webgl',
 * 'webasm', 'javascript'), makes it the one 'gpu' names and the current backend, and returns it.
 * `useGpu().mode` tells which gpu.js mode runs the kernels.
 *
 * @example
 * const backend = useGpu({ mode: 'webasm' });
 * const x = randn([2, 3]);        // created on the gpu.js backend, and stays there
 * x.exp().sum().item();           // item() reads the one value back
 * backend.mode;                   // 'webasm'
 */
export function useGpu(options: GpuBackendOptions = {}): GpuBackend {
  defaultGpu = new GpuBackend(options);
  setBackend(defaultGpu);
  return defaultGpu;
}

registerBackend('gpu', gpuBackend);
