import { existsSync } from 'node:fs';
import type { Option } from 'commander';
import { Option as CommandOption, InvalidArgumentError } from 'commander';
import { decayFactor, type OptimizerName } from '../arms.js';
import { loadKjv } from '../data/corpus.js';
import { fingerprintFiles } from '../data/fingerprint.js';
import { type FashionMnist, loadFashionMnist } from '../data/idx.js';
import { versePairs } from '../data/text.js';
import { CLASSIFIERS, type ClassifierName } from '../models.js';
import { writeAblationReport } from '../report/ablation-report.js';
import { writeClassifyReport } from '../report/classify-report.js';
import { writeGenerateReport } from '../report/generate-report.js';
import { writeLanguageReport } from '../report/language-report.js';
import { writeSmoothnessReport } from '../report/smoothness-report.js';
import { writeStabilityReport } from '../report/stability-report.js';
import { type DataSource, type Metrics, startExperiment } from '../run/experiment.js';
import type { Progress } from '../run/progress.js';
import type { RunnerContext } from '../run/runner.js';
import { ABLATION_PRESETS, type AblationConfig, runAblation } from './ablation.js';
import {
  CLASSIFY_PRESETS,
  type ClassifyConfig,
  type ClassifyData,
  CURVE_TEST_IMAGES,
  loadClassifyData,
  runClassify,
} from './classify.js';
import {
  featureExtractor,
  GENERATE_PRESETS,
  type GenerateConfig,
  realFid,
  realMaxClassProbability,
  runGenerate,
} from './generate.js';
import {
  heldOutBatches,
  LANGUAGE_PRESETS,
  type LanguageConfig,
  languageBaselines,
  runLanguage,
} from './language.js';
import { runSmoothness, SMOOTHNESS_PRESETS, type SmoothnessConfig } from './smoothness.js';
import { runStability, STABILITY_PRESETS, type StabilityConfig, settingsFor } from './stability.js';

/** The language experiment holds out every this-many-th chapter of the corpus. */
const HELD_OUT_EVERY = 10;

/** Vocabulary id of the most frequent word: the first after the five special tokens. */
const FIRST_WORD = 5;

/** The parsed command line, shared by every experiment. */
export interface LabOptions {
  preset: string;
  optimizers?: OptimizerName[];
  seeds?: number;
  epochs?: number;
  data?: string;
  out: string;
  resume: boolean;
  threads?: number;
  quiet: boolean;
  [extra: string]: unknown;
}

export interface ExperimentDefinition {
  description: string;
  presets: Record<string, unknown>;
  extraOptions?: Option[];
  /** Shown under --help: what each preset runs and roughly how long it takes on 2 cores. */
  presetHelp: string;
  /** Rebuilds report.md and the plots from a results folder's metrics.json. */
  report(out: string, metrics: Metrics<never>): Promise<string>;
  /** Trains every job (resuming if asked), writes the report, and returns the summary table. */
  run(
    options: LabOptions,
    command: string,
    threads: number,
    makeProgress: (jobs: number) => Progress,
  ): Promise<string>;
}

/** A checkpoint every this many steps, besides the one written on Ctrl-C. */
const CHECKPOINT_EVERY = 200;

/**
 * The preset named by --preset with the options every experiment shares applied over it:
 * --optimizers, --seeds, and --epochs where the preset counts epochs as one number.
 */
function fromPreset<C extends { optimizers: OptimizerName[]; seeds: number; epochs: unknown }>(
  presets: Record<string, C>,
  options: LabOptions,
): C {
  const preset = presets[options.preset];
  return {
    ...preset,
    optimizers: options.optimizers ?? preset.optimizers,
    seeds: options.seeds ?? preset.seeds,
    epochs: typeof preset.epochs === 'number' ? (options.epochs ?? preset.epochs) : preset.epochs,
  };
}

/** The data of a Fashion-MNIST run, for --resume's check. */
function fashionMnistSource(data: FashionMnist): DataSource {
  return { description: `Fashion-MNIST in ${data.directory}`, fingerprint: data.fingerprint };
}

/** Which copy of Fashion-MNIST was read and how big it is, for the report. */
function describeFashionMnist(data: FashionMnist): string {
  const copy = data.source === 'full' ? 'the full set' : 'the subset bundled with the repository';
  return `Fashion-MNIST, ${copy} (${data.directory}): ${data.trainCount} training and ${data.testCount} test images`;
}

