import type { BinaryOp, UnaryOp } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { BINARY, cpuForm, UNARY } from '../elementwise.js';
import { type ArrayOperand, collapseDims, forEachRow, type StridedOperand } from '../layout.js';
import { erf } from '../math.js';
import { contiguousStrides as contiguousOf } from '../shape.js';
import { isSimdArithmetic, type SimdLoops, simdLoops } from '../wasm/loops.js';

/**
 * The fast CPU elementwise kernels. The math of each op comes from the one table in
 * ../elementwise.ts; here it is compiled into row loops, once per op and dtype combination, so the
 * fast path has no call per element.
 */

// Row kernels come in variants, because V8 runs `a[i]` over whole arrays two to three times faster
// than strided `a[ao]` with `ao += as`: 'contiguous' (every operand stride 1, offsets folded into
// subarrays), 'offset' (every operand stride 1, indexed from an offset: for short rows, where
// making three subarrays per row would cost more than the loop), 'scalar' (binary: b broadcast,
// stride 0, hoisted out of the loop) and 'strided'.
type Variant = 'contiguous' | 'offset' | 'scalar' | 'strided';

/**
 * Rows at least this long take the 'contiguous' variant; shorter ones 'offset'. Measured with
 * `pnpm --filter @agrad/bench loops`: subarrays pay off only for long rows.
 */
const LONG_ROW = 1024;
type UnaryRow = (out: TypedArray, o: number, a: TypedArray, ao: number, as: number, n: number) => void;
type ContiguousUnaryRow = (out: TypedArray, a: TypedArray, n: number) => void;
type BinaryRow = (
  out: TypedArray,
  o: number,
  a: TypedArray,
  ao: number,
  as: number,
  b: TypedArray,
  bo: number,
  bs: number,
  n: number,
) => void;
type ContiguousBinaryRow = (out: TypedArray, a: TypedArray, b: TypedArray, n: number) => void;

// Compiled per (op, variant, array types) so every compiled loop stays monomorphic for V8.
const compiled = new Map<string, unknown>();

function cached<T>(key: string, make: () => T): T {
  let fn = compiled.get(key) as T | undefined;
  if (!fn) compiled.set(key, (fn = make()));
  return fn;
}

const typesOf = (...arrays: TypedArray[]) => arrays.map((x) => x.constructor.name).join(':');

function unaryRow(
  op: UnaryOp,
  variant: Variant,
  out: TypedArray,
  a: TypedArray,
): UnaryRow | ContiguousUnaryRow {
  return cached(`u:${op}:${variant}:${typesOf(out, a)}`, () => {
    const { expression, prelude = '' } = cpuForm(UNARY[op]);
    const source =
      variant === 'contiguous'
        ? `return function ${op}Row(out, a, n) { for (let i = 0; i < n; i++) { const x = a[i]; ${prelude} out[i] = ${expression}; } };`
        : variant === 'offset'
          ? `return function ${op}Row(out, o, a, ao, as, n) { for (let i = 0; i < n; i++) { const x = a[ao + i]; ${prelude} out[o + i] = ${expression}; } };`
          : `return function ${op}Row(out, o, a, ao, as, n) { for (let i = 0; i < n; i++, ao += as) { const x = a[ao]; ${prelude} out[o + i] = ${expression}; } };`;
    return new Function('erf', 'pick', source)(erf, new Float64Array(2));
  });
}

