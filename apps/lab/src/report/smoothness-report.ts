import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { type SmoothnessConfig, smoothnessArmName } from '../experiments/smoothness.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { median } from '../stats.js';
import { setupSection, totalTrainSeconds } from './common.js';
import { markdownTable, textTable } from './markdown.js';
import { lineChart, writePlot } from './plots.js';
import {
  adjust,
  type Comparison,
  compare,
  type Decision,
  formatDifference,
  formatP,
  select,
  summarize,
  summaryText,
  verdict,
} from './summary.js';

/** Median over a run's probes of the effective smoothness along its step (s = 1). */
export const smoothnessAtOne = (j: JobResult) =>
  median((j.log.smoothness ?? []).filter((p) => p.multiple === 1).map((p) => p.smoothness));

/** Median over a run's probes of the loss range along the step, s from 0 to the largest multiple. */
export const lossRange = (j: JobResult) => {
  const bySteps = new Map<number, number[]>();
  for (const p of j.log.smoothness ?? []) bySteps.set(p.step, [...(bySteps.get(p.step) ?? []), p.loss]);
  return median([...bySteps.values()].map((ls) => Math.max(...ls) - Math.min(...ls)));
};

/** Median of a run's top Hessian eigenvalues. */
export const topEigenvalue = (j: JobResult) => median((j.log.curvature ?? []).map((c) => c.eigenvalue));

const logOf = (metric: (j: JobResult) => number) => (j: JobResult) => Math.log(metric(j));

/**
 * The smallest change in smoothness that would matter: 10% (in log units, log 1.1). Both 95%
 * intervals inside +-this rule out a smoothing of that size.
 */
export const SMOOTHING_MARGIN = Math.log(1.1);

const within = (c: Comparison, margin: number) => {
  const d = c.difference;
  return (
    c.identical || (d !== null && d.low !== null && d.high !== null && d.low > -margin && d.high < margin)
  );
};

function decide(smooth: Comparison, curvature: Comparison): [string, boolean] {
  const [s, c] = [verdict(smooth), verdict(curvature)];
  if (s === 'lower' && c === 'lower')
    return [
      "AGR's trajectories were smoother: lower effective smoothness and a smaller top Hessian eigenvalue (confirms the claim here).",
      true,
    ];
  if (s === 'higher' && c === 'higher')
    return [
      "AGR's trajectories were rougher: higher effective smoothness and a larger top Hessian eigenvalue (refutes the claim here).",
      true,
    ];
  if ((s === 'lower' && c === 'higher') || (s === 'higher' && c === 'lower'))
    return [`mixed: effective smoothness ${s}, top Hessian eigenvalue ${c} with AGR.`, false];
  if (within(smooth, SMOOTHING_MARGIN) && within(curvature, SMOOTHING_MARGIN))
    return [
      'no smoothing of 10% or more: both intervals (effective smoothness, top Hessian eigenvalue) lie within ±10% (refutes a material effect here).',
      true,
    ];
  return [
    `undecided: with AGR, effective smoothness: ${s}; top Hessian eigenvalue: ${c} (Holm-adjusted); the intervals are too wide to rule out a 10% change.`,
    false,
  ];
}

