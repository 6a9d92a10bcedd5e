import { isFloating } from '@agrad/tensor';
import type { Tensor } from './tensor.js';

/**
 * Printing, as PyTorch prints: `tensor([[0.1235, 2.0000]], requires_grad=True)`. The layout rules
 * are torch/_tensor_str.py's (four decimals, scientific notation when magnitudes span more than
 * 1000x or leave [1e-4, 1e8], integers as `1.`, at most 80 columns, more than 1,000 elements
 * summarised to the first and last three along each dim), and numbers are rounded as Python's
 * format() rounds them: the exact binary value, halves to even.
 */

const PRECISION = 4;
const LINE_WIDTH = 80;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/** The exact decimal expansion of |x| (finite): digits without leading zeros, and where the point goes. */
function exactDecimal(x: number): { digits: string; point: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  // |x| = mantissa * 2^exponent exactly.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  if (mantissa === 0n) return { digits: '0', point: 1 };
  if (exponent >= 0) {
    const digits = (mantissa << BigInt(exponent)).toString();
    return { digits, point: digits.length };
  }
  // m / 2^k = m 5^k / 10^k
  const digits = (mantissa * 5n ** BigInt(-exponent)).toString();
  return { digits, point: digits.length + exponent };
}

/** The first `keep` digits rounded half to even by what follows them (keep may be <= 0). */
function roundDigits(digits: string, keep: number): bigint {
  if (keep < 0) return 0n;
  const kept = keep === 0 ? 0n : BigInt(digits.slice(0, keep));
  const rest = digits.slice(keep);
  if (rest === '' || rest[0] < '5') return kept;
  const exactlyHalf = rest[0] === '5' && /^0*$/.test(rest.slice(1));
  if (!exactlyHalf || kept % 2n === 1n) return kept + 1n;
  return kept;
}

