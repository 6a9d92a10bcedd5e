import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { lineChart, writePlot } from './plots.js';
import { meanCurve, summarize } from './summary.js';

/** The report's "Setup" section: command, data, machine and time, shared by all experiments. */
export function setupSection(metrics: Metrics<unknown>, wallSeconds: number): string {
  const data = Object.entries(metrics.data)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join('\n');
  const m = metrics.machine;
  return [
    '## Setup',
    '',
    `- Command: \`${metrics.command}\``,
    `- Preset: ${metrics.preset}; configuration: \`${JSON.stringify(metrics.config)}\``,
    data,
    `- Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.threads} GEMM thread(s)`,
    `- Started ${metrics.startedAt}; finished ${metrics.finishedAt ?? 'not yet'}; training time ${(wallSeconds / 60).toFixed(1)} min summed over runs`,
  ].join('\n');
}

export function totalTrainSeconds(results: Record<string, JobResult>): number {
  return Object.values(results).reduce((s, r) => s + r.log.trainSeconds, 0);
}

/** Training time per step of one run, in milliseconds (evaluation excluded). */
export const msPerStep = (j: JobResult) => (1000 * j.log.trainSeconds) / j.log.losses.at(-1)!.step;

/** How much slower per step the AGR runs are than their baseline, in percent (mean over seeds). */
export const timeOverheadPercent = (treated: JobResult[], base: JobResult[]) =>
  100 * (summarize(treated, msPerStep).mean / summarize(base, msPerStep).mean - 1);

/** The arms that ran, in order of first appearance. */
export const armsOf = (results: Record<string, JobResult>) => [
  ...new Set(Object.values(results).map((r) => String(r.info.arm))),
];

/** How a layer is named in plots and sentences: the model it belongs to, its parameter name, its size. */
export function layerLabel(model: string, layer: string, size?: number): string {
  return `${model}: ${layer}${size === undefined ? '' : ` (${size.toLocaleString('en-US')})`}`;
}

/**
 * Curves every experiment draws: training loss, the global gradient norm before and after AGR,
 * AGR's alpha quantiles per layer and how much AGR shrinks each layer's gradient (from the first
 * seed of the first AGR arm in each group). Layers are named by model and parameter.
 */
