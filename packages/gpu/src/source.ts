import {
  type ArgReduceOp,
  type BinaryOp,
  contiguousStrides,
  elementwise as elementwiseMath,
  layout,
  type ReduceOp,
  type UnaryOp,
  type Window,
} from '@agrad/tensor';

const { BINARY, gpuForm, UNARY } = elementwiseMath;
const { collapseDims } = layout;

/**
 * Kernel sources for gpu.js, written as the JavaScript subset gpu.js translates to GLSL (and to
 * WebAssembly or plain JavaScript in its other modes). Every kernel writes one element of a flat,
 * contiguous output per thread (`this.thread.x`) and reads flat inputs at computed offsets.
 *
 * Shapes, strides and offsets are baked into the source as literals, so each distinct layout is
 * its own kernel (compiled once, then cached by source text): no uniforms to keep in sync, and the
 * shader compiler sees constant loop bounds, which GLSL ES 1.0 requires.
 *
 * Index arithmetic runs in float32 on GL. `split` divides with a correction step, so a flat index
 * is split into coordinates exactly for every index below 2^24 (where float32 stops representing
 * integers), even on GPUs whose division is a few ulps off.
 */

/** A strided operand as a kernel sees it: its argument name, strides and offset (in elements). */
export interface Operand {
  readonly name: string;
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Float literal for the kernel source (gpu.js reads `2` as an integer, `2.0` as a float). */
export function literal(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '3.4028234663852886e38';
  if (value === Number.NEGATIVE_INFINITY) return '-3.4028234663852886e38';
  if (Number.isNaN(value)) throw new RangeError('gpu backend: NaN cannot be written into a kernel');
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/**
 * Statements that split the flat index in `flat` into coordinates `${prefix}0..` of `shape`
 * (row-major). Each quotient is a float division rounded down and then corrected by one step either
 * way, so it is exact whenever the products involved are exact (indices below 2^24).
 */
export function split(flat: string, shape: readonly number[], prefix: string): string {
  const lines: string[] = [`let ${prefix}r = ${flat};`];
  for (let d = shape.length - 1; d >= 1; d--) {
    const size = literal(shape[d]);
    const q = `${prefix}q${d}`;
    const c = `${prefix}${d}`;
    lines.push(
      `let ${q} = Math.floor((${prefix}r + 0.5) / ${size});`,
      `let ${c} = ${prefix}r - ${q} * ${size};`,
      `if (${c} < 0.0) { ${q} = ${q} - 1.0; ${c} = ${c} + ${size}; }`,
      `if (${c} >= ${size}) { ${q} = ${q} + 1.0; ${c} = ${c} - ${size}; }`,
      `${prefix}r = ${q};`,
    );
  }
  lines.push(`let ${prefix}0 = ${prefix}r;`);
  return lines.join('\n');
}

/** offset + sum coord_d * stride_d, leaving out zero strides. */
export function offsetExpression(
  coords: readonly string[],
  strides: readonly number[],
  offset: number,
): string {
  const terms = [literal(offset)];
  strides.forEach((s, d) => {
    if (s === 1) terms.push(coords[d]);
    else if (s !== 0) terms.push(`${coords[d]} * ${literal(s)}`);
  });
  return terms.join(' + ');
}

function kernel(args: readonly string[], body: string): string {
  return `function(${args.join(', ')}) {\nlet i = this.thread.x;\n${body}\n}`;
}

/** Output dtype conversion: int32 truncates toward zero as Int32Array does; bool is 0 or 1. */
export type OutputKind = 'float' | 'int' | 'bool';
function convert(value: string, kind: OutputKind): string {
  if (kind === 'int') return `Math.trunc(${value})`;
  if (kind === 'bool') return `(${value} !== 0.0 ? 1.0 : 0.0)`;
  return value;
}

/**
 * An elementwise kernel over operands of one shape. `math` reads x, y, z (the operands in order)
 * and sets `v`; the ops' math comes from the one table in @agrad/tensor's elementwise.ts. Dims that are contiguous in every operand (and the output) are merged first, so a
 * plain contiguous op needs no index arithmetic at all.
 */
function elementwise(
  shape: readonly number[],
  operands: readonly Operand[],
  math: string,
  kind: OutputKind,
): string {
  const output: Operand = { name: 'out', strides: contiguousStrides(shape), offset: 0 };
  const collapsed = collapseDims(shape, [output, ...operands]);
  const coords = collapsed.shape.map((_, d) => `c${d}`);
  const reads = operands.map((op, k) => {
    const at = offsetExpression(coords, collapsed.strides[k + 1], op.offset);
    return `let ${'xyz'[k]} = ${op.name}[${at}];`;
  });
  return kernel(
    operands.map((o) => o.name),
    [split('i', collapsed.shape, 'c'), ...reads, math, `return ${convert('v', kind)};`].join('\n'),
  );
}

export const copySource = (shape: readonly number[], a: Operand, kind: OutputKind) =>
  elementwise(shape, [a], 'let v = x;', kind);

export const unarySource = (op: UnaryOp, shape: readonly number[], a: Operand, kind: OutputKind) =>
  elementwise(shape, [a], gpuForm(UNARY[op]), kind);

export const binarySource = (
  op: BinaryOp,
  shape: readonly number[],
  a: Operand,
  b: Operand,
  kind: OutputKind,
) => elementwise(shape, [a, b], gpuForm(BINARY[op]), kind);

export const whereSource = (shape: readonly number[], c: Operand, a: Operand, b: Operand) =>
  elementwise(shape, [c, a, b], 'let v = z;\nif (x !== 0.0) { v = y; }', 'float');

/** A fill kernel (no inputs). */
export const fillSource = (value: number) => `function() {\nreturn ${literal(value)};\n}`;

const COMBINE: Record<ReduceOp, string> = {
  sum: 'acc = acc + w;',
  max: 'if (w > acc) { acc = w; }',
  min: 'if (w < acc) { acc = w; }',
};

/**
 * A reduction: one thread per output element loops over the reduced dims (nested loops with
 * literal bounds). `kept`/`reduced` hold the input's dims split into the two groups.
 */
export function reduceSource(
  op: ReduceOp,
  a: Operand,
  kept: { shape: readonly number[]; strides: readonly number[] },
  reduced: { shape: readonly number[]; strides: readonly number[] },
): string {
  const k = collapseDims(kept.shape, [
    { strides: contiguousStrides(kept.shape), offset: 0 },
    { strides: kept.strides, offset: 0 },
  ]);
  const r = collapseDims(reduced.shape, [{ strides: reduced.strides, offset: 0 }]);
  const coords = k.shape.map((_, d) => `c${d}`);
  const base = offsetExpression(coords, k.strides[1], a.offset);
  const loops = r.shape.map((size, d) => `for (let j${d} = 0; j${d} < ${size}; j${d}++) {`);
  const at = ['base', ...r.strides[0].map((s, d) => (s === 1 ? `j${d}` : `j${d} * ${literal(s)}`))].join(
    ' + ',
  );
  return kernel(
    [a.name],
    [
      split('i', k.shape, 'c'),
      `let base = ${base};`,
      `let acc = ${op === 'sum' ? '0.0' : `${a.name}[base]`};`,
      ...loops,
      `let w = ${a.name}[${at}];`,
      COMBINE[op],
      ...loops.map(() => '}'),
      'return acc;',
    ].join('\n'),
  );
}

/**
 * The first pass of a long reduction: thread (o, p) reduces chunk p (of `chunk` elements) of the
 * reduced elements of output o. The reduced dims are walked by a flat counter split per element,
 * so the chunks can cut across dims.
 */
export function partialReduceSource(
  op: ReduceOp,
  a: Operand,
  kept: { shape: readonly number[]; strides: readonly number[] },
  reduced: { shape: readonly number[]; strides: readonly number[] },
  chunk: number,
  chunks: number,
): string {
  const k = collapseDims(kept.shape, [
    { strides: contiguousStrides(kept.shape), offset: 0 },
    { strides: kept.strides, offset: 0 },
  ]);
  const r = collapseDims(reduced.shape, [{ strides: reduced.strides, offset: 0 }]);
  const total = r.shape.reduce((p, d) => p * d, 1);
  const coords = k.shape.map((_, d) => `c${d}`);
  const rcoords = r.shape.map((_, d) => `r${d}`);
  return kernel(
    [a.name],
    [
      split('i', [...k.shape, chunks], 'c'),
      `let base = ${offsetExpression(coords, k.strides[1], a.offset)};`,
      `let first = c${k.shape.length} * ${literal(chunk)};`,
      // max/min start from the chunk's first element, which always exists.
      op === 'sum'
        ? 'let acc = 0.0;'
        : `${split('first', r.shape, 'f')}\nlet acc = ${a.name}[base + ${offsetExpression(
            r.shape.map((_, d) => `f${d}`),
            r.strides[0],
            0,
          )}];`,
      `for (let t = 0; t < ${chunk}; t++) {`,
      `let flat = first + t;`,
      `if (flat < ${literal(total)}) {`,
      split('flat', r.shape, 'r'),
      `let w = ${a.name}[base + ${offsetExpression(rcoords, r.strides[0], 0)}];`,
      COMBINE[op],
      '}',
      '}',
      'return acc;',
    ].join('\n'),
  );
}

/** Index of the first extreme along one dim (as float; ties keep the first). */
export function argReduceSource(
  op: ArgReduceOp,
  a: Operand,
  outShape: readonly number[],
  axis: number,
  size: number,
): string {
  const coords = outShape.map((_, d) => `c${d}`);
  const base = offsetExpression(
    coords,
    a.strides.map((s, d) => (d === axis ? 0 : s)),
    a.offset,
  );
  const step = literal(a.strides[axis]);
  const better = op === 'argmax' ? 'w > best' : 'w < best';
  return kernel(
    [a.name],
    [
      split('i', outShape, 'c'),
      `let base = ${base};`,
      `let best = ${a.name}[base];`,
      'let at = 0.0;',
      `for (let j = 1; j < ${size}; j++) {`,
      `let w = ${a.name}[base + j * ${step}];`,
      `if (${better}) { best = w; at = j; }`,
      '}',
      'return at;',
    ].join('\n'),
  );
}

/**
 * Batched matmul [B,M,K] @ [B,K,N]: one output element per thread, the K loop unrolled by four
 * (fragment shaders have no shared memory to tile into, so register reuse is what unrolling buys).
 */
export function matmulSource(a: Operand, b: Operand, B: number, M: number, K: number, N: number): string {
  const aBase = offsetExpression(['c0', 'c1'], [a.strides[0], a.strides[1]], a.offset);
  const bBase = offsetExpression(['c0', 'c2'], [b.strides[0], b.strides[2]], b.offset);
  const [ak, bk] = [literal(a.strides[2]), literal(b.strides[1])];
  const term = (k: string) => `${a.name}[ab + (${k}) * ${ak}] * ${b.name}[bb + (${k}) * ${bk}]`;
  const blocks = Math.floor(K / 4);
  const lines = [split('i', [B, M, N], 'c'), `let ab = ${aBase};`, `let bb = ${bBase};`, 'let acc = 0.0;'];
  if (blocks > 0) {
    lines.push(
      `for (let k = 0; k < ${blocks}; k++) {`,
      'let k4 = k * 4.0;',
      `acc = acc + ${term('k4')} + ${term('k4 + 1.0')} + ${term('k4 + 2.0')} + ${term('k4 + 3.0')};`,
      '}',
    );
  }
  for (let k = blocks * 4; k < K; k++) lines.push(`acc = acc + ${term(literal(k))};`);
  lines.push('return acc;');
  return kernel([a.name, b.name], lines.join('\n'));
}

/**
 * Batched matmul in 2x2 register tiles, for the GL modes: each thread computes four outputs (rows
 * m0, m0+1 and columns n0, n0+1) from two loads of A and two of B per step of K, where the plain
 * kernel needs eight, and returns them as one RGBA texel; `unpackTilesSource` then lays them out
 * row-major. Rows and columns past an odd edge are computed from clamped (valid) reads and never
 * unpacked.
 */
export function matmulTiledSource(
  a: Operand,
  b: Operand,
  B: number,
  M: number,
  K: number,
  N: number,
): string {
  const [TM, TN] = [Math.ceil(M / 2), Math.ceil(N / 2)];
  const row = (m: string) => offsetExpression(['c0', m], [a.strides[0], a.strides[1]], a.offset);
  const col = (n: string) => offsetExpression(['c0', n], [b.strides[0], b.strides[2]], b.offset);
  const [ak, bk] = [literal(a.strides[2]), literal(b.strides[1])];
  return kernel(
    [a.name, b.name],
    [
      split('i', [B, TM, TN], 'c'),
      'let m0 = c1 * 2.0;',
      `let m1 = Math.min(m0 + 1.0, ${literal(M - 1)});`,
      'let n0 = c2 * 2.0;',
      `let n1 = Math.min(n0 + 1.0, ${literal(N - 1)});`,
      `let a0 = ${row('m0')};`,
      `let a1 = ${row('m1')};`,
      `let b0 = ${col('n0')};`,
      `let b1 = ${col('n1')};`,
      'let s00 = 0.0;',
      'let s01 = 0.0;',
      'let s10 = 0.0;',
      'let s11 = 0.0;',
      `for (let k = 0; k < ${K}; k++) {`,
      `let x0 = ${a.name}[a0 + k * ${ak}];`,
      `let x1 = ${a.name}[a1 + k * ${ak}];`,
      `let y0 = ${b.name}[b0 + k * ${bk}];`,
      `let y1 = ${b.name}[b1 + k * ${bk}];`,
      's00 = s00 + x0 * y0;',
      's01 = s01 + x0 * y1;',
      's10 = s10 + x1 * y0;',
      's11 = s11 + x1 * y1;',
      '}',
      'return [s00, s01, s10, s11];',
    ].join('\n'),
  );
}

/** [B, M, N] row-major from the 2x2 tiles of matmulTiledSource. */
export function unpackTilesSource(name: string, B: number, M: number, N: number): string {
  const [TM, TN] = [Math.ceil(M / 2), Math.ceil(N / 2)];
  return kernel(
    [name],
    [
      split('i', [B, M, N], 'c'),
      'let tm = Math.floor((c1 + 0.5) / 2.0);',
      'let tn = Math.floor((c2 + 0.5) / 2.0);',
      `let v = ${name}[${offsetExpression(['c0', 'tm', 'tn'], [TM * TN, TN, 1], 0)}];`,
      'let dm = c1 - tm * 2.0;',
      'let dn = c2 - tn * 2.0;',
      'let r = v[0];',
      'if (dm === 0.0 && dn === 1.0) { r = v[1]; }',
      'if (dm === 1.0 && dn === 0.0) { r = v[2]; }',
      'if (dm === 1.0 && dn === 1.0) { r = v[3]; }',
      'return r;',
    ].join('\n'),
  );
}

/** Reads a[p with p[dim] := index value]; `at` is the index's element offset for output p. */
function pickSource(
  a: Operand,
  index: Operand,
  shape: readonly number[],
  dim: number,
  at: (coords: string[]) => string,
): string {
  const coords = shape.map((_, d) => `c${d}`);
  const base = offsetExpression(
    coords,
    a.strides.map((s, d) => (d === dim ? 0 : s)),
    a.offset,
  );
  return kernel(
    [a.name, index.name],
    [
      split('i', shape, 'c'),
      `let at = ${index.name}[${at(coords)}];`,
      `return ${a.name}[${base} + at * ${literal(a.strides[dim])}];`,
    ].join('\n'),
  );
}

/** out[p] = a[p with p[dim] := index[p]] (out has index's shape). */
export const gatherSource = (a: Operand, index: Operand, shape: readonly number[], dim: number) =>
  pickSource(a, index, shape, dim, (coords) => offsetExpression(coords, index.strides, index.offset));

/** Picks slices index[j] along `dim` (index is 1-D). */
export const indexSelectSource = (a: Operand, index: Operand, shape: readonly number[], dim: number) =>
  pickSource(a, index, shape, dim, (coords) => offsetExpression([coords[dim]], index.strides, index.offset));

/**
 * scatterAdd written gather-style (a fragment shader cannot scatter): output element p sums
 * source[q] over the q of index's extent with q = p off `dim` and index[q] = p[dim].
 */
export function scatterAddSource(
  shape: readonly number[],
  dim: number,
  index: Operand & { shape: readonly number[] },
  source: Operand,
): string {
  const coords = shape.map((_, d) => `c${d}`);
  const inside = index.shape.map((s, d) => (d === dim ? '' : `c${d} < ${literal(s)}`)).filter(Boolean);
  const withJ = coords.map((c, d) => (d === dim ? 'j' : c));
  return kernel(
    [index.name, source.name],
    [
      split('i', shape, 'c'),
      'let acc = 0.0;',
      inside.length ? `if (${inside.join(' && ')}) {` : '{',
      `for (let j = 0; j < ${index.shape[dim]}; j++) {`,
      `if (${index.name}[${offsetExpression(withJ, index.strides, index.offset)}] === c${dim}) {`,
      `acc = acc + ${source.name}[${offsetExpression(withJ, source.strides, source.offset)}];`,
      '}',
      '}',
      '}',
      'return acc;',
    ].join('\n'),
  );
}

/** indexAdd gather-style: output slice p[dim] sums the source slices j with index[j] = p[dim]. */
export function indexAddSource(
  shape: readonly number[],
  dim: number,
  index: Operand,
  count: number,
  source: Operand,
): string {
  const coords = shape.map((_, d) => (d === dim ? 'j' : `c${d}`));
  return kernel(
    [index.name, source.name],
    [
      split('i', shape, 'c'),
      'let acc = 0.0;',
      `for (let j = 0; j < ${count}; j++) {`,
      `if (${index.name}[${offsetExpression(['j'], index.strides, index.offset)}] === c${dim}) {`,
      `acc = acc + ${source.name}[${offsetExpression(coords, source.strides, source.offset)}];`,
      '}',
      '}',
      'return acc;',
    ].join('\n'),
  );
}

function windowSizes(window: Window) {
  const [[kh, kw], [sh, sw], [ph, pw], [dh, dw]] = [
    window.kernel,
    window.stride,
    window.padding,
    window.dilation,
  ];
  return { kh, kw, sh, sw, ph, pw, dh, dw };
}

/** im2col: [N,C,H,W] -> [N, C*kh*kw, outH*outW]; padding reads `padValue`. */
export function unfoldSource(
  x: Operand,
  shape: readonly number[],
  window: Window,
  outH: number,
  outW: number,
  padValue: number,
): string {
  const [N, C, H, W] = shape;
  const { kh, kw, sh, sw, ph, pw, dh, dw } = windowSizes(window);
  const at = offsetExpression(['c0', 'c1', 'ih', 'iw'], x.strides, x.offset);
  return kernel(
    [x.name],
    [
      split('i', [N, C, kh, kw, outH, outW], 'c'),
      `let ih = c4 * ${literal(sh)} - ${literal(ph)} + c2 * ${literal(dh)};`,
      `let iw = c5 * ${literal(sw)} - ${literal(pw)} + c3 * ${literal(dw)};`,
      `let v = ${literal(padValue)};`,
      `if (ih >= 0.0 && ih < ${literal(H)} && iw >= 0.0 && iw < ${literal(W)}) { v = ${x.name}[${at}]; }`,
      'return v;',
    ].join('\n'),
  );
}

/**
 * Max pooling's argmax: one output per thread, scanning its window; the first largest value wins
 * (GLSL has no dependable NaN test, so NaN inputs are not ranked here as on the host).
 */
export function maxPoolIndicesSource(
  x: Operand,
  shape: readonly number[],
  window: Window,
  outH: number,
  outW: number,
): string {
  const [N, C, H, W] = shape;
  const { kh, kw, sh, sw, ph, pw, dh, dw } = windowSizes(window);
  const at = offsetExpression(['c0', 'c1', 'h', 'w'], x.strides, x.offset);
  return kernel(
    [x.name],
    [
      split('i', [N, C, outH, outW], 'c'),
      'let best = 0.0;',
      'let index = -1.0;',
      `for (let ki = 0; ki < ${kh}; ki++) {`,
      `let h = c2 * ${literal(sh)} - ${literal(ph)} + ki * ${literal(dh)};`,
      `if (h >= 0.0 && h < ${literal(H)}) {`,
      `for (let kj = 0; kj < ${kw}; kj++) {`,
      `let w = c3 * ${literal(sw)} - ${literal(pw)} + kj * ${literal(dw)};`,
      `if (w >= 0.0 && w < ${literal(W)}) {`,
      `let v = ${x.name}[${at}];`,
      `if (index < 0.0 || v > best) { best = v; index = h * ${literal(W)} + w; }`,
      '}',
      '}',
      '}',
      '}',
      'return index;',
    ].join('\n'),
  );
}

/** col2im gather-style: pixel (n,c,h,w) sums every column entry whose window covers it. */
export function foldSource(
  cols: Operand,
  shape: readonly number[],
  window: Window,
  outH: number,
  outW: number,
): string {
  const [N, C, H, W] = shape;
  const { kh, kw, sh, sw, ph, pw, dh, dw } = windowSizes(window);
  // cols[n, (c*kh + ki)*kw + kj, oh*outW + ow]
  const row = `(c1 * ${literal(kh)} + ki) * ${literal(kw)} + kj`;
  const at = offsetExpression(['c0', 'row', 'col'], cols.strides, cols.offset);
  return kernel(
    [cols.name],
    [
      split('i', [N, C, H, W], 'c'),
      'let acc = 0.0;',
      `for (let ki = 0; ki < ${kh}; ki++) {`,
      `let nh = c2 + ${literal(ph)} - ki * ${literal(dh)};`,
      `let oh = Math.floor((nh + 0.5) / ${literal(sh)});`,
      `if (nh >= 0.0 && oh * ${literal(sh)} === nh && oh < ${literal(outH)}) {`,
      `for (let kj = 0; kj < ${kw}; kj++) {`,
      `let nw = c3 + ${literal(pw)} - kj * ${literal(dw)};`,
      `let ow = Math.floor((nw + 0.5) / ${literal(sw)});`,
      `if (nw >= 0.0 && ow * ${literal(sw)} === nw && ow < ${literal(outW)}) {`,
      `let row = ${row};`,
      `let col = oh * ${literal(outW)} + ow;`,
      `acc = acc + ${cols.name}[${at}];`,
      '}',
      '}',
      '}',
      '}',
      'return acc;',
    ].join('\n'),
  );
}

/**
 * In-place write through a view, as a new version of the whole storage: element j of the storage
 * takes the source value when j falls inside the target view and keeps its old value otherwise.
 * `dims` lists the view's dims by decreasing stride (a nested box, checked by the caller), so the
 * position inside the view is found by successive exact divisions.
 */
export function assignSource(
  old: Operand,
  target: { shape: readonly number[]; strides: readonly number[]; offset: number },
  dims: readonly number[],
  source: Operand,
): string {
  // Size-1 dims read coordinate `zero`: a variable, since gpu.js mistranslates an all-literal index.
  const lines = [
    `let r = i - ${literal(target.offset)};`,
    'let inside = 1.0;',
    'let zero = 0.0;',
    'if (r < 0.0) { inside = 0.0; r = 0.0; }',
  ];
  for (const d of dims) {
    const s = literal(target.strides[d]);
    lines.push(
      `let c${d} = Math.floor((r + 0.5) / ${s});`,
      `if (c${d} * ${s} > r) { c${d} = c${d} - 1.0; }`,
      `if ((c${d} + 1.0) * ${s} <= r) { c${d} = c${d} + 1.0; }`,
      `if (c${d} >= ${literal(target.shape[d])}) { inside = 0.0; c${d} = 0.0; }`,
      `r = r - c${d} * ${s};`,
    );
  }
  const coords = target.shape.map((_, d) => (dims.includes(d) ? `c${d}` : 'zero'));
  lines.push(
    'if (r !== 0.0) { inside = 0.0; }',
    `let v = ${old.name}[0.0 + i];`,
    `if (inside === 1.0) { v = ${source.name}[${offsetExpression(coords, source.strides, source.offset)}]; }`,
    'return v;',
  );
  return kernel([old.name, source.name], lines.join('\n'));
}
