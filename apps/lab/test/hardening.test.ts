import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadFile, serialize } from '@agrad/nn';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { BUNDLED_FASHION_MNIST, readIdxGz } from '../src/data/idx.js';
import { startExperiment } from '../src/run/experiment.js';
import { recordLoss } from '../src/run/log.js';
import { checkpointPath, type JobResult, resetStepCounter, runJob, stopSignal } from '../src/run/runner.js';

const fresh = (name: string) => join(mkdtempSync(join(tmpdir(), 'agrad-lab-')), name);
const repository = join(import.meta.dirname, '..', '..', '..');

afterEach(() => {
  stopSignal.requested = false;
  stopSignal.afterSteps = Number.POSITIVE_INFINITY;
  resetStepCounter();
  process.exitCode = undefined;
});

/** A copy of the bundled Fashion-MNIST subset; `changeLabel` flips the first training label. */
function dataCopy(changeLabel: boolean): string {
  const dir = fresh('data');
  cpSync(BUNDLED_FASHION_MNIST, dir, { recursive: true });
  if (changeLabel) {
    const path = join(dir, 'train-labels-idx1-ubyte.gz');
    const labels = gunzipSync(readFileSync(path));
    labels[8] = (labels[8] + 1) % 10;
    writeFileSync(path, gzipSync(labels));
  }
  return dir;
}

describe('--resume continues only on the data the run started on', () => {
  const args = [
    'classify',
    '--preset',
    'smoke',
    '--models',
    'mlp',
    '--optimizers',
    'adamw',
    '--seeds',
    '1',
    '--quiet',
  ];

  it('refuses other data, naming both sources and fingerprints; accepts the same bytes elsewhere', async () => {
    const out = fresh('run');
    const original = dataCopy(false);
    stopSignal.afterSteps = 3;
    await runCli([...args, '--out', out, '--data', original]);
    expect(process.exitCode).toBe(130);
    stopSignal.afterSteps = Number.POSITIVE_INFINITY;
    const changed = dataCopy(true);
    await expect(runCli([...args, '--out', out, '--data', changed, '--resume'])).rejects.toThrow(
      new RegExp(
        `--resume: .* was started on Fashion-MNIST in ${original} \\(fingerprint [0-9a-f]{16}\\), but this run would read Fashion-MNIST in ${changed} \\(fingerprint [0-9a-f]{16}\\)`,
      ),
    );
    // The same files at another path are the same data.
    await runCli([...args, '--out', out, '--data', dataCopy(false), '--resume']);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(Object.keys(metrics.results)).toEqual(['mlp/adamw/seed0', 'mlp/adamw+agr/seed0']);
    expect(metrics.source.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a checkpoint whose metadata is corrupt, before loading any weight', async () => {
    const out = fresh('corrupt');
    stopSignal.afterSteps = 3;
    await runCli([...args, '--out', out]);
    stopSignal.afterSteps = Number.POSITIVE_INFINITY;
    const path = checkpointPath(out, 'mlp/adamw/seed0');
    const { tensors, metadata } = loadFile(path);
    writeFileSync(path, serialize(tensors, { ...metadata, rng: '[1,2,3]' }));
    await expect(runCli([...args, '--out', out, '--resume'])).rejects.toThrow(
      /mlp_adamw_seed0\.safetensors: checkpoint metadata 'rng' is missing or malformed; delete the file to restart this job/,
    );
    writeFileSync(path, serialize(tensors, { ...metadata, step: '-4' }));
    await expect(runCli([...args, '--out', out, '--resume'])).rejects.toThrow(/checkpoint metadata 'step'/);
  });
});

describe('IDX files are inflated no further than their header allows', () => {
  it('refuses a gzip bomb before inflating it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-bomb-'));
    // A header for one 28x28 image, followed by 64 MB of zeros (64 KB compressed).
    const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]);
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 * 2 ** 20)]));
    expect(bomb.length).toBeLessThan(200_000);
    writeFileSync(join(dir, 'bomb.gz'), bomb);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => readIdxGz(join(dir, 'bomb.gz'))).toThrow(
      /bomb\.gz: decompresses to more than the 800 bytes its header declares \(shape \[1,28,28\]\); refused before inflating it/,
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 2 ** 20);
  });

  it('refuses a header that declares more values than any image set has', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-huge-'));
    const header = Buffer.from([0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28]);
    writeFileSync(join(dir, 'huge.gz'), gzipSync(header));
    expect(() => readIdxGz(join(dir, 'huge.gz'))).toThrow(
      /huge\.gz: header shape \[4294967295,28,28\] declares \d+ values, more than the \d+ accepted/,
    );
  });
});