/**
 * What every experiment does around its training: open the results folder (or reopen it with
 * --resume), run `train`, stop the progress bars even on Ctrl-C, stamp the end, write the report.
 */
async function conduct<C>(
  experiment: string,
  options: LabOptions,
  config: C,
  run: {
    command: string;
    threads: number;
    jobCount: number;
    makeProgress: (jobs: number) => Progress;
    source: DataSource;
  },
  train: (metrics: Metrics<C>, context: RunnerContext) => Promise<void>,
  report: (out: string, metrics: Metrics<C>) => Promise<string>,
): Promise<string> {
  const progress = run.makeProgress(run.jobCount);
  const { metrics, context } = startExperiment({
    experiment,
    preset: options.preset,
    config,
    command: run.command,
    out: options.out,
    resume: options.resume,
    progress,
    checkpointEvery: CHECKPOINT_EVERY,
    threads: run.threads,
    source: run.source,
  });
  try {
    await train(metrics, context);
  } finally {
    progress.stop();
  }
  metrics.finishedAt = new Date().toISOString();
  context.save();
  return report(options.out, metrics);
}

function parseModels(value: string): ClassifierName[] {
  const list = value.split(',').map((s) => s.trim());
  const unknown = list.filter((m) => !CLASSIFIERS.includes(m as ClassifierName));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `--models: unknown model '${unknown.join(',')}' (expected a comma-separated list of ${CLASSIFIERS.join(', ')})`,
    );
  }
  return [...new Set(list as ClassifierName[])];
}

function classifyConfig(options: LabOptions): ClassifyConfig {
  const preset = fromPreset(CLASSIFY_PRESETS, options);
  const models = (options.models as ClassifierName[] | undefined) ?? preset.models;
  return {
    ...preset,
    models,
    epochs: options.epochs
      ? Object.fromEntries(models.map((m) => [m, options.epochs as number]))
      : Object.fromEntries(models.map((m) => [m, preset.epochs[m] ?? 1])),
  };
}

const classify: ExperimentDefinition = {
  description: 'Fashion-MNIST: MLP, CNN and ViT; AdamW, Adan and SGD, each with and without AGR',
  presets: CLASSIFY_PRESETS,
  presetHelp: [
    'quick: MLP and CNN, 6,000 training images, 2 seeds (about 3 minutes on 2 cores)',
    'full:  MLP, CNN and ViT, 20,000 training images, all 10,000 test images, 3 seeds (about an hour)',
    'smoke: a few steps of everything, for CI (seconds)',
  ].join('\n'),
  report: (out, metrics) => writeClassifyReport(out, metrics),
  extraOptions: [
    new CommandOption(
      '--models <list>',
      `comma-separated models (${CLASSIFIERS.join(', ')}; default: the preset's)`,
    ).argParser(parseModels),
  ],
  async run(options, command, threads, makeProgress) {
    const config = classifyConfig(options);
    const loaded = loadClassifyData(config, options.data);
    const jobCount = config.models.length * config.optimizers.length * 2 * config.seeds;
    const { data } = loaded;
    const run = { command, threads, jobCount, makeProgress, source: fashionMnistSource(data) };
    return conduct(
      'classify',
      options,
      config,
      run,
      async (metrics, context) => {
        metrics.data = {
          Dataset: describeFashionMnist(data),
          Used: `the first ${loaded.trainCount} training and ${loaded.testCount} test images`,
        };
        metrics.evaluation = {
          curveExamples: Math.min(loaded.testCount, CURVE_TEST_IMAGES),
          finalExamples: loaded.testCount,
        };
        await runClassify(config, loaded, context);
      },
      writeClassifyReport,
    );
  },
};