function binaryRow(
  op: BinaryOp,
  variant: Variant,
  out: TypedArray,
  a: TypedArray,
  b: TypedArray,
): BinaryRow | ContiguousBinaryRow {
  return cached(`b:${op}:${variant}:${typesOf(out, a, b)}`, () => {
    const { expression, prelude = '' } = cpuForm(BINARY[op]);
    const source =
      variant === 'contiguous'
        ? `return function ${op}Row(out, a, b, n) { for (let i = 0; i < n; i++) { const x = a[i]; const y = b[i]; ${prelude} out[i] = ${expression}; } };`
        : variant === 'offset'
          ? `return function ${op}Row(out, o, a, ao, as, b, bo, bs, n) { for (let i = 0; i < n; i++) { const x = a[ao + i]; const y = b[bo + i]; ${prelude} out[o + i] = ${expression}; } };`
          : variant === 'scalar'
            ? `return function ${op}Row(out, o, a, ao, as, b, bo, bs, n) { const y = b[bo]; for (let i = 0; i < n; i++, ao += as) { const x = a[ao]; ${prelude} out[o + i] = ${expression}; } };`
            : `return function ${op}Row(out, o, a, ao, as, b, bo, bs, n) { for (let i = 0; i < n; i++, ao += as, bo += bs) { const x = a[ao]; const y = b[bo]; ${prelude} out[o + i] = ${expression}; } };`;
    return new Function('erf', 'pick', source)(erf, new Float64Array(2));
  });
}

/** The CPU's unary loop: compiled row loops, WebAssembly SIMD for float32 where it pays. */
export function fastUnary(op: UnaryOp, a: ArrayOperand, out: TypedArray): void {
  if (out.length === 0) return;
  const outOperand = { strides: contiguousOf(a.shape), offset: 0 };
  const { shape, strides } = collapseDims(a.shape, [outOperand, a]);
  const last = shape.length - 1;
  const aStride = strides[1][last];
  if (op === 'relu' && last === 0 && aStride === 1 && simdRelu(a, null, out)) return;
  if (aStride === 1 && shape[last] < LONG_ROW) {
    const row = unaryRow(op, 'offset', out, a.data) as UnaryRow;
    forEachRow(shape, strides, [0, a.offset], (offsets, n) => row(out, offsets[0], a.data, offsets[1], 1, n));
    return;
  }
  if (aStride === 1) {
    const row = unaryRow(op, 'contiguous', out, a.data) as ContiguousUnaryRow;
    forEachRow(shape, strides, [0, a.offset], (offsets, n) =>
      row(out.subarray(offsets[0], offsets[0] + n), a.data.subarray(offsets[1], offsets[1] + n), n),
    );
    return;
  }
  const row = unaryRow(op, 'strided', out, a.data) as UnaryRow;
  forEachRow(shape, strides, [0, a.offset], (offsets, n) =>
    row(out, offsets[0], a.data, offsets[1], aStride, n),
  );
}

/** The CPU's binary loop: compiled row loops, WebAssembly SIMD for float32 where it pays. */
export function fastBinary(op: BinaryOp, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  if (out.length === 0) return;
  const outOperand = { strides: contiguousOf(a.shape), offset: 0 };
  const { shape, strides } = collapseDims(a.shape, [outOperand, a, b]);
  const last = shape.length - 1;
  const aStride = strides[1][last];
  const bStride = strides[2][last];
  if (last === 0 && aStride === 1 && bStride <= 1 && simdArithmetic(op, a, b, bStride === 0, out)) return;
  if (op === 'reluBackward' && last === 0 && aStride === 1 && bStride === 1 && simdRelu(b, a, out)) return;
  if (
    last === 1 &&
    aStride === 1 &&
    strides[1][0] === shape[1] &&
    simdArithmeticRows(op, a, b, strides[2], shape, out)
  )
    return;
  if (aStride === 1 && bStride === 1 && shape[last] < LONG_ROW) {
    const row = binaryRow(op, 'offset', out, a.data, b.data) as BinaryRow;
    forEachRow(shape, strides, [0, a.offset, b.offset], (offsets, n) =>
      row(out, offsets[0], a.data, offsets[1], 1, b.data, offsets[2], 1, n),
    );
    return;
  }
  if (aStride === 1 && bStride === 1) {
    const row = binaryRow(op, 'contiguous', out, a.data, b.data) as ContiguousBinaryRow;
    forEachRow(shape, strides, [0, a.offset, b.offset], (offsets, n) =>
      row(
        out.subarray(offsets[0], offsets[0] + n),
        a.data.subarray(offsets[1], offsets[1] + n),
        b.data.subarray(offsets[2], offsets[2] + n),
        n,
      ),
    );
    return;
  }
  const row = binaryRow(op, bStride === 0 ? 'scalar' : 'strided', out, a.data, b.data) as BinaryRow;
  forEachRow(shape, strides, [0, a.offset, b.offset], (offsets, n) =>
    row(out, offsets[0], a.data, offsets[1], aStride, b.data, offsets[2], bStride, n),
  );
}

