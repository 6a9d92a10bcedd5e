import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type DType, formatShape, type Tensor, tensor } from '@agrad/autograd';

/**
 * The safetensors format (github.com/huggingface/safetensors), so PyTorch reads our checkpoints
 * and we read theirs:
 *
 *     [8 bytes: header length n, little-endian u64][n bytes: JSON header][raw data]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets into
 * the data, little-endian, row-major) and may hold "__metadata__": { string: string }.
 */

const WRITE_DTYPES: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

interface ReadType {
  dtype: DType;
  bytes: number;
  decode: (view: DataView, offset: number) => number;
}

// Types we can read; those we have no storage for are widened (F16/BF16 to float32, I64 to
// int32 when every value fits, U8/I8/I16 to int32).
const READ_DTYPES: Record<string, ReadType> = {
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
};

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

/** Encodes tensors (and optional string metadata) as safetensors bytes. */
export function serialize(
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.contiguous().data;
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
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

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Decodes safetensors bytes; `source` names the file in errors. */
export function deserialize(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new Error(`safetensors: ${source}: ${problem}`);
  };
  if (bytes.length < 8)
    fail(`file is ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) {
    fail(
      `header claims ${headerLength} bytes but only ${bytes.length - 8} follow (truncated or not a safetensors file)`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    return fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors: Record<string, Tensor> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const type = READ_DTYPES[dtype];
    if (!type) fail(`tensor '${name}' has unsupported dtype '${dtype}'`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor '${name}' has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !(offsets[0] <= offsets[1]))
      fail(`tensor '${name}' has invalid data_offsets`);
    const count = shape.reduce((p, d) => p * d, 1);
    if (offsets[1] - offsets[0] !== count * type.bytes) {
      fail(
        `tensor '${name}' (${dtype} ${formatShape(shape)}) needs ${count * type.bytes} bytes but data_offsets span ${offsets[1] - offsets[0]}`,
      );
    }
    if (offsets[1] > dataLength)
      fail(`tensor '${name}' ends at byte ${offsets[1]} but the data has ${dataLength} bytes (truncated?)`);
    ranges.push([offsets[0], offsets[1], name]);
    const values = new (
      type.dtype === 'float64'
        ? Float64Array
        : type.dtype === 'float32'
          ? Float32Array
          : type.dtype === 'int32'
            ? Int32Array
            : Uint8Array
    )(count);
    for (let i = 0; i < count; i++) {
      const v = type.decode(view, dataStart + offsets[0] + i * type.bytes);
      if (dtype === 'I64' && (v > 2147483647 || v < -2147483648))
        fail(`tensor '${name}' holds int64 value ${v}, which does not fit int32`);
      values[i] = v;
    }
    tensors[name] = tensor(values, { shape });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  ranges.forEach(([begin], i) => {
    if (i > 0 && begin < ranges[i - 1][1])
      fail(`tensors '${ranges[i - 1][2]}' and '${ranges[i][2]}' overlap`);
  });
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  return { tensors, metadata };
}

/**
 * Writes tensors to `path` in the safetensors format. The bytes go to a temporary file that is
 * flushed and then renamed over `path`, so a crash never leaves a half-written checkpoint.
 */
export function save(
  path: string,
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Record<string, string> = {},
): void {
  const bytes = serialize(tensors, metadata);
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(temporary, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
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
