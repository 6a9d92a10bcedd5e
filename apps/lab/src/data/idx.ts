import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a big-endian header
 * [0, 0, type, number of dims] and one u32 size per dim, then the values row-major. Only unsigned
 * bytes (type 0x08) occur in these data sets.
 */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}`);
  };
  if (bytes.length < 4) fail(`file is ${bytes.length} bytes, too short for an IDX header (truncated?)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail('not an IDX file (the first two bytes must be 0)');
  if (bytes[2] !== 0x08)
    fail(`unsupported IDX element type 0x${bytes[2].toString(16)} (expected 0x08, unsigned bytes)`);
  const dims = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * dims)
    fail(`header declares ${dims} dims but the file ends inside it (truncated?)`);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((p, d) => p * d, 1);
  const start = 4 + 4 * dims;
  if (bytes.length - start !== count) {
    fail(
      `header shape [${shape.join(',')}] needs ${count} bytes of data but the file has ${bytes.length - start} (truncated or corrupt)`,
    );
  }
  return { shape, data: bytes.subarray(start) };
}

/** Reads a gzip-compressed IDX file (the form the data sets are distributed in). */
export function readIdxGz(path: string): IdxArray {
  let compressed: Buffer;
  try {
    compressed = readFileSync(path);
  } catch (error) {
    throw new Error(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = gunzipSync(compressed);
  } catch (error) {
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
  return {
    images: Float32Array.from(x.data, (v) => v / 255),
    labels: Int32Array.from(y.data),
    count: x.shape[0],
  };
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
  };
}
