import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { OPTIMIZERS, WARMUP_FRACTION } from '../arms.js';
import { CLASSIFY_HYPERPARAMETERS, type ClassifyConfig } from '../experiments/classify.js';
import type { Metrics } from '../run/experiment.js';
import { EMA_DECAY } from '../run/log.js';
import type { JobResult } from '../run/runner.js';
import {
  armsOf,
  curvesSection,
  differencePlot,
  msPerStep,
  setupSection,
  standardPlots,
  statisticsNote,
  timeOverheadPercent,
  totalTrainSeconds,
} from './common.js';
import { markdownTable, textTable } from './markdown.js';
import { lineChart, writePlot } from './plots.js';
import {
  adjust,
  type Claim,
  claimText,
  compare,
  type Decision,
  differenceCurves,
  effectText,
  formatDifference,
  formatP,
  meanCurve,
  select,
  summarize,
  summaryText,
  verdict,
} from './summary.js';

const accuracy = (j: JobResult) => j.final.testAccuracy;
const testLoss = (j: JobResult) => j.final.testLoss;
const stepsToTarget = (j: JobResult) => j.log.stepsToTarget ?? Number.NaN;

/**
 * The paper's classification gains from AdamW to AdamW+AGR, read off its curves (CIFAR-100
 * ResNet-18 and VGG-11, Tiny-ImageNet Swin-T and TinyViT-5M): +0.3 to +0.8 points.
 */
const PAPER_CLAIM: Claim = {
  low: 0.3,
  high: 0.8,
  text: '+0.3 to +0.8 pp for AdamW on CIFAR-100 and Tiny-ImageNet',
};

/** "12 ± 3 (2/3 reached)", or why there is no number: "none of 3 reached". */
function stepsCell(jobs: JobResult[]): string {
  const reached = jobs.filter((j) => j.log.stepsToTarget !== null).length;
  if (reached === 0) return `none of ${jobs.length} reached the target`;
  // summaryText's own note would repeat the diverged runs: they are among those that did not reach.
  const s = summarize(jobs, stepsToTarget);
  const diverged = s.diverged > 0 ? `; ${s.diverged} diverged` : '';
  return `${summaryText({ ...s, diverged: 0 }, 0)} (${reached} of ${jobs.length} reached${diverged})`;
}

/** Each model and optimizer run with and without AGR: the two arms' jobs, paired by seed. */
function armPairs(metrics: Metrics<ClassifyConfig>) {
  const { config, results } = metrics;
  return config.models.flatMap((model) =>
    config.optimizers.flatMap((optimizer) => {
      const base = select(results, { model, arm: optimizer });
      const treated = select(results, { model, arm: `${optimizer}+agr` });
      return base.length > 0 && treated.length > 0 ? [{ model, optimizer, base, treated }] : [];
    }),
  );
}

/**
 * What a classify run decided about AGR's effect on test accuracy, per model and optimizer: a
 * difference whose Holm-adjusted p-value (over the run's accuracy comparisons, as in the report)
 * is below 0.05, or arms identical in every seed; anything else is left open.
 */
export function classifyDecisions(metrics: Metrics<ClassifyConfig>): Decision[] {
  const pairs = armPairs(metrics).map((p) => ({ ...p, acc: compare(p.base, p.treated, accuracy) }));
  adjust(pairs.map((p) => p.acc));
  return pairs.map((p) => {
    const v = verdict(p.acc);
    return {
      subject: `classify · ${p.model} · ${p.optimizer}`,
      text: effectText(p.acc, 'test accuracy', 'pp'),
      decided: v === 'higher' || v === 'lower' || v === 'identical',
    };
  });
}

