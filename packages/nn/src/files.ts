import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Files are written so that a reader never sees half of one and a failed write never costs the
 * previous version: the bytes go to a temporary file beside the target, every byte is written
 * (a short write is continued, a write that makes no progress is an error), flushed to disk, and
 * only then renamed over the target. A crash or a full disk leaves the old file as it was.
 *
 * Temporary files are named `<target>.agrad-tmp-<pid>-<random>`; one left by a killed writer is
 * removed by the next write to the same target, so they never accumulate.
 */
const TEMPORARY = '.agrad-tmp-';

/** Temporaries older than this belong to no live write, whatever their process id says. */
const STALE_AFTER_MS = 60 * 60 * 1000;

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporaries of `target` left by writers that no longer run (or by this process). */
function removeStaleTemporaries(target: string): void {
  const directory = dirname(target);
  const prefix = `${basename(target)}${TEMPORARY}`;
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    return; // no directory yet: the write below reports that
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const path = join(directory, entry);
    const pid = Number(entry.slice(prefix.length).split('-')[0]);
    let old = false;
    try {
      old = Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS;
    } catch {
      continue; // already gone
    }
    // Writes are synchronous, so one of this process's own temporaries is never in progress.
    if (old || pid === process.pid || !Number.isInteger(pid) || !processRunning(pid))
      rmSync(path, { force: true });
  }
}

/** Makes the rename durable where the platform allows syncing a directory (Linux does). */
function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms and file systems cannot open or sync a directory; the rename has happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `contents` to `path` completely or not at all (see above). Throws an Error naming the
 * path and the cause (ENOSPC, EACCES, ...); the previous file at `path`, if any, is unchanged.
 */
export function writeFileAtomic(path: string, contents: Uint8Array | string): void {
  const bytes = typeof contents === 'string' ? new TextEncoder().encode(contents) : contents;
  removeStaleTemporaries(path);
  const random = Math.floor(Math.random() * 2 ** 32).toString(16);
  const temporary = `${path}${TEMPORARY}${process.pid}-${random}`;
  let fd: number | undefined;
  try {
    fd = openSync(temporary, 'wx');
    let written = 0;
    while (written < bytes.length) {
      const count = writeSync(fd, bytes, written, bytes.length - written);
      if (!(count > 0))
        throw new Error(`the disk accepted no more bytes after ${written} of ${bytes.length}`);
      written += count;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // the write already failed; report that
      }
    }
    rmSync(temporary, { force: true });
    throw new Error(
      `cannot write ${path}: ${(error as Error).message}; the previous file, if any, is unchanged`,
      { cause: error },
    );
  }
  syncDirectory(dirname(path));
}
