/** Shapes and strides: row-major (C order), counted in elements. */
export type Shape = readonly number[];

/** A shape as text: [2,3]. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** The number of elements of `shape`. */
export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Row-major strides of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/** True when strides lay the elements out row-major without gaps (size-1 dims may have any stride). */
export function isRowMajor(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * True when two elements of a view share a storage position (an expanded dim, or strides that
 * interleave). Sorted by decreasing stride, the dims of a view without overlap nest: each stride
 * spans everything inside it. Writing through an overlapping view has no single meaning.
 */
export function viewOverlaps(shape: Shape, strides: readonly number[]): boolean {
  const dims = shape.map((_, d) => d).filter((d) => shape[d] > 1);
  dims.sort((p, q) => strides[q] - strides[p]);
  let span = 1;
  for (let k = dims.length - 1; k >= 0; k--) {
    if (strides[dims[k]] < span) return true;
    span = strides[dims[k]] * shape[dims[k]];
  }
  return false;
}

/** Whether two shapes are the same. */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Refuses a shape with a negative or fractional size, naming `op`. */
export function assertValidShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid shape ${formatShape(shape)}: sizes must be non-negative integers`);
    }
  }
}

/** NumPy broadcasting: align from the right; each pair of sizes must be equal or contain a 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = ndim - shape.length + i;
      const size = shape[i];
      if (out[axis] === 1) out[axis] = size;
      else if (size !== 1 && size !== out[axis]) {
        throw new RangeError(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast: ` +
            `size ${out[axis]} and ${size} differ at dim ${axis - ndim} (sizes must match or be 1)`,
        );
      }
    }
  }
  return out;
}

/** Turns a possibly negative dim into 0..ndim-1, or throws naming the op. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(dim) || dim < lo || dim > hi) {
    throw new RangeError(
      `${op}: dim ${dim} is out of range for a tensor with ${ndim} dims (expected ${lo}..${hi})`,
    );
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/**
 * Normalizes a dim list; undefined or an empty list means every dim (as torch.sum(x, dim=[])
 * does). Sorted; duplicates refused.
 */
export function normalizeDims(
  op: string,
  dims: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (dims === undefined || (typeof dims !== 'number' && dims.length === 0))
    return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(op, d, ndim));
  const unique = new Set(out);
  if (unique.size !== out.length) throw new RangeError(`${op}: dim ${JSON.stringify(list)} repeats a dim`);
  // A 0-d tensor reduced over dim 0 / -1 has nothing to reduce.
  return [...unique].filter((d) => d < ndim).sort((a, b) => a - b);
}
