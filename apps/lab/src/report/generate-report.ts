import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { GENERATE_HYPERPARAMETERS, type GenerateConfig } from '../experiments/generate.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { curvesSection, setupSection, standardPlots, totalTrainSeconds } from './common.js';
import { markdownTable, meanStd, textTable } from './markdown.js';
import { lineChart, writePlot } from './plots.js';
import { formatDifference, meanCurve, pairedBySeed, select, significance, summarize } from './summary.js';

const msPerStep = (j: JobResult) => (1000 * j.log.trainSeconds) / j.log.losses.at(-1)!.step;

/** How far the samples are from the data, judged against the real-vs-real floor, not assumed. */
function qualityComment(results: Record<string, JobResult>, floor: number): string {
  const f = summarize(Object.values(results), (j) => j.final.fid);
  const ratio = f.mean / floor;
  const head = `The generated samples average FID ${f.mean.toFixed(1)} against a real-vs-real floor of ${floor.toFixed(2)} (${ratio.toFixed(0)}x).`;
  if (ratio > 20) {
    return `${head} At this training budget the tiny UNet's samples are still far from Fashion-MNIST (see the grids below), so the two arms compare undertrained models: the difference between them says little about the paper's claim, which is about well-trained models.`;
  }
  return `${head} The samples resemble the data to a degree, so the difference between arms is a fair, if small-scale, test of the paper's claim.`;
}

export async function writeGenerateReport(out: string, metrics: Metrics<GenerateConfig>): Promise<string> {
  const { config } = metrics;
  const results = Object.fromEntries(
    Object.entries(metrics.results).filter(([, r]) => r.info.model === 'unet'),
  );
  const armRows: Array<Array<string | number>> = [];
  const pairRows: Array<Array<string | number>> = [];
  const terminalRows: Array<Array<string | number>> = [];
  const verdicts: string[] = [];
  for (const optimizer of config.optimizers) {
    for (const arm of [optimizer, `${optimizer}+agr`]) {
      const jobs = select(results, { arm });
      if (jobs.length === 0) continue;
      const f = summarize(jobs, (j) => j.final.fid);
      const l = summarize(jobs, (j) => j.final.emaHeldOutLoss);
      armRows.push([
        arm,
        jobs.length,
        meanStd(f.mean, f.std, 2),
        meanStd(l.mean, l.std, 4),
        summarize(jobs, msPerStep).mean.toFixed(0),
      ]);
    }
    const base = select(results, { arm: optimizer });
    const treated = select(results, { arm: `${optimizer}+agr` });
    if (base.length === 0 || treated.length === 0) continue;
    const dFid = pairedBySeed(base, treated, (j) => j.final.fid);
    const dLoss = pairedBySeed(base, treated, (j) => j.final.emaHeldOutLoss);
    const overhead = 100 * (summarize(treated, msPerStep).mean / summarize(base, msPerStep).mean - 1);
    pairRows.push([
      `${optimizer}+agr − ${optimizer}`,
      formatDifference(dFid),
      significance(dFid),
      formatDifference(dLoss, 4),
      `${overhead >= 0 ? '+' : ''}${overhead.toFixed(0)}%`,
    ]);
    const fb = summarize(base, (j) => j.final.fid);
    const ft = summarize(treated, (j) => j.final.fid);
    terminalRows.push([
      optimizer,
      meanStd(fb.mean, fb.std),
      meanStd(ft.mean, ft.std),
      formatDifference(dFid),
      significance(dFid),
    ]);
    verdicts.push(
      `- ${optimizer}: AGR changed the FID by ${formatDifference(dFid)} (${significance(dFid)}; lower is better) over ${dFid?.n ?? base.length} seeds.`,
    );
  }
  const plots = await standardPlots(out, results, {
    groupField: 'model',
    groupTitle: 'model',
    logLoss: true,
  });
  const heldRows: Array<Record<string, string | number>> = [];
  for (const arm of new Set(Object.values(results).map((r) => String(r.info.arm)))) {
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
  const hyper = markdownTable(
    ['optimizer', 'lr (peak)', 'weight decay'],
    config.optimizers.map((o) => [
      o,
      GENERATE_HYPERPARAMETERS[o].lr,
      GENERATE_HYPERPARAMETERS[o].weightDecay,
    ]),
  );
  const report = [
    '# AGR lab: image generation (DDPM on Fashion-MNIST)',
    '',
    `A tiny UNet (base width ${config.channels}, 28 → 14 → 7, GroupNorm, SiLU, sinusoidal timestep embedding) predicts`,
    'the noise of a DDPM with a linear beta schedule (1e-4 to 0.02 over 1,000 steps). Gradients are clipped to norm 1.0,',
    'then AGR (in the "+agr" arms), then the optimizer, as in the paper\'s DDPM setting. Samples come from an EMA of the',
    `weights (decay ${config.emaDecay}) with deterministic DDIM in ${config.ddimSteps} steps, from the same starting noise in every arm.`,
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    `Batch size ${config.batchSize}, ${config.epochs} epoch(s); learning rate warmed up over 5% of steps then cosine-decayed.`,
    '',
    hyper,
    '',
    '## What the FID here is',
    '',
    `**FID, FMNIST-CNN features**: the Fréchet distance between ${config.fidSamples} generated images and ${config.fidSamples}`,
    `real test images in the ${64}-dimensional penultimate layer of a Fashion-MNIST CNN classifier. It is not Inception FID`,
    "and its values are not comparable with the paper's CIFAR-10 numbers, only between the arms here.",
    '',
    `- Feature network: ${metrics.data['Feature CNN']}`,
    `- Floor: real training images against real test images give FID ${metrics.data['FID, real vs real']} at this sample size.`,
    '',
    '## Results',
    '',
    markdownTable(['arm', 'seeds', 'FID, FMNIST-CNN features', 'held-out loss (EMA)', 'ms/step'], armRows),
    '',
    '### AGR against the same optimizer without it (paired by seed)',
    '',
    markdownTable(
      ['difference', 'FID [95% CI]', 'verdict', 'held-out loss [95% CI]', 'time per step'],
      pairRows,
    ),
    '',
    ...verdicts,
    '',
    'A "no significant difference" verdict means the 95% interval includes zero at this scale and number of seeds.',
    '',
    qualityComment(results, Number(metrics.data['FID, real vs real'])),
    '',
    "### The paper's figures beside ours",
    '',
    markdownTable(
      ['source', 'setting', 'without AGR', 'with AGR'],
      [
        ['paper', 'DDPM, CIFAR-10, 2000 epochs, Inception FID', 'Adan 7.98', 'Adan+AGR 7.44'],
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
