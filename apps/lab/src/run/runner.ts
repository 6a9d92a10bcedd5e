import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultGenerator, Generator } from '@agrad/autograd';
import { loadCheckpoint, type Stateful, saveCheckpoint } from '@agrad/nn';
import { emptyLog, type RunLog } from './log.js';
import type { Progress } from './progress.js';

/** One training run: an arm (optimizer, with or without AGR) with one seed. */
export interface JobSpec {
  /** Unique within the experiment, used for file names and as the key in metrics.json. */
  key: string;
  /** For people: "cnn · adamw+agr · seed 1". */
  label: string;
  totalSteps: number;
}

/** What an experiment supplies for one job once its model and optimizer exist. */
export interface TrainingTask {
  /** Saved in checkpoints under these prefixes (model, optimizer, ema, ...). */
  parts: Record<string, Stateful>;
  /** Runs training step `step` (1-based) and records into the log. */
  step(step: number, log: RunLog): void;
  /** Evaluation at `step`; called every `evalEvery` steps and at the end. */
  evaluate(step: number, log: RunLog): Record<string, number>;
  evalEvery: number;
  /** Called once when the job completes, e.g. to save a model; gets the job's final log. */
  finish?(log: RunLog): void;
}

export interface JobResult {
  key: string;
  label: string;
  /** The job's fields as given by the experiment (arm, seed, model, ...), for the report. */
  info: Record<string, string | number | boolean>;
  final: Record<string, number>;
  log: RunLog;
}

/** Raised when the user asked to stop (Ctrl-C); the checkpoint of the job in progress is on disk. */
export class Interrupted extends Error {
  constructor(readonly checkpoint: string) {
    super(`interrupted; the job in progress is checkpointed at ${checkpoint}`);
  }
}

/** Set by the CLI's SIGINT handler (and by tests); the runner stops after the current step. */
export const stopSignal = { requested: false, afterSteps: Number.POSITIVE_INFINITY };

export interface RunnerContext {
  out: string;
  resume: boolean;
  progress: Progress;
  /** Write a checkpoint at least this often (steps), besides on interrupt. */
  checkpointEvery: number;
  /** Completed jobs so far, keyed by JobSpec.key; updated and saved after each job. */
  results: Record<string, JobResult>;
  /** Saves metrics.json with the results so far. */
  save(): void;
}

export function checkpointPath(out: string, key: string): string {
  return join(out, 'checkpoints', `${key.replaceAll('/', '_')}.safetensors`);
}

let stepsThisProcess = 0;

/**
 * Runs one job to completion, resuming from its checkpoint when `--resume` found one. The data
 * order and all random draws come from generators whose state is in the checkpoint, so a resumed
 * job continues exactly as an uninterrupted one would.
 */
export async function runJob(
  context: RunnerContext,
  spec: JobSpec,
  info: JobResult['info'],
  makeTask: () => TrainingTask,
): Promise<JobResult> {
  const done = context.results[spec.key];
  if (done) {
    context.progress.skipJob?.(spec.label);
    return done;
  }
  const task = makeTask();
  const path = checkpointPath(context.out, spec.key);
  let log = emptyLog();
  let start = 1;
  if (context.resume && existsSync(path)) {
    // The metadata is checked before any weight is loaded: a bad checkpoint changes nothing.
    let resumed: { rng: number[]; log: RunLog; step: number } | undefined;
    loadCheckpoint(path, task.parts, {
      checkMetadata: (metadata) => {
        resumed = parseResumeState(metadata, spec.totalSteps, path);
      },
    });
    const state = resumed as { rng: number[]; log: RunLog; step: number };
    defaultGenerator.setState(state.rng);
    log = state.log;
    start = state.step + 1;
  }
  mkdirSync(dirname(path), { recursive: true });
  const save = (step: number) =>
    saveCheckpoint(path, task.parts, {
      step: String(step),
      rng: JSON.stringify(defaultGenerator.getState()),
      log: JSON.stringify(log),
    });
  context.progress.startJob(spec.label, spec.totalSteps, start - 1);
  for (let step = start; step <= spec.totalSteps; step++) {
    const began = performance.now();
    task.step(step, log);
    log.trainSeconds += (performance.now() - began) / 1000;
    if (step % task.evalEvery === 0 && step < spec.totalSteps)
      log.evals.push({ step, ...task.evaluate(step, log) });
    context.progress.update(step, log.smoothedLoss);
    stepsThisProcess += 1;
    // Training is synchronous; yielding to the event loop between steps lets the SIGINT handler
    // (and the progress bar's timer) run.
    await new Promise((resolve) => setImmediate(resolve));
    if (stopSignal.requested || stepsThisProcess >= stopSignal.afterSteps) {
      save(step);
      context.progress.stop();
      throw new Interrupted(path);
    }
    if (step % context.checkpointEvery === 0) save(step);
    // A diverged run cannot recover (its weights are NaN): stop, evaluate, and let the report
    // count it as a failure.
    if (log.divergedAt !== undefined && log.divergedAt !== null) break;
  }
  const final = task.evaluate(spec.totalSteps, log);
  log.evals.push({ step: spec.totalSteps, ...final });
  task.finish?.(log);
  const result: JobResult = { key: spec.key, label: spec.label, info, final, log };
  context.results[spec.key] = result;
  context.save();
  rmSync(path, { force: true });
  context.progress.finishJob(spec.label, final);
  return result;
}

/** The RNG state, log and step a checkpoint's metadata holds, checked (a file is untrusted input). */
function parseResumeState(
  metadata: Readonly<Record<string, string>>,
  totalSteps: number,
  path: string,
): { rng: number[]; log: RunLog; step: number } {
  const fail = (what: string): never => {
    throw new Error(
      `${path}: checkpoint metadata '${what}' is missing or malformed; delete the file to restart this job`,
    );
  };
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]);
    } catch {
      return fail(key);
    }
  };
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0 || step >= totalSteps) fail('step');
  const rng = parse('rng');
  try {
    new Generator(0).setState(rng as number[]); // throws for anything a generator cannot hold
  } catch {
    fail('rng');
  }
  const log = parse('log') as RunLog;
  if (typeof log !== 'object' || log === null || !Array.isArray(log.losses) || !Array.isArray(log.evals))
    fail('log');
  return { rng: rng as number[], log, step };
}

/** Resets the per-process step counter used by `stopSignal.afterSteps` (tests). */
export function resetStepCounter(): void {
  stepsThisProcess = 0;
}

/** Reads a previous run's metrics.json for --resume. */
export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${path}: cannot read (${(error as Error).message.split('\n')[0]})`);
  }
}
