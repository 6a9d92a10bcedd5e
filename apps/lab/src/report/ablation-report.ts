import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { ABLATION_SCOPES, type AblationConfig, ablationArmName } from '../experiments/ablation.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { median } from '../stats.js';
import { setupSection, totalTrainSeconds } from './common.js';
import { markdownTable, textTable } from './markdown.js';
import { barChart, writePlot } from './plots.js';
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

const accuracy = (j: JobResult) => j.final.testAccuracy;

const percent = (x: number) => (Number.isFinite(x) ? `${(100 * x).toPrecision(3)}%` : 'n/a');

/**
 * Which scopes moved accuracy, from the Holm-adjusted comparisons with the arm without AGR, and
 * what that says about where AGR's effect lives.
 */
function decide(all: Comparison, small: Comparison, large: Comparison, threshold: number): [string, boolean] {
  const [a, s, l] = [verdict(all), verdict(small), verdict(large)];
  const moved = (v: string) => v === 'higher' || v === 'lower';
  if (!moved(a))
    return [
      `AGR on every tensor did not change test accuracy detectably (${a}), so there is no effect to attribute to tensors of either size at this budget.`,
      false,
    ];
  if (moved(s) && s === a && !moved(l))
    return [
      `AGR's effect (${a} accuracy) is carried by the tensors under ${threshold} elements: AGR on them alone reproduces it, on the others alone it does not.`,
      true,
    ];
  if (moved(l) && l === a && !moved(s))
    return [`AGR's effect (${a} accuracy) is carried by the tensors of ${threshold} elements or more.`, true];
  return [
    `AGR on every tensor changed accuracy (${a}); the scoped arms (under ${threshold}: ${s}; the rest: ${l}) do not single out either group.`,
    false,
  ];
}

/** Everything the report shows, from the results alone. */
function analyze(metrics: Metrics<AblationConfig>) {
  const { config, results } = metrics;
  const armRows: Array<Array<string | number>> = [];
  const pairs: Array<{ model: string; optimizer: string; scope: string; c: Comparison }> = [];
  const counterfactualRows: Array<Array<string | number>> = [];
  const counterfactualSummary: Array<{ model: string; optimizer: string; small: number; large: number }> = [];
  const plotRows: Array<{ label: string; mean: number; std: number; group: string }> = [];
  for (const model of config.models) {
    for (const optimizer of config.optimizers) {
      const name = (scope: (typeof ABLATION_SCOPES)[number]) =>
        ablationArmName(optimizer, scope, config.threshold);
      const base = select(results, { model, arm: name('none') });
      if (base.length === 0) continue;
      for (const scope of ABLATION_SCOPES) {
        const jobs = select(results, { model, arm: name(scope) });
        if (jobs.length === 0) continue;
        const s = summarize(jobs, accuracy);
        armRows.push([model, name(scope), jobs.length, summaryText(s)]);
        plotRows.push({
          label: `${model} · ${name(scope)}`,
          mean: s.mean,
          std: Number.isFinite(s.std) ? s.std : 0,
          group: `${model} · ${optimizer}`,
        });
        if (scope !== 'none') pairs.push({ model, optimizer, scope, c: compare(base, jobs, accuracy) });
      }
      // The counterfactual, per tensor over every probe of every seed's run without AGR.
      const byLayer = new Map<string, { size: number; changes: number[] }>();
      for (const job of base)
        for (const p of job.log.counterfactual ?? []) {
          const entry = byLayer.get(p.layer) ?? { size: p.size, changes: [] };
          entry.changes.push(p.change);
          byLayer.set(p.layer, entry);
        }
      const smallChanges: number[] = [];
      const largeChanges: number[] = [];
      for (const [layer, { size, changes }] of [...byLayer].sort((x, y) => x[1].size - y[1].size)) {
        (size < config.threshold ? smallChanges : largeChanges).push(...changes);
        counterfactualRows.push([
          model,
          optimizer,
          layer,
          size,
          percent(median(changes)),
          percent(Math.max(...changes)),
        ]);
      }
      counterfactualSummary.push({
        model,
        optimizer,
        small: median(smallChanges),
        large: median(largeChanges),
      });
    }
  }
  adjust(pairs.map((p) => p.c));
  const decisions: Decision[] = [];
  for (const model of config.models) {
    for (const optimizer of config.optimizers) {
      const of = (scope: string) =>
        pairs.find((p) => p.model === model && p.optimizer === optimizer && p.scope === scope)?.c;
      const [all, small, large] = [of('all'), of('small'), of('large')];
      if (!all || !small || !large) continue;
      const [text, decided] = decide(all, small, large, config.threshold);
      decisions.push({ subject: `ablation · ${model} · ${optimizer}`, text, decided });
    }
  }
  const pairRows = pairs.map((p) => [
    p.model,
    `${ablationArmName(p.optimizer as 'sgd', p.scope as 'all', config.threshold)} − ${p.optimizer}`,
    formatDifference(p.c),
    formatP(p.c),
    verdict(p.c),
  ]);
  return { armRows, pairRows, counterfactualRows, counterfactualSummary, decisions, plotRows };
}

