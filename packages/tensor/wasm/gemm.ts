// AssemblyScript source of agrad's WebAssembly SIMD GEMM (float32). Compiled by
// scripts/build-wasm.mjs into src/wasm/gemm-binary.ts; the readable JavaScript reference is
// src/cpu/matmul.ts (referenceMatmul), and the tests check one against the other.
//
// C[M,N] = A[M,K] @ B[K,N] in linear memory: C row-major and contiguous; A and B each with a row
// and a column stride (in floats), so a transposed operand is packed as it is, without a
// transposing copy first. The layout is
// GotoBLAS's: a KC x NC panel of B is packed into NR-wide column strips, an MC x KC block of A
// into MR-tall row strips (k-major, zero-padded), and a 6x8 micro-kernel keeps 12 f32x4
// accumulators in registers across the shared k loop (12 + 2 B vectors + 1 A value fit the 16
// SIMD registers): per k, two B vectors, six broadcast A values, twelve multiply-adds.

const MR: i32 = 6;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 72;
const NC: i32 = 256;

// B[k0.., j0..] (row stride rs, column stride cs, in floats) -> strips of NR columns, each kc
// rows of NR floats.
function packB(b: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize): void {
  if (cs != 1) {
    packStrided(b, rs, cs, kc, nc, dst);
    return;
  }
  for (let js: i32 = 0; js < nc; js += NR) {
    const width = min(NR, nc - js);
    for (let k: i32 = 0; k < kc; k++) {
      const src = b + ((<usize>(k * rs + js)) << 2);
      if (width == NR) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else {
        for (let j: i32 = 0; j < NR; j++)
          store<f32>(dst + ((<usize>j) << 2), j < width ? load<f32>(src + ((<usize>j) << 2)) : 0);
      }
      dst += <usize>(NR << 2);
    }
  }
}

// packB for a B whose columns are not contiguous (a transposed matrix): the same strips, read
// down the columns, where B's elements are contiguous.
function packStrided(b: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize): void {
  for (let js: i32 = 0; js < nc; js += NR) {
    const width = min(NR, nc - js);
    for (let j: i32 = 0; j < NR; j++) {
      const column = b + ((<usize>((js + j) * cs)) << 2);
      let at = dst + ((<usize>j) << 2);
      for (let k: i32 = 0; k < kc; k++) {
        store<f32>(at, j < width ? load<f32>(column + ((<usize>(k * rs)) << 2)) : 0);
        at += <usize>(NR << 2);
      }
    }
    dst += <usize>((kc * NR) << 2);
  }
}

// A[i0.., k0..] (row stride rs, column stride cs) -> strips of MR rows, each kc columns of MR
// floats.
function packA(a: usize, rs: i32, cs: i32, mc: i32, kc: i32, dst: usize): void {
  for (let is: i32 = 0; is < mc; is += MR) {
    const height = min(MR, mc - is);
    for (let k: i32 = 0; k < kc; k++) {
      for (let i: i32 = 0; i < MR; i++) {
        store<f32>(
          dst + ((<usize>i) << 2),
          i < height ? load<f32>(a + ((<usize>((is + i) * rs + k * cs)) << 2)) : 0,
        );
      }
      dst += <usize>(MR << 2);
    }
  }
}

// c + a * b. Built twice (scripts/build-wasm.mjs): with relaxed SIMD, one f32x4.relaxed_madd,
// a fused multiply-add where the hardware has one (one rounding instead of two); without it, a
// multiply and an add, for engines without relaxed SIMD (Node 20 has it only behind
// --experimental-wasm-relaxed-simd). Small enough that the optimizer inlines it.
function madd(a: v128, b: v128, c: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? f32x4.relaxed_madd(a, b, c) : f32x4.add(c, f32x4.mul(a, b));
}

