import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (script: string) =>
  execFileSync(process.execPath, ['--import', 'tsx', '--conditions=source', join(root, 'src', script)], {
    cwd: root,
    encoding: 'utf8',
  });

describe('example programs', () => {
  it('the main job trains the spiral MLP and its loss falls', () => {
    const output = run('mlp-spiral.ts');
    const losses = [...output.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBe(11);
    expect(losses[10]).toBeLessThan(losses[0] / 10);
  });

  it('the CNN example resumes from its checkpoint bit-identically', () => {
    const output = run('cnn-checkpoint.ts');
    expect(output).toContain('resumed losses bit-identical to the uninterrupted run: yes');
    const rows = [...output.matchAll(/^\s+(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)$/gm)];
    expect(rows.length).toBeGreaterThan(3);
    for (const [, , a, b] of rows) expect(a).toBe(b);
  });
});