/** What an ablation run decided, per model and optimizer. */
export function ablationDecisions(metrics: Metrics<AblationConfig>): Decision[] {
  return analyze(metrics).decisions;
}

/** Writes report.md and the plot of an ablation run; returns the summary for the terminal. */
export async function writeAblationReport(out: string, metrics: Metrics<AblationConfig>): Promise<string> {
  const { config, results } = metrics;
  const { armRows, pairRows, counterfactualRows, counterfactualSummary, decisions, plotRows } =
    analyze(metrics);
  const plot = await writePlot(
    out,
    'accuracy',
    barChart({
      rows: plotRows,
      title: 'Test accuracy per arm (mean ± 1 std over seeds)',
      yTitle: 'test accuracy (%)',
    }),
  );
  const t = config.threshold;
  const report = [
    "# AGR lab: ablation (which tensors carry AGR's effect)",
    '',
    '## The question and the prediction',
    '',
    `AGR's alpha = |g| / sum|g| averages 1/N over a tensor of N elements: in a large weight matrix it shrinks the gradient by a fraction of a percent, in a bias or a norm gain by far more. Arms, paired by seed: without AGR, AGR on every tensor, AGR only on tensors under ${t} elements, AGR only on the others.`,
    '',
    `- If AGR's effect lives in the small tensors: the arm with AGR under ${t} elements changes accuracy as AGR on every tensor does, and the arm with AGR on the large tensors alone does not.`,
    '- If it lives in the large ones: the reverse.',
    '- If AGR on every tensor changes nothing detectable, there is nothing to attribute, and the report says so.',
    `- The one-step counterfactual (along the runs without AGR, from the same optimizer state: ‖u(AGR(g)) − u(g)‖ / ‖u(g)‖ per tensor) is predicted to be large for tensors under ${t} elements and a fraction of a percent for the rest.`,
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    '## Test accuracy',
    '',
    markdownTable(['model', 'arm', 'runs', 'test accuracy (%)'], armRows),
    '',
    `![Test accuracy per arm](${plot})`,
    '',
    '## Paired differences from the arm without AGR',
    '',
    markdownTable(
      ['model', 'difference', 'test accuracy, pp [95% interval]', 'p', 'verdict (Holm)'],
      pairRows,
    ),
    '',
    '## One-step counterfactual per tensor',
    '',
    'Median and largest ‖u(AGR(g)) − u(g)‖ / ‖u(g)‖ over the probes of every seed, smallest tensors first.',
    '',
    markdownTable(
      ['model', 'optimizer', 'tensor', 'elements', 'median change', 'largest change'],
      counterfactualRows,
    ),
    '',
    ...counterfactualSummary.map(
      (c) =>
        `- ${c.model} · ${c.optimizer}: median change ${percent(c.small)} for tensors under ${t} elements, ${percent(c.large)} for the others.`,
    ),
    '',
    '## Verdict',
    '',
    ...decisions.map((d) => `- ${d.subject}: ${d.text}`),
    '',
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  return [
    textTable(['model', 'arm', 'runs', 'test accuracy (%)'], armRows),
    '',
    ...counterfactualSummary.map(
      (c) =>
        `${c.model} · ${c.optimizer}: AGR changes one step's update by ${percent(c.small)} (median) in tensors under ${t} elements, ${percent(c.large)} in the others`,
    ),
    ...decisions.map((d) => `${d.subject}: ${d.text}`),
  ].join('\n');
}