/**
 * float32 add, sub, mul and div over whole contiguous arrays (b contiguous or one broadcast
 * value) in WebAssembly SIMD, four lanes at a time: a JavaScript loop costs about 2 ns an
 * element here, twenty times what copying the operands into the module's memory and back costs
 * (`pnpm --filter @agrad/bench loops`). The results equal the JavaScript loops' bit for bit (see
 * ../../wasm/loops.ts). False when the op, dtypes, length or engine do not suit.
 */
function simdArithmetic(
  op: BinaryOp,
  a: ArrayOperand,
  b: ArrayOperand,
  scalar: boolean,
  out: TypedArray,
): boolean {
  if (!isSimdArithmetic(op)) return false;
  const simd = simdFor(out, a, b);
  if (!simd) return false;
  const n = out.length;
  simd.arithmetic(op, span(a, n), scalar ? b.data[b.offset] : span(b, n), out as Float32Array);
  return true;
}

/**
 * The same over contiguous rows whose b is broadcast along one dim: one value per row (b strides
 * [1, 0]: softmax's max, a norm's statistics) or one row for all (b strides [0, 1]: a bias).
 */
function simdArithmeticRows(
  op: BinaryOp,
  a: ArrayOperand,
  b: ArrayOperand,
  bStrides: readonly number[],
  [rows, cols]: readonly number[],
  out: TypedArray,
): boolean {
  const perRow = bStrides[0] === 1 && bStrides[1] === 0;
  if (!perRow && !(bStrides[0] === 0 && bStrides[1] === 1)) return false;
  if (!isSimdArithmetic(op)) return false;
  const simd = simdFor(out, a, b);
  if (!simd?.fitsRows(cols)) return false;
  simd.arithmeticRows(
    op,
    span(a, rows * cols),
    span(b, perRow ? rows : cols),
    out as Float32Array,
    cols,
    perRow,
  );
  return true;
}

/**
 * relu (y alone) or its backward (the gradient g where y > 0) over whole contiguous float32
 * arrays in WebAssembly SIMD: a bit select on the comparison, with exactly the values of the CPU
 * forms in ../elementwise.ts.
 */
function simdRelu(y: ArrayOperand, g: ArrayOperand | null, out: TypedArray): boolean {
  const simd = g === null ? simdFor(out, y) : simdFor(out, y, g);
  if (!simd) return false;
  const n = out.length;
  if (g === null) simd.relu(span(y, n), out as Float32Array);
  else simd.reluBackward(span(g, n), span(y, n), out as Float32Array);
  return true;
}

/** The SIMD loops when they run here and every array is float32 and the output long enough, else null. */
function simdFor(out: TypedArray, ...operands: ArrayOperand[]): SimdLoops | null {
  const simd = simdLoops();
  if (!simd?.suits(out.length) || !(out instanceof Float32Array)) return null;
  return operands.every((x) => x.data instanceof Float32Array) ? simd : null;
}

/** n elements of a float32 operand from its offset (simdFor has checked its type). */
const span = (x: ArrayOperand, n: number) => (x.data as Float32Array).subarray(x.offset, x.offset + n);

