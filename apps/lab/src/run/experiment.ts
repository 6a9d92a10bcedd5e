import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import type { Progress } from './progress.js';
import type { JobResult, RunnerContext } from './runner.js';
import { readJson } from './runner.js';

/** Where a run's data came from, and a hash of its content, so --resume can check it is the same. */
export interface DataSource {
  /** For people: which files (the path, the copy). */
  description: string;
  /** Content hash of the files (data/fingerprint.ts). */
  fingerprint: string;
}

/** What metrics.json holds: enough to rebuild the report and to resume. */
export interface Metrics<C> {
  experiment: string;
  preset: string;
  config: C;
  /** Absent in runs made before sources were recorded. */
  source?: DataSource;
  command: string;
  data: Record<string, string | number>;
  /** How many test examples the curves and the final numbers use (absent in older runs). */
  evaluation?: { curveExamples: number; finalExamples: number };
  machine: { cpu: string; cores: number; node: string; threads: number };
  startedAt: string;
  finishedAt?: string;
  results: Record<string, JobResult>;
}

/**
 * metrics.json without indentation and with six significant digits in the results, which is more
 * than any curve needs and keeps a full run's file to a few megabytes. The header (configuration,
 * source, machine) is written exactly: --resume compares the configuration with the new options,
 * and a rounded grid factor such as sqrt(2) would no longer match itself.
 */
export function serializeMetrics(metrics: Metrics<unknown>): string {
  const { results, ...header } = metrics;
  const sixDigits = (_: string, v: unknown) =>
    typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v;
  return `${JSON.stringify(header).slice(0, -1)},"results":${JSON.stringify(results, sixDigits)}}\n`;
}

export interface StartOptions<C> {
  experiment: string;
  preset: string;
  config: C;
  command: string;
  out: string;
  resume: boolean;
  progress: Progress;
  checkpointEvery: number;
  threads: number;
  source: DataSource;
}

/**
 * Reads a metrics.json and checks the shape reports and --resume rely on: the file may be edited
 * or damaged, and neither a report nor a resumed run may be built from half of it.
 */
export function readMetrics<C>(path: string, experiments: readonly string[]): Metrics<C> {
  const metrics = readJson<Metrics<C>>(path);
  const fail = (problem: string): never => {
    throw new Error(`${path}: ${problem}`);
  };
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(metrics)) fail('not a JSON object');
  if (!experiments.includes(metrics.experiment))
    fail(
      `unknown experiment ${JSON.stringify(metrics.experiment)} (expected one of ${experiments.join(', ')})`,
    );
  if (!isObject(metrics.config)) fail("'config' is missing or not an object");
  if (!isObject(metrics.results)) fail("'results' is missing or not an object");
  for (const [key, result] of Object.entries(metrics.results as Record<string, unknown>)) {
    const r = result as Record<string, unknown>;
    const log = r?.log as Record<string, unknown> | undefined;
    if (
      !isObject(r) ||
      !isObject(r.info) ||
      !isObject(r.final) ||
      !isObject(log) ||
      !Array.isArray(log?.losses)
    )
      fail(`result '${key}' lacks info, final or log`);
  }
  return metrics;
}

/**
 * Opens (or with --resume, reopens) a results folder. Resuming with different settings would mix
 * two experiments in one report, so it is refused with both configurations named.
 */
export function startExperiment<C>(options: StartOptions<C>): {
  metrics: Metrics<C>;
  context: RunnerContext;
} {
  const { out, resume } = options;
  const path = join(out, 'metrics.json');
  mkdirSync(out, { recursive: true });
  let metrics: Metrics<C>;
  if (resume) {
    if (!existsSync(path)) {
      throw new Error(
        `--resume: ${path} not found; there is no run to resume in ${out} (drop --resume to start one)`,
      );
    }
    metrics = readMetrics<C>(path, [options.experiment]);
    if (metrics.experiment !== options.experiment) {
      throw new Error(`--resume: ${out} holds a '${metrics.experiment}' run, not '${options.experiment}'`);
    }
    if (JSON.stringify(metrics.config) !== JSON.stringify(options.config)) {
      throw new Error(
        `--resume: ${out} was started with ${JSON.stringify(metrics.config)}, ` +
          `but these options give ${JSON.stringify(options.config)}; repeat the original options or use a new --out`,
      );
    }
    // Continuing on other data would mix two data sets in one report.
    const was = metrics.source;
    if (!was) {
      throw new Error(
        `--resume: ${out} does not record which data it was started on (a run from before sources were recorded), so continuing it on ${options.source.description} could mix two data sets; start a new run with another --out`,
      );
    }
    if (was.fingerprint !== options.source.fingerprint) {
      throw new Error(
        `--resume: ${out} was started on ${was.description} (fingerprint ${was.fingerprint}), but this run would read ${options.source.description} (fingerprint ${options.source.fingerprint}); pass the original --data or use a new --out`,
      );
    }
  } else {
    if (existsSync(path)) {
      throw new Error(
        `${out} already holds a run (metrics.json); pass --resume to continue it or choose another --out`,
      );
    }
    metrics = {
      experiment: options.experiment,
      preset: options.preset,
      config: options.config,
      source: options.source,
      command: options.command,
      data: {},
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        node: process.version,
        threads: options.threads,
      },
      startedAt: new Date().toISOString(),
      results: {},
    };
  }
  const save = () => writeFileAtomic(path, serializeMetrics(metrics));
  save();
  const context: RunnerContext = {
    out,
    resume,
    progress: options.progress,
    checkpointEvery: options.checkpointEvery,
    results: metrics.results,
    save,
  };
  return { metrics, context };
}