/** Everything the report shows, from the results alone. */
function analyze(metrics: Metrics<SmoothnessConfig>) {
  const { config, results } = metrics;
  const armRows: Array<Array<string | number>> = [];
  const groups: Array<{
    optimizer: string;
    lr: number;
    smooth: Comparison;
    range: Comparison;
    curvature: Comparison;
  }> = [];
  const curveRows: Array<Record<string, string | number>> = [];
  for (const optimizer of config.optimizers) {
    for (const lr of config.lrMultipliers) {
      const [baseName, agrName] = [
        smoothnessArmName(optimizer, false, lr),
        smoothnessArmName(optimizer, true, lr),
      ];
      const base = select(results, { arm: baseName });
      const treated = select(results, { arm: agrName });
      if (base.length === 0 || treated.length === 0) continue;
      for (const [name, jobs] of [
        [baseName, base],
        [agrName, treated],
      ] as const) {
        armRows.push([
          name,
          jobs.length,
          summaryText(summarize(jobs, smoothnessAtOne), 3),
          summaryText(summarize(jobs, lossRange), 4),
          summaryText(summarize(jobs, topEigenvalue), 2),
          summaryText(summarize(jobs, (j) => j.final.testAccuracy)),
        ]);
        for (const job of jobs)
          for (const p of job.log.smoothness ?? [])
            if (p.multiple === 1)
              curveRows.push({
                panel: `${optimizer} · lr×${lr}`,
                arm: name,
                seed: `seed ${job.info.seed}`,
                step: p.step,
                smoothness: p.smoothness,
              });
      }
      groups.push({
        optimizer,
        lr,
        smooth: compare(base, treated, logOf(smoothnessAtOne)),
        range: compare(base, treated, lossRange),
        curvature: compare(base, treated, logOf(topEigenvalue), 'has no positive eigenvalue'),
      });
    }
  }
  adjust(groups.flatMap((g) => [g.smooth, g.range, g.curvature]));
  const pairRows = groups.flatMap((g) => [
    [
      `${g.optimizer} · lr×${g.lr}`,
      'log effective smoothness (s = 1)',
      formatDifference(g.smooth, 3),
      formatP(g.smooth),
      verdict(g.smooth),
    ],
    [
      `${g.optimizer} · lr×${g.lr}`,
      'loss range along the step',
      formatDifference(g.range, 4),
      formatP(g.range),
      verdict(g.range),
    ],
    [
      `${g.optimizer} · lr×${g.lr}`,
      'log top Hessian eigenvalue',
      formatDifference(g.curvature, 3),
      formatP(g.curvature),
      verdict(g.curvature),
    ],
  ]);
  const decisions: Decision[] = groups.map((g) => {
    const [text, decided] = decide(g.smooth, g.curvature);
    return { subject: `smoothness · mlp · ${g.optimizer} · lr×${g.lr}`, text, decided };
  });
  return { armRows, pairRows, decisions, curveRows };
}

/** What a smoothness run decided, per optimizer and learning rate. */
export function smoothnessDecisions(metrics: Metrics<SmoothnessConfig>): Decision[] {
  return analyze(metrics).decisions;
}

/** Writes report.md and the plot of a smoothness run; returns the summary for the terminal. */
export async function writeSmoothnessReport(
  out: string,
  metrics: Metrics<SmoothnessConfig>,
): Promise<string> {
  const { config, results } = metrics;
  const { armRows, pairRows, decisions, curveRows } = analyze(metrics);
  const plot = await writePlot(
    out,
    'smoothness',
    lineChart({
      rows: curveRows,
      x: 'step',
      y: 'smoothness',
      color: 'arm',
      detail: 'seed',
      facet: 'panel',
      title: 'Effective smoothness along the step taken (s = 1), per seed',
      logY: true,
    }),
  );
  const headers = [
    'arm',
    'runs',
    'effective smoothness (s = 1)',
    'loss range along the step',
    'top Hessian eigenvalue',
    'test accuracy (%)',
  ];
  const report = [
    '# AGR lab: smoothness (the loss landscape along real trajectories)',
    '',
    '## The claim and the prediction',
    '',
    `The paper claims AGR gives a smaller loss Lipschitz constant, a smoother landscape. Measured along real training runs of the MLP, paired by seed, at the classify experiment's learning rate times ${config.lrMultipliers.join(' and ')}, on one fixed batch of ${config.probeBatch} training images, at ${config.probePoints} steps per run: the effective smoothness ‖∇L(θ + s·d) − ∇L(θ)‖ / ‖s·d‖ along the step d the optimizer took (s = ${config.multiples.join(', ')}), the loss range along that line, and the Hessian's top eigenvalue (power iteration on Hessian-vector products, ${config.powerIterations} iterations) at ${config.hessianPoints} of those steps.`,
    '',
    "- Confirms the claim: with AGR, both the effective smoothness and the top eigenvalue are lower (paired log ratio below 0 after Holm's adjustment).",
    '- Refutes it: both higher; or both 95% intervals within ±10% (log 1.1), which rules out a smoothing of 10% or more.',
    '- Anything else (mixed, or intervals too wide to rule out a 10% change) is undecided, and said so.',
    '',
    'The runs with and without AGR follow different trajectories; the measures are taken at the same steps of each, per unit of step length.',
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    "## Per arm (medians over each run's probes; mean ± std over seeds)",
    '',
    markdownTable(headers, armRows),
    '',
    `![Effective smoothness over training](${plot})`,
    '',
    '## AGR minus the optimizer alone, paired by seed',
    '',
    markdownTable(
      ['optimizer · learning rate', 'measure', 'difference [95% interval]', 'p', 'verdict (Holm)'],
      pairRows,
    ),
    '',
    '## Verdict',
    '',
    ...decisions.map((d) => `- ${d.subject}: ${d.text}`),
    '',
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  return [textTable(headers, armRows), '', ...decisions.map((d) => `${d.subject}: ${d.text}`)].join('\n');
}
