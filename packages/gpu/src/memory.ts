import type { Backend, DType, Storage, ValueRange } from '@agrad/tensor';

/**
 * The gpu.js backend's memory: what a storage holds on the device, and when that memory is freed.
 * Compute (./backend.ts) only makes and reads device values; their lifetime is decided here.
 *
 * A kernel called with `pipeline: true` returns a texture on the GL modes (read back with
 * toArray) and a fresh Float32Array on webasm and javascript, which the garbage collector frees.
 */
export interface Texture {
  /** Reads the texture back to the host. */
  toArray(): Float32Array | number[];
  /** Frees the texture's GPU memory. */
  delete(): void;
}
/** What a gpu.js storage holds: a texture on the GL modes, a Float32Array on webasm and javascript. */
export type Device = Texture | Float32Array;

export function isTexture(device: Device): device is Texture {
  return !(device instanceof Float32Array);
}

/**
 * Device memory: the output of a gpu.js kernel (or nothing, for zero elements). Values of every
 * dtype are float32 on the device: int32 and bool are exact there up to 2^24.
 */
export class GpuStorage implements Storage {
  constructor(
    readonly backend: Backend,
    readonly dtype: DType,
    readonly length: number,
    /** Replaced (never mutated) by in-place writes, so views keep sharing one storage object. */
    public device: Device | null,
    /** For int32 and bool: the range of the values, when known without reading them back. */
    public bounds: ValueRange | null = null,
  ) {}

  /** True once tidy() (or release) freed the memory: any further use throws. */
  released = false;
  version = 0;
}

/**
 * Textures are GPU memory the JavaScript GC cannot see: each is freed when its storage is
 * collected, or at once by `release` (tidy() calls it for what it drops). The registry's callbacks
 * run only when the event loop turns, so a loop that never yields keeps every texture it made
 * (see GpuBackend.collect). `live` counts those not freed yet.
 */
let live = 0;
const TEXTURE_WARNING = 50_000;
let warned = false;
const textures = new FinalizationRegistry<Texture>((texture) => {
  live--;
  texture.delete();
});

/** Textures held by live arrays. */
export const liveTextures = () => live;

/** Frees a texture now if this module still tracks it (it was not freed already). */
function free(device: Device | null): void {
  if (device && isTexture(device) && textures.unregister(device)) {
    live--;
    device.delete();
  }
}

/** Starts tracking a storage's device value, so it is freed with the storage. */
export function track(storage: GpuStorage): void {
  const device = storage.device;
  if (!device || !isTexture(device)) return;
  live++;
  textures.register(storage, device, device);
  // Where the engine offers it (Node with --harmony-weak-refs-with-cleanup-some), run the
  // callbacks of already-collected tensors now, so even a loop that never yields frees memory.
  if (live % 1024 === 0) (textures as { cleanupSome?: () => void }).cleanupSome?.();
  if (live > TEXTURE_WARNING && !warned) {
    warned = true;
    console.warn(
      `${storage.backend.name} backend: ${live} textures are alive. Textures of unused tensors are freed only when ` +
        'the event loop turns: in a long training loop, `await backend.collect()` every step or so ' +
        '(or, in Node, run with --harmony-weak-refs-with-cleanup-some).',
    );
  }
}

/** An in-place write's result becomes the storage's value; the old texture is freed at once. */
export function replace(storage: GpuStorage, device: Device): void {
  const old = storage.device;
  storage.device = device;
  track(storage);
  free(old);
}

/** Frees the storage's memory now; later use throws (see GpuBackend.storageOf). */
export function release(storage: GpuStorage): void {
  if (storage.released) return;
  free(storage.device);
  storage.device = null;
  storage.released = true;
}

/** Frees a temporary device value that no storage holds (tiles of a matmul). */
export function discard(device: Device): void {
  if (isTexture(device)) device.delete();
}
