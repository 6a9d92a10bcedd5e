import type { Backend, Storage } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { contiguousStrides, formatShape, isRowMajor, normalizeDim, type Shape, sizeOf } from './shape.js';

/**
 * An n-dimensional view of a backend's storage: shape, strides and offset, in elements.
 * reshape (when the layout allows), permute, transpose, expand, narrow, squeeze and unsqueeze
 * only change this metadata and never copy; `contiguous()` copies when needed.
 */
export class NDArray {
  readonly size: number;

  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly offset: number,
  ) {
    this.size = sizeOf(shape);
  }

  /** A row-major array of `shape` over `storage`. */
  static contiguous(storage: Storage, shape: Shape): NDArray {
    return new NDArray(storage, [...shape], contiguousStrides(shape), 0);
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** True when the elements are laid out row-major without gaps (offset may be non-zero). */
  isContiguous(): boolean {
    return isRowMajor(this.shape, this.strides);
  }

  /** Row-major elements on the host (a copy; cheap for the CPU backend's contiguous arrays). */
  read(): TypedArray {
    return this.backend.read(this);
  }

  /** This array if row-major and packed, else a packed copy. */
  contiguous(): NDArray {
    return this.isContiguous() ? this : this.backend.copy(this, this.dtype);
  }

  /** A view with a new shape when the strides allow it, else a contiguous copy. */
  reshape(shape: Shape): NDArray {
    if (sizeOf(shape) !== this.size) {
      throw new RangeError(
        `reshape: cannot view ${formatShape(this.shape)} (${this.size} elements) as ${formatShape(shape)} (${sizeOf(shape)} elements)`,
      );
    }
    const strides = viewStrides(this.shape, this.strides, shape);
    if (strides) return new NDArray(this.storage, [...shape], strides, this.offset);
    return NDArray.contiguous(this.backend.copy(this, this.dtype).storage, shape);
  }

  /** A view with the dims reordered. */
  permute(dims: readonly number[]): NDArray {
    const ndim = this.ndim;
    const normalized = dims.map((d) => normalizeDim('permute', d, ndim));
    if (normalized.length !== ndim || new Set(normalized).size !== ndim) {
      throw new RangeError(
        `permute: dims ${formatShape(dims)} are not a permutation of the ${ndim} dims of ${formatShape(this.shape)}`,
      );
    }
    return new NDArray(
      this.storage,
      normalized.map((d) => this.shape[d]),
      normalized.map((d) => this.strides[d]),
      this.offset,
    );
  }

  /** A view with two dims swapped. */
  transpose(dim0: number, dim1: number): NDArray {
    const perm = Array.from({ length: this.ndim }, (_, i) => i);
    const a = normalizeDim('transpose', dim0, this.ndim);
    const b = normalizeDim('transpose', dim1, this.ndim);
    [perm[a], perm[b]] = [perm[b], perm[a]];
    return this.permute(perm);
  }

  /** Broadcasts size-1 dims (and new leading dims) to `shape` with stride 0. */
  expand(shape: Shape): NDArray {
    const lead = shape.length - this.ndim;
    if (lead < 0) {
      throw new RangeError(
        `expand: cannot expand ${formatShape(this.shape)} to fewer dims ${formatShape(shape)}`,
      );
    }
    const strides = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < this.ndim; i++) {
      const from = this.shape[i];
      const to = shape[lead + i];
      if (from === to) strides[lead + i] = this.strides[i];
      else if (from !== 1) {
        throw new RangeError(
          `expand: cannot expand ${formatShape(this.shape)} to ${formatShape(shape)}: dim ${i} has size ${from}, expected ${to} or 1`,
        );
      }
    }
    return new NDArray(this.storage, [...shape], strides, this.offset);
  }

  /** A view of `length` elements along `dim` from `start`. */
  narrow(dim: number, start: number, length: number): NDArray {
    const d = normalizeDim('narrow', dim, this.ndim);
    const size = this.shape[d];
    if (start < 0) start += size;
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(length) ||
      start < 0 ||
      length < 0 ||
      start + length > size
    ) {
      throw new RangeError(
        `narrow: start ${start} and length ${length} do not fit dim ${dim} of size ${size} in ${formatShape(this.shape)}`,
      );
    }
    const shape = [...this.shape];
    shape[d] = length;
    return new NDArray(this.storage, shape, this.strides, this.offset + start * this.strides[d]);
  }

  /**
   * Every `step`-th element of [start, end) along `dim`, as a view (stride times step). The
   * bounds must already be resolved: 0 <= start <= end <= size, step >= 1.
   */
  slice(dim: number, start: number, end: number, step: number): NDArray {
    const d = normalizeDim('slice', dim, this.ndim);
    const size = this.shape[d];
    if (![start, end, step].every(Number.isInteger) || start < 0 || end < start || end > size || step < 1) {
      throw new RangeError(
        `slice: start ${start}, end ${end} and step ${step} do not fit dim ${dim} of size ${size} in ${formatShape(this.shape)}`,
      );
    }
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape[d] = Math.ceil((end - start) / step);
    strides[d] = this.strides[d] * step;
    return new NDArray(this.storage, shape, strides, this.offset + start * this.strides[d]);
  }

  /** A view with a size-1 dim inserted at `dim`. */
  unsqueeze(dim: number): NDArray {
    const d = normalizeDim('unsqueeze', dim, this.ndim + 1);
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape.splice(d, 0, 1);
    strides.splice(d, 0, d < this.ndim ? this.strides[d] * this.shape[d] : 1);
    return new NDArray(this.storage, shape, strides, this.offset);
  }

  /** A view without size-1 dims (all, or only `dim`). */
  squeeze(dim?: number): NDArray {
    const keep = (i: number) => this.shape[i] !== 1 || (dim !== undefined && i !== dim);
    if (dim !== undefined) dim = normalizeDim('squeeze', dim, this.ndim);
    const shape: number[] = [];
    const strides: number[] = [];
    for (let i = 0; i < this.ndim; i++) {
      if (keep(i)) {
        shape.push(this.shape[i]);
        strides.push(this.strides[i]);
      }
    }
    return new NDArray(this.storage, shape, strides, this.offset);
  }
}

