import gpujs from 'gpu.js';
import type { ArgReduceOp, Backend, BinaryOp, ReduceOp, Storage, UnaryOp, Window } from '../backend.js';
import { outputSize } from '../cpu/unfold.js';
import { type DType, dtypeOfTypedArray, type TypedArray, typedArrayFor } from '../dtype.js';
import { NDArray } from '../ndarray.js';
import { recordStorage } from '../ops.js';
import { checkOptions } from '../options.js';
import { sizeOf } from '../shape.js';
import * as source from './source.js';

const { GPU, CPUKernel, HeadlessGLKernel, WebGL2Kernel, WebGLKernel, WebAssemblyKernel } = gpujs;

/**
 * The gpu.js modes this backend can run on (webgpu is asynchronous only; see the README).
 * 'javascript' is the mode gpu.js itself calls 'cpu': in agrad, 'cpu' names the host backend.
 */
export type GpuMode = 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'javascript';
export const GPU_MODES: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webasm', 'javascript'];

/** gpu.js's own name for a mode. */
const gpuJsMode = (mode: GpuMode | 'gpu') => (mode === 'javascript' ? 'cpu' : mode);

/**
 * Largest element count of one array: every value and index travels as float32 on a GL device,
 * and float32 holds integers exactly only up to 2^24.
 */
export const MAX_ELEMENTS = 2 ** 24;

// What a kernel call returns with `pipeline: true`: a texture on the GL modes (read back with
// toArray), a fresh Float32Array on webasm and javascript.
interface Texture {
  toArray(): Float32Array | number[];
  delete(): void;
}
type Device = Texture | Float32Array;
interface CompiledKernel {
  (...args: Device[]): Device;
  kernel?: object;
}

/** Known bounds of an int32 array's values, so indices can be checked without a readback. */
interface Bounds {
  min: number;
  max: number;
}

/**
 * Device memory: the output of a gpu.js kernel (or nothing, for zero elements). Values of every
 * dtype are float32 on the device: int32 and bool are exact there up to 2^24.
 */
export class GpuStorage implements Storage {
  constructor(
    readonly backend: GpuBackend,
    readonly dtype: DType,
    readonly length: number,
    /** Replaced (never mutated) by in-place writes, so views keep sharing one storage object. */
    public device: Device | null,
    /** For int32 and bool: the range of the values, when known without reading them back. */
    public bounds: Bounds | null = null,
  ) {}

  /** True once tidy() (or release) freed the memory: any further use throws. */
  released = false;
  version = 0;
}

/**
 * Textures are GPU memory the JavaScript GC cannot see: each is freed when its storage is
 * collected. The registry's callbacks run only when the event loop turns, so a loop that never
 * yields keeps every texture it made (see GpuBackend.collect). `liveTextures` counts those not
 * freed yet.
 */
let liveTextures = 0;
const TEXTURE_WARNING = 50_000;
let warned = false;
const textures = new FinalizationRegistry<Texture>((texture) => {
  liveTextures--;
  texture.delete();
});

function isTexture(device: Device): device is Texture {
  return !(device instanceof Float32Array);
}

function kindOf(dtype: DType): source.OutputKind {
  return dtype === 'int32' ? 'int' : dtype === 'bool' ? 'bool' : 'float';
}

export interface GpuBackendOptions {
  /** A gpu.js mode, or 'gpu' (the default) for gpu.js's own choice: the best GL context, else webasm. */
  mode?: GpuMode | 'gpu';
  /** A canvas or WebGL context to share (browsers). */
  canvas?: unknown;
  context?: unknown;
}

/**
 * The gpu.js backend. Each kernel is generated for the exact layout of its operands (see
 * ./source.ts), compiled on first use and cached by its source text. Results stay on the device
 * (`pipeline: true`) and are read back only by `read`. float64 is refused: GLSL floats are 32-bit.
 */
export class GpuBackend implements Backend {
  readonly name: string;
  /** The gpu.js mode that runs the kernels. */
  readonly mode: GpuMode;
  /** Values live on the device (or in gpu.js's own arrays): read back only by `read`. */
  readonly host = false;
  private readonly gpu: InstanceType<typeof GPU>;
  private readonly kernels = new Map<string, CompiledKernel>();
  /** How many times values were read back to the host (`read`), for checking that they stay put. */
  readbacks = 0;

