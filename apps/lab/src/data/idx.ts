import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { fingerprintFiles } from './fingerprint.js';

/**
 * The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian header
 * [0, 0, type, number of dims] and one u32 size per dim, then the values row-major. Only unsigned
 * bytes (type 0x08) occur in these data sets.
 */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** The largest IDX payload accepted: the full Fashion-MNIST training images are 47 MB. */
export const MAX_IDX_BYTES = 512 * 2 ** 20;

interface IdxHeader {
  shape: number[];
  /** Bytes of values the header declares. */
  count: number;
  /** Where the values start. */
  start: number;
}

/** Reads and checks the header; `bytes` may hold only the start of the file. */
function idxHeader(bytes: Uint8Array, source: string): IdxHeader {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  if (bytes.length < 4) fail(`file is ${bytes.length} bytes, too short for an IDX header (truncated?)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail('not an IDX file (the first two bytes must be 0)');
  if (bytes[2] !== 0x08)
    fail(`unsupported IDX element type 0x${bytes[2].toString(16)} (expected 0x08, unsigned bytes)`);
  const dims = bytes[3];
  if (bytes.length < 4 + 4 * dims)
    fail(`header declares ${dims} dims but the file ends inside it (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((p, d) => p * d, 1);
  if (count > MAX_IDX_BYTES) {
    fail(
      `header shape [${shape.join(',')}] declares ${count} values, more than the ${MAX_IDX_BYTES} accepted (corrupt or not an image set)`,
    );
  }
  return { shape, count, start: 4 + 4 * dims };
}

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const { shape, count, start } = idxHeader(bytes, source);
  if (bytes.length - start !== count) {
    throw new Error(
      `${source}: header shape [${shape.join(',')}] needs ${count} bytes of data but the file has ${bytes.length - start} (truncated or corrupt)`,
    );
  }
  return { shape, data: bytes.subarray(start) };
}

/**
 * The first bytes of a gzip stream, decompressed from a prefix of it: enough for an IDX header
 * (at most 4 + 4 * 255 bytes) without inflating the rest. Deflate expands at most about 1032x,
 * so each try's output is bounded by its input.
 */
function inflateStart(compressed: Uint8Array, wanted: number): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  for (let take = 1024; ; take *= 4) {
    const prefix = compressed.subarray(0, take);
    try {
      out = gunzipSync(prefix, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1100 * take + 4096 });
    } catch {
      // A prefix may end inside a header field; a longer one (or the whole file) decides.
    }
    if (out.length >= wanted || take >= compressed.length) return out;
  }
}

/**
 * Reads a gzip-compressed IDX file (the form the data sets are distributed in). The header is
 * read from the first decompressed bytes, and the whole file is then inflated with a limit of
 * exactly the size that header declares: a gzip bomb is refused before it is inflated.
 */
export function readIdxGz(path: string): IdxArray {
  let compressed: Buffer;
  try {
    compressed = readFileSync(path);
  } catch (error) {
    throw new Error(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let start = inflateStart(compressed, 4);
  if (start.length >= 4) start = inflateStart(compressed, 4 + 4 * start[3]);
  if (start.length < 4) {
    // Not gzip at all, or too short: gunzip's own message says which.
    try {
      gunzipSync(compressed, { maxOutputLength: 4096 });
    } catch (error) {
      throw new Error(
        `${path}: not a valid gzip file (${(error as Error).message}); the file is corrupt or truncated`,
      );
    }
  }
  const header = idxHeader(start, path);
  const expected = header.start + header.count;
  let bytes: Buffer;
  try {
    bytes = gunzipSync(compressed, { maxOutputLength: expected });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(
        `${path}: decompresses to more than the ${expected} bytes its header declares (shape [${header.shape.join(',')}]); refused before inflating it (corrupt file or gzip bomb)`,
      );
    }
    throw new Error(
      `${path}: not a valid gzip file (${(error as Error).message}); the file is corrupt or truncated`,
    );
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export interface FashionMnist {
  /** [n, 1, 28, 28] pixels scaled to [0, 1]. */
  trainImages: Float32Array;
  trainLabels: Int32Array;
  testImages: Float32Array;
  testLabels: Int32Array;
  trainCount: number;
  testCount: number;
  /** Which copy was read, for the report. */
  source: 'full' | 'subset';
  directory: string;
  /** Content hash of the four files (see ./fingerprint.ts). */
  fingerprint: string;
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

const FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

/** Debian's dataset-fashion-mnist installs the full set here. */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
/** The compact subset committed with the repository (built by scripts/build-data.mjs). */
export const BUNDLED_FASHION_MNIST = join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist');

function readSplit(
  directory: string,
  images: string,
  labels: string,
): { images: Float32Array; labels: Int32Array; count: number } {
  const x = readIdxGz(join(directory, images));
  const y = readIdxGz(join(directory, labels));
  if (x.shape.length !== 3 || x.shape[1] !== 28 || x.shape[2] !== 28) {
    throw new Error(
      `${join(directory, images)}: expected images of shape [n, 28, 28], got [${x.shape.join(',')}]`,
    );
  }
  if (y.shape.length !== 1 || y.shape[0] !== x.shape[0]) {
    throw new Error(`${join(directory, labels)}: ${y.shape[0]} labels for ${x.shape[0]} images in ${images}`);
  }
  const bad = y.data.findIndex((label) => label > 9);
  if (bad >= 0)
    throw new Error(`${join(directory, labels)}: label ${y.data[bad]} at index ${bad} is not a class 0..9`);
  // A plain loop: Float32Array.from with a callback takes seconds on the 47 million pixels.
  const pixels = new Float32Array(x.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = x.data[i] / 255;
  return { images: pixels, labels: Int32Array.from(y.data), count: x.shape[0] };
}

/**
 * Loads Fashion-MNIST from `dataDir` if given, else Debian's full copy if installed, else the
 * subset bundled with the repository. Missing or corrupt files raise an error that names the
 * file and says how to get the data.
 */
export function loadFashionMnist(dataDir?: string): FashionMnist {
  const directory =
    dataDir ??
    (existsSync(join(DEBIAN_FASHION_MNIST, FILES.trainImages))
      ? DEBIAN_FASHION_MNIST
      : BUNDLED_FASHION_MNIST);
  const missing = Object.values(FILES).filter((file) => !existsSync(join(directory, file)));
  if (missing.length > 0) {
    throw new Error(
      `Fashion-MNIST: ${missing.map((f) => join(directory, f)).join(', ')} not found. Install the full set with ` +
        "'apt-get install dataset-fashion-mnist' (files in /usr/share/datasets/fashion-mnist), or pass --data DIR " +
        'with the four IDX .gz files; a fresh clone has a subset in apps/lab/data/fashion-mnist.',
    );
  }
  const train = readSplit(directory, FILES.trainImages, FILES.trainLabels);
  const test = readSplit(directory, FILES.testImages, FILES.testLabels);
  return {
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
    trainCount: train.count,
    testCount: test.count,
    source: directory === BUNDLED_FASHION_MNIST ? 'subset' : 'full',
    directory,
    fingerprint: fingerprintFiles(Object.values(FILES).map((file) => join(directory, file))),
  };
}
