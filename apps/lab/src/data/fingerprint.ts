import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * A short content hash of data files (SHA-256 over each file's name and bytes, first 16 hex
 * digits). Recorded with a run, it lets --resume refuse to continue on different data, even
 * where the path is the same and the files changed.
 */
export function fingerprintFiles(paths: readonly string[]): string {
  const hash = createHash('sha256');
  for (const path of paths) {
    hash.update(basename(path));
    hash.update('\0');
    hash.update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 16);
}