  constructor(options: GpuBackendOptions = {}) {
    // 'mode' is checked below, with a reason for webgpu; canvas and context are the host's objects.
    const anything = () => null;
    checkOptions('gpu backend', options, { mode: anything, canvas: anything, context: anything });
    const requested = options.mode ?? 'gpu';
    if ((requested as string) === 'webgpu') {
      throw new Error(
        "gpu backend: gpu.js's webgpu mode only returns promises, and agrad's backends are synchronous; use webgl2, webgl, headlessgl, webasm or javascript",
      );
    }
    if ((requested as string) === 'cpu') {
      throw new RangeError(
        "gpu backend: gpu.js's JavaScript mode is called 'javascript' in agrad ('cpu' names the host backend: setBackend('cpu'))",
      );
    }
    if (requested !== 'gpu' && !GPU_MODES.includes(requested)) {
      throw new RangeError(
        `gpu backend: unknown mode '${requested}'; expected 'gpu' or one of ${GPU_MODES.join(', ')}`,
      );
    }
    this.gpu = new GPU({
      mode: gpuJsMode(requested),
      canvas: options.canvas,
      context: options.context,
    } as never);
    this.mode = modeOf((this.gpu as unknown as { Kernel: unknown }).Kernel);
    if (requested !== 'gpu' && this.mode !== requested) {
      throw new Error(`gpu backend: gpu.js mode '${requested}' is not available here (got '${this.mode}')`);
    }
    this.name = `gpu:${this.mode}`;
  }

  /** Textures held by live arrays (GL modes; 0 on webasm and javascript, whose arrays the GC frees). */
  static get liveTextures(): number {
    return liveTextures;
  }

  /** How many kernels have been compiled (each distinct op and layout is one). */
  get compiledKernels(): number {
    return this.kernels.size;
  }

  /** Frees the kernels and the gpu.js context. Arrays of this backend are unusable afterwards. */
  destroy(): void {
    this.kernels.clear();
    this.gpu.destroy();
  }

  // Storage

  upload(data: TypedArray): Storage {
    const dtype = this.check('upload', dtypeOfTypedArray(data), data.length);
    if (data.length === 0) return new GpuStorage(this, dtype, 0, null);
    let bounds: Bounds | null = null;
    if (dtype === 'int32') {
      let [min, max] = [0, 0];
      for (let i = 0; i < data.length; i++) {
        if (data[i] < min) min = data[i];
        if (data[i] > max) max = data[i];
      }
      if (min < -MAX_ELEMENTS || max > MAX_ELEMENTS) {
        throw new RangeError(
          `gpu backend: int32 values must lie within +-2^24 to be exact in float32, got range [${min}, ${max}]`,
        );
      }
      bounds = { min, max };
    } else if (dtype === 'bool') bounds = { min: 0, max: 1 };
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    const device = this.run('upload', 'function(a) {\nreturn a[this.thread.x];\n}', data.length, [values]);
    return this.store(dtype, data.length, device, bounds);
  }

  zeros(dtype: DType, length: number): Storage {
    this.check('zeros', dtype, length);
    const device = length === 0 ? null : this.run('zeros', source.fillSource(0), length, []);
    return this.store(dtype, length, device, { min: 0, max: 0 });
  }

  read(view: NDArray): TypedArray {
    const out = typedArrayFor(view.dtype, view.size);
    if (view.size === 0) return out;
    this.readbacks++;
    const whole = view.isContiguous() && view.offset === 0 && view.size === view.storage.length;
    // A strided or partial view is first gathered into a contiguous temporary, freed right after.
    const source = whole ? view : this.copy(view, view.dtype);
    const device = this.deviceOf(source);
    const values = isTexture(device) ? device.toArray() : device;
    for (let i = 0; i < out.length; i++) out[i] = values[i];
    if (source !== view) this.release(source.storage);
    return out;
  }

  copy(view: NDArray, dtype: DType): NDArray {
    this.check('copy', dtype, view.size);
    const bounds = dtype === view.dtype || dtype === 'int32' ? this.storageOf(view).bounds : null;
    return this.elementwise(
      'copy',
      view.shape,
      dtype,
      [view],
      (ops) => source.copySource(view.shape, ops[0], kindOf(dtype)),
      dtype === 'bool' ? { min: 0, max: 1 } : bounds,
    );
  }