export async function standardPlots(
  out: string,
  results: Record<string, JobResult>,
  options: { groupField: string; groupTitle: string; logLoss?: boolean; model: (job: JobResult) => string },
): Promise<{ loss: string; gradNorm: string; alpha: string[]; effect: string[]; alphaSummary: string[] }> {
  const jobs = Object.values(results);
  const groups = [...new Set(jobs.map((j) => String(j.info[options.groupField])))];
  const arms = [...new Set(jobs.map((j) => String(j.info.arm)))];
  const lossRows: Array<Record<string, string | number>> = [];
  const normRows: Array<Record<string, string | number>> = [];
  for (const group of groups) {
    for (const arm of arms) {
      const selected = jobs.filter((j) => String(j.info[options.groupField]) === group && j.info.arm === arm);
      if (selected.length === 0) continue;
      for (const p of meanCurve(
        selected,
        (l) => l.losses,
        (x) => x.loss,
      ))
        lossRows.push({ group, arm, step: p.step, loss: p.value });
      const globalNorm = (which: 'before' | 'after') =>
        meanCurve(
          selected,
          (l) => {
            const bySteps = new Map<number, number>();
            for (const g of l.gradNorms) bySteps.set(g.step, (bySteps.get(g.step) ?? 0) + g[which] ** 2);
            return [...bySteps.entries()].map(([step, sq]) => ({ step, norm: Math.sqrt(sq) }));
          },
          (x) => x.norm,
        );
      for (const p of globalNorm('before'))
        normRows.push({ group, arm, step: p.step, norm: p.value, gradient: 'raw' });
      if (arm.includes('+agr'))
        for (const p of globalNorm('after'))
          normRows.push({ group, arm, step: p.step, norm: p.value, gradient: 'after AGR' });
    }
  }
  const loss = await writePlot(
    out,
    'loss',
    lineChart({
      rows: lossRows,
      x: 'step',
      y: 'loss',
      color: 'arm',
      facet: 'group',
      title: `Training loss (mean over seeds) per ${options.groupTitle}`,
      logY: options.logLoss,
    }),
  );
  const gradNorm = await writePlot(
    out,
    'grad-norm',
    lineChart({
      rows: normRows,
      x: 'step',
      y: 'norm',
      color: 'arm',
      dash: 'gradient',
      facet: 'group',
      title: 'Global gradient norm over all layers, raw and after AGR (mean over seeds)',
      logY: true,
    }),
  );
  const alpha: string[] = [];
  const effect: string[] = [];
  const alphaSummary: string[] = [];
  for (const group of groups) {
    const job = jobs
      .filter((j) => String(j.info[options.groupField]) === group && String(j.info.arm).includes('+agr'))
      .sort((a, b) => Number(a.info.seed) - Number(b.info.seed))[0];
    if (!job) continue;
    const model = options.model(job);
    alphaSummary.push(describeAlpha(job, model));
    const file = group.replaceAll(/[^\w.-]+/g, '_');
    const rows = job.log.alpha.flatMap((a) =>
      (['p50', 'p99', 'max'] as const).map((q) => ({
        step: a.step,
        layer: layerLabel(model, a.layer, a.size),
        quantile: q === 'max' ? 'max' : q === 'p50' ? 'median' : '99th percentile',
        value: a[q] / a.size,
      })),
    );
    alpha.push(
      await writePlot(
        out,
        `alpha-${file}`,
        lineChart({
          rows,
          x: 'step',
          y: 'value',
          color: 'layer',
          facet: 'quantile',
          facetOrder: ['median', '99th percentile', 'max'],
          title: `AGR's alpha = |g|/sum|g| per layer of ${model} (median, 99th percentile, max), ${job.label}`,
          yTitle: 'alpha',
          logY: true,
        }),
      ),
    );
    const sizes = new Map(job.log.alpha.map((a) => [a.layer, a.size]));
    const shrink = job.log.gradNorms
      .filter((g) => g.before > 0)
      .map((g) => ({
        step: g.step,
        layer: layerLabel(model, g.layer, sizes.get(g.layer)),
        // The share of the gradient's norm AGR removes; log-scaled, so 0.2% and 30% both show.
        shrink: Math.max(1 - g.after / g.before, 1e-9),
      }));
    effect.push(
      await writePlot(
        out,
        `agr-effect-${file}`,
        lineChart({
          rows: shrink,
          x: 'step',
          y: 'shrink',
          color: 'layer',
          title: `How much AGR shrinks each layer's gradient of ${model}: 1 − ||AGR(g)|| / ||g||, ${job.label}`,
          yTitle: '1 − ||AGR(g)|| / ||g||',
          logY: true,
        }),
      ),
    );
  }
  return { loss, gradNorm, alpha, effect, alphaSummary };
}

/**
 * A curve metric as AGR's paired difference (treated − base per seed, one thin line each), per
 * group and optimizer: AGR's effect drawn directly, where overlapping curves of the two arms would
 * hide a small one. Zero on the y axis is "no effect".
 */
export async function differencePlot(
  out: string,
  name: string,
  rows: Array<{ group: string; pair: string; seed: number; step: number; difference: number }>,
  options: { title: string; yTitle: string },
): Promise<string> {
  return writePlot(
    out,
    name,
    lineChart({
      rows: rows.map((r) => ({ ...r, seed: `seed ${r.seed}` })),
      x: 'step',
      y: 'difference',
      color: 'pair',
      detail: 'seed',
      facet: 'group',
      title: options.title,
      yTitle: options.yTitle,
      zeroY: true,
    }),
  );
}

/**
 * The paragraph every report prints under its comparisons: how verdicts are reached, written once.
 * `families` names each family of tests (singular: "FID comparison") and its size.
 */
