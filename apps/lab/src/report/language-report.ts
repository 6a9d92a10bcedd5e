import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import type { LanguageConfig } from '../experiments/language.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { curvesSection, setupSection, standardPlots, totalTrainSeconds } from './common.js';
import { markdownTable, meanStd, textTable } from './markdown.js';
import { lineChart, writePlot } from './plots.js';
import { formatDifference, meanCurve, pairedBySeed, select, significance, summarize } from './summary.js';

const msPerStep = (j: JobResult) => (1000 * j.log.trainSeconds) / j.log.losses.at(-1)!.step;

/** The paper's SOP accuracy (%) per weight decay, AdamW and AdamW+AGR, ALBERT on WikiText-2. */
const PAPER_SOP: Record<string, [number, number]> = {
  '0': [80.02, 80.55],
  '0.0002': [82.14, 84.19],
  '0.0005': [82.01, 84.47],
  '0.001': [82.94, 83.21],
  '0.01': [82.73, 83.06],
};

/** What the SOP numbers can and cannot say, from the numbers themselves. */
function sopComment(results: Record<string, JobResult>): string {
  const sop = summarize(Object.values(results), (j) => j.final.sopAccuracy);
  const mlm = summarize(Object.values(results), (j) => j.final.mlmAccuracy);
  const best = Math.max(...sop.values);
  const head = `Across all runs, held-out SOP accuracy averages ${sop.mean.toFixed(1)}% (best run ${best.toFixed(1)}%) and MLM accuracy ${mlm.mean.toFixed(1)}%. The paper pre-trains far longer on WikiText-2 and reports SOP accuracy above 80%.`;
  return best < 60
    ? `${head} Here the SOP head has not learned the task (chance is 50%), so SOP differences between arms say nothing about the paper's claim at this budget; MLM accuracy is the signal that trained.`
    : `${head} Intervals that include zero are reported as "no significant difference".`;
}

export async function writeLanguageReport(out: string, metrics: Metrics<LanguageConfig>): Promise<string> {
  const { config, results } = metrics;
  const rows: Array<Array<string | number>> = [];
  const terminalRows: Array<Array<string | number>> = [];
  const verdicts: string[] = [];
  for (const optimizer of config.optimizers) {
    for (const wd of config.weightDecays.map(String)) {
      const base = select(results, { weightDecay: wd, arm: optimizer });
      const treated = select(results, { weightDecay: wd, arm: `${optimizer}+agr` });
      if (base.length === 0 || treated.length === 0) continue;
      const cell = (jobs: JobResult[], metric: string) => {
        const s = summarize(jobs, (j) => j.final[metric]);
        return meanStd(s.mean, s.std);
      };
      const dSop = pairedBySeed(base, treated, (j) => j.final.sopAccuracy);
      const dMlm = pairedBySeed(base, treated, (j) => j.final.mlmAccuracy);
      const paper = optimizer === 'adamw' ? PAPER_SOP[wd] : undefined;
      rows.push([
        wd,
        cell(base, 'sopAccuracy'),
        cell(treated, 'sopAccuracy'),
        formatDifference(dSop),
        cell(base, 'mlmAccuracy'),
        cell(treated, 'mlmAccuracy'),
        formatDifference(dMlm),
        paper ? `${paper[0].toFixed(2)} → ${paper[1].toFixed(2)}` : '—',
      ]);
      terminalRows.push([
        optimizer,
        wd,
        cell(base, 'sopAccuracy'),
        cell(treated, 'sopAccuracy'),
        formatDifference(dSop),
        significance(dSop),
        formatDifference(dMlm),
      ]);
      verdicts.push(
        `- ${optimizer}, weight decay ${wd}: SOP ${formatDifference(dSop)} pp (${significance(dSop)}), MLM ${formatDifference(dMlm)} pp (${significance(dMlm)}).`,
      );
    }
  }
  const base = Object.values(results).filter((r) => !r.info.agr);
  const treated = Object.values(results).filter((r) => r.info.agr);
  const overhead = 100 * (summarize(treated, msPerStep).mean / summarize(base, msPerStep).mean - 1);
  const plots = await standardPlots(out, results, { groupField: 'weightDecay', groupTitle: 'weight decay' });
  const curveRows: Array<Record<string, string | number>> = [];
  for (const wd of config.weightDecays.map(String)) {
    for (const arm of new Set(Object.values(results).map((r) => String(r.info.arm)))) {
      const jobs = select(results, { weightDecay: wd, arm });
      for (const p of meanCurve(
        jobs,
        (l) => l.evals,
        (e) => e.sopAccuracy,
      ))
        curveRows.push({ 'weight decay': wd, arm, step: p.step, accuracy: p.value });
    }
  }
  const sopPlot = await writePlot(
    out,
    'sop-accuracy',
    lineChart({
      rows: curveRows,
      x: 'step',
      y: 'accuracy',
      color: 'arm',
      facet: 'weight decay',
      title: 'Held-out SOP accuracy (%) during training, mean over seeds, per weight decay',
    }),
  );
  const m = config.model;
  const report = [
    '# AGR lab: language representation (tiny ALBERT on the King James Bible)',
    '',
    `A tiny ALBERT (factorised embedding ${m.embedding} → hidden ${m.hidden}; one Transformer layer, ${m.heads} head(s),`,
    `feed-forward ${m.feedForward}, shared and applied ${m.layers} times; MLM head tied to the embedding; SOP head on [CLS])`,
    'is pre-trained with masked-language modelling (15% of words; 80/10/10) plus sentence-order prediction on pairs of',
    "consecutive verses, AdamW against AdamW+AGR over the paper's weight decays.",
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    `Batch size ${config.batchSize}, ${config.epochs} epoch(s), peak learning rate ${config.lr} (5% warm-up, cosine decay),`,
    `word-level vocabulary of ${config.vocabularySize} built from the training chapters, sequences of at most ${m.maxLength} tokens.`,
    '',
    '## Results: held-out accuracy (%), mean ± std over seeds, AGR − AdamW paired by seed with 95% interval',
    '',
    markdownTable(
      [
        'weight decay',
        'SOP AdamW',
        'SOP +AGR',
        'SOP difference',
        'MLM AdamW',
        'MLM +AGR',
        'MLM difference',
        'paper SOP (WikiText-2)',
      ],
      rows,
    ),
    '',
    ...verdicts,
    '',
    `AGR's time per step: ${overhead >= 0 ? '+' : ''}${overhead.toFixed(0)}% over the arms without it.`,
    '',
    `Frequency-only baselines on the same held-out batches: ${metrics.data.Baselines ?? 'not recorded'}.`,
    '',
    sopComment(results),
    '',
    ...curvesSection(plots, [{ alt: 'SOP accuracy', file: sopPlot }]),
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  return textTable(
    ['optimizer', 'weight decay', 'SOP %', 'with AGR', 'SOP diff [95% CI]', 'verdict', 'MLM diff'],
    terminalRows,
  );
}