function nonFinite(x: number): string | null {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return null;
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

/** Python's `format(x, '.{decimals}f')`. */
export function formatFixed(x: number, decimals: number): string {
  const special = nonFinite(x);
  if (special) return special;
  const { digits, point } = exactDecimal(x);
  const scaled = roundDigits(digits, point + decimals)
    .toString()
    .padStart(decimals + 1, '0');
  const whole = scaled.slice(0, scaled.length - decimals);
  return `${signOf(x)}${whole}${decimals > 0 ? `.${scaled.slice(scaled.length - decimals)}` : ''}`;
}

/** Python's `format(x, '.{decimals}e')`: `1.2346e-05`. */
export function formatExponential(x: number, decimals: number): string {
  const special = nonFinite(x);
  if (special) return special;
  let mantissa: string;
  let exponent: number;
  if (x === 0) {
    mantissa = '0'.repeat(decimals + 1);
    exponent = 0;
  } else {
    const { digits, point } = exactDecimal(x);
    mantissa = roundDigits(digits, decimals + 1).toString();
    exponent = point - 1;
    if (mantissa.length > decimals + 1) {
      // 9.99995 rounded up to 10.0000: one more power of ten.
      mantissa = mantissa.slice(0, decimals + 1);
      exponent += 1;
    }
  }
  const fraction = decimals > 0 ? `.${mantissa.slice(1)}` : '';
  const power = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return `${signOf(x)}${mantissa[0]}${fraction}e${power}`;
}

/** Python's repr() of a float: the shortest round-trip digits, `1e-05`, `0.1`, `2.0`. */
export function pythonFloat(x: number): string {
  const special = nonFinite(x);
  if (special) return special;
  if (x === 0) return `${signOf(x)}0.0`;
  const [mantissa, power] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(power);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${signOf(x)}${digits[0]}${fraction}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  const point = exponent + 1;
  const text =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? `${digits}${'0'.repeat(point - digits.length)}.0`
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${signOf(x)}${text}`;
}

/** A value formatted to a common width, chosen once from all values printed (torch's _Formatter). */
class Formatter {
  private integral = true;
  private scientific = false;
  private width = 1;

  constructor(
    private readonly floating: boolean,
    values: ArrayLike<number>,
    private readonly isBool: boolean,
  ) {
    if (!floating) {
      for (let i = 0; i < values.length; i++)
        this.width = Math.max(this.width, this.integerText(values[i]).length);
      return;
    }
    const finite: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v) && v !== 0) finite.push(v);
    }
    if (finite.length === 0) return;
    const magnitudes = finite.map(Math.abs);
    const largest = Math.max(...magnitudes);
    const smallest = Math.min(...magnitudes);
    this.integral = finite.every((v) => v === Math.ceil(v));
    const spread = largest / smallest > 1000 || largest > 1e8;
    this.scientific = this.integral ? spread : spread || smallest < 1e-4;
    for (const v of finite) {
      const text = this.scientific
        ? formatExponential(v, PRECISION)
        : this.integral
          ? `${formatFixed(v, 0)}.`
          : formatFixed(v, PRECISION);
      this.width = Math.max(this.width, text.length);
    }
  }

  private integerText(v: number): string {
    return this.isBool ? (v ? 'True' : 'False') : String(v);
  }

  get columns(): number {
    return this.width;
  }

  format(v: number): string {
    let text: string;
    if (!this.floating) text = this.integerText(v);
    else if (this.scientific) text = formatExponential(v, PRECISION);
    else if (this.integral) text = Number.isFinite(v) ? `${formatFixed(v, 0)}.` : formatFixed(v, 0);
    else text = formatFixed(v, PRECISION);
    return text.padStart(this.width, ' ');
  }
}

/** Row-major values with their shape: a sub-block is picked by its first index. */
interface Block {
  values: ArrayLike<number>;
  offset: number;
  shape: readonly number[];
}

function sub(block: Block, i: number): Block {
  const inner = block.shape.slice(1).reduce((p, d) => p * d, 1);
  return { values: block.values, offset: block.offset + i * inner, shape: block.shape.slice(1) };
}

/** The indices printed along a dim of this size: all, or the first and last EDGE_ITEMS. */
function shownIndices(size: number, summarize: boolean): (number | null)[] {
  if (!summarize || size <= 2 * EDGE_ITEMS) return Array.from({ length: size }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => size - EDGE_ITEMS + i);
  return [...Array.from({ length: EDGE_ITEMS }, (_, i) => i), null, ...tail];
}

/** Every value that will be printed (what the formatter measures when summarising). */
function shownValues(block: Block, summarize: boolean, out: number[]): void {
  if (block.shape.length === 0) {
    out.push(block.values[block.offset]);
    return;
  }
  for (const i of shownIndices(block.shape[0], summarize)) {
    if (i !== null) shownValues(sub(block, i), summarize, out);
  }
}

function blockText(block: Block, indent: number, summarize: boolean, formatter: Formatter): string {
  const ndim = block.shape.length;
  if (ndim === 0) return formatter.format(block.values[block.offset]);
  const shown = shownIndices(block.shape[0], summarize);
  if (ndim === 1) {
    const elementLength = formatter.columns + 2;
    const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / elementLength));
    const items = shown.map((i) => (i === null ? ' ...' : formatter.format(block.values[block.offset + i])));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
  }
  const slices = shown.map((i) =>
    i === null ? '...' : blockText(sub(block, i), indent + 1, summarize, formatter),
  );
  return `[${slices.join(`,${'\n'.repeat(ndim - 1)}${' '.repeat(indent + 1)}`)}]`;
}

/** Appends `, name=value` parts, breaking the line where it would pass LINE_WIDTH. */
function withSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  let out = text;
  let lastLine = text.length - text.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLine + suffix.length + 2 > LINE_WIDTH) {
      out += `,\n${' '.repeat(indent)}${suffix}`;
      lastLine = indent + suffix.length;
    } else {
      out += `, ${suffix}`;
      lastLine += suffix.length + 2;
    }
  }
  return `${out})`;
}

/** The dtypes printed without a `dtype=` suffix: those a literal gets by default. */
const DEFAULT_DTYPES = new Set(['float32', 'int32', 'bool']);

function pythonTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** The grad_fn name PyTorch would show for an op: 'mul' -> MulBackward0. */
function backwardName(op: string): string {
  return `${op[0].toUpperCase()}${op.slice(1)}Backward0`;
}

/** `tensor([...], dtype=float64, grad_fn=<MulBackward0>)`, as PyTorch's repr. */
export function formatTensor(t: Tensor): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  let body: string;
  if (t.size === 0) {
    if (t.ndim !== 1) suffixes.push(`size=${pythonTuple(t.shape)}`);
    if (t.dtype !== 'float32') suffixes.push(`dtype=${t.dtype}`);
    body = '[]';
  } else {
    const block: Block = { values: t.array.read(), offset: 0, shape: t.shape };
    const summarize = t.size > THRESHOLD;
    const shown: number[] = [];
    shownValues(block, summarize, shown);
    const formatter = new Formatter(isFloating(t.dtype), shown, t.dtype === 'bool');
    body = blockText(block, indent, summarize, formatter);
    if (!DEFAULT_DTYPES.has(t.dtype)) suffixes.push(`dtype=${t.dtype}`);
  }
  if (!t.backend.host) suffixes.push(`device='${t.backend.name}'`);
  if (t.gradFn) suffixes.push(`grad_fn=<${backwardName(t.gradFn.op)}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  return withSuffixes(prefix + body, suffixes, indent);
}
