/**
 * Element types. Storage is a plain typed array per dtype; `bool` is stored as 0/1 bytes.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The typed arrays that hold each dtype: Float32Array, Float64Array, Int32Array, and Uint8Array for bool. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Every dtype agrad supports. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** A zero-filled typed array of the kind that holds `dtype`. */
export function typedArrayFor(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'bool':
      return new Uint8Array(length);
  }
}

/** The dtype a typed array holds. */
export function dtypeOfTypedArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Whether `dtype` is float32 or float64. */
export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** `dtype` as a DType, or an error naming `op` and the dtypes allowed. */
export function assertDType(op: string, dtype: string): DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`${op}: unknown dtype '${dtype}'; expected one of ${DTYPES.join(', ')}`);
  }
  return dtype as DType;
}

// PyTorch's promotion lattice for the dtypes we have: bool < int32 < float32 < float64.
const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** The dtype two tensors are computed in, as torch.promote_types does. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of `tensor op scalar`: a Python-style scalar never widens a tensor of its own
 * category (float32 + 2.5 stays float32), but a fractional scalar lifts an integer tensor
 * to the default float dtype, as in PyTorch.
 */
export function promoteWithScalar(dtype: DType, scalar: number): DType {
  if (isFloating(dtype)) return dtype;
  if (!Number.isInteger(scalar)) return 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}