  assign(target: NDArray, value: NDArray): void {
    const storage = this.storageOf(target);
    this.storageOf(value);
    if (target.size === 0) return;
    // ops.assign has refused overlapping targets, so the target's dims by decreasing stride nest
    // and a storage position belongs to at most one element: the kernel finds it by division.
    const dims = target.shape.map((_, d) => d).filter((d) => target.shape[d] > 1);
    dims.sort((p, q) => target.strides[q] - target.strides[p]);
    const old = storage.device as Device;
    const src = this.operand(value, 'b');
    const next = this.run(
      'assign',
      source.assignSource({ name: 'a', strides: [1], offset: 0 }, target, dims, src),
      storage.length,
      [old, this.deviceOf(value)],
    );
    this.replace(storage, next);
    const incoming = this.storageOf(value).bounds;
    storage.bounds = storage.bounds && incoming ? union(storage.bounds, incoming) : null;
  }

  // Compute

  unary(op: UnaryOp, a: NDArray): NDArray {
    const bounds = op === 'not' ? { min: 0, max: 1 } : null;
    return this.elementwise(
      op,
      a.shape,
      a.dtype,
      [a],
      (o) => source.unarySource(op, a.shape, o[0], kindOf(a.dtype)),
      bounds,
    );
  }

  binary(op: BinaryOp, a: NDArray, b: NDArray): NDArray {
    const comparison = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or'].includes(op);
    const dtype = comparison ? 'bool' : a.dtype;
    return this.elementwise(
      op,
      a.shape,
      dtype,
      [a, b],
      (o) => source.binarySource(op, a.shape, o[0], o[1], kindOf(dtype)),
      comparison ? { min: 0, max: 1 } : null,
    );
  }

  where(condition: NDArray, a: NDArray, b: NDArray): NDArray {
    const [ba, bb] = [this.storageOf(a).bounds, this.storageOf(b).bounds];
    return this.elementwise(
      'where',
      a.shape,
      a.dtype,
      [condition, a, b],
      (o) => source.whereSource(a.shape, o[0], o[1], o[2]),
      ba && bb ? union(ba, bb) : null,
    );
  }

  reduce(op: ReduceOp, a: NDArray, axes: readonly number[]): NDArray {
    const dtype = op === 'sum' && a.dtype === 'bool' ? 'int32' : a.dtype;
    const reducedSet = new Set(axes);
    const outShape = a.shape.map((d, i) => (reducedSet.has(i) ? 1 : d));
    const kept = pick(a, (d) => !reducedSet.has(d));
    const reduced = pick(a, (d) => reducedSet.has(d));
    const total = sizeOf(reduced.shape);
    const outCount = sizeOf(outShape);
    if (outCount === 0 || total === 0) return this.filled(dtype, outShape, 0);
    const x = this.operand(a, 'a');
    // Long reductions go in two passes (chunks of about sqrt(n), then the partial results), so a
    // GPU runs many short loops in parallel instead of one long loop per output.
    if (total > LONG_REDUCTION) {
      const chunk = Math.ceil(Math.sqrt(total));
      const chunks = Math.ceil(total / chunk);
      const partial = this.result(
        op,
        source.partialReduceSource(op, x, kept, reduced, chunk, chunks),
        [outCount, chunks],
        dtype,
        [this.deviceOf(a)],
      );
      const out = this.reduce(op, partial, [1]).reshape(outShape);
      this.release(partial.storage); // nothing else holds the partial sums
      return out;
    }
    return this.result(op, source.reduceSource(op, x, kept, reduced), outShape, dtype, [this.deviceOf(a)]);
  }

  argReduce(op: ArgReduceOp, a: NDArray, axis: number): NDArray {
    const shape = a.shape.map((d, i) => (i === axis ? 1 : d));
    const src = source.argReduceSource(op, this.operand(a, 'a'), shape, axis, a.shape[axis]);
    const out = this.result(op, src, shape, 'int32', [this.deviceOf(a)]);
    this.storageOf(out).bounds = { min: 0, max: a.shape[axis] - 1 };
    return out;
  }

