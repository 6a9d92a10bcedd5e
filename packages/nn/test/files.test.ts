import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '@agrad/autograd';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { load, save, writeFileAtomic } from '../src/index.js';

// writeSync and fsyncSync are wrapped so a test can make the disk fill up or write short.
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return { ...actual, writeSync: vi.fn(actual.writeSync), fsyncSync: vi.fn(actual.fsyncSync) };
});

const directory = () => fs.mkdtempSync(join(tmpdir(), 'agrad-files-'));
const values = (path: string) => Array.from(load(path).w.data);

afterEach(() => {
  vi.mocked(fs.writeSync).mockReset();
  vi.mocked(fs.fsyncSync).mockReset();
});

describe('saving is all or nothing', () => {
  it('continues after short writes until every byte is on disk', async () => {
    const { writeSync: realWrite } = await vi.importActual<typeof import('node:fs')>('node:fs');
    // Each call writes at most 5 bytes and says so, as a nearly full disk or a pipe may.
    vi.mocked(fs.writeSync).mockImplementation(((
      fd: number,
      buffer: Uint8Array,
      offset = 0,
      length?: number,
    ) => realWrite(fd, buffer, offset, Math.min(5, length ?? buffer.length - offset))) as never);
    const path = join(directory(), 'model.safetensors');
    save(path, { w: tensor([1, 2, 3, 4, 5, 6]) });
    expect(values(path)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(vi.mocked(fs.writeSync).mock.calls.length).toBeGreaterThan(10);
  });

  it('throws on a full disk and keeps the previous file, leaving no temporary behind', async () => {
    const dir = directory();
    const path = join(dir, 'model.safetensors');
    save(path, { w: tensor([1, 2]) });
    const { writeSync: realWrite } = await vi.importActual<typeof import('node:fs')>('node:fs');
    let calls = 0;
    vi.mocked(fs.writeSync).mockImplementation(((
      fd: number,
      buffer: Uint8Array,
      offset = 0,
      length?: number,
    ) => {
      calls += 1;
      if (calls > 1) {
        const error = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        error.code = 'ENOSPC';
        throw error;
      }
      return realWrite(fd, buffer, offset, Math.min(8, length ?? buffer.length - offset));
    }) as never);
    expect(() => save(path, { w: tensor([7, 8, 9]) })).toThrow(
      /safetensors: cannot write .*model\.safetensors: ENOSPC: no space left on device, write; the previous file, if any, is unchanged/,
    );
    expect(values(path)).toEqual([1, 2]);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('treats a write that makes no progress as a failure, not as success', () => {
    const dir = directory();
    const path = join(dir, 'notes.txt');
    writeFileAtomic(path, 'old');
    vi.mocked(fs.writeSync).mockImplementation((() => 0) as never);
    expect(() => writeFileAtomic(path, 'new contents')).toThrow(
      /cannot write .*notes\.txt: the disk accepted no more bytes after 0 of 12/,
    );
    expect(fs.readFileSync(path, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('fails when flushing fails, and the old file stays', () => {
    const dir = directory();
    const path = join(dir, 'notes.txt');
    writeFileAtomic(path, 'old');
    vi.mocked(fs.fsyncSync).mockImplementation(() => {
      throw new Error('EIO: i/o error, fsync');
    });
    expect(() => writeFileAtomic(path, 'new')).toThrow(/EIO: i\/o error, fsync/);
    expect(fs.readFileSync(path, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('removes temporaries left by a killed save to the same place, and only those', () => {
    const dir = directory();
    const path = join(dir, 'model.safetensors');
    // A process that has exited: its pid names no running process now.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    fs.writeFileSync(join(dir, `model.safetensors.agrad-tmp-${deadPid}-1a2b`), 'half a checkpoint');
    fs.writeFileSync(join(dir, `model.safetensors.agrad-tmp-${process.ppid}-9f`), 'a live writer');
    fs.writeFileSync(join(dir, `other.safetensors.agrad-tmp-${deadPid}-77`), 'another target');
    for (let i = 0; i < 3; i++) save(path, { w: tensor([i]) });
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        'model.safetensors',
        `model.safetensors.agrad-tmp-${process.ppid}-9f`,
        `other.safetensors.agrad-tmp-${deadPid}-77`,
      ].sort(),
    );
  });
});
