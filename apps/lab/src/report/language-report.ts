import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { WARMUP_FRACTION } from '../arms.js';
import { MASKING } from '../data/text.js';
import type { LanguageConfig } from '../experiments/language.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import {
  armsOf,
  curvesSection,
  differencePlot,
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
    : `${head} Comparisons whose Holm-adjusted p-value is 0.05 or more are reported as "no significant difference".`;
}

const sop = (j: JobResult) => j.final.sopAccuracy;
const mlm = (j: JobResult) => j.final.mlmAccuracy;

export async function writeLanguageReport(out: string, metrics: Metrics<LanguageConfig>): Promise<string> {
  const { config, results } = metrics;
  const pairs: Array<{
    optimizer: string;
    wd: string;
    base: JobResult[];
    treated: JobResult[];
    sop: Comparison;
    mlm: Comparison;
  }> = [];
  for (const optimizer of config.optimizers) {
    for (const wd of config.weightDecays.map(String)) {
      const base = select(results, { weightDecay: wd, arm: optimizer });
      const treated = select(results, { weightDecay: wd, arm: `${optimizer}+agr` });
      if (base.length === 0 || treated.length === 0) continue;
      pairs.push({
        optimizer,
        wd,
        base,
        treated,
        sop: compare(base, treated, sop),
        mlm: compare(base, treated, mlm),
      });
    }
  }
  adjust(pairs.map((p) => p.sop));
  adjust(pairs.map((p) => p.mlm));
  const claimOf = (p: (typeof pairs)[number]): Claim | null => {
    const paper = p.optimizer === 'adamw' ? PAPER_SOP[p.wd] : undefined;
    if (!paper) return null;
    const change = paper[1] - paper[0];
    return {
      low: change,
      high: change,
      text: `${change >= 0 ? '+' : ''}${change.toFixed(2)} pp SOP on WikiText-2`,
    };
  };
  const rows = pairs.map((p) => {
    const paper = p.optimizer === 'adamw' ? PAPER_SOP[p.wd] : undefined;
    return [
      p.wd,
      summaryText(summarize(p.base, sop)),
      summaryText(summarize(p.treated, sop)),
      formatDifference(p.sop),
      `${verdict(p.sop)} (${formatP(p.sop)})`,
      summaryText(summarize(p.base, mlm)),
      summaryText(summarize(p.treated, mlm)),
      formatDifference(p.mlm),
      `${verdict(p.mlm)} (${formatP(p.mlm)})`,
      paper ? `${paper[0].toFixed(2)} → ${paper[1].toFixed(2)}` : '—',
    ];
  });
  const terminalRows = pairs.map((p) => [
    p.optimizer,
    p.wd,
    summaryText(summarize(p.base, sop)),
    summaryText(summarize(p.treated, sop)),
    formatDifference(p.sop),
    verdict(p.sop),
    formatDifference(p.mlm),
  ]);
  const verdicts = pairs.map((p) => {
    const claim = claimOf(p);
    const against = claim ? claimText(p.sop, claim) : null;
    return `- ${p.optimizer}, weight decay ${p.wd}: ${effectText(p.sop, 'SOP accuracy', 'pp')}${against ? `, and ${against}` : ''}; ${effectText(p.mlm, 'MLM accuracy', 'pp')}.`;
  });
  const base = Object.values(results).filter((r) => !r.info.agr);
  const treated = Object.values(results).filter((r) => r.info.agr);
  const overhead = timeOverheadPercent(treated, base);
  const plots = await standardPlots(out, results, {
    groupField: 'weightDecay',
    groupTitle: 'weight decay',
    model: (job) => `albert (weight decay ${job.info.weightDecay})`,
  });
  const curveRows: Array<Record<string, string | number>> = [];
  for (const wd of config.weightDecays.map(String)) {
    for (const arm of armsOf(results)) {
      const jobs = select(results, { weightDecay: wd, arm });
      for (const p of meanCurve(
        jobs,
        (l) => l.evals,
        (e) => e.sopAccuracy,
      ))
        curveRows.push({ 'weight decay': wd, arm, step: p.step, accuracy: p.value });
    }
  }
  const differenceRows = pairs.flatMap((p) =>
    differenceCurves(
      p.base,
      p.treated,
      (l) => l.evals,
      (e) => e.mlmAccuracy,
    ).map((d) => ({ group: `weight decay ${p.wd}`, pair: `${p.optimizer}+agr − ${p.optimizer}`, ...d })),
  );
  const differenceFile = await differencePlot(out, 'mlm-accuracy-difference', differenceRows, {
    title: "AGR's effect on held-out MLM accuracy: with AGR minus without, per seed (0 = no effect)",
    yTitle: 'MLM accuracy difference (pp)',
  });
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
    `is pre-trained with masked-language modelling (${100 * MASKING.rate}% of words; ${100 * MASKING.mask}/${100 * MASKING.random}/${100 * MASKING.keep}) plus sentence-order prediction on pairs of`,
    "consecutive verses, AdamW against AdamW+AGR over the paper's weight decays.",
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    `Batch size ${config.batchSize}, ${config.epochs} epoch(s), peak learning rate ${config.lr} (${100 * WARMUP_FRACTION}% warm-up, cosine decay),`,
    `word-level vocabulary of ${config.vocabularySize} built from the training chapters, sequences of at most ${m.maxLength} tokens.`,
    '',
    '## Results: held-out accuracy (%), mean ± std over seeds, AGR − AdamW paired by seed with 95% interval',
    '',
    markdownTable(
      [
        'weight decay',
        'SOP AdamW',
        'SOP +AGR',
        'SOP difference [raw 95% CI]',
        'SOP verdict',
        'MLM AdamW',
        'MLM +AGR',
        'MLM difference [raw 95% CI]',
        'MLM verdict',
        'paper SOP (WikiText-2)',
      ],
      rows,
    ),
    '',
    statisticsNote([
      { what: 'SOP comparison', tests: pairs.length },
      { what: 'MLM comparison', tests: pairs.length },
    ]),
    '',
    ...verdicts,
    '',
    `![AGR's effect on MLM accuracy](${differenceFile})`,
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