  matmul(a: NDArray, b: NDArray): NDArray {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B * M * N === 0 || K === 0) return this.filled(a.dtype, [B, M, N], 0);
    const [x, y] = [this.operand(a, 'a'), this.operand(b, 'b')];
    const args = [this.deviceOf(a), this.deviceOf(b)];
    if (this.mode === 'webasm' || this.mode === 'javascript' || M * N < 4) {
      return this.result('matmul', source.matmulSource(x, y, B, M, K, N), [B, M, N], a.dtype, args);
    }
    // GL modes: 2x2 register tiles (half the texture reads per output), then one unpacking pass.
    const tileCount = B * Math.ceil(M / 2) * Math.ceil(N / 2);
    const tiles = this.run('matmul', source.matmulTiledSource(x, y, B, M, K, N), tileCount, args, 'Array(4)');
    const out = this.result('matmul', source.unpackTilesSource('a', B, M, N), [B, M, N], a.dtype, [tiles]);
    (tiles as Texture).delete();
    return out;
  }

  gather(a: NDArray, dim: number, index: NDArray): NDArray {
    this.checkIndex('gather', index, a.shape[dim], dim);
    if (index.size === 0) return this.filled(a.dtype, index.shape, 0);
    const src = source.gatherSource(this.operand(a, 'a'), this.operand(index, 'b'), index.shape, dim);
    return this.result('gather', src, index.shape, a.dtype, [this.deviceOf(a), this.deviceOf(index)]);
  }

  scatterAdd(shape: readonly number[], dim: number, index: NDArray, values: NDArray): NDArray {
    this.checkIndex('scatterAdd', index, shape[dim], dim);
    if (sizeOf(shape) === 0 || index.size === 0) return this.filled(values.dtype, shape, 0);
    const src = source.scatterAddSource(
      shape,
      dim,
      { ...this.operand(index, 'a'), shape: index.shape },
      this.operand(values, 'b'),
    );
    return this.result('scatterAdd', src, shape, values.dtype, [this.deviceOf(index), this.deviceOf(values)]);
  }

  indexSelect(a: NDArray, dim: number, index: NDArray): NDArray {
    this.checkIndex('indexSelect', index, a.shape[dim], dim);
    const shape = a.shape.map((d, i) => (i === dim ? index.size : d));
    if (sizeOf(shape) === 0) return this.filled(a.dtype, shape, 0);
    const src = source.indexSelectSource(this.operand(a, 'a'), this.operand(index, 'b'), shape, dim);
    return this.result('indexSelect', src, shape, a.dtype, [this.deviceOf(a), this.deviceOf(index)]);
  }

  indexAdd(shape: readonly number[], dim: number, index: NDArray, values: NDArray): NDArray {
    this.checkIndex('indexAdd', index, shape[dim], dim);
    if (sizeOf(shape) === 0 || index.size === 0) return this.filled(values.dtype, shape, 0);
    const src = source.indexAddSource(
      shape,
      dim,
      this.operand(index, 'a'),
      index.size,
      this.operand(values, 'b'),
    );
    return this.result('indexAdd', src, shape, values.dtype, [this.deviceOf(index), this.deviceOf(values)]);
  }

  unfold(x: NDArray, window: Window, padValue: number): NDArray {
    const [N, C, H, W] = x.shape;
    const [kh, kw] = window.kernel;
    const outH = outputSize(H, kh, window.stride[0], window.padding[0], window.dilation[0]);
    const outW = outputSize(W, kw, window.stride[1], window.padding[1], window.dilation[1]);
    const shape = [N, C * kh * kw, outH * outW];
    if (sizeOf(shape) === 0) return this.filled(x.dtype, shape, 0);
    const src = source.unfoldSource(this.operand(x, 'a'), x.shape, window, outH, outW, padValue);
    return this.result('unfold', src, shape, x.dtype, [this.deviceOf(x)]);
  }

  fold(cols: NDArray, shape: readonly number[], window: Window): NDArray {
    const outH = outputSize(
      shape[2],
      window.kernel[0],
      window.stride[0],
      window.padding[0],
      window.dilation[0],
    );
    const outW = outputSize(
      shape[3],
      window.kernel[1],
      window.stride[1],
      window.padding[1],
      window.dilation[1],
    );
    if (sizeOf(shape) === 0 || cols.size === 0) return this.filled(cols.dtype, shape, 0);
    const src = source.foldSource(this.operand(cols, 'a'), shape, window, outH, outW);
    return this.result('fold', src, shape, cols.dtype, [this.deviceOf(cols)]);
  }

  // Plumbing

  private storageOf(view: NDArray): GpuStorage {
    const storage = view.storage;
    if (!(storage instanceof GpuStorage) || storage.backend !== this) {
      throw new TypeError(
        `${this.name} backend: got a tensor stored on the '${storage.backend.name}' backend (move it with .to('${this.name}') first)`,
      );
    }
    if (storage.released) {
      throw new Error(
        `${this.name} backend: this tensor's memory was released by tidy(); return it from the tidy function, or keep() it, to use it afterwards`,
      );
    }
    return storage;
  }

  private deviceOf(view: NDArray): Device {
    const device = this.storageOf(view).device;
    if (!device) throw new Error(`${this.name} backend: internal error: reading an empty storage`);
    return device;
  }

  private operand(view: NDArray, name: string): source.Operand {
    return { name, strides: view.strides, offset: view.offset };
  }

  /** Refuses what the device cannot hold exactly; returns the dtype. */
  private check(op: string, dtype: DType, length: number): DType {
    if (dtype === 'float64') {
      throw new TypeError(
        `${op} on the ${this.name} backend: float64 is not supported (gpu.js computes in 32-bit floats); use float32, or the cpu backend for float64`,
      );
    }
    if (length > MAX_ELEMENTS) {
      throw new RangeError(
        `${op} on the ${this.name} backend: ${length} elements exceed the limit of 2^24 (${MAX_ELEMENTS}) per array; indices are float32 on the device`,
      );
    }
    return dtype;
  }

  /**
   * Bad indices must throw, not read a neighbour or garbage. Bounds known from the upload or from
   * the op that made the index (argmax) are checked without touching the device; otherwise the
   * index is read back once and checked on the host.
   */
  private checkIndex(op: string, index: NDArray, size: number, dim: number): void {
    if (index.size === 0) return;
    let bounds = this.storageOf(index).bounds;
    if (!bounds || bounds.min < 0 || bounds.max >= size) {
      const values = this.read(index);
      let [min, max] = [values[0], values[0]];
      for (let i = 1; i < values.length; i++) {
        if (values[i] < min) min = values[i];
        if (values[i] > max) max = values[i];
      }
      bounds = { min, max };
    }
    if (bounds.min < 0 || bounds.max >= size) {
      const bad = bounds.min < 0 ? bounds.min : bounds.max;
      throw new RangeError(`${op}: index ${bad} is out of bounds for dim ${dim} with size ${size}`);
    }
  }

  private elementwise(
    op: string,
    shape: readonly number[],
    dtype: DType,
    inputs: NDArray[],
    build: (operands: source.Operand[]) => string,
    bounds: Bounds | null,
  ): NDArray {
    this.check(op, dtype, sizeOf(shape));
    if (sizeOf(shape) === 0) return this.filled(dtype, shape, 0);
    const operands = inputs.map((x, k) => this.operand(x, 'abc'[k]));
    const out = this.result(
      op,
      build(operands),
      shape,
      dtype,
      inputs.map((x) => this.deviceOf(x)),
    );
    this.storageOf(out).bounds = bounds;
    return out;
  }

  private filled(dtype: DType, shape: readonly number[], value: number): NDArray {
    const length = sizeOf(shape);
    this.check('fill', dtype, length);
    const device = length === 0 ? null : this.run('fill', source.fillSource(value), length, []);
    return NDArray.contiguous(this.store(dtype, length, device, { min: value, max: value }), shape);
  }

  private result(op: string, src: string, shape: readonly number[], dtype: DType, args: Device[]): NDArray {
    const length = sizeOf(shape);
    this.check(op, dtype, length);
    const device = this.run(op, src, length, args);
    return NDArray.contiguous(this.store(dtype, length, device, null), shape);
  }

  private store(dtype: DType, length: number, device: Device | null, bounds: Bounds | null): GpuStorage {
    const storage = new GpuStorage(this, dtype, length, device, bounds);
    if (device && isTexture(device)) this.track(storage, device);
    recordStorage(storage);
    return storage;
  }

  /** Frees the storage's memory now (tidy() calls this for what it drops); later use throws. */
  release(storage: Storage): void {
    if (!(storage instanceof GpuStorage) || storage.backend !== this || storage.released) return;
    const device = storage.device;
    if (device && isTexture(device) && textures.unregister(device)) {
      liveTextures--;
      device.delete();
    }
    storage.device = null;
    storage.released = true;
  }

  private track(storage: GpuStorage, texture: Texture): void {
    liveTextures++;
    textures.register(storage, texture, texture);
    // Where the engine offers it (Node with --harmony-weak-refs-with-cleanup-some), run the
    // callbacks of already-collected tensors now, so even a loop that never yields frees memory.
    if (liveTextures % 1024 === 0) (textures as { cleanupSome?: () => void }).cleanupSome?.();
    if (liveTextures > TEXTURE_WARNING && !warned) {
      warned = true;
      console.warn(
        `${this.name} backend: ${liveTextures} textures are alive. Textures of unused tensors are freed only when ` +
          'the event loop turns: in a long training loop, `await backend.collect()` every step or so ' +
          '(or, in Node, run with --harmony-weak-refs-with-cleanup-some).',
      );
    }
  }

  /**
   * Lets the event loop turn, so the textures of tensors the garbage collector has found unused
   * are freed. A synchronous training loop on a GL mode should await this every step or so; a
   * page's loop (requestAnimationFrame, setTimeout) yields anyway. A no-op cost on webasm and javascript.
   */
  async collect(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  private replace(storage: GpuStorage, device: Device): void {
    const old = storage.device;
    storage.device = device;
    if (isTexture(device)) this.track(storage, device);
    if (old && isTexture(old) && textures.unregister(old)) {
      liveTextures--;
      old.delete();
    }
  }

  /** Runs (compiling on first use) the kernel `src` over `length` threads. */
  private run(op: string, src: string, length: number, args: Device[], returnType = 'Number'): Device {
    const key = `${src}\n${length}\n${args.map(lengthOf).join(',')}`;
    let compiled = this.kernels.get(key);
    const fresh = !compiled;
    if (!compiled) {
      compiled = this.gpu.createKernel(
        src as never,
        {
          output: [length],
          pipeline: true,
          immutable: true,
          precision: 'single',
          tactic: 'precision',
          loopMaxIterations: MAX_ELEMENTS,
          returnType,
        } as never,
      ) as unknown as CompiledKernel;
      this.kernels.set(key, compiled);
    }
    let device: Device;
    try {
      device = compiled(...args);
    } catch (error) {
      this.kernels.delete(key);
      throw new Error(
        `${op} on the ${this.name} backend: gpu.js could not run the kernel: ${(error as Error).message}`,
      );
    }
    if (fresh) {
      // gpu.js quietly falls back to its JavaScript mode when a kernel fails to build; that would be a
      // different backend than the one asked for, so it is an error here.
      const ran = compiled.kernel ? modeOf(compiled.kernel.constructor) : this.mode;
      if (ran !== this.mode) {
        this.kernels.delete(key);
        const reason = (compiled.kernel as { fallbackReason?: string }).fallbackReason ?? 'unknown reason';
        throw new Error(
          `${op} on the ${this.name} backend: gpu.js ran the kernel in '${ran}' mode instead (${reason})`,
        );
      }
    }
    return device;
  }
}

