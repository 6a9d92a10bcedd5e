import {
  type ArgReduceOp,
  type Backend,
  type BinaryOp,
  checkOptions,
  type DType,
  dtypeOfTypedArray,
  layout,
  NDArray,
  type Output,
  ops,
  type ReduceOp,
  type Storage,
  sizeOf,
  type TypedArray,
  typedArrayFor,
  type UnaryOp,
  type ValueRange,
  type Window,
} from '@agrad/tensor';
import gpujs from 'gpu.js';
import * as memory from './memory.js';
import { type Device, GpuStorage, isTexture } from './memory.js';
import * as source from './source.js';

const { GPU, CPUKernel, HeadlessGLKernel, WebGL2Kernel, WebGLKernel, WebAssemblyKernel } = gpujs;

/**
 * The gpu.js modes this backend can run on (webgpu is asynchronous only; see the README).
 * 'javascript' is the mode gpu.js itself calls 'cpu': in agrad, 'cpu' names the host backend.
 */
export type GpuMode = 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'javascript';
/** Every gpu.js mode a backend can be asked for by name (besides 'gpu', gpu.js's own choice). */
export const GPU_MODES: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webasm', 'javascript'];

/** gpu.js's own name for a mode. */
const gpuJsMode = (mode: GpuMode | 'gpu') => (mode === 'javascript' ? 'cpu' : mode);

/**
 * Largest element count of one array: every value and index travels as float32 on a GL device,
 * and float32 holds integers exactly only up to 2^24.
 */
export const MAX_ELEMENTS = 2 ** 24;

interface CompiledKernel {
  (...args: Device[]): Device;
  kernel?: object;
}

function kindOf(dtype: DType): source.OutputKind {
  return dtype === 'int32' ? 'int' : dtype === 'bool' ? 'bool' : 'float';
}

/** The gpu.js mode to run in ('gpu': gpu.js's choice), and optionally the canvas or WebGL context gpu.js should use. */
export interface GpuBackendOptions {
  /** A gpu.js mode, or 'gpu' (the default) for gpu.js's own choice: the best GL context, else webasm. */
  mode?: GpuMode | 'gpu';
  /** A canvas or WebGL context to share (browsers). */
  canvas?: unknown;
  context?: unknown;
}

