/**
 * The two runs the playground compares: the same model, data, seed and batch order, each with its
 * own optimizer, one with AGR chained in front and one without (or both, or neither: the toggles
 * are the user's). Everything here is plain agrad and runs on whatever backend is current.
 */
import {
  type AutogradGraph,
  autogradGraph,
  dispose,
  fromTypedArray,
  keep,
  manualSeed,
  noGrad,
  type Tensor,
} from '@agrad/autograd';
import { F, Linear, ReLU, Sequential, Tanh } from '@agrad/nn';
import {
  adam,
  adamw,
  adan,
  agr,
  agrCoefficients,
  chain,
  type GradientTransformation,
  Optimizer,
  regularize,
  sgd,
} from '@agrad/optim';
import { Generator } from '@agrad/tensor';
import type { Dataset, DatasetName } from './datasets.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw' | 'adan';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw', 'adan'];

export interface Settings {
  dataset: DatasetName;
  /** Hidden layer widths, e.g. [16, 16]. */
  hidden: number[];
  optimizer: OptimizerName;
  lr: number;
  weightDecay: number;
  batchSize: number;
  seed: number;
  /** AGR on or off for run 1 and run 2. */
  agr: [boolean, boolean];
  /**
   * 'auto': whichever of the CPU backend and gpu.js on WebGL trains this model faster, timed over a
   * few steps at the start; 'cpu' or 'gpu' to choose one.
   */
  backend: 'auto' | 'cpu' | 'gpu';
}

/** Why each setting is refused, by field, or none: the page shows these instead of starting a run. */
export function settingsProblems(s: Settings): Array<{ field: keyof Settings; message: string }> {
  const problems: Array<{ field: keyof Settings; message: string }> = [];
  if (!(Number.isFinite(s.lr) && s.lr >= 0))
    problems.push({ field: 'lr', message: `Learning rate must be a finite number ≥ 0, got ${s.lr}` });
  if (!(Number.isFinite(s.weightDecay) && s.weightDecay >= 0))
    problems.push({
      field: 'weightDecay',
      message: `Weight decay must be a finite number ≥ 0, got ${s.weightDecay}`,
    });
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= MAX_BATCH))
    problems.push({
      field: 'batchSize',
      message: `Batch size must be a whole number from 1 to ${MAX_BATCH}, got ${s.batchSize}`,
    });
  if (!Number.isSafeInteger(s.seed))
    problems.push({ field: 'seed', message: `Seed must be a whole number, got ${s.seed}` });
  if (
    s.hidden.length < 1 ||
    s.hidden.length > MAX_LAYERS ||
    !s.hidden.every((w) => Number.isInteger(w) && w >= 1 && w <= MAX_WIDTH)
  ) {
    problems.push({
      field: 'hidden',
      message: `Hidden layers must be 1 to ${MAX_LAYERS} comma-separated widths from 1 to ${MAX_WIDTH}, got ${s.hidden.join(',') || 'none'}`,
    });
  }
  return problems;
}

/** Limits of the settings: beyond them a step in the browser takes too long to watch. */
export const MAX_LAYERS = 4;
export const MAX_WIDTH = 256;
export const MAX_BATCH = 2048;

export const DEFAULT_SETTINGS: Settings = {
  dataset: 'spirals',
  hidden: [16, 16],
  optimizer: 'adam',
  lr: 0.03,
  weightDecay: 0,
  batchSize: 32,
  seed: 1,
  agr: [true, false],
  backend: 'auto',
};

function baseOptimizer(s: Settings): GradientTransformation {
  const options = { lr: s.lr, weightDecay: s.weightDecay };
  if (s.optimizer === 'sgd') return sgd({ ...options, momentum: 0.9 });
  if (s.optimizer === 'adam') return adam(options);
  if (s.optimizer === 'adamw') return adamw(options);
  return adan(options);
}

/** Per parameter tensor: gradient norm before and after AGR. */
export interface LayerStats {
  name: string;
  raw: number;
  afterAgr: number;
}

export interface RunReport {
  agr: boolean;
  loss: number;
  accuracy: number;
  layers: LayerStats[];
  /** Histogram of log10(alpha) over every gradient entry (alpha = |g| / sum|g| of its tensor). */
  alpha: { edges: number[]; counts: number[] };
}

const ALPHA_EDGES = Array.from({ length: 13 }, (_, i) => -8 + (i * 8) / 12); // 1e-8 .. 1

export class Run {
  readonly model: Sequential;
  private readonly optimizer: Optimizer;
  /** Losses since the last report, left on the device: one read-back per report, not per step. */
  private losses: Tensor[] = [];

