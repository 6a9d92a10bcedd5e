import { readFileSync } from 'node:fs';
import { type DType, formatShape, fromTypedArray, type Tensor } from '@agrad/autograd';
import { typedArrayFor } from '@agrad/tensor';
import { parse as parseJson } from '@humanwhocodes/momoa';
import { writeFileAtomic } from './files.js';

/**
 * The safetensors format (github.com/huggingface/safetensors), so PyTorch reads our checkpoints
 * and we read theirs:
 *
 *     [8 bytes: header length n, little-endian u64][n bytes: JSON header][raw data]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets into
 * the data, little-endian, row-major) and may hold "__metadata__": { string: string }.
 *
 * Files are untrusted input. Reading checks everything the reference implementation checks and
 * a little more: the header is strict JSON without duplicate keys; every shape entry and offset
 * is a non-negative safe integer; each tensor's bytes are exactly dtype size x element count; the
 * tensors, sorted by offset, tile the data section with no gap or overlap and nothing after it;
 * metadata maps strings to strings. Any failure is an Error naming the file and the field.
 * Names are arbitrary strings (`__proto__` included): the records have no prototype.
 */

const WRITE_DTYPES: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

interface ReadType {
  dtype: DType;
  bytes: number;
  decode: (view: DataView, offset: number) => number;
}

// Types we can read; those we have no storage for are widened (F16/BF16 to float32, I64 to
// int32 when every value fits, U8/I8/I16 to int32).
const READ_DTYPES: Record<string, ReadType> = Object.assign(Object.create(null), {
  F64: { dtype: 'float64', bytes: 8, decode: (v, o) => v.getFloat64(o, true) },
  F32: { dtype: 'float32', bytes: 4, decode: (v, o) => v.getFloat32(o, true) },
  F16: { dtype: 'float32', bytes: 2, decode: (v, o) => halfToFloat(v.getUint16(o, true)) },
  BF16: { dtype: 'float32', bytes: 2, decode: (v, o) => bfloat16ToFloat(v.getUint16(o, true)) },
  I64: { dtype: 'int32', bytes: 8, decode: (v, o) => Number(v.getBigInt64(o, true)) },
  I32: { dtype: 'int32', bytes: 4, decode: (v, o) => v.getInt32(o, true) },
  I16: { dtype: 'int32', bytes: 2, decode: (v, o) => v.getInt16(o, true) },
  I8: { dtype: 'int32', bytes: 1, decode: (v, o) => v.getInt8(o) },
  U8: { dtype: 'int32', bytes: 1, decode: (v, o) => v.getUint8(o) },
  BOOL: { dtype: 'bool', bytes: 1, decode: (v, o) => v.getUint8(o) },
} satisfies Record<string, ReadType>);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function bfloat16ToFloat(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b << 16, true);
  return view.getFloat32(0, true);
}

/** A record without a prototype: every string, `__proto__` included, is an ordinary key. */
function emptyRecord<T>(): Record<string, T> {
  return Object.create(null);
}

