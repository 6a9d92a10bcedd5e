import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metrics } from '../src/run/experiment.js';
import type { JobResult } from '../src/run/runner.js';

/**
 * Writes an experiment's report from synthetic finished runs into a fresh folder and returns
 * report.md's text: the report tests feed chosen numbers in and read the verdicts out.
 */
export async function syntheticReport<C>(
  experiment: string,
  config: C,
  jobs: JobResult[],
  write: (out: string, metrics: Metrics<C>) => Promise<string>,
): Promise<string> {
  const metrics: Metrics<C> = {
    experiment,
    preset: 'smoke',
    config,
    command: `pnpm lab ${experiment} (synthetic)`,
    data: { Dataset: 'synthetic' },
    machine: { cpu: 'test', cores: 2, node: 'v20', threads: 1 },
    startedAt: '2026-11-30T00:00:00Z',
    finishedAt: '2026-11-30T00:01:00Z',
    results: Object.fromEntries(jobs.map((j) => [j.key, j])),
  };
  const out = mkdtempSync(join(tmpdir(), `agrad-${experiment}-`));
  await write(out, metrics);
  return readFileSync(join(out, 'report.md'), 'utf8');
}