// Scratch for edge tiles (MR x NR floats), placed by the host at `scratch`.
function microKernel(
  kc: i32,
  pa: usize,
  pb: usize,
  c: usize,
  ldc: i32,
  mr: i32,
  nr: i32,
  scratch: usize,
): void {
  let c00 = f32x4.splat(0),
    c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0),
    c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0),
    c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0),
    c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0),
    c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0),
    c51 = f32x4.splat(0);
  for (let k: i32 = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = madd(a, b0, c50);
    c51 = madd(a, b1, c51);
    pa += 24;
    pb += 32;
  }
  const ldcBytes = <usize>(ldc << 2);
  if (mr == MR && nr == NR) {
    let row = c;
    v128.store(row, f32x4.add(v128.load(row), c00));
    v128.store(row, f32x4.add(v128.load(row, 16), c01), 16);
    row += ldcBytes;
    v128.store(row, f32x4.add(v128.load(row), c10));
    v128.store(row, f32x4.add(v128.load(row, 16), c11), 16);
    row += ldcBytes;
    v128.store(row, f32x4.add(v128.load(row), c20));
    v128.store(row, f32x4.add(v128.load(row, 16), c21), 16);
    row += ldcBytes;
    v128.store(row, f32x4.add(v128.load(row), c30));
    v128.store(row, f32x4.add(v128.load(row, 16), c31), 16);
    row += ldcBytes;
    v128.store(row, f32x4.add(v128.load(row), c40));
    v128.store(row, f32x4.add(v128.load(row, 16), c41), 16);
    row += ldcBytes;
    v128.store(row, f32x4.add(v128.load(row), c50));
    v128.store(row, f32x4.add(v128.load(row, 16), c51), 16);
    return;
  }
  // Edge tile: spill to scratch, add back only the rows and columns that exist.
  v128.store(scratch, c00);
  v128.store(scratch, c01, 16);
  v128.store(scratch, c10, 32);
  v128.store(scratch, c11, 48);
  v128.store(scratch, c20, 64);
  v128.store(scratch, c21, 80);
  v128.store(scratch, c30, 96);
  v128.store(scratch, c31, 112);
  v128.store(scratch, c40, 128);
  v128.store(scratch, c41, 144);
  v128.store(scratch, c50, 160);
  v128.store(scratch, c51, 176);
  for (let i: i32 = 0; i < mr; i++) {
    for (let j: i32 = 0; j < nr; j++) {
      const at = c + <usize>i * ldcBytes + ((<usize>j) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(scratch + ((<usize>(i * NR + j)) << 2)));
    }
  }
}

/** Bytes of workspace gemm needs at `work` (packed A, packed B, edge scratch). */
export function workspaceBytes(): i32 {
  return (MC * KC + KC * (NC + NR) + MR * NR) << 2;
}

/**
 * C = A @ B for rows [rowStart, rowEnd) of C, so two threads can split one product by rows and
 * each output element is computed in the same order whatever the split. C rows must be zeroed.
 * A's and B's row and column strides are in floats (K and 1, N and 1 when row-major).
 */
export function gemm(
  a: usize,
  b: usize,
  c: usize,
  M: i32,
  N: i32,
  K: i32,
  rowStart: i32,
  rowEnd: i32,
  work: usize,
  aRowStride: i32,
  aColStride: i32,
  bRowStride: i32,
  bColStride: i32,
): void {
  const packedA = work;
  const packedB = work + ((<usize>(MC * KC)) << 2);
  const scratch = packedB + ((<usize>(KC * (NC + NR))) << 2);
  for (let jc: i32 = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc: i32 = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b + ((<usize>(pc * bRowStride + jc * bColStride)) << 2), bRowStride, bColStride, kc, nc, packedB);
      for (let ic: i32 = rowStart; ic < rowEnd; ic += MC) {
        const mc = min(MC, rowEnd - ic);
        packA(
          a + ((<usize>(ic * aRowStride + pc * aColStride)) << 2),
          aRowStride,
          aColStride,
          mc,
          kc,
          packedA,
        );
        for (let jr: i32 = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          for (let ir: i32 = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            microKernel(
              kc,
              packedA + ((<usize>(ir * kc)) << 2),
              packedB + ((<usize>(jr * kc)) << 2),
              c + ((<usize>((ic + ir) * N + jc + jr)) << 2),
              N,
              mr,
              nr,
              scratch,
            );
          }
        }
      }
    }
  }
}
