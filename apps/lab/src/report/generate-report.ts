import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { WARMUP_FRACTION } from '../arms.js';
import { NoiseSchedule } from '../experiments/ddpm.js';
import {
  DENOISER_MODELS,
  GENERATE_CLIP,
  GENERATE_HYPERPARAMETERS,
  type GenerateConfig,
} from '../experiments/generate.js';
import { CNN_FEATURES } from '../models.js';
import type { Metrics } from '../run/experiment.js';
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
  type Comparison,
  claimText,
  compare,
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

const fid = (j: JobResult) => j.final.fid;
const maxClassProbability = (j: JobResult) => j.final.maxClassProbability;
const heldOutLoss = (j: JobResult) => j.final.emaHeldOutLoss;

/** The paper's DDPM result on CIFAR-10: Inception FID 7.98 with Adan, 7.44 with Adan+AGR. */
const PAPER_FID = { base: 7.98, treated: 7.44 };

/**
 * The paper's claim in this run's units: the same relative change of FID (-6.8%) applied to this
 * arm's mean FID without AGR. The FIDs differ in kind (CNN features here, Inception there), so
 * only a relative change is comparable.
 */
function claimFor(base: JobResult[]): Claim | null {
  const mean = summarize(base, fid).mean;
  if (!Number.isFinite(mean)) return null;
  const relative = PAPER_FID.treated / PAPER_FID.base - 1;
  const change = relative * mean;
  return {
    low: change,
    high: change,
    text: `${(100 * relative).toFixed(1)}% of FID, ${change.toFixed(1)} here, from Adan ${PAPER_FID.base} → Adan+AGR ${PAPER_FID.treated} on CIFAR-10`,
  };
}

/**
 * How far the samples are from the data, judged against the real-vs-real floor and the feature
 * CNN's confidence on real images, not assumed. Runs from before the max-class probability was
 * recorded are judged on FID alone.
 */
function qualityComment(
  results: Record<string, JobResult>,
  floor: number,
  realProbability: number | undefined,
): string {
  const f = summarize(Object.values(results), fid);
  const ratio = f.mean / floor;
  const sure = summarize(Object.values(results), maxClassProbability);
  const sureText = Number.isFinite(sure.mean)
    ? ` The feature CNN's mean largest class probability on the samples is ${sure.mean.toFixed(3)}${realProbability === undefined ? '' : ` (${realProbability.toFixed(3)} on real test images)`}.`
    : '';
  const head = `The generated samples average FID ${f.mean.toFixed(1)} against a real-vs-real floor of ${floor.toFixed(2)} (${ratio.toFixed(0)}x).${sureText}`;
  if (ratio > 20) {
    return `${head} At this training budget the samples are still far from Fashion-MNIST (see the grids below), so the two arms compare undertrained models: the difference between them says little about the paper's claim, which is about well-trained models.`;
  }
  return `${head} The samples resemble the data to a degree (see the grids below), so the difference between arms is a fair, if small-scale, test of the paper's claim.`;
}

/** One sentence on what was diffused and by what, from the run's configuration. */
function denoiserText(config: GenerateConfig): string {
  const denoiser = config.denoiser ?? {
    kind: 'unet',
    channels: (config as { channels?: number }).channels ?? 8,
  };
  if (denoiser.kind === 'unet') {
    return `A tiny UNet (base width ${denoiser.channels}, 28 → 14 → 7, GroupNorm, SiLU, sinusoidal timestep embedding) predicts the noise added to the images`;
  }
  return `Latent diffusion with a linear autoencoder: each image is encoded as its top ${denoiser.components} principal components (fitted to the training images used, each coordinate scaled to variance 1), and a residual MLP (width ${denoiser.width}, ${denoiser.depth} block${denoiser.depth === 1 ? '' : 's'} of LayerNorm, SiLU and a linear layer, sinusoidal timestep embedding added in every block) predicts the noise added to those coordinates; samples are decoded back to pixels`;
}

