// Writes the King James Bible (public domain) to data/kjv/kjv.txt.gz from Debian's bible-kjv
// (apt-get install bible-kjv): one verse per line, "Book C:V text", as `bible -f` prints it.
//   node scripts/build-corpus.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const text = execFileSync('bible', ['-f', 'Gen 1:1-Rev 22:21'], { encoding: 'utf8', maxBuffer: 1 << 26 });
const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'kjv');
mkdirSync(target, { recursive: true });
const gz = gzipSync(Buffer.from(text), { level: 9 });
gz.writeUInt32LE(0, 4); // mtime 0: byte-identical output between runs
writeFileSync(join(target, 'kjv.txt.gz'), gz);
console.log(`kjv.txt.gz: ${text.split('\n').filter(Boolean).length} verses, ${gz.length} bytes`);
