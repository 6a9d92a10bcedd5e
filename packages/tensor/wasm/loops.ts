// AssemblyScript source of agrad's float32 loops in WebAssembly SIMD, compiled by
// scripts/build-wasm.mjs (at the repository root) into src/wasm/loops-binary.ts. The JavaScript
// side, src/wasm/loops.ts, copies the arrays into this module's memory and back.
//
// The CPU backend's arithmetic (add, sub, mul, div) computes in float32, which for these four
// operations is what its JavaScript loops give too (float64, rounded once to float32: float64 is
// wide enough that the double rounding never differs). The optimizer's loops follow its blocks'
// composed rules (@agrad/optim's src/transforms/blocks.ts and agr.ts) term for term. Adam's and the affine loops compute in float32, one rounding per operation, as
// the composed rule does on float32 tensors (whose scalars are float32 too): they equal it bit
// for bit. AGR's sum is accumulated in float64 (from float32 pairs) and its scale computed in float32, as its JavaScript loop
// does, and they equal that.
//
// Every loop reads element i of its inputs before it writes element i (four at a time), so an
// output may be an input's own array. Pointers are byte offsets, 4-byte aligned (16 is faster).

// Adam's moments and direction (scaleByAdam without AMSGrad):
//   m' = m b1 + g c1;  v' = v b2 + (g g) c2;  u = (m' / correction1) / (sqrt(v') / correction2 + eps)
// with c1 = 1 - b1, c2 = 1 - b2, correction1 = 1 - b1^t, correction2 = sqrt(1 - b2^t).
export function adam(
  g: usize,
  m: usize,
  v: usize,
  mOut: usize,
  vOut: usize,
  u: usize,
  n: i32,
  b1: f32,
  c1: f32,
  b2: f32,
  c2: f32,
  correction1: f32,
  correction2: f32,
  eps: f32,
): void {
  const B1 = f32x4.splat(b1);
  const C1 = f32x4.splat(c1);
  const B2 = f32x4.splat(b2);
  const C2 = f32x4.splat(c2);
  const K1 = f32x4.splat(correction1);
  const K2 = f32x4.splat(correction2);
  const E = f32x4.splat(eps);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    const x = v128.load(g + at);
    const m2 = f32x4.add(f32x4.mul(v128.load(m + at), B1), f32x4.mul(x, C1));
    const v2 = f32x4.add(f32x4.mul(v128.load(v + at), B2), f32x4.mul(f32x4.mul(x, x), C2));
    v128.store(mOut + at, m2);
    v128.store(vOut + at, v2);
    const denominator = f32x4.add(f32x4.div(f32x4.sqrt(v2), K2), E);
    v128.store(u + at, f32x4.div(f32x4.div(m2, K1), denominator));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    const x = load<f32>(g + at);
    const m2 = load<f32>(m + at) * b1 + x * c1;
    const v2 = load<f32>(v + at) * b2 + x * x * c2;
    store<f32>(mOut + at, m2);
    store<f32>(vOut + at, v2);
    store<f32>(u + at, m2 / correction1 / (sqrt<f32>(v2) / correction2 + eps));
  }
}

// out = u * factor (the learning rate's scaling).
export function scale(u: usize, out: usize, n: i32, factor: f32): void {
  const F = f32x4.splat(factor);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.mul(v128.load(u + at), F));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(u + at) * factor);
  }
}

// out = u + p * decay (decoupled weight decay); with decay 1, p + u (applying an update).
export function addScaled(u: usize, p: usize, out: usize, n: i32, decay: f32): void {
  const D = f32x4.splat(decay);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.add(v128.load(u + at), f32x4.mul(v128.load(p + at), D)));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(u + at) + load<f32>(p + at) * decay);
  }
}

// sum |g_i| with eight running float64 sums: s_k (k < 8) adds, for each block of 16 elements,
// its elements k and k + 8, added in float32 (|g_k| + |g_k+8|, one rounding). The sums are kept
// at `sums` (eight f64, read and written, so that an array can be summed in pieces whose lengths
// are multiples of 16); the tail (n mod 16 elements) goes into s0 in float64. The caller adds
// ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)): the order of AGR's JavaScript loop. Why this
// shape: each float32-to-float64 conversion costs more than an addition, so pairs are first added
// in float32 (a relative error of 2^-24 at most, the precision of the result), halving them; on
// 535,816 floats that took the loop from 127 to 97 us. Going from two chains to four had moved
// it only from 163 to 156 us: the loop was not bound by the additions' latency.
export function absoluteSum(g: usize, n: i32, sums: usize): void {
  let s01 = v128.load(sums);
  let s23 = v128.load(sums, 16);
  let s45 = v128.load(sums, 32);
  let s67 = v128.load(sums, 48);
  const ABS = i32x4.splat(0x7fffffff);
  const body = n & ~15;
  for (let i: i32 = 0; i < body; i += 16) {
    const at = g + ((<usize>i) << 2);
    const low = f32x4.add(v128.and(v128.load(at), ABS), v128.and(v128.load(at, 32), ABS));
    const high = f32x4.add(v128.and(v128.load(at, 16), ABS), v128.and(v128.load(at, 48), ABS));
    s01 = f64x2.add(s01, f64x2.promote_low_f32x4(low));
    s23 = f64x2.add(s23, f64x2.promote_low_f32x4(i32x4.shuffle(low, low, 2, 3, 0, 1)));
    s45 = f64x2.add(s45, f64x2.promote_low_f32x4(high));
    s67 = f64x2.add(s67, f64x2.promote_low_f32x4(i32x4.shuffle(high, high, 2, 3, 0, 1)));
  }
  v128.store(sums, s01);
  v128.store(sums, s23, 16);
  v128.store(sums, s45, 32);
  v128.store(sums, s67, 48);
  let s0 = load<f64>(sums);
  for (let i: i32 = body; i < n; i++) s0 += <f64>abs<f32>(load<f32>(g + ((<usize>i) << 2)));
  store<f64>(sums, s0);
}