/** Strided copy (with dtype conversion done by the typed array store). */
export function fastCopy(
  a: ArrayOperand,
  out: TypedArray,
  outOperand: StridedOperand = { strides: contiguousOf(a.shape), offset: 0 },
): void {
  if (a.shape.some((d) => d === 0)) return;
  const { shape, strides } = collapseDims(a.shape, [outOperand, a]);
  const last = shape.length - 1;
  const oStride = strides[0][last];
  const aStride = strides[1][last];
  const toBool = out instanceof Uint8Array && !(a.data instanceof Uint8Array);
  const src = a.data;
  // A transposed matrix (source contiguous down the columns): copy in tiles, so both the reads
  // and the writes stay within a few cache lines instead of striding through memory.
  if (
    !toBool &&
    last >= 1 &&
    aStride !== 1 &&
    strides[1][last - 1] === 1 &&
    oStride === 1 &&
    shape[last] >= 16
  ) {
    const rows = shape[last - 1];
    const outerShape = shape.slice(0, last - 1);
    const outerStrides = strides.map((s) => s.slice(0, last - 1));
    const outRowStride = strides[0][last - 1];
    const visit = (offsets: ArrayLike<number>) =>
      transposeTiles(src, offsets[1], aStride, out, offsets[0], outRowStride, rows, shape[last]);
    if (outerShape.length === 0) visit([outOperand.offset, a.offset]);
    else
      forEachRow(
        [...outerShape, 1],
        outerStrides.map((s) => [...s, 0]),
        [outOperand.offset, a.offset],
        visit,
      );
    return;
  }
  // Rows contiguous on both sides, same element type: a block copy (memcpy).
  if (aStride === 1 && oStride === 1 && out.constructor === src.constructor) {
    forEachRow(shape, strides, [outOperand.offset, a.offset], (offsets, n) =>
      out.set(src.subarray(offsets[1], offsets[1] + n), offsets[0]),
    );
    return;
  }
  forEachRow(shape, strides, [outOperand.offset, a.offset], (offsets, n) => {
    let o = offsets[0];
    let i = offsets[1];
    if (toBool) for (let k = 0; k < n; k++, o += oStride, i += aStride) out[o] = src[i] !== 0 ? 1 : 0;
    else for (let k = 0; k < n; k++, o += oStride, i += aStride) out[o] = src[i];
  });
}

const TILE = 32;

/** out[r, c] = src[r + c * colStride] for a rows x cols block, tile by tile. */
function transposeTiles(
  src: TypedArray,
  srcOffset: number,
  colStride: number,
  out: TypedArray,
  outOffset: number,
  outRowStride: number,
  rows: number,
  cols: number,
): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const column = srcOffset + c * colStride;
        for (let r = r0; r < r1; r++) out[outOffset + r * outRowStride + c] = src[column + r];
      }
    }
  }
}

type WhereRow = (
  out: TypedArray,
  o: number,
  c: TypedArray,
  ci: number,
  cs: number,
  a: TypedArray,
  ai: number,
  as: number,
  b: TypedArray,
  bi: number,
  bs: number,
  n: number,
) => void;

const whereRows = new Map<string, WhereRow>();

// One compiled copy per combination of array types keeps the loop monomorphic for V8.
function whereRow(out: TypedArray, c: TypedArray, a: TypedArray, b: TypedArray): WhereRow {
  const key = `${out.constructor.name}:${c.constructor.name}:${a.constructor.name}:${b.constructor.name}`;
  let row = whereRows.get(key);
  if (!row) {
    const body =
      'for (let k = 0; k < n; k++, ci += cs, ai += as, bi += bs) out[o + k] = c[ci] !== 0 ? a[ai] : b[bi];';
    row = new Function(
      `return function whereRow(out, o, c, ci, cs, a, ai, as, b, bi, bs, n) { ${body} };`,
    )() as WhereRow;
    whereRows.set(key, row);
  }
  return row;
}

/** The CPU's where loop over broadcast operands. */
export function fastWhere(condition: ArrayOperand, a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  if (out.length === 0) return;
  const outOperand = { strides: contiguousOf(a.shape), offset: 0 };
  const { shape, strides } = collapseDims(a.shape, [outOperand, condition, a, b]);
  const last = shape.length - 1;
  const [cs, as, bs] = [strides[1][last], strides[2][last], strides[3][last]];
  const row = whereRow(out, condition.data, a.data, b.data);
  forEachRow(shape, strides, [0, condition.offset, a.offset, b.offset], (offsets, n) =>
    row(out, offsets[0], condition.data, offsets[1], cs, a.data, offsets[2], as, b.data, offsets[3], bs, n),
  );
}