const LONG_REDUCTION = 4096;

/** The element count behind a device value (a texture knows the output that made it). */
function lengthOf(device: Device): number {
  return device instanceof Float32Array
    ? device.length
    : ((device as { output?: number[] }).output?.[0] ?? -1);
}

function union(a: Bounds, b: Bounds): Bounds {
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

/** The dims of `a` selected by `keep`, as a shape and strides. */
function pick(a: NDArray, keep: (d: number) => boolean): { shape: number[]; strides: number[] } {
  const dims = a.shape.map((_, d) => d).filter(keep);
  return { shape: dims.map((d) => a.shape[d]), strides: dims.map((d) => a.strides[d]) };
}

/** The mode name of a gpu.js kernel class (subclasses first: headless-gl extends webgl). */
function modeOf(kernelClass: unknown): GpuMode {
  const is = (base: unknown) =>
    kernelClass === base || (kernelClass as { prototype: object }).prototype instanceof (base as never);
  if (is(HeadlessGLKernel)) return 'headlessgl';
  if (is(WebGL2Kernel)) return 'webgl2';
  if (is(WebGLKernel)) return 'webgl';
  if (is(WebAssemblyKernel)) return 'webasm';
  if (is(CPUKernel)) return 'javascript';
  throw new Error(
    `gpu backend: gpu.js chose an unsupported kernel type (${String((kernelClass as { name?: string }).name)})`,
  );
}