/** Encodes tensors (and optional string metadata) as safetensors bytes. */
export function serialize(
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = emptyRecord();
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string')
      throw new TypeError(`safetensors: metadata '${key}' is ${typeof value}, expected a string`);
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__')
      throw new RangeError(`safetensors: a tensor cannot be named '__metadata__' (the format reserves it)`);
    const data = t.array.read();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: WRITE_DTYPES[t.dtype],
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does.
  const encoded = new TextEncoder().encode(json);
  json += ' '.repeat((8 - (encoded.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A safetensors file's contents: named tensors and the string metadata. */
export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Strict JSON to values, refusing duplicate keys; objects come without a prototype. */
function parseHeader(text: string, fail: (problem: string) => never): Json {
  let document: ReturnType<typeof parseJson>;
  try {
    document = parseJson(text, { mode: 'json' });
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  type Node = (typeof document)['body'];
  const convert = (node: Node, path: string): Json => {
    switch (node.type) {
      case 'Object': {
        const out: Record<string, Json> = emptyRecord();
        for (const member of node.members) {
          const key = member.name.type === 'String' ? member.name.value : member.name.name;
          if (Object.hasOwn(out, key)) fail(`header has the key '${key}' twice${path ? ` in ${path}` : ''}`);
          out[key] = convert(member.value, path ? `${path}.${key}` : key);
        }
        return out;
      }
      case 'Array':
        return node.elements.map((element, i) => convert(element.value, `${path}[${i}]`));
      case 'String':
      case 'Number':
      case 'Boolean':
        return node.value;
      case 'Null':
        return null;
      default:
        return fail(`header has a ${node.type} value at ${path || 'the top'}, which JSON does not allow`);
    }
  };
  return convert(document.body, '');
}

function isRecord(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSafeCount(value: Json | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function show(value: Json | undefined): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

/** Decodes safetensors bytes; `source` names the file in errors. */
export function deserialize(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new Error(`safetensors: ${source}: ${problem}`);
  };
  if (!(bytes instanceof Uint8Array)) fail(`expected bytes (a Uint8Array), got ${typeof bytes}`);
  if (bytes.length < 8)
    fail(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    fail(
      `header claims ${declared} bytes but only ${bytes.length - 8} follow (truncated or not a safetensors file)`,
    );
  }
  const headerLength = Number(declared);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return fail('header is not valid UTF-8 (not a safetensors file?)');
  }
  const header = parseHeader(text, fail);
  if (!isRecord(header)) return fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = emptyRecord();
  if (Object.hasOwn(header, '__metadata__')) {
    const given = header.__metadata__;
    if (!isRecord(given)) fail(`__metadata__ is ${show(given)}, expected an object of strings`);
    for (const [key, value] of Object.entries(given as Record<string, Json>)) {
      if (typeof value !== 'string') fail(`__metadata__ '${key}' is ${show(value)}, expected a string`);
      metadata[key] = value as string;
    }
  }

  interface Entry {
    name: string;
    type: ReadType;
    dtype: string;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const field = (what: string) => `tensor '${name}': ${what}`;
    if (!isRecord(entry)) fail(field(`entry is ${show(entry)}, expected { dtype, shape, data_offsets }`));
    const record = entry as Record<string, Json>;
    const unknown = Object.keys(record).filter((k) => !['dtype', 'shape', 'data_offsets'].includes(k));
    if (unknown.length > 0)
      fail(field(`unknown field '${unknown[0]}' (expected dtype, shape, data_offsets)`));
    const { dtype, shape, data_offsets: offsets } = record;
    const type = typeof dtype === 'string' ? READ_DTYPES[dtype] : undefined;
    if (!type) {
      fail(
        field(
          `dtype ${show(dtype)} is not supported (expected one of ${Object.keys(READ_DTYPES).join(', ')})`,
        ),
      );
    }
    if (!Array.isArray(shape) || !shape.every(isSafeCount))
      fail(field(`shape ${show(shape)} is not a list of non-negative integers`));
    const count = (shape as number[]).reduce((p, d) => p * d, 1);
    if (!Number.isSafeInteger(count)) fail(field(`shape ${show(shape)} has too many elements`));
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSafeCount))
      fail(field(`data_offsets ${show(offsets)} is not a pair of non-negative integers`));
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(field(`data_offsets [${begin}, ${end}] end before they begin`));
    if (end > dataLength)
      fail(
        field(`data_offsets end at byte ${end} but the data section has ${dataLength} bytes (truncated?)`),
      );
    const needed = count * (type as ReadType).bytes;
    if (end - begin !== needed) {
      fail(
        field(
          `${dtype} ${formatShape(shape as number[])} needs ${needed} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
        ),
      );
    }
    entries.push({
      name,
      type: type as ReadType,
      dtype: dtype as string,
      shape: shape as number[],
      begin,
      end,
    });
  }
  // Sorted by offset, the tensors must tile the data section exactly: no gap, no overlap, no tail.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of sorted) {
    if (entry.begin < covered) {
      const other = sorted.find((e) => e !== entry && e.end > entry.begin && e.begin <= entry.begin);
      fail(
        `tensor '${entry.name}' overlaps tensor '${other?.name ?? '?'}' (data_offsets [${entry.begin}, ${entry.end}])`,
      );
    }
    if (entry.begin > covered)
      fail(
        `bytes ${covered} to ${entry.begin} of the data section belong to no tensor (before '${entry.name}')`,
      );
    covered = entry.end;
  }
  if (covered !== dataLength)
    fail(
      `the data section has ${dataLength} bytes but the tensors cover ${covered} (extra bytes at the end)`,
    );

  const tensors: Record<string, Tensor> = emptyRecord();
  for (const { name, type, dtype, shape, begin } of entries) {
    const count = shape.reduce((p, d) => p * d, 1);
    const values = typedArrayFor(type.dtype, count);
    for (let i = 0; i < count; i++) {
      const v = type.decode(view, dataStart + begin + i * type.bytes);
      if (dtype === 'I64' && (v > 2147483647 || v < -2147483648))
        fail(`tensor '${name}' holds int64 value ${v} at element ${i}, which does not fit int32`);
      if (dtype === 'BOOL' && v > 1)
        fail(`tensor '${name}' holds byte ${v} at element ${i}, which is not a bool (0 or 1)`);
      values[i] = v;
    }
    tensors[name] = fromTypedArray(values, shape);
  }
  return { tensors, metadata };
}

/**
 * Writes tensors to `path` in the safetensors format, completely or not at all: a failed save
 * (a full disk, a crash) throws and leaves any previous file at `path` as it was.
 */
export function save(
  path: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Record<string, string> = {},
): void {
  const bytes = serialize(tensors, metadata);
  try {
    writeFileAtomic(path, bytes);
  } catch (error) {
    throw new Error(`safetensors: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads the tensors of a safetensors file. */
export function load(path: string): Record<string, Tensor> {
  return loadFile(path).tensors;
}

/** Reads tensors and metadata of a safetensors file. */
export function loadFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`safetensors: cannot read ${path}: ${(error as Error).message}`);
  }
  return deserialize(bytes, path);
}