// out = g (1 - |g| r) in float32, one rounding per operation, with r = 1 / sum rounded to a
// normal float32 by the caller (its float64 loop runs otherwise). As AGR's JavaScript loop for
// float32.
export function agrScale(g: usize, out: usize, n: i32, reciprocal: f32): void {
  const R = f32x4.splat(reciprocal);
  const ONE = f32x4.splat(1);
  const ABS = i32x4.splat(0x7fffffff);
  const body = n & ~7;
  // Eight elements an iteration, and |x| as a mask (one instruction, the mask made once).
  for (let i: i32 = 0; i < body; i += 8) {
    const at = (<usize>i) << 2;
    const x = v128.load(g + at);
    const y = v128.load(g + at, 16);
    v128.store(out + at, f32x4.mul(x, f32x4.sub(ONE, f32x4.mul(v128.and(x, ABS), R))));
    v128.store(out + at, f32x4.mul(y, f32x4.sub(ONE, f32x4.mul(v128.and(y, ABS), R))), 16);
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    const x = load<f32>(g + at);
    store<f32>(out + at, x * (<f32>1 - abs<f32>(x) * reciprocal));
  }
}

// out = a op b elementwise, op 0 add, 1 sub, 2 mul, 3 div; with `scalar` set, b is one float32
// (at b) for every element. The switch is outside the loops, so each loop is one instruction.
export function arithmetic(op: i32, a: usize, b: usize, out: usize, n: i32, scalar: i32): void {
  if (scalar) {
    const y = load<f32>(b);
    if (op === 0) addScalar(a, y, out, n);
    else if (op === 1) addScalar(a, -y, out, n);
    else if (op === 2) mulScalar(a, y, out, n);
    else divScalar(a, y, out, n);
    return;
  }
  const body = n & ~3;
  if (op === 0) {
    for (let i: i32 = 0; i < body; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(out + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
    }
  } else if (op === 1) {
    for (let i: i32 = 0; i < body; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(out + at, f32x4.sub(v128.load(a + at), v128.load(b + at)));
    }
  } else if (op === 2) {
    for (let i: i32 = 0; i < body; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(out + at, f32x4.mul(v128.load(a + at), v128.load(b + at)));
    }
  } else {
    for (let i: i32 = 0; i < body; i += 4) {
      const at = (<usize>i) << 2;
      v128.store(out + at, f32x4.div(v128.load(a + at), v128.load(b + at)));
    }
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    const x = load<f32>(a + at);
    const y = load<f32>(b + at);
    store<f32>(out + at, op === 0 ? x + y : op === 1 ? x - y : op === 2 ? x * y : x / y);
  }
}

// a - y is a + (-y) exactly (negation is exact), so sub by a scalar shares add's loop.
function addScalar(a: usize, y: f32, out: usize, n: i32): void {
  const Y = f32x4.splat(y);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.add(v128.load(a + at), Y));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(a + at) + y);
  }
}

function mulScalar(a: usize, y: f32, out: usize, n: i32): void {
  const Y = f32x4.splat(y);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.mul(v128.load(a + at), Y));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(a + at) * y);
  }
}

function divScalar(a: usize, y: f32, out: usize, n: i32): void {
  const Y = f32x4.splat(y);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, f32x4.div(v128.load(a + at), Y));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(a + at) / y);
  }
}

// The same arithmetic over `rows` rows of `cols` elements whose b is broadcast: with `perRow`,
// b holds one value per row (a column, as softmax's max); else b is one row for every row (a
// row, as a bias). Each row is one call of the loops above.
export function arithmeticRows(
  op: i32,
  a: usize,
  b: usize,
  out: usize,
  rows: i32,
  cols: i32,
  perRow: i32,
): void {
  const rowBytes = (<usize>cols) << 2;
  for (let r: i32 = 0; r < rows; r++) {
    const at = <usize>r * rowBytes;
    if (perRow) arithmetic(op, a + at, b + ((<usize>r) << 2), out + at, cols, 1);
    else arithmetic(op, a + at, b, out + at, cols, 0);
  }
}

// relu: x where x > 0 or x is NaN, else +0, as the CPU backend's loop gives (-0 and -inf give
// +0). A bit select on the comparison's mask, with no branch.
export function relu(a: usize, out: usize, n: i32): void {
  const Z = f32x4.splat(0);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    const x = v128.load(a + at);
    v128.store(out + at, v128.bitselect(x, Z, v128.or(f32x4.gt(x, Z), f32x4.ne(x, x))));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    const x = load<f32>(a + at);
    store<f32>(out + at, x > 0 || x != x ? x : 0);
  }
}

// relu's vector-Jacobian product: g where relu's input y > 0, else +0 (NaN y gives +0).
export function reluBackward(g: usize, y: usize, out: usize, n: i32): void {
  const Z = f32x4.splat(0);
  const body = n & ~3;
  for (let i: i32 = 0; i < body; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(out + at, v128.bitselect(v128.load(g + at), Z, f32x4.gt(v128.load(y + at), Z)));
  }
  for (let i: i32 = body; i < n; i++) {
    const at = (<usize>i) << 2;
    store<f32>(out + at, load<f32>(y + at) > 0 ? load<f32>(g + at) : 0);
  }
}
