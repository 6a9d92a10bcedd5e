/**
 * The AGR lab: `pnpm lab <experiment> [options]`. Each experiment trains every arm (an optimizer
 * with and without AGR) for several seeds, then writes report.md, metrics.json and plots.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getNumThreads, setNumThreads } from '@agrad/tensor';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseOptimizers } from './arms.js';
import { EXPERIMENTS, type ExperimentName, type LabOptions } from './experiments/index.js';
import { classifyDecisions } from './report/classify-report.js';
import { stabilityDecisions } from './report/stability-report.js';
import type { Decision } from './report/summary.js';
import { type Metrics, readMetrics } from './run/experiment.js';
import { BarProgress, LineProgress } from './run/progress.js';
import { Interrupted, stopSignal } from './run/runner.js';

/**
 * A count option: an integer in [1, max], written as plain digits. The bounds keep a typo such as
 * `--seeds 1e9` from starting a run that would never end.
 */
function boundedCount(flag: string, max: number, what: string) {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(
        `${flag} must be a whole number from 1 to ${max} (${what}), got '${value}'`,
      );
    }
    return n;
  };
}

/** Upper bounds of the count options (see boundedCount). */
export const LIMITS = { seeds: 100, epochs: 1000, threads: 64 } as const;

/** Default results folder: results/<experiment>-<preset>-<time>, so runs never overwrite each other. */
function defaultOut(experiment: string, preset: string, resume: boolean): string {
  const prefix = `${experiment}-${preset}-`;
  if (resume) {
    // --resume without --out continues the newest run of this experiment and preset.
    const candidates = existsSync('results')
      ? readdirSync('results')
          .filter((d) => d.startsWith(prefix) && existsSync(join('results', d, 'metrics.json')))
          .sort((a, b) => statSync(join('results', b)).mtimeMs - statSync(join('results', a)).mtimeMs)
      : [];
    if (candidates.length === 0) {
      throw new InvalidArgumentError(
        `--resume: no earlier '${experiment} --preset ${preset}' run in results/; pass --out DIR`,
      );
    }
    return join('results', candidates[0]);
  }
  return join('results', `${prefix}${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}`);
}

let interruptHandlerInstalled = false;

function installInterruptHandler(): void {
  if (interruptHandlerInstalled) return;
  interruptHandlerInstalled = true;
  process.on('SIGINT', () => {
    if (stopSignal.requested) {
      process.stderr.write('\nSecond Ctrl-C: exiting now; the last periodic checkpoint is kept.\n');
      process.exit(130);
    }
    stopSignal.requested = true;
    process.stderr.write('\nCtrl-C: saving a checkpoint after this step (Ctrl-C again to quit at once)...\n');
  });
}

async function runExperiment(
  name: ExperimentName,
  raw: Record<string, unknown>,
  argv: string[],
): Promise<void> {
  const options = raw as unknown as LabOptions;
  const experiment = EXPERIMENTS[name];
  if (options.threads) setNumThreads(options.threads);
  const out = options.out ?? defaultOut(name, options.preset, options.resume);
  const progress = process.stderr.isTTY && !options.quiet ? undefined : new LineProgress();
  installInterruptHandler();
  const command = `pnpm lab ${argv.join(' ')}`;
  try {
    const summary = await experiment.run(
      { ...options, out },
      command,
      getNumThreads(),
      (jobs) => progress ?? new BarProgress(name, jobs),
    );
    process.stdout.write(`\n${summary}\n\nReport: ${join(out, 'report.md')}\n`);
  } catch (error) {
    if (error instanceof Interrupted) {
      process.stderr.write(
        `\nStopped. Checkpoint: ${error.checkpoint}\nContinue with: ${resumeCommand(name, out, argv.slice(1))}\n`,
      );
      process.exitCode = 130;
      return;
    }
    throw error;
  }
}

/**
 * The command line. Tests pass `output` to capture what would be printed and to get usage errors
 * as exceptions instead of process exits.
 */
