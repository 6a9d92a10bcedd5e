import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** Where the runner reports progress: bars with ETA on a terminal, one line per job otherwise. */
export interface Progress {
  startJob(label: string, totalSteps: number, doneSteps: number): void;
  update(step: number, smoothedLoss: number): void;
  finishJob(label: string, final: Record<string, number>): void;
  /** A job already completed by the run being resumed. */
  skipJob?(label: string): void;
  stop(): void;
}

function describe(final: Record<string, number>): string {
  return Object.entries(final)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(', ');
}

/** Two bars from cli-progress: all jobs of the experiment, and steps of the job in progress. */
export class BarProgress implements Progress {
  private readonly bars = new MultiBar(
    {
      format: '{label} |{bar}| {value}/{total} {unit} | ETA {eta_formatted} | {extra}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    Presets.shades_classic,
  );
  private readonly overall: SingleBar;
  private job: SingleBar | undefined;
  private jobsDone = 0;

  constructor(
    readonly experiment: string,
    totalJobs: number,
  ) {
    this.overall = this.bars.create(totalJobs, 0, { label: experiment.padEnd(28), unit: 'runs', extra: '' });
  }

  startJob(label: string, totalSteps: number, doneSteps: number): void {
    this.job?.stop();
    if (this.job) this.bars.remove(this.job);
    this.job = this.bars.create(totalSteps, doneSteps, { label: label.padEnd(28), unit: 'steps', extra: '' });
  }

  update(step: number, smoothedLoss: number): void {
    this.job?.update(step, { extra: `loss ${smoothedLoss.toFixed(4)}` });
  }

  finishJob(label: string, final: Record<string, number>): void {
    this.jobsDone += 1;
    this.overall.update(this.jobsDone, { extra: `last: ${label}: ${describe(final)}` });
  }

  skipJob(label: string): void {
    this.jobsDone += 1;
    this.overall.update(this.jobsDone, { extra: `done before resuming: ${label}` });
  }

  stop(): void {
    this.bars.stop();
  }
}

/** For pipes, CI and tests: a line when each job ends. */
export class LineProgress implements Progress {
  private started = 0;
  constructor(private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) {}
  startJob(): void {
    this.started = performance.now();
  }
  update(): void {}
  finishJob(label: string, final: Record<string, number>): void {
    this.write(`${label}: ${describe(final)} (${((performance.now() - this.started) / 1000).toFixed(1)} s)`);
  }
  stop(): void {}
}