describe("the README's two commands work in either order", () => {
  it('lint ignores what the main job writes into results/', async () => {
    const name = `lint-probe-${process.pid}`;
    const out = join(repository, 'results', name);
    try {
      await runCli([
        'classify',
        '--preset',
        'smoke',
        '--models',
        'mlp',
        '--seeds',
        '1',
        '--optimizers',
        'adamw',
        '--out',
        out,
        '--quiet',
      ]);
      const biome = join(repository, 'node_modules', '.bin', 'biome');
      // Exits non-zero (and throws) if any file in the repository fails lint or formatting.
      execFileSync(biome, ['check', '.'], { cwd: repository, stdio: 'pipe' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('a run whose loss stops being finite', () => {
  it('stops there, records the step, and is still evaluated and kept', async () => {
    const out = fresh('diverge');
    const steps: number[] = [];
    const silent = { startJob() {}, update() {}, finishJob() {}, stop() {} };
    const results = {};
    const result = await runJob(
      { out, resume: false, progress: silent, checkpointEvery: 1000, results, save() {} },
      { key: 'toy/sgd/seed0', label: 'toy', totalSteps: 50 },
      { arm: 'sgd', seed: 0 },
      () => ({
        parts: {},
        evalEvery: 100,
        step(step, log) {
          steps.push(step);
          recordLoss(log, step, step < 4 ? 1 / step : Number.NaN, 1);
        },
        evaluate: () => ({ testAccuracy: 10 }),
      }),
    );
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(result.log.divergedAt).toBe(4);
    expect(result.final).toEqual({ testAccuracy: 10 });
    expect(Object.keys(results)).toEqual(['toy/sgd/seed0']);
  });
});

describe('pnpm lab report reads metrics.json as untrusted input', () => {
  it('refuses a damaged file by field instead of writing half a report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-metrics-'));
    const write = (value: unknown) => writeFileSync(join(dir, 'metrics.json'), JSON.stringify(value));
    write({ experiment: 'classify', config: {}, results: { a: { info: {}, final: {} } } });
    await expect(runCli(['report', dir])).rejects.toThrow(
      /metrics\.json: result 'a' lacks info, final or log/,
    );
    write({ experiment: 'regress', config: {}, results: {} });
    await expect(runCli(['report', dir])).rejects.toThrow(/unknown experiment "regress"/);
    write([1, 2]);
    await expect(runCli(['report', dir])).rejects.toThrow(/metrics\.json: not a JSON object/);
  });
});

describe('metrics.json keeps the configuration exact', () => {
  it('a configuration with sqrt(2) in it resumes, while the results are rounded to six digits', () => {
    const out = fresh('exact');
    const silent = { startJob() {}, update() {}, finishJob() {}, stop() {} };
    const options = {
      experiment: 'stability',
      preset: 'full',
      config: { grid: { factor: Math.SQRT2 } },
      command: 'test',
      out,
      resume: false,
      progress: silent,
      checkpointEvery: 1000,
      threads: 1,
      source: { description: 'test data', fingerprint: '0123456789abcdef' },
    };
    const { metrics, context } = startExperiment(options);
    context.results.job = {
      info: { seed: 0 },
      final: { testAccuracy: 1 / 3 },
      log: { losses: [[1, Math.PI]] },
    } as unknown as JobResult;
    context.save();
    const written = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(written.config.grid.factor).toBe(Math.SQRT2);
    expect(written.results.job.final.testAccuracy).toBe(0.333333);
    expect(written.startedAt).toBe(metrics.startedAt);
    const resumed = startExperiment({ ...options, resume: true });
    expect(resumed.metrics.config.grid.factor).toBe(Math.SQRT2);
    expect(() => startExperiment({ ...options, resume: true, config: { grid: { factor: 1.4 } } })).toThrow(
      /--resume: .* was started with .*"factor":1.4142135623730951/,
    );
  });
});