/**
 * The gpu.js backend's compute. Each kernel is generated for the exact layout of its operands
 * (see ./source.ts), compiled on first use and cached by its source text. Results stay on the
 * device (`pipeline: true`) and are read back only by `read`; their lifetime is ./memory.ts's
 * business. float64 is refused: GLSL floats are 32-bit.
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
    return memory.liveTextures();
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
    let bounds: ValueRange | null = null;
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
      { shape: view.shape, dtype },
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
    memory.replace(storage, next);
    const incoming = this.storageOf(value).bounds;
    storage.bounds = storage.bounds && incoming ? union(storage.bounds, incoming) : null;
  }

  // Compute: each method runs one kernel (or two) for the Output that ops.ts resolved.

  unary(op: UnaryOp, a: NDArray, out: Output): NDArray {
    const bounds = out.dtype === 'bool' ? { min: 0, max: 1 } : null;
    return this.elementwise(
      op,
      out,
      [a],
      (o) => source.unarySource(op, a.shape, o[0], kindOf(out.dtype)),
      bounds,
    );
  }

  binary(op: BinaryOp, a: NDArray, b: NDArray, out: Output): NDArray {
    return this.elementwise(
      op,
      out,
      [a, b],
      (o) => source.binarySource(op, a.shape, o[0], o[1], kindOf(out.dtype)),
      out.dtype === 'bool' ? { min: 0, max: 1 } : null,
    );
  }

  where(condition: NDArray, a: NDArray, b: NDArray, out: Output): NDArray {
    const [ba, bb] = [this.storageOf(a).bounds, this.storageOf(b).bounds];
    return this.elementwise(
      'where',
      out,
      [condition, a, b],
      (o) => source.whereSource(a.shape, o[0], o[1], o[2]),
      ba && bb ? union(ba, bb) : null,
    );
  }

  reduce(op: ReduceOp, a: NDArray, axes: readonly number[], out: Output): NDArray {
    const reducedSet = new Set(axes);
    const kept = pick(a, (d) => !reducedSet.has(d));
    const reduced = pick(a, (d) => reducedSet.has(d));
    const total = sizeOf(reduced.shape);
    const outCount = sizeOf(out.shape);
    if (outCount === 0 || total === 0) return this.filled(out, 0);
    const x = this.operand(a, 'a');
    // Long reductions go in two passes (chunks of about sqrt(n), then the partial results), so a
    // GPU runs many short loops in parallel instead of one long loop per output.
    if (total > LONG_REDUCTION) {
      const chunk = Math.ceil(Math.sqrt(total));
      const chunks = Math.ceil(total / chunk);
      const partial = this.result(
        op,
        source.partialReduceSource(op, x, kept, reduced, chunk, chunks),
        { shape: [outCount, chunks], dtype: out.dtype },
        [this.deviceOf(a)],
      );
      const result = this.reduce(op, partial, [1], { shape: [outCount, 1], dtype: out.dtype }).reshape(
        out.shape,
      );
      this.release(partial.storage); // nothing else holds the partial sums
      return result;
    }
    return this.result(op, source.reduceSource(op, x, kept, reduced), out, [this.deviceOf(a)]);
  }

  argReduce(op: ArgReduceOp, a: NDArray, axis: number, out: Output): NDArray {
    const src = source.argReduceSource(op, this.operand(a, 'a'), out.shape, axis, a.shape[axis]);
    const result = this.result(op, src, out, [this.deviceOf(a)]);
    this.storageOf(result).bounds = { min: 0, max: a.shape[axis] - 1 };
    return result;
  }

  matmul(a: NDArray, b: NDArray, out: Output): NDArray {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    if (B * M * N === 0 || K === 0) return this.filled(out, 0);
    const [x, y] = [this.operand(a, 'a'), this.operand(b, 'b')];
    const args = [this.deviceOf(a), this.deviceOf(b)];
    if (this.mode === 'webasm' || this.mode === 'javascript' || M * N < 4) {
      return this.result('matmul', source.matmulSource(x, y, B, M, K, N), out, args);
    }
    // GL modes: 2x2 register tiles (half the texture reads per output), then one unpacking pass.
    const tileCount = B * Math.ceil(M / 2) * Math.ceil(N / 2);
    const tiles = this.run('matmul', source.matmulTiledSource(x, y, B, M, K, N), tileCount, args, 'Array(4)');
    const result = this.result('matmul', source.unpackTilesSource('a', B, M, N), out, [tiles]);
    memory.discard(tiles);
    return result;
  }

  gather(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    if (index.size === 0) return this.filled(out, 0);
    const src = source.gatherSource(this.operand(a, 'a'), this.operand(index, 'b'), index.shape, dim);
    return this.result('gather', src, out, [this.deviceOf(a), this.deviceOf(index)]);
  }

  scatterAdd(dim: number, index: NDArray, values: NDArray, out: Output): NDArray {
    if (sizeOf(out.shape) === 0 || index.size === 0) return this.filled(out, 0);
    const src = source.scatterAddSource(
      out.shape,
      dim,
      { ...this.operand(index, 'a'), shape: index.shape },
      this.operand(values, 'b'),
    );
    return this.result('scatterAdd', src, out, [this.deviceOf(index), this.deviceOf(values)]);
  }

  indexSelect(a: NDArray, dim: number, index: NDArray, out: Output): NDArray {
    if (sizeOf(out.shape) === 0) return this.filled(out, 0);
    const src = source.indexSelectSource(this.operand(a, 'a'), this.operand(index, 'b'), out.shape, dim);
    return this.result('indexSelect', src, out, [this.deviceOf(a), this.deviceOf(index)]);
  }

  indexAdd(dim: number, index: NDArray, values: NDArray, out: Output): NDArray {
    if (sizeOf(out.shape) === 0 || index.size === 0) return this.filled(out, 0);
    const src = source.indexAddSource(
      out.shape,
      dim,
      this.operand(index, 'a'),
      index.size,
      this.operand(values, 'b'),
    );
    return this.result('indexAdd', src, out, [this.deviceOf(index), this.deviceOf(values)]);
  }

  unfold(x: NDArray, window: Window, padValue: number, out: Output): NDArray {
    if (sizeOf(out.shape) === 0) return this.filled(out, 0);
    const [outH, outW] = layout.windowOutputSize(x.shape, window);
    const src = source.unfoldSource(this.operand(x, 'a'), x.shape, window, outH, outW, padValue);
    return this.result('unfold', src, out, [this.deviceOf(x)]);
  }

  fold(cols: NDArray, window: Window, out: Output): NDArray {
    if (sizeOf(out.shape) === 0 || cols.size === 0) return this.filled(out, 0);
    const [outH, outW] = layout.windowOutputSize(out.shape, window);
    const src = source.foldSource(this.operand(cols, 'a'), out.shape, window, outH, outW);
    return this.result('fold', src, out, [this.deviceOf(cols)]);
  }

  maxPoolIndices(x: NDArray, window: Window, out: Output): NDArray {
    if (sizeOf(out.shape) === 0) return this.filled(out, 0);
    const [, , outH, outW] = out.shape;
    const src = source.maxPoolIndicesSource(this.operand(x, 'a'), x.shape, window, outH, outW);
    const result = this.result('maxPoolIndices', src, out, [this.deviceOf(x)]);
    this.storageOf(result).bounds = { min: 0, max: x.shape[2] * x.shape[3] - 1 };
    return result;
  }

  /** Index checks (ops.ts) skip reading an index back when its bounds are known here. */
  knownRange(a: NDArray): ValueRange | null {
    return this.storageOf(a).bounds;
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

  private elementwise(
    op: string,
    out: Output,
    inputs: NDArray[],
    build: (operands: source.Operand[]) => string,
    bounds: ValueRange | null,
  ): NDArray {
    this.check(op, out.dtype, sizeOf(out.shape));
    if (sizeOf(out.shape) === 0) return this.filled(out, 0);
    const operands = inputs.map((x, k) => this.operand(x, 'abc'[k]));
    const result = this.result(
      op,
      build(operands),
      out,
      inputs.map((x) => this.deviceOf(x)),
    );
    this.storageOf(result).bounds = bounds;
    return result;
  }

  private filled(out: Output, value: number): NDArray {
    const length = sizeOf(out.shape);
    this.check('fill', out.dtype, length);
    const device = length === 0 ? null : this.run('fill', source.fillSource(value), length, []);
    return NDArray.contiguous(this.store(out.dtype, length, device, { min: value, max: value }), out.shape);
  }

  private result(op: string, src: string, out: Output, args: Device[]): NDArray {
    const length = sizeOf(out.shape);
    this.check(op, out.dtype, length);
    const device = this.run(op, src, length, args);
    return NDArray.contiguous(this.store(out.dtype, length, device, null), out.shape);
  }

  private store(dtype: DType, length: number, device: Device | null, bounds: ValueRange | null): GpuStorage {
    const storage = new GpuStorage(this, dtype, length, device, bounds);
    memory.track(storage);
    ops.recordStorage(storage);
    return storage;
  }

  /** Frees the storage's memory now (tidy() calls this for what it drops); later use throws. */
  release(storage: Storage): void {
    if (storage instanceof GpuStorage && storage.backend === this) memory.release(storage);
  }

  /**
   * Lets the event loop turn, so the textures of tensors the garbage collector has found unused
   * are freed. A synchronous training loop on a GL mode should await this every step or so; a
   * page's loop (requestAnimationFrame, setTimeout) yields anyway. A no-op cost on webasm and javascript.
   */
  async collect(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
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

function union(a: ValueRange, b: ValueRange): ValueRange {
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