export function statisticsNote(families: Array<{ what: string; tests: number }>): string {
  const listed = families.map((f) => `${f.tests} ${f.what}${f.tests === 1 ? '' : 's'}`).join(' and ');
  return [
    'Each difference is AGR minus the same optimizer without it, per seed (same initial weights, same batches),',
    'with a two-sided 95% Student-t interval (the raw interval, unadjusted) and the paired t-test p-value. The',
    `verdict comes from the p-value adjusted by Holm's method within each family of comparisons (${listed}), so the`,
    'chance of any false "higher" or "lower" in a family stays at 5%: "no significant difference" means the adjusted',
    'p-value is 0.05 or more; "identical" means every seed gave exactly the same value with and without AGR. A run',
    "whose training loss became NaN or infinite diverged: it stopped there, counts as a failure in its arm's",
    'table, and a pair it belongs to is listed as excluded where it has no value.',
  ].join('\n');
}

/**
 * One sentence on where AGR acts in a run: the tensors with the largest alpha (averaged over the
 * probes) and the largest alpha among big tensors, read from the log rather than assumed.
 */
export function describeAlpha(job: JobResult, model: string): string {
  const byLayer = new Map<string, { size: number; maxAlpha: number[] }>();
  for (const a of job.log.alpha) {
    const entry = byLayer.get(a.layer) ?? { size: a.size, maxAlpha: [] };
    entry.maxAlpha.push(a.maxAlpha);
    byLayer.set(a.layer, entry);
  }
  const layers = [...byLayer.entries()].map(([layer, e]) => ({
    layer,
    size: e.size,
    max: e.maxAlpha.reduce((s, v) => s + v, 0) / e.maxAlpha.length,
  }));
  layers.sort((a, b) => b.max - a.max);
  const top = layers
    .slice(0, 3)
    .map((l) => `\`${layerLabel(model, l.layer)}\` (${l.size} elements) ${l.max.toPrecision(2)}`)
    .join(', ');
  const big = layers.filter((l) => l.size > 1000);
  const bigMax = big.length > 0 ? Math.max(...big.map((l) => l.max)) : Number.NaN;
  return (
    `- ${job.label}: the largest alpha (mean over training of each tensor's maximum) is in ${top}` +
    (big.length > 0
      ? `; in the ${big.length} tensors of more than 1,000 elements it stays below ${bigMax.toPrecision(2)}, so AGR changes their gradients by at most ${(100 * bigMax).toPrecision(2)}%.`
      : '.')
  );
}

/**
 * The report's closing "Curves" section, the same in every experiment: training loss, the
 * experiment's own plots, gradient norms, then where AGR's alpha is large and its plots.
 */
export function curvesSection(
  plots: { loss: string; gradNorm: string; alpha: string[]; effect: string[]; alphaSummary: string[] },
  own: Array<{ alt: string; file: string }>,
): string[] {
  return [
    '## Curves',
    '',
    `![training loss](${plots.loss})`,
    '',
    ...own.flatMap((p) => [`![${p.alt}](${p.file})`, '']),
    `![gradient norms](${plots.gradNorm})`,
    '',
    'AGR shrinks element i of a gradient by the factor 1 − alpha_i with alpha_i = |g_i| / sum |g| over the tensor.',
    "The plots show alpha's median, 99th percentile and maximum per layer over training. Alpha averages 1/n in a",
    'tensor of n elements, so in large weight matrices it is tiny and AGR leaves the gradient almost unchanged; it acts',
    'mostly on small tensors (biases, norm scales, the head).',
    '',
    ...plots.alphaSummary,
    '',
    ...plots.alpha.map((p) => `![alpha](${p})\n`),
    'What that does to each layer: the share of its gradient norm AGR removes, 1 − ||AGR(g)|| / ||g|| (log scale).',
    '',
    ...plots.effect.map((p) => `![AGR's effect per layer](${p})\n`),
    "Every run's numbers are in `metrics.json` (curves, per-layer gradient norms and alpha quantiles).",
    '',
  ];
}