export async function writeGenerateReport(out: string, metrics: Metrics<GenerateConfig>): Promise<string> {
  const { config } = metrics;
  const model = String(
    Object.values(metrics.results).find((r) => DENOISER_MODELS.includes(String(r.info.model)))?.info.model ??
      'unet',
  );
  const results = Object.fromEntries(
    Object.entries(metrics.results).filter(([, r]) => DENOISER_MODELS.includes(String(r.info.model))),
  );
  const armRows: Array<Array<string | number>> = [];
  const pairs: Array<{
    optimizer: string;
    fid: Comparison;
    loss: Comparison;
    overhead: number;
    claim: Claim | null;
  }> = [];
  for (const optimizer of config.optimizers) {
    for (const arm of [optimizer, `${optimizer}+agr`]) {
      const jobs = select(results, { arm });
      if (jobs.length === 0) continue;
      armRows.push([
        arm,
        jobs.length,
        summaryText(summarize(jobs, fid)),
        summaryText(summarize(jobs, maxClassProbability), 3),
        summaryText(summarize(jobs, heldOutLoss), 4),
        summarize(jobs, msPerStep).mean.toFixed(0),
      ]);
    }
    const base = select(results, { arm: optimizer });
    const treated = select(results, { arm: `${optimizer}+agr` });
    if (base.length === 0 || treated.length === 0) continue;
    pairs.push({
      optimizer,
      fid: compare(base, treated, fid),
      loss: compare(base, treated, heldOutLoss),
      overhead: timeOverheadPercent(treated, base),
      claim: optimizer === 'adan' ? claimFor(base) : null,
    });
  }
  adjust(pairs.map((p) => p.fid));
  adjust(pairs.map((p) => p.loss));
  const pairRows = pairs.map((p) => [
    `${p.optimizer}+agr − ${p.optimizer}`,
    formatDifference(p.fid),
    formatP(p.fid),
    verdict(p.fid),
    formatDifference(p.loss, 4),
    verdict(p.loss),
    `${p.overhead >= 0 ? '+' : ''}${p.overhead.toFixed(0)}%`,
  ]);
  const terminalRows = pairs.map((p) => [
    p.optimizer,
    summaryText(summarize(select(results, { arm: p.optimizer }), fid)),
    summaryText(summarize(select(results, { arm: `${p.optimizer}+agr` }), fid)),
    formatDifference(p.fid),
    verdict(p.fid),
  ]);
  const verdicts = pairs.map((p) => {
    const claim = p.claim ? claimText(p.fid, p.claim) : null;
    return `- ${p.optimizer}: ${effectText(p.fid, 'the FID (lower is better)')}${claim ? `; ${claim}` : ''}.`;
  });
  const plots = await standardPlots(out, results, {
    groupField: 'model',
    groupTitle: 'model',
    logLoss: true,
    model: () => model,
  });
  const heldRows: Array<Record<string, string | number>> = [];
  for (const arm of armsOf(results)) {
    for (const p of meanCurve(
      select(results, { arm }),
      (l) => l.evals,
      (e) => e.heldOutLoss,
    ))
      heldRows.push({ arm, step: p.step, loss: p.value });
  }
  const heldPlot = await writePlot(
    out,
    'held-out-loss',
    lineChart({
      rows: heldRows,
      x: 'step',
      y: 'loss',
      color: 'arm',
      title: 'Held-out denoising loss (mean over seeds)',
    }),
  );
  // FID and max-class probability of the EMA samples at every evaluation: whether the run was
  // still improving when it stopped (runs from before every evaluation sampled have only the last).
  const fidCurves = armsOf(results).map((arm) => ({
    arm,
    fid: meanCurve(
      select(results, { arm }),
      (l) => l.evals,
      (e) => e.fid,
    ),
    sure: meanCurve(
      select(results, { arm }),
      (l) => l.evals,
      (e) => e.maxClassProbability,
    ),
  }));
  const fidPlot = await writePlot(
    out,
    'fid-over-training',
    lineChart({
      rows: fidCurves.flatMap((c) => c.fid.map((p) => ({ arm: c.arm, step: p.step, FID: p.value }))),
      x: 'step',
      y: 'FID',
      color: 'arm',
      title: 'FID of the EMA samples over training (mean over seeds)',
    }),
  );
  const learningRows = fidCurves.flatMap((c) =>
    c.fid.map((p) => [
      c.arm,
      p.step,
      p.value.toFixed(1),
      c.sure.find((q) => q.step === p.step)?.value.toFixed(3) ?? '',
    ]),
  );
  const differenceRows = config.optimizers.flatMap((optimizer) =>
    differenceCurves(
      select(results, { arm: optimizer }),
      select(results, { arm: `${optimizer}+agr` }),
      (l) => l.evals,
      (e) => e.heldOutLoss,
    ).map((d) => ({ group: model, pair: `${optimizer}+agr − ${optimizer}`, ...d })),
  );
  const differenceFile = await differencePlot(out, 'held-out-loss-difference', differenceRows, {
    title: "AGR's effect on the held-out denoising loss: with AGR minus without, per seed (0 = no effect)",
    yTitle: 'loss difference',
  });
  const hyper = markdownTable(
    ['optimizer', 'lr (peak)', 'weight decay'],
    config.optimizers.map((o) => [
      o,
      GENERATE_HYPERPARAMETERS[o].lr,
      GENERATE_HYPERPARAMETERS[o].weightDecay,
    ]),
  );
  const schedule = new NoiseSchedule();
  const report = [
    '# AGR lab: image generation (DDPM on Fashion-MNIST)',
    '',
    `${denoiserText(config)}, in a DDPM with a linear beta schedule (${schedule.betas[0]} to ${schedule.betas[schedule.timesteps - 1]} over ${schedule.timesteps.toLocaleString('en-US')} steps). Gradients are clipped to norm ${GENERATE_CLIP},`,
    'then AGR (in the "+agr" arms), then the optimizer, as in the paper\'s DDPM setting. Samples come from an EMA of the',
    `weights (decay ${config.emaDecay}) with deterministic DDIM in ${config.ddimSteps} steps, from the same starting noise in every arm.`,
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    `Batch size ${config.batchSize}, ${config.epochs} epoch(s); learning rate warmed up over ${100 * WARMUP_FRACTION}% of steps then cosine-decayed.`,
    '',
    hyper,
    '',
    '## What the FID here is',
    '',
    `**FID, FMNIST-CNN features**: the Fréchet distance between ${config.fidSamples} generated images and ${config.fidSamples}`,
    `real test images in the ${CNN_FEATURES}-dimensional penultimate layer of a Fashion-MNIST CNN classifier. It is not Inception FID`,
    "and its values are not comparable with the paper's CIFAR-10 numbers, only between the arms here.",
    '',
    `- Feature network: ${metrics.data['Feature CNN']}`,
    `- Floor: real training images against real test images give FID ${metrics.data['FID, real vs real']} at this sample size.`,
    '',
    '## Results',
    '',
    markdownTable(
      ['arm', 'seeds', 'FID, FMNIST-CNN features', 'max-class probability', 'held-out loss (EMA)', 'ms/step'],
      armRows,
    ),
    '',
    `Beside them, real images: FID ${metrics.data['FID, real vs real']} (training against test images), ${metrics.data['Max-class probability, real'] === undefined ? 'max-class probability not recorded in this run' : `max-class probability ${metrics.data['Max-class probability, real']} (test images)`}. The max-class probability is the feature CNN's largest softmax output, averaged over the samples: how sure it is that each sample is some garment.`,
    '',
    '### AGR against the same optimizer without it (paired by seed)',
    '',
    markdownTable(
      [
        'difference',
        'FID [raw 95% CI]',
        'p-value',
        'verdict',
        'held-out loss [raw 95% CI]',
        'verdict',
        'time per step',
      ],
      pairRows,
    ),
    '',
    statisticsNote([
      { what: 'FID comparison', tests: pairs.length },
      { what: 'held-out-loss comparison', tests: pairs.length },
    ]),
    '',
    ...verdicts,
    '',
    `![AGR's effect on the held-out loss](${differenceFile})`,
    '',
    qualityComment(
      results,
      Number(metrics.data['FID, real vs real']),
      metrics.data['Max-class probability, real'] === undefined
        ? undefined
        : Number(metrics.data['Max-class probability, real']),
    ),
    '',
    '### Learning curve',
    '',
    'FID and max-class probability of samples drawn at each evaluation (EMA weights, the same starting noise), mean over seeds:',
    '',
    markdownTable(['arm', 'step', 'FID', 'max-class probability'], learningRows),
    '',
    `![FID over training](${fidPlot})`,
    '',
    "### The paper's figures beside ours",
    '',
    markdownTable(
      ['source', 'setting', 'without AGR', 'with AGR'],
      [
        [
          'paper',
          'DDPM, CIFAR-10, 2000 epochs, Inception FID',
          `Adan ${PAPER_FID.base}`,
          `Adan+AGR ${PAPER_FID.treated}`,
        ],
        ['paper', 'same, Inception Score', '9.22', '9.34'],
        ...terminalRows.map((r) => [
          'this run',
          `tiny DDPM, Fashion-MNIST, FMNIST-CNN FID`,
          `${r[0]} ${r[1]}`,
          `${r[0]}+agr ${r[2]}`,
        ]),
      ],
    ),
    '',
    '## Samples (seed 0, EMA weights, DDIM)',
    '',
    ...config.optimizers.flatMap((o) => [
      `${o}: ![${o}](samples-${o}.png)  ${o}+agr: ![${o}+agr](samples-${o}+agr.png)`,
      '',
    ]),
    ...curvesSection(plots, [{ alt: 'held-out loss', file: heldPlot }]),
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  return textTable(['optimizer', 'FID', 'with AGR', 'AGR − base [95% CI]', 'verdict'], terminalRows);
}
