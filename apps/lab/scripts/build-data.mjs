// Builds the compact Fashion-MNIST subset committed in data/fashion-mnist from Debian's full set
// (apt-get install dataset-fashion-mnist): the first TRAIN training and TEST test images, with
// their labels, in the same gzip-compressed IDX format, so the lab runs on a fresh clone.
//   node scripts/build-data.mjs [--train 6000] [--test 1000]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';

const { values } = parseArgs({
  options: { train: { type: 'string', default: '6000' }, test: { type: 'string', default: '1000' } },
});
const source = '/usr/share/datasets/fashion-mnist';
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist');
mkdirSync(target, { recursive: true });

function subset(file, count) {
  const bytes = gunzipSync(readFileSync(join(source, file)));
  const dims = bytes[3];
  const header = Buffer.from(bytes.subarray(0, 4 + 4 * dims));
  const perItem = Array.from({ length: dims - 1 }, (_, i) => header.readUInt32BE(8 + 4 * i)).reduce(
    (p, d) => p * d,
    1,
  );
  header.writeUInt32BE(count, 4);
  const body = bytes.subarray(4 + 4 * dims, 4 + 4 * dims + count * perItem);
  // mtime 0 in the gzip header keeps the output byte-identical between runs.
  const gz = gzipSync(Buffer.concat([header, body]), { level: 9 });
  gz.writeUInt32LE(0, 4);
  writeFileSync(join(target, file), gz);
  console.log(`${file}: ${count} items, ${gz.length} bytes`);
}

subset('train-images-idx3-ubyte.gz', Number(values.train));
subset('train-labels-idx1-ubyte.gz', Number(values.train));
subset('t10k-images-idx3-ubyte.gz', Number(values.test));
subset('t10k-labels-idx1-ubyte.gz', Number(values.test));
