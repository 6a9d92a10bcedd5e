import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLASSIFY_PRESETS, type ClassifyConfig } from '../src/experiments/classify.js';
import { writeClassifyReport } from '../src/report/classify-report.js';
import type { Metrics } from '../src/run/experiment.js';
import { emptyLog } from '../src/run/log.js';
import type { JobResult } from '../src/run/runner.js';

/** A finished job with the given final accuracy; `diverged` stops it at that step. */
function job(
  model: string,
  arm: string,
  seed: number,
  accuracy: number,
  options: { diverged?: number; steps?: number | null } = {},
): JobResult {
  const log = emptyLog();
  const diverged = options.diverged ?? null;
  log.losses = [
    { step: 10, loss: 1 },
    { step: 20, loss: diverged === null ? 0.5 : Number.NaN },
  ];
  log.evals = [
    { step: 10, testAccuracy: accuracy - 1, testLoss: 0.8 },
    { step: 20, testAccuracy: accuracy, testLoss: 0.5 },
  ];
  log.gradNorms = [{ step: 10, layer: '0.weight', before: 1, after: 0.999 }];
  log.alpha = [{ step: 10, layer: '0.weight', size: 100, p50: 1, p90: 2, p99: 3, max: 4, maxAlpha: 0.04 }];
  log.trainSeconds = 2;
  log.stepsToTarget = diverged === null ? (options.steps ?? 15) : null;
  log.divergedAt = diverged;
  return {
    key: `${model}/${arm}/seed${seed}`,
    label: `${model} · ${arm} · seed ${seed}`,
    info: { model, arm, optimizer: 'adamw', agr: arm.endsWith('+agr'), seed },
    final: { testAccuracy: accuracy, testLoss: diverged === null ? 0.5 : Number.NaN },
    log,
  };
}

describe('reports count failures, say "identical", adjust for many comparisons and face the claim', () => {
  it('writes all of that into the classify report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'agrad-report-'));
    const jobs = [
      job('mlp', 'adamw', 0, 80),
      job('mlp', 'adamw', 1, 81),
      job('mlp', 'adamw', 2, 82),
      job('mlp', 'adamw+agr', 0, 80.1),
      job('mlp', 'adamw+agr', 1, 81.3),
      job('mlp', 'adamw+agr', 2, 10, { diverged: 15 }),
      ...[0, 1, 2].flatMap((seed) => [
        job('cnn', 'adamw', seed, 85 + seed),
        job('cnn', 'adamw+agr', seed, 85 + seed),
      ]),
    ];
    const config: ClassifyConfig = {
      ...CLASSIFY_PRESETS.smoke,
      models: ['mlp', 'cnn'],
      optimizers: ['adamw'],
      seeds: 3,
    };
    const metrics: Metrics<ClassifyConfig> = {
      experiment: 'classify',
      preset: 'smoke',
      config,
      command: 'pnpm lab classify (synthetic)',
      data: { Dataset: 'synthetic' },
      evaluation: { curveExamples: 500, finalExamples: 1000 },
      machine: { cpu: 'test', cores: 2, node: 'v20', threads: 1 },
      startedAt: '2026-11-30T00:00:00Z',
      finishedAt: '2026-11-30T00:01:00Z',
      results: Object.fromEntries(jobs.map((j) => [j.key, j])),
    };
    const summary = await writeClassifyReport(out, metrics);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    // The diverged run is counted beside its arm's numbers, not dropped.
    expect(report).toMatch(/\| mlp \| adamw\+agr \| 3 \| 57\.13 ± 40\.\d+ \(1 of 3 diverged\) \|/);
    expect(report).toContain('0.5000 ± 0.0000 (1 of 3 diverged)'); // the test loss of the two finite runs
    // Steps to target says how many seeds got there, and which did not and why.
    expect(report).toContain('15 ± 0 (2 of 3 reached; 1 diverged)');
    expect(report).toContain('seed 2: adamw+agr diverged at step 15');
    // Arms that gave the same numbers are called identical.
    expect(report).toContain('identical (the same value in all 3 seed pairs)');
    expect(summary).toContain('identical');
    // Verdicts come from Holm-adjusted p-values, with the raw interval beside them.
    expect(report).toMatch(/p [\d.<]+, Holm [\d.]+/);
    expect(report).toContain(
      "adjusted by Holm's method within each family of comparisons (2 test-accuracy comparisons",
    );
    // The paper's claimed gain is faced: here identical arms rule it out.
    expect(report).toContain(
      "cnn, adamw: test accuracy was identical with and without AGR in all 3 seed pairs; the interval lies below the paper's claimed effect (+0.3 to +0.8 pp for AdamW on CIFAR-100 and Tiny-ImageNet) and excludes it",
    );
    // Captions take their figures from the run, not from the code.
    expect(readFileSync(join(out, 'test-accuracy.svg'), 'utf8')).toContain(
      'on the first 500 test images, the last point on all 1,000',
    );
    // AGR's effect is drawn as a paired difference, and layers are named with their model.
    expect(readFileSync(join(out, 'test-accuracy-difference.svg'), 'utf8')).toContain('adamw+agr − adamw');
    expect(readFileSync(join(out, 'alpha-mlp.svg'), 'utf8')).toContain('mlp: 0.weight (100)');
    expect(readFileSync(join(out, 'agr-effect-cnn.svg'), 'utf8')).toContain('cnn: 0.weight (100)');
  }, 60_000);
});
