import type { Backend, HostStorage, Output } from './backend.js';
import { type DType, dtypeOfTypedArray, type TypedArray, typedArrayFor } from './dtype.js';
import type { ArrayOperand } from './layout.js';
import { NDArray } from './ndarray.js';
import { contiguousStrides, sizeOf } from './shape.js';

/**
 * What the backends that keep values in this process's memory (the fast CPU backend and the
 * reference backend) share: one typed array per storage, and the way a view is handed to a loop.
 */
export class TypedArrayStorage implements HostStorage {
  version = 0;

  constructor(
    readonly backend: Backend,
    readonly data: TypedArray,
  ) {}

  get dtype(): DType {
    return dtypeOfTypedArray(this.data);
  }

  get length(): number {
    return this.data.length;
  }
}

/** The view as the loops see it: its typed array plus shape, strides and offset. */
export function hostOperand(backend: Backend, view: NDArray): ArrayOperand {
  const storage = view.storage;
  if (storage.backend !== backend || !(storage instanceof TypedArrayStorage)) {
    throw new TypeError(
      `${backend.name} backend: got a tensor stored on the '${storage.backend.name}' backend`,
    );
  }
  return { data: storage.data, shape: view.shape, strides: view.strides, offset: view.offset };
}

/** A fresh zero-filled contiguous array for `out`, and its typed array for the loop to fill. */
export function hostOutput(backend: Backend, out: Output): { array: NDArray; data: TypedArray } {
  const data = typedArrayFor(out.dtype, sizeOf(out.shape));
  const array = new NDArray(
    new TypedArrayStorage(backend, data),
    [...out.shape],
    contiguousStrides(out.shape),
    0,
  );
  return { array, data };
}