  constructor(
    readonly withAgr: boolean,
    readonly settings: Settings,
    data: Dataset,
  ) {
    // The same seed for both runs: identical initial weights.
    manualSeed(settings.seed);
    const widths = [data.features, ...settings.hidden];
    const layers = widths
      .slice(1)
      .flatMap((w, i) => [new Linear(widths[i], w), data.features === 2 ? new Tanh() : new ReLU()]);
    this.model = new Sequential(...layers, new Linear(widths[widths.length - 1], data.classes));
    const base = baseOptimizer(settings);
    this.optimizer = new Optimizer(this.model, withAgr ? chain(agr(), base) : base);
  }

  /** The autograd graph behind this run's loss on a batch (no step is taken). */
  lossGraph(x: Tensor, y: Tensor): AutogradGraph {
    return autogradGraph(this.loss(x, y), { params: this.model.namedParameters() });
  }

  /** The training loss on a batch, as step() minimizes it. */
  private loss(x: Tensor, y: Tensor): Tensor {
    return F.crossEntropy(this.model.forward(x) as Tensor, y);
  }

  /** One step on a batch; the loss stays on the device until report() averages it. */
  step(x: Tensor, y: Tensor): Tensor {
    const loss = this.loss(x, y);
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    // Kept past the tidy() around the step until report() reads it.
    this.losses.push(keep(loss.detach()));
    return loss;
  }

  /** The losses kept since the last report, handed over (to dispose of them). */
  drainLosses(): Tensor[] {
    const losses = this.losses;
    this.losses = [];
    return losses;
  }

  /** Mean training loss since the last report, test accuracy, and what AGR does to the gradients. */
  report(test: { x: Tensor; y: Tensor }): RunReport {
    return noGrad(() => {
      const predicted = (this.model.forward(test.x) as Tensor).argmax(1);
      const accuracy = predicted.eq(test.y).to('float32').mean().item();
      const layers: LayerStats[] = [];
      const counts = new Array<number>(ALPHA_EDGES.length - 1).fill(0);
      for (const [name, p] of this.model.namedParameters()) {
        const g = p.grad;
        if (!g) continue;
        layers.push({ name, raw: norm(g), afterAgr: norm(regularize(g)) });
        for (const a of agrCoefficients(g).data) {
          const bin = Math.floor(((Math.log10(Math.max(a, 1e-30)) + 8) / 8) * (ALPHA_EDGES.length - 1));
          counts[Math.min(counts.length - 1, Math.max(0, bin))]++;
        }
      }
      const count = this.losses.length;
      const loss = count > 0 ? this.losses.reduce((a, b) => a.add(b)).item() / count : Number.NaN;
      dispose(this.losses);
      this.losses = [];
      return { agr: this.withAgr, loss, accuracy, layers, alpha: { edges: ALPHA_EDGES, counts } };
    });
  }

  /** Class and confidence of the model on a size x size grid over [-1.2, 1.2]^2 (2-D sets only). */
  boundary(grid: Tensor): { classes: Int32Array; confidence: Float32Array } {
    return noGrad(() => {
      const probabilities = (this.model.forward(grid) as Tensor).softmax(1);
      return {
        classes: probabilities.argmax(1).data as Int32Array,
        confidence: probabilities.amax(1).data as Float32Array,
      };
    });
  }
}

function norm(t: Tensor): number {
  return Math.sqrt(t.pow(2).sum().item());
}

/** Batches in a seeded order, the same for both runs. */
export class Batches {
  private readonly generator: Generator;
  private order: Int32Array;
  private position = 0;

  constructor(
    private readonly data: Dataset,
    private readonly size: number,
    seed: number,
  ) {
    this.generator = new Generator(seed + 1000);
    this.order = this.shuffled();
  }

  private shuffled(): Int32Array {
    const order = Int32Array.from({ length: this.data.train.count }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = this.generator.integer(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  /** The next batch as host arrays (each run uploads it to the current backend). */
  next(): { x: Float32Array; y: Int32Array; count: number } {
    const { features } = this.data;
    const count = Math.min(this.size, this.data.train.count);
    if (this.position + count > this.order.length) {
      this.order = this.shuffled();
      this.position = 0;
    }
    const x = new Float32Array(count * features);
    const y = new Int32Array(count);
    for (let k = 0; k < count; k++) {
      const i = this.order[this.position + k];
      x.set(this.data.train.x.subarray(i * features, (i + 1) * features), k * features);
      y[k] = this.data.train.y[i];
    }
    this.position += count;
    return { x, y, count };
  }
}

/** Host arrays as tensors on the current backend. */
export function toTensors(x: Float32Array, y: Int32Array, features: number): { x: Tensor; y: Tensor } {
  return { x: fromTypedArray(x, [y.length, features]), y: fromTypedArray(y, [y.length]) };
}

/** A size x size grid of points over [-1.2, 1.2]^2, row by row from the top. */
export function gridPoints(size: number): Float32Array {
  const points = new Float32Array(size * size * 2);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      points[2 * (r * size + c)] = -1.2 + (2.4 * (c + 0.5)) / size;
      points[2 * (r * size + c) + 1] = 1.2 - (2.4 * (r + 0.5)) / size;
    }
  }
  return points;
}
