import type { TypedArray } from '../dtype.js';
import type { ArrayOperand } from '../layout.js';

/**
 * Batched matrix product C[b] = A[b] @ B[b] for A: [batch, M, K], B: [batch, K, N] (any strides),
 * C contiguous [batch, M, N].
 */

// Block sizes: a KC x NC panel of B (packed) stays in L2 while MC x KC blocks of A (packed)
// stream through it; each MR x NR tile of C lives in registers for the whole KC loop.
const MR = 4;
const NR = 4;
const KC = 256;
const MC = 64;
const NC = 1024;

/**
 * Cache-blocked GEMM in the GotoBLAS layout: pack a panel of B into NR-wide column strips and a
 * block of A into MR-tall row strips (k-major, zero-padded at the edges), then a 4x4 register
 * micro-kernel walks the shared k dimension with 16 accumulators and 8 loads per step.
 * Packing also turns any input strides (transposed views) into unit-stride reads.
 */
export function blockedMatmul(a: ArrayOperand, b: ArrayOperand, out: TypedArray): void {
  const [batch, M, K] = a.shape;
  const N = b.shape[2];
  out.fill(0);
  if (M === 0 || N === 0 || K === 0) return;
  const packedA = new Float64Array(MC * KC);
  const packedB = new Float64Array(KC * (NC + NR));
  for (let p = 0; p < batch; p++) {
    const aBase = a.offset + p * a.strides[0];
    const bBase = b.offset + p * b.strides[0];
    const cBase = p * M * N;
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        packPanelB(
          b.data,
          bBase + pc * b.strides[1] + jc * b.strides[2],
          b.strides[1],
          b.strides[2],
          kc,
          nc,
          packedB,
        );
        for (let ic = 0; ic < M; ic += MC) {
          const mc = Math.min(MC, M - ic);
          packBlockA(
            a.data,
            aBase + ic * a.strides[1] + pc * a.strides[2],
            a.strides[1],
            a.strides[2],
            mc,
            kc,
            packedA,
          );
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = Math.min(NR, nc - jr);
            for (let ir = 0; ir < mc; ir += MR) {
              const mr = Math.min(MR, mc - ir);
              microKernel(
                kc,
                packedA,
                ir * kc,
                packedB,
                jr * kc,
                out,
                cBase + (ic + ir) * N + jc + jr,
                N,
                mr,
                nr,
              );
            }
          }
        }
      }
    }
  }
}

/** B[k, j] for k < kc, j < nc into strips of NR columns: strip s holds kc rows of NR values. */
function packPanelB(
  src: TypedArray,
  base: number,
  rowStride: number,
  colStride: number,
  kc: number,
  nc: number,
  dst: Float64Array,
): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const width = Math.min(NR, nc - j0);
    let d = j0 * kc;
    for (let k = 0; k < kc; k++) {
      const row = base + k * rowStride + j0 * colStride;
      for (let j = 0; j < NR; j++) dst[d++] = j < width ? src[row + j * colStride] : 0;
    }
  }
}

/** A[i, k] for i < mc, k < kc into strips of MR rows: strip s holds kc columns of MR values. */
function packBlockA(
  src: TypedArray,
  base: number,
  rowStride: number,
  colStride: number,
  mc: number,
  kc: number,
  dst: Float64Array,
): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const height = Math.min(MR, mc - i0);
    let d = i0 * kc;
    for (let k = 0; k < kc; k++) {
      const col = base + i0 * rowStride + k * colStride;
      for (let i = 0; i < MR; i++) dst[d++] = i < height ? src[col + i * rowStride] : 0;
    }
  }
}

/** C[0:mr, 0:nr] += Apanel (MR x kc) * Bpanel (kc x NR), accumulating in 16 locals. */
function microKernel(
  kc: number,
  A: Float64Array,
  ai: number,
  B: Float64Array,
  bi: number,
  C: TypedArray,
  ci: number,
  ldc: number,
  mr: number,
  nr: number,
): void {
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0;
  let c30 = 0,
    c31 = 0,
    c32 = 0,
    c33 = 0;
  for (let k = 0; k < kc; k++, ai += MR, bi += NR) {
    const a0 = A[ai],
      a1 = A[ai + 1],
      a2 = A[ai + 2],
      a3 = A[ai + 3];
    const b0 = B[bi],
      b1 = B[bi + 1],
      b2 = B[bi + 2],
      b3 = B[bi + 3];
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
  }
  if (mr === MR && nr === NR) {
    C[ci] += c00;
    C[ci + 1] += c01;
    C[ci + 2] += c02;
    C[ci + 3] += c03;
    ci += ldc;
    C[ci] += c10;
    C[ci + 1] += c11;
    C[ci + 2] += c12;
    C[ci + 3] += c13;
    ci += ldc;
    C[ci] += c20;
    C[ci + 1] += c21;
    C[ci + 2] += c22;
    C[ci + 3] += c23;
    ci += ldc;
    C[ci] += c30;
    C[ci + 1] += c31;
    C[ci + 2] += c32;
    C[ci + 3] += c33;
    return;
  }
  // Edge tile: write only the rows and columns that exist.
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) C[ci + i * ldc + j] += tile[i * NR + j];
}