const generate: ExperimentDefinition = {
  description:
    'DDPM on Fashion-MNIST (latent diffusion on principal components, or the tiny UNet): Adan vs Adan+AGR, FID on CNN features, DDIM samples',
  presets: GENERATE_PRESETS,
  presetHelp: [
    'quick: 10,000 images once, 64 principal components, 2 seeds, FID on 200 samples (a few minutes on 2 cores)',
    'full:  60,000 images 6 times, 128 principal components, 2 seeds, FID on 1,000 samples, 50 DDIM steps (estimated at about an hour; not yet run)',
    'smoke: a few steps of everything, for CI (seconds)',
  ].join('\n'),
  report: (out, metrics) => writeGenerateReport(out, metrics),
  extraOptions: [
    new CommandOption(
      '--features <file>',
      "FID feature CNN (a classify run's fid-cnn.safetensors; default: train one first)",
    ),
    new CommandOption(
      '--denoiser <kind>',
      "latent: the preset's MLP on principal components; unet: the tiny UNet on pixels (base width 8) of the first runs",
    ).choices(['latent', 'unet']),
  ],
  async run(options, command, threads, makeProgress) {
    const preset: GenerateConfig = fromPreset(GENERATE_PRESETS, options);
    const config: GenerateConfig =
      options.denoiser === 'unet' ? { ...preset, denoiser: { kind: 'unet', channels: 8 } } : preset;
    const data = loadFashionMnist(options.data);
    const featuresFile = options.features as string | undefined;
    const jobCount = config.optimizers.length * 2 * config.seeds + (featuresFile ? 0 : 1);
    const fashion = fashionMnistSource(data);
    // The FID feature network is part of what the numbers mean: a different one is different data.
    // (A missing file is reported by featureExtractor, with what to do.)
    const source = featuresFile
      ? {
          description: `${fashion.description}, FID features from ${featuresFile}`,
          fingerprint: `${fashion.fingerprint}+${existsSync(featuresFile) ? fingerprintFiles([featuresFile]) : 'missing'}`,
        }
      : fashion;
    const run = { command, threads, jobCount, makeProgress, source };
    return conduct(
      'generate',
      options,
      config,
      run,
      async (metrics, context) => {
        const trainCount = Math.min(data.trainCount, config.trainLimit ?? Number.POSITIVE_INFINITY);
        const extractor = await featureExtractor(config, data, context, featuresFile);
        const fidCount = Math.min(config.fidSamples, data.testCount);
        metrics.data = {
          Dataset: describeFashionMnist(data),
          Used: `the first ${trainCount} training images for the diffusion model; the first ${fidCount} test images for FID`,
          'Feature CNN': `${extractor.source}; test accuracy ${extractor.accuracy.toFixed(2)}%`,
          'FID, real vs real': realFid(extractor.model, data, fidCount).toFixed(2),
          'Max-class probability, real': realMaxClassProbability(extractor.model, data, fidCount).toFixed(3),
        };
        context.save();
        await runGenerate(config, data, extractor.model, context, metrics.data);
      },
      writeGenerateReport,
    );
  },
};

/** At most this many weight decays: each one adds a full set of runs. */
const MAX_WEIGHT_DECAYS = 20;

function parseWeightDecays(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const list = parts.map((s) => (s === '' ? Number.NaN : Number(s)));
  if (list.length === 0 || list.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
    throw new InvalidArgumentError(
      `--weight-decays: expected comma-separated numbers from 0 to 1, got '${value}'`,
    );
  }
  const unique = [...new Set(list)];
  if (unique.length > MAX_WEIGHT_DECAYS) {
    throw new InvalidArgumentError(
      `--weight-decays: at most ${MAX_WEIGHT_DECAYS} values (each adds a full set of runs), got ${unique.length}`,
    );
  }
  return unique;
}

/**
 * How much each weight decay shrinks the weights over the run (AdamW's factor prod(1 - lr_t wd)),
 * so the report says whether the sweep's range changes anything.
 */
function describeDecay(config: LanguageConfig, trainPairs: number): string {
  const steps = config.epochs * Math.floor(trainPairs / config.batchSize);
  const factors = config.weightDecays.map(
    (weightDecay) => `${decayFactor({ lr: config.lr, weightDecay }, steps).toPrecision(3)} at ${weightDecay}`,
  );
  return `decoupled decay alone multiplies every weight over the ${steps} steps by ${factors.join(', ')}`;
}

/** The frequency-only baselines, as one line for the report. */
export function describeBaselines(config: LanguageConfig, corpus: ReturnType<typeof versePairs>): string {
  const batches = heldOutBatches(config, corpus.test, corpus.vocabulary.size);
  const b = languageBaselines(batches, FIRST_WORD);
  return `always predicting the most frequent training word ('${corpus.vocabulary.tokens[FIRST_WORD]}') gives MLM accuracy ${b.mlm.toFixed(2)}%; always predicting the more common order label gives SOP accuracy ${b.sop.toFixed(2)}%`;
}