/** Writes report.md and the plots for a classify run; returns the summary table for the terminal. */
export async function writeClassifyReport(out: string, metrics: Metrics<ClassifyConfig>): Promise<string> {
  const { config, results } = metrics;
  const armRows: Array<Array<string | number>> = [];
  for (const model of config.models) {
    for (const optimizer of config.optimizers) {
      for (const arm of [optimizer, `${optimizer}+agr`]) {
        const jobs = select(results, { model, arm });
        if (jobs.length === 0) continue;
        armRows.push([
          model,
          arm,
          jobs.length,
          summaryText(summarize(jobs, accuracy)),
          summaryText(summarize(jobs, testLoss), 4),
          stepsCell(jobs),
          summarize(jobs, msPerStep).mean.toFixed(1),
        ]);
      }
    }
  }
  const pairs = armPairs(metrics).map(({ model, optimizer, base, treated }) => ({
    model,
    optimizer,
    acc: compare(base, treated, accuracy),
    steps: compare(base, treated, stepsToTarget, 'did not reach the target'),
    overhead: timeOverheadPercent(treated, base),
  }));
  adjust(pairs.map((p) => p.acc));
  adjust(pairs.map((p) => p.steps));
  const pairRows = pairs.map((p) => [
    p.model,
    `${p.optimizer}+agr − ${p.optimizer}`,
    formatDifference(p.acc),
    formatP(p.acc),
    verdict(p.acc),
    formatDifference(p.steps, 0),
    verdict(p.steps),
    `${p.overhead >= 0 ? '+' : ''}${p.overhead.toFixed(0)}%`,
  ]);
  const terminalRows = pairs.map((p) => [
    p.model,
    p.optimizer,
    summaryText(summarize(select(results, { model: p.model, arm: p.optimizer }), accuracy)),
    summaryText(summarize(select(results, { model: p.model, arm: `${p.optimizer}+agr` }), accuracy)),
    formatDifference(p.acc),
    verdict(p.acc),
  ]);
  const verdicts = pairs.map((p) => {
    const claim = p.optimizer === 'adamw' ? claimText(p.acc, PAPER_CLAIM) : null;
    return `- ${p.model}, ${p.optimizer}: ${effectText(p.acc, 'test accuracy', 'pp')}${claim ? `; ${claim}` : ''}.`;
  });

  const plots = await standardPlots(out, results, {
    groupField: 'model',
    groupTitle: 'model',
    logLoss: true,
    model: (job) => String(job.info.model),
  });
  const accRows: Array<Record<string, string | number>> = [];
  const differenceRows: Array<{
    group: string;
    pair: string;
    seed: number;
    step: number;
    difference: number;
  }> = [];
  for (const model of config.models) {
    for (const arm of armsOf(results)) {
      const jobs = select(results, { model, arm });
      for (const p of meanCurve(
        jobs,
        (l) => l.evals,
        (e) => e.testAccuracy,
      ))
        accRows.push({ model, arm, step: p.step, accuracy: p.value });
    }
    for (const optimizer of config.optimizers) {
      const base = select(results, { model, arm: optimizer });
      const treated = select(results, { model, arm: `${optimizer}+agr` });
      for (const d of differenceCurves(
        base,
        treated,
        (l) => l.evals,
        (e) => e.testAccuracy,
      ))
        differenceRows.push({ group: model, pair: `${optimizer}+agr − ${optimizer}`, ...d });
    }
  }
  const evaluation = metrics.evaluation;
  const accuracyPlot = await writePlot(
    out,
    'test-accuracy',
    lineChart({
      rows: accRows,
      x: 'step',
      y: 'accuracy',
      color: 'arm',
      facet: 'model',
      title: evaluation
        ? `Test accuracy (%), mean over seeds: on the first ${evaluation.curveExamples.toLocaleString('en-US')} test images, the last point on all ${evaluation.finalExamples.toLocaleString('en-US')}`
        : 'Test accuracy (%), mean over seeds: on a subset of the test images (its size was not recorded), the last point on all of them',
    }),
  );
  const differenceFile = await differencePlot(out, 'test-accuracy-difference', differenceRows, {
    title: "AGR's effect on test accuracy: with AGR minus without, per seed (0 = no effect)",
    yTitle: 'accuracy difference (pp)',
  });

  const hyper = markdownTable(
    ['optimizer', 'lr (peak)', 'weight decay', 'other'],
    OPTIMIZERS.filter((o) => config.optimizers.includes(o)).map((o) => [
      o,
      CLASSIFY_HYPERPARAMETERS[o].lr,
      CLASSIFY_HYPERPARAMETERS[o].weightDecay,
      o === 'sgd'
        ? 'momentum 0.9'
        : o === 'adan'
          ? 'betas (0.98, 0.92, 0.99), proximal decay'
          : 'betas (0.9, 0.999)',
    ]),
  );
  const summaryHeaders = ['model', 'optimizer', 'test acc %', 'with AGR', 'AGR − base [95% CI]', 'verdict'];
  const report = [
    '# AGR lab: Fashion-MNIST classification',
    '',
    'Each arm trains the same model from the same initial weights on the same batches (the seed fixes both);',
    'the "+agr" arm puts AGR (`chain(agr(), optimizer)`) in front of the optimizer. Differences are paired by seed.',
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    `Batch size ${config.batchSize}; epochs ${JSON.stringify(config.epochs)}; learning rate warmed up over the first ${100 * WARMUP_FRACTION}% of steps`,
    'then cosine-decayed to zero. Hyperparameters (the same for every model, with or without AGR):',
    '',
    hyper,
    '',
    '## Results',
    '',
    'Test accuracy and loss on the whole test set at the end of training. "Steps to target" is the first step at which',
    `the smoothed training loss (EMA, ${EMA_DECAY}) reached ${JSON.stringify(config.targetLoss)}; ms/step times the training`,
    'step only (forward, backward, optimizer), without evaluation.',
    '',
    markdownTable(
      ['model', 'arm', 'seeds', 'test acc %', 'test loss', 'steps to target', 'ms/step'],
      armRows,
    ),
    '',
    '### AGR against the same optimizer without it (paired by seed)',
    '',
    markdownTable(
      [
        'model',
        'difference',
        'test acc (pp) [raw 95% CI]',
        'p-value',
        'verdict',
        'steps to target [raw 95% CI]',
        'verdict',
        'time per step',
      ],
      pairRows,
    ),
    '',
    statisticsNote([
      { what: 'test-accuracy comparison', tests: pairs.length },
      { what: 'steps-to-target comparison', tests: pairs.length },
    ]),
    'The time column is the per-step cost of AGR, in wall-clock time, so other load on the machine shows in it.',
    '',
    '### What this shows',
    '',
    ...verdicts,
    '',
    `![AGR's effect on test accuracy](${differenceFile})`,
    '',
    "### The paper's figures beside ours",
    '',
    'The paper reports classification gains from AdamW to AdamW+AGR read off its curves (CIFAR-100 ResNet-18',
    '~67.7 → ~68.5, VGG-11 ~65.5 → ~65.9; Tiny-ImageNet Swin-T ~68.3 → ~68.9, TinyViT-5M ~69.4 → ~69.7), that is',
    `+${PAPER_CLAIM.low} to +${PAPER_CLAIM.high} points, with no seeds or error bars. Ours are on Fashion-MNIST with far smaller models and budgets,`,
    'so only the sign and the size relative to seed noise are comparable.',
    '',
    ...curvesSection(plots, [{ alt: 'test accuracy', file: accuracyPlot }]),
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  return textTable(summaryHeaders, terminalRows);
}