/**
 * Strides that view (oldShape, oldStrides) as newShape without copying, or null when the
 * layout does not allow it (torch.view's rule: each run of old dims that merges or splits into a
 * run of new dims must be contiguous within itself). Size-1 dims carry no layout and are skipped.
 */
function viewStrides(oldShape: Shape, oldStrides: readonly number[], newShape: Shape): number[] | null {
  if (sizeOf(oldShape) === 0) return contiguousStrides(newShape);
  const oldDims: number[] = [];
  const oldStr: number[] = [];
  for (let i = 0; i < oldShape.length; i++) {
    if (oldShape[i] !== 1) {
      oldDims.push(oldShape[i]);
      oldStr.push(oldStrides[i]);
    }
  }
  const newDims = newShape.filter((d) => d !== 1);
  const newStr = new Array<number>(newDims.length);
  let oi = 0;
  let ni = 0;
  while (ni < newDims.length) {
    const newStart = ni;
    let oldProduct = oldDims[oi++];
    let newProduct = newDims[ni++];
    while (oldProduct !== newProduct) {
      if (oldProduct < newProduct) {
        if (oldStr[oi - 1] !== oldStr[oi] * oldDims[oi]) return null; // the run is not contiguous
        oldProduct *= oldDims[oi++];
      } else {
        newProduct *= newDims[ni++];
      }
    }
    // Split the run's innermost stride across its new dims.
    let stride = oldStr[oi - 1];
    for (let k = ni - 1; k >= newStart; k--) {
      newStr[k] = stride;
      stride *= newDims[k];
    }
  }
  // Re-insert the size-1 dims with the stride an unsqueeze would give them.
  const strides = new Array<number>(newShape.length);
  let k = newDims.length;
  let next = 1;
  for (let i = newShape.length - 1; i >= 0; i--) {
    if (newShape[i] === 1) strides[i] = next;
    else {
      k--;
      strides[i] = newStr[k];
      next = newStr[k] * newDims[k];
    }
  }
  return strides;
}