const language: ExperimentDefinition = {
  description:
    'tiny ALBERT (MLM + sentence order) on the King James Bible: AdamW vs AdamW+AGR over weight decays',
  presets: LANGUAGE_PRESETS,
  presetHelp: [
    'quick: weight decays 0 and 1e-2, 1,600 verse pairs, 2 seeds (about 2.5 minutes on 2 cores)',
    'full:  weight decays 0, 0.1 and 1, all 26,974 training pairs once, 2 seeds (about an hour)',
    'smoke: a few steps of everything, for CI (seconds)',
  ].join('\n'),
  report: (out, metrics) => {
    // Reports of runs made before baselines were recorded compute them here, from the same data.
    const m = metrics as unknown as Metrics<LanguageConfig>;
    if (!m.data.Baselines) {
      const corpus = versePairs(loadKjv().verses, {
        heldOutEvery: HELD_OUT_EVERY,
        vocabularySize: m.config.vocabularySize,
      });
      m.data.Baselines = describeBaselines(m.config, corpus);
    }
    return writeLanguageReport(out, m);
  },
  extraOptions: [
    new CommandOption('--weight-decays <list>', "AdamW weight decays (default: the preset's)").argParser(
      parseWeightDecays,
    ),
  ],
  async run(options, command, threads, makeProgress) {
    const preset = fromPreset(LANGUAGE_PRESETS, options);
    const config: LanguageConfig = {
      ...preset,
      weightDecays: (options.weightDecays as number[] | undefined) ?? preset.weightDecays,
    };
    const { verses, path, fingerprint } = loadKjv(options.data);
    const corpus = versePairs(verses, {
      heldOutEvery: HELD_OUT_EVERY,
      vocabularySize: config.vocabularySize,
    });
    const jobCount = config.optimizers.length * 2 * config.seeds * config.weightDecays.length;
    const source = { description: `the corpus ${path}`, fingerprint };
    const run = { command, threads, jobCount, makeProgress, source };
    return conduct(
      'language',
      options,
      config,
      run,
      async (metrics, context) => {
        const trainPairs = Math.min(corpus.train.length, config.trainLimit ?? Number.POSITIVE_INFINITY);
        metrics.data = {
          Corpus: `King James Bible (${path}): ${verses.length} verses in ${corpus.chapters.train + corpus.chapters.test} chapters; every ${HELD_OUT_EVERY}th chapter held out`,
          Pairs: `${corpus.train.length} training and ${corpus.test.length} held-out consecutive-verse pairs`,
          Used: `the first ${trainPairs} training pairs; ${Math.min(config.evalPairs, corpus.test.length)} held-out pairs for accuracy`,
          'Weight decay over the run': describeDecay(config, trainPairs),
          Baselines: describeBaselines(config, corpus),
        };
        await runLanguage(
          config,
          { vocabSize: corpus.vocabulary.size, train: corpus.train, test: corpus.test },
          context,
        );
      },
      writeLanguageReport,
    );
  },
};

/** The SGD-or-AdamW experiments' settings that the shared options override. */
interface SgdOrAdamwConfig {
  optimizers: Array<'sgd' | 'adamw'>;
  seeds: number;
  /** Absent where runs count steps: --epochs is then refused. */
  epochs?: number;
  trainLimit: number;
  testLimit: number;
}

/**
 * An experiment on Fashion-MNIST that runs SGD (with momentum) and AdamW: its preset with
 * --optimizers, --seeds and --epochs applied, the images loaded once, the runs conducted and
 * reported as every experiment's are.
 */
function sgdOrAdamwExperiment<C extends SgdOrAdamwConfig>(definition: {
  name: string;
  description: string;
  presets: Record<string, C>;
  presetHelp: string[];
  /** At most this many runs (the progress bar's total). */
  jobCount: (config: C) => number;
  /** What else the report's "Used" line names. */
  alsoUsed?: (config: C, loaded: ClassifyData) => string;
  train: (config: C, loaded: ClassifyData, context: RunnerContext) => Promise<unknown>;
  report: (out: string, metrics: Metrics<C>) => Promise<string>;
}): ExperimentDefinition {
  const { name, presets } = definition;
  return {
    description: definition.description,
    presets,
    presetHelp: definition.presetHelp.join('\n'),
    report: (out, metrics) => definition.report(out, metrics as unknown as Metrics<C>),
    async run(options, command, threads, makeProgress) {
      const preset = presets[options.preset];
      if (options.epochs !== undefined && preset.epochs === undefined)
        throw new InvalidArgumentError(
          `--epochs: ${name} runs count steps (the preset sets them), not epochs`,
        );
      const config: C = {
        ...preset,
        optimizers: options.optimizers ? sgdOrAdamw(name, options.optimizers) : preset.optimizers,
        seeds: options.seeds ?? preset.seeds,
        ...(preset.epochs === undefined ? {} : { epochs: options.epochs ?? preset.epochs }),
      };
      const loaded = loadClassifyData(
        { trainLimit: config.trainLimit, testLimit: config.testLimit } as ClassifyConfig,
        options.data,
      );
      const source = fashionMnistSource(loaded.data);
      const run = { command, threads, jobCount: definition.jobCount(config), makeProgress, source };
      return conduct(
        name,
        options,
        config,
        run,
        async (metrics, context) => {
          const also = definition.alsoUsed?.(config, loaded);
          metrics.data = {
            Dataset: describeFashionMnist(loaded.data),
            Used: `the first ${loaded.trainCount} training and ${loaded.testCount} test images${also ? `; ${also}` : ''}`,
          };
          await definition.train(config, loaded, context);
        },
        definition.report,
      );
    },
  };
}

