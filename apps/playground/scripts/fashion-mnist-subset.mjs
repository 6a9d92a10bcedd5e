// Writes public/fashion-mnist-2500.dat (gzip; not named .gz, so static servers leave it encoded):
// the first 2,000 training and 500 test images of
// Fashion-MNIST (from Debian's dataset-fashion-mnist if installed, else the lab's bundled subset),
// as 2,500 label bytes followed by 2,500 x 784 pixel bytes. Run: pnpm --filter @agrad/playground data
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const debian = '/usr/share/datasets/fashion-mnist';
const bundled = new URL('../../lab/data/fashion-mnist', import.meta.url).pathname;
const dir = existsSync(join(debian, 't10k-images-idx3-ubyte.gz')) ? debian : bundled;

/** The payload of an IDX file after its header (magic, then one 32-bit size per dim). */
function idx(file, count, itemBytes) {
  const bytes = gunzipSync(readFileSync(join(dir, file)));
  const dims = bytes[3];
  return bytes.subarray(4 + 4 * dims, 4 + 4 * dims + count * itemBytes);
}

const [train, test] = [2000, 500];
const labels = Buffer.concat([
  idx('train-labels-idx1-ubyte.gz', train, 1),
  idx('t10k-labels-idx1-ubyte.gz', test, 1),
]);
const pixels = Buffer.concat([
  idx('train-images-idx3-ubyte.gz', train, 784),
  idx('t10k-images-idx3-ubyte.gz', test, 784),
]);
const out = new URL('../public/fashion-mnist-2500.dat', import.meta.url).pathname;
writeFileSync(out, gzipSync(Buffer.concat([labels, pixels]), { level: 9 }));
console.log(`wrote ${out} from ${dir}: ${train} train + ${test} test images`);
