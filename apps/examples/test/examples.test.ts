import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (script: string, ...args: string[]) =>
  execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', join(root, 'src', script), ...args],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );

describe('example programs', () => {
  it('the main job trains the spiral MLP and its loss falls', () => {
    const output = run('mlp-spiral.ts');
    const losses = [...output.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses.length).toBe(11);
    expect(losses[10]).toBeLessThan(losses[0] / 10);
  });

  it('the ONNX example trains, exports, and onnxruntime-node serves the same predictions', () => {
    const output = run('serve-onnx.ts');
    const losses = [...output.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[4]).toBeLessThan(losses[0] / 2);
    expect(output).toMatch(/exported to .*model\.onnx/);
    expect(output).toMatch(/onnxruntime predicts [0-2]( [0-2]){4}; agrad predicts [0-2]( [0-2]){4}/);
    expect(output).toContain('same predictions: yes');
  });

  it('the CNN example resumes from its checkpoint bit-identically', () => {
    const output = run('cnn-checkpoint.ts');
    expect(output).toContain('resumed losses bit-identical to the uninterrupted run: yes');
    const rows = [...output.matchAll(/^\s+(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)$/gm)];
    expect(rows.length).toBeGreaterThan(3);
    for (const [, , a, b] of rows) expect(a).toBe(b);
  });

  it('the character-level LSTM and GRU train on Genesis with AGR + AdamW from a DataLoader, and sample', () => {
    for (const cell of ['lstm', 'gru']) {
      const output = run('char-rnn.ts', '--cell', cell, '--steps', '20');
      expect(output).toContain(`${cell.toUpperCase()} 128`);
      const losses = [...output.matchAll(/^step\s+(\d+)\s+loss (\d+\.\d+)/gm)].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]);
      expect(losses.map(([step]) => step)).toEqual([1, 20]);
      // From about ln(60) = 4.09, the loss of a uniform guess, to well under it.
      expect(losses[0][1]).toBeGreaterThan(3.9);
      expect(losses[1][1]).toBeLessThan(3.4);
      const samples = [...output.matchAll(/^sample: (".*")$/gm)].map((m) => JSON.parse(m[1]) as string);
      expect(samples).toHaveLength(2);
      expect(samples[0].startsWith('And God said')).toBe(true);
      expect(samples[0].length).toBe('And God said'.length + 160);
    }
  }, 120_000);
});