const stability = sgdOrAdamwExperiment<StabilityConfig>({
  name: 'stability',
  description:
    'learning-rate sweeps to divergence: SGD with momentum and AdamW, alone, with AGR, and with a matched smaller step',
  presets: STABILITY_PRESETS,
  presetHelp: [
    'quick: the MLP, SGD and AdamW, rates x2 apart, 3 seeds, 100 steps a run (about 2 minutes on 2 cores)',
    'full:  the MLP (rates x1.41 apart, 300 steps a run) and the CNN (x2, 100 steps), 4 seeds (about 80 minutes, estimated)',
    'smoke: a few steps of a three-rate grid, for CI (seconds)',
  ],
  // The pilots, and at most every rate of every arm and seed (a sweep stops at its first failure).
  jobCount: (c) =>
    c.models.reduce((n, model) => {
      const { grid } = settingsFor(c, model);
      return n + c.optimizers.length + 3 * c.seeds * c.optimizers.reduce((k, o) => k + grid[o].count, 0);
    }, 0),
  train: runStability,
  report: writeStabilityReport,
});

const smoothness = sgdOrAdamwExperiment<SmoothnessConfig>({
  name: 'smoothness',
  description:
    'the loss landscape along real MLP trajectories with and without AGR: effective smoothness along each step, loss range, top Hessian eigenvalue',
  presets: SMOOTHNESS_PRESETS,
  presetHelp: [
    'quick: SGD and AdamW at 1x and 4x the learning rate, 6,000 images, 3 seeds (about 2 minutes on 2 cores)',
    'full:  the same on 20,000 images for 3 epochs, 5 seeds, more probes (23 minutes measured)',
    'smoke: a few steps of everything, for CI (seconds)',
  ],
  jobCount: (c) => c.optimizers.length * c.lrMultipliers.length * 2 * c.seeds,
  alsoUsed: (c, loaded) =>
    `the first ${Math.min(c.probeBatch, loaded.trainCount)} training images as the probe batch`,
  train: runSmoothness,
  report: writeSmoothnessReport,
});

const ablation = sgdOrAdamwExperiment<AblationConfig>({
  name: 'ablation',
  description:
    'which tensors carry AGR: AGR on every tensor, on small ones only, on large ones only; and the one-step counterfactual per tensor',
  presets: ABLATION_PRESETS,
  presetHelp: [
    'quick: the MLP, SGD and AdamW, 6,000 training images, 3 seeds (under a minute on 2 cores)',
    'full:  the MLP and the CNN, 20,000 training images, all test images, 5 seeds (estimated at about 70 minutes; not yet run)',
    'smoke: a few steps of everything, for CI (seconds)',
  ],
  jobCount: (c) => c.models.length * c.optimizers.length * 4 * c.seeds,
  train: runAblation,
  report: writeAblationReport,
});

/** --optimizers for the experiments that run SGD (with momentum) and AdamW only. */
function sgdOrAdamw(experiment: string, names: OptimizerName[]): Array<'sgd' | 'adamw'> {
  const unsupported = names.filter((n) => n !== 'sgd' && n !== 'adamw');
  if (unsupported.length > 0)
    throw new InvalidArgumentError(
      `--optimizers: ${experiment} runs sgd and adamw only, got '${unsupported.join(',')}'`,
    );
  return names as Array<'sgd' | 'adamw'>;
}

export const EXPERIMENTS = { classify, generate, language, stability, smoothness, ablation } satisfies Record<
  string,
  ExperimentDefinition
>;
export type ExperimentName = keyof typeof EXPERIMENTS;