export function buildProgram(output?: {
  writeOut(text: string): void;
  writeErr(text: string): void;
}): Command {
  const program = new Command('pnpm lab')
    .description("AGR lab: the paper's three experiments at small scale, with error bars")
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      outputError: (text, write) => write(`lab: ${text.replace(/^error: /, '')}`),
      ...(output ?? {}),
    });
  if (output) program.exitOverride();
  for (const [name, experiment] of Object.entries(EXPERIMENTS) as Array<
    [ExperimentName, (typeof EXPERIMENTS)[ExperimentName]]
  >) {
    const command = program
      .command(name)
      .description(experiment.description)
      .addOption(
        new Option('--preset <preset>', 'settings bundle')
          .choices(Object.keys(experiment.presets))
          .default('quick'),
      )
      .option(
        '--optimizers <list>',
        'comma-separated optimizers, each run with and without AGR',
        parseOptimizersOption,
      )
      .option(
        '--seeds <n>',
        `seeds per arm (paired across arms), 1 to ${LIMITS.seeds}`,
        boundedCount('--seeds', LIMITS.seeds, 'seeds per arm'),
      )
      .option(
        '--epochs <n>',
        `training epochs (overrides the preset), 1 to ${LIMITS.epochs}`,
        boundedCount('--epochs', LIMITS.epochs, 'passes over the training set'),
      )
      .option(
        '--data <dir>',
        "data directory (default: Debian's full copy if installed, else the bundled subset)",
      )
      .option('--out <dir>', 'results folder (default: results/<experiment>-<preset>-<time>)')
      .option(
        '--resume',
        'continue an interrupted run in --out (default: the newest run of this preset)',
        false,
      )
      .option(
        '--threads <n>',
        `GEMM threads, 1 to ${LIMITS.threads} (default: AGRAD_THREADS or 2)`,
        boundedCount('--threads', LIMITS.threads, 'GEMM threads'),
      )
      .option('--quiet', 'one line per finished run instead of progress bars', false);
    for (const extra of experiment.extraOptions ?? []) command.addOption(extra);
    command.addHelpText('after', `\nPresets:\n${experiment.presetHelp.replace(/^/gm, '  ')}`);
    command.action(async (opts: Record<string, unknown>) => {
      await runExperiment(name, opts, invocation);
    });
  }
  program
    .command('decide')
    .description(
      "the README's main job: classify (AdamW and SGD) and stability at their quick presets, about 5 minutes on 2 cores, then what they decided about AGR and what they left open",
    )
    .addOption(
      new Option('--preset <preset>', 'quick, or smoke for CI').choices(['quick', 'smoke']).default('quick'),
    )
    .option(
      '--data <dir>',
      "data directory (default: Debian's full copy if installed, else the bundled subset)",
    )
    .option('--out <dir>', 'results folder, one subfolder per experiment (default: results/decide-<time>)')
    .option('--quiet', 'one line per finished run instead of progress bars', false)
    .action(async (opts: { preset: string; data?: string; out?: string; quiet: boolean }) => {
      const out = opts.out ?? defaultOut('decide', opts.preset, false);
      // Classification without Adan, the slowest optimizer, to keep the whole job near 5 minutes.
      const parts: Array<{
        name: ExperimentName;
        optimizers?: string;
        decide: (m: Metrics<never>) => Decision[];
      }> = [
        { name: 'classify', optimizers: 'adamw,sgd', decide: classifyDecisions },
        { name: 'stability', decide: stabilityDecisions },
      ];
      for (const { name, optimizers } of parts) {
        const folder = join(out, name);
        const argv = [
          name,
          '--preset',
          opts.preset,
          ...(optimizers ? ['--optimizers', optimizers] : []),
          '--out',
          folder,
          ...(opts.data ? ['--data', opts.data] : []),
        ];
        process.stdout.write(`\npnpm lab ${argv.join(' ')}\n`);
        const chosen = optimizers ? parseOptimizers(optimizers) : undefined;
        await runExperiment(name, { ...opts, resume: false, out: folder, optimizers: chosen }, argv);
        if (process.exitCode) return; // interrupted: runExperiment said how to resume
      }
      const decisions = parts.flatMap(({ name, decide }) =>
        decide(readMetrics<never>(join(out, name, 'metrics.json'), [name])),
      );
      const list = (ds: Decision[]) =>
        ds.length > 0 ? ds.map((d) => `- ${d.subject}: ${d.text}`) : ['- nothing'];
      process.stdout.write(
        [
          '',
          'What this run decided about AGR:',
          ...list(decisions.filter((d) => d.decided)),
          '',
          'What it left open (more seeds, or the full presets: docs/results/):',
          ...list(decisions.filter((d) => !d.decided)),
          '',
          `Reports: ${join(out, 'classify', 'report.md')} and ${join(out, 'stability', 'report.md')}`,
          '',
        ].join('\n'),
      );
    });
  program
    .command('report')
    .description('rebuild report.md and the plots of a results folder from its metrics.json')
    .argument('<dir>', 'a results folder')
    .action(async (dir: string) => {
      const metrics = readMetrics<never>(join(dir, 'metrics.json'), Object.keys(EXPERIMENTS));
      const experiment = EXPERIMENTS[metrics.experiment as ExperimentName];
      const summary = await experiment.report(dir, metrics);
      process.stdout.write(`${summary}\n\nReport: ${join(dir, 'report.md')}\n`);
    });
  return program;
}

function parseOptimizersOption(value: string) {
  try {
    return parseOptimizers(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** The arguments of this invocation, recorded in the report as the command that produced it. */
let invocation: string[] = [];

/**
 * The command that continues an interrupted run: the same options, with --out named once (the
 * folder actually used, also when it was the default) and --resume once.
 */
export function resumeCommand(name: string, out: string, options: string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < options.length; i++) {
    const option = options[i];
    if (option === '--resume' || option.startsWith('--out=')) continue;
    if (option === '--out') {
      i++;
      continue;
    }
    kept.push(option);
  }
  return ['pnpm lab', name, '--out', out, '--resume', ...kept].join(' ');
}

/** Runs `pnpm lab <args>`; with `output`, usage errors throw (commander's CommanderError). */
export async function runCli(
  args: string[],
  output?: { writeOut(text: string): void; writeErr(text: string): void },
): Promise<void> {
  invocation = args;
  await buildProgram(output).parseAsync(args, { from: 'user' });
}

if (process.argv[1]?.endsWith('cli.ts')) {
  runCli(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`lab: ${error.message}\n`);
    process.exitCode = 1;
  });
}
