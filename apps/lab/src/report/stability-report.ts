import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import {
  CHANCE_LOSS,
  gridRates,
  instability,
  pilotScales,
  STABILITY_ARMS,
  type StabilityConfig,
  type StabilityModel,
  type StabilityOptimizer,
  settingsFor,
  stabilityArmName,
} from '../experiments/stability.js';
import type { Metrics } from '../run/experiment.js';
import type { JobResult } from '../run/runner.js';
import { holm, mean, type PairedDifference, pairedDifference } from '../stats.js';
import { setupSection, totalTrainSeconds } from './common.js';
import { markdownTable, textTable } from './markdown.js';
import { lineChart, writePlot } from './plots.js';
import type { Decision } from './summary.js';

/** Test accuracy (%) a failed run is counted at: chance for 10 classes. */
const CHANCE_ACCURACY = 10;

/** One arm's sweep for one seed: the rates it ran and where it failed. */
interface Sweep {
  seed: number;
  jobs: JobResult[];
  /** log2 of the largest rate that trained; below the grid when the first rate failed. */
  edge: number;
  /** That rate as the jobs name it (their `lr`); null when the first rate failed. */
  edgeRate: number | null;
  /** No rate of the grid failed: the true edge is at least `edge` (the report says so). */
  censored: boolean;
}

function sweepsOf(
  results: Record<string, JobResult>,
  model: string,
  arm: string,
  first: number,
  factor: number,
) {
  const jobs = Object.values(results).filter((r) => r.info.model === model && r.info.arm === arm);
  const seeds = [...new Set(jobs.map((j) => Number(j.info.seed)))].sort((a, b) => a - b);
  return seeds.map((seed): Sweep => {
    const mine = jobs
      .filter((j) => j.info.seed === seed)
      .sort((a, b) => Number(a.info.lr) - Number(b.info.lr));
    const stable = mine.filter((j) => instability(j) === null);
    const failed = mine.some((j) => instability(j) !== null);
    const edge = stable.length > 0 ? Math.log2(Number(stable.at(-1)!.info.lr)) : Math.log2(first / factor);
    const edgeRate = stable.length > 0 ? Number(stable.at(-1)!.info.lr) : null;
    return { seed, jobs: mine, edge, edgeRate, censored: !failed };
  });
}

/** A run's test accuracy, or chance when it failed (a failure is never dropped). */
const accuracyOrChance = (j: JobResult) => (instability(j) === null ? j.final.testAccuracy : CHANCE_ACCURACY);

const rate = (log2: number) => Number((2 ** log2).toPrecision(3));

function interval(d: PairedDifference | null, unit: string): string {
  if (!d) return 'n/a (fewer than 2 seeds)';
  const s = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  return d.low === null || d.high === null
    ? `${s(d.mean)} ${unit}`
    : `${s(d.mean)} [${s(d.low)}, ${s(d.high)}] ${unit}`;
}

/**
 * The verdict for one model and optimizer, from the 95% intervals of the paired differences of
 * log2(edge): AGR against the optimizer alone, and AGR against the matched-step control.
 */
function decide(
  agrVsBase: PairedDifference | null,
  agrVsMatched: PairedDifference | null,
  same: boolean,
  outside: string | null,
): [string, boolean] {
  if (outside) return [`undecided: ${outside}.`, false];
  if (same)
    return [
      'AGR did not move the edge in any seed: no stability gain at this resolution (refutes the claim here).',
      true,
    ];
  if (!agrVsBase || agrVsBase.low === null || agrVsBase.high === null)
    return ['undecided: an interval needs at least 2 seeds.', false];
  if (agrVsBase.high < 0)
    return ['AGR lowered the largest stable learning rate (refutes the claim here).', true];
  if (agrVsBase.low <= 0)
    return [
      "undecided: the interval of AGR's change to the edge includes 0; more seeds or a finer grid could decide.",
      false,
    ];
  if (agrVsMatched && agrVsMatched.low !== null && agrVsMatched.low > 0)
    return [
      'AGR raised the edge, and beyond the matched smaller step: a stability gain that is not only a smaller step (confirms the claim here).',
      true,
    ];
  if (agrVsMatched && agrVsMatched.high !== null && agrVsMatched.high <= 0)
    return [
      'AGR raised the edge, but no more than the matched smaller step does: the gain is explained by a smaller step.',
      true,
    ];
  return [
    'AGR raised the edge; whether more than a matched smaller step does is undecided (that interval includes 0).',
    false,
  ];
}

/** Everything the report shows, from the results alone. */
function analyze(metrics: Metrics<StabilityConfig>) {
  const { config, results } = metrics;
  const sections: string[] = [];
  const summaryRows: Array<Array<string | number>> = [];
  const decisions: Decision[] = [];
  const comparisonRows: Array<Array<string | number>> = [];
  const pValues: Array<number | null> = [];
  const plotRows: Array<Record<string, string | number>> = [];
  const pilotRows: Array<Array<string | number>> = [];
  for (const model of config.models) {
    for (const optimizer of config.optimizers as StabilityOptimizer[]) {
      const grid = settingsFor(config, model as StabilityModel).grid[optimizer];
      const rates = gridRates(grid);
      const sweeps = Object.fromEntries(
        STABILITY_ARMS.map((arm) => {
          const name = stabilityArmName(optimizer, arm);
          return [arm, sweepsOf(results, model, name, rates[0], grid.factor)];
        }),
      ) as Record<(typeof STABILITY_ARMS)[number], Sweep[]>;
      if (sweeps.base.length === 0) continue;
      const pilot = results[`${model}/${optimizer}/pilot`];
      if (pilot) {
        for (const [layer, scale] of Object.entries(pilotScales(pilot)))
          pilotRows.push([model, optimizer, layer, scale.toFixed(4)]);
      }
      // Accuracy at the baseline's edge: each arm at the rate where the optimizer alone last trained.
      const rows: Array<Array<string | number>> = [];
      const accuracyAtEdge: Record<string, number[]> = {};
      for (const arm of STABILITY_ARMS) {
        const name = stabilityArmName(optimizer, arm);
        const mine = sweeps[arm];
        const atEdge = sweeps.base.map((b) => {
          // The very rate the baseline's job ran (a rate rebuilt from log2 would round differently).
          const job = mine.find((s) => s.seed === b.seed)?.jobs.find((j) => Number(j.info.lr) === b.edgeRate);
          // An arm that failed below that rate was not run at it: a failure there too.
          return job ? { failed: instability(job) !== null, accuracy: accuracyOrChance(job) } : null;
        });
        const known = atEdge.filter((x): x is { failed: boolean; accuracy: number } => x !== null);
        const failures = atEdge.filter((x) => x === null || x.failed).length;
        accuracyAtEdge[arm] = atEdge.map((x) => x?.accuracy ?? CHANCE_ACCURACY);
        const edges = mine.map((s) => `${rate(s.edge)}${s.censored ? '+' : ''}`).join(', ');
        // The lower of the two middle edges for an even seed count, so the median is a rate of the grid.
        const median = [...mine.map((s) => s.edge)].sort((a, b) => a - b)[Math.floor((mine.length - 1) / 2)];
        const accuracy = known.length > 0 ? mean(accuracyAtEdge[arm]).toFixed(2) : 'n/a';
        rows.push([name, edges, rate(median), `${failures} of ${atEdge.length}`, accuracy]);
        summaryRows.push([model, name, rate(median), `${failures}/${atEdge.length}`, accuracy]);
        for (const s of mine)
          for (const j of s.jobs)
            plotRows.push({
              panel: `${model} · ${optimizer}`,
              arm: name,
              seed: `seed ${s.seed}`,
              'log2 learning rate': Math.log2(Number(j.info.lr)),
              'test accuracy': accuracyOrChance(j),
            });
      }
      const paired = (a: Sweep[], b: Sweep[]) => {
        const seeds = a.map((s) => s.seed).filter((seed) => b.some((t) => t.seed === seed));
        const x = seeds.map((seed) => a.find((s) => s.seed === seed)!.edge);
        const y = seeds.map((seed) => b.find((s) => s.seed === seed)!.edge);
        return {
          d: x.length >= 2 ? pairedDifference(x, y) : null,
          same: x.length > 0 && x.every((v, i) => v === y[i]),
        };
      };
      const agrVsBase = paired(sweeps.base, sweeps.agr);
      const matchedVsBase = paired(sweeps.base, sweeps.matched);
      const agrVsMatched = paired(sweeps.matched, sweeps.agr);
      const accuracyDiff =
        accuracyAtEdge.base.length >= 2 ? pairedDifference(accuracyAtEdge.base, accuracyAtEdge.agr) : null;
      for (const [what, c, unit] of [
        [`${optimizer}+agr − ${optimizer}: log2 edge`, agrVsBase.d, 'doublings'],
        [`${optimizer}+matched-step − ${optimizer}: log2 edge`, matchedVsBase.d, 'doublings'],
        [`${optimizer}+agr − ${optimizer}+matched-step: log2 edge`, agrVsMatched.d, 'doublings'],
        [`${optimizer}+agr − ${optimizer}: accuracy at the baseline's edge`, accuracyDiff, 'pp'],
      ] as const) {
        comparisonRows.push([model, what, interval(c, unit), c?.p === null || !c ? '—' : c.p.toPrecision(2)]);
        pValues.push(c?.p ?? null);
      }
      // Edges off the grid's ends say nothing about where they are: such a sweep decides nothing.
      const all = [...sweeps.base, ...sweeps.agr];
      const outside = all.every((s) => s.edge < Math.log2(rates[0]))
        ? "every run failed at the grid's first rate; the grid must start lower"
        : all.every((s) => s.censored)
          ? 'no run failed within the grid; it must reach higher rates'
          : null;
      const [verdict, decided] = decide(agrVsBase.d, agrVsMatched.d, agrVsBase.same, outside);
      decisions.push({ subject: `stability · ${model} · ${optimizer}`, text: verdict, decided });
      sections.push(
        [
          `### ${model} · ${optimizer} (rates ${rates[0]} to ${rates.at(-1)}, ×${grid.factor.toPrecision(3)} apart)`,
          '',
          markdownTable(
            [
              'arm',
              'largest stable rate per seed',
              'median',
              "failures at the baseline's edge",
              "test accuracy at the baseline's edge (%)",
            ],
            rows,
          ),
          '',
          `Verdict: ${verdict}`,
        ].join('\n'),
      );
    }
  }
  const adjusted = holm(pValues);
  comparisonRows.forEach((row, i) => {
    row.push(adjusted[i] === null ? '—' : (adjusted[i] as number).toPrecision(2));
  });
  return { sections, summaryRows, decisions, comparisonRows, plotRows, pilotRows };
}

/** What a stability run decided, model by model and optimizer by optimizer. */
export function stabilityDecisions(metrics: Metrics<StabilityConfig>): Decision[] {
  return analyze(metrics).decisions;
}

/** Writes report.md and the plot for a stability run; returns the summary for the terminal. */
export async function writeStabilityReport(out: string, metrics: Metrics<StabilityConfig>): Promise<string> {
  const { results } = metrics;
  const { sections, summaryRows, decisions, comparisonRows, plotRows, pilotRows } = analyze(metrics);
  const plot = await writePlot(
    out,
    'stability',
    lineChart({
      rows: plotRows,
      x: 'log2 learning rate',
      y: 'test accuracy',
      color: 'arm',
      detail: 'seed',
      facet: 'panel',
      title: 'Test accuracy after training at each constant learning rate (failed runs at chance, 10%)',
      zeroY: true,
    }),
  );
  const report = [
    '# AGR lab: stability (learning-rate sweeps)',
    '',
    '## The claim and the prediction',
    '',
    'The paper claims AGR makes training more stable. Tested here as: the largest constant learning rate at which a run still trains (its loss stays finite and ends below chance, ln 10 = ' +
      `${CHANCE_LOSS.toFixed(2)}), per seed, on the same initial weights and batches with and without AGR. ` +
      "AGR shrinks every gradient, so a gain could be only a smaller step; the matched-step arm scales each tensor's update by the mean ‖AGR(g)‖ / ‖g‖ measured in a pilot run with AGR, and shares any gain that is only that.",
    '',
    '- Confirms the claim: the 95% interval of the paired difference in log2(largest stable rate), AGR minus the optimizer alone, lies above 0, and AGR minus the matched-step arm also lies above 0.',
    '- A smaller step, not stability: AGR above the optimizer alone, but not above the matched-step arm.',
    '- Refutes it: the interval of AGR minus the optimizer alone lies below 0, or AGR leaves the edge where it was in every seed.',
    '- Anything else is undecided, and said so.',
    '',
    'Each sweep stops at its first failure: larger rates are not run. Edges marked + never failed within the grid (the true edge is at least that). A failed run counts at chance accuracy (10%).',
    '',
    setupSection(metrics, totalTrainSeconds(results)),
    '',
    '## Results',
    '',
    ...sections.flatMap((s) => [s, '']),
    '## Paired differences',
    '',
    markdownTable(['model', 'difference', 'mean [95% interval]', 'p', 'Holm p'], comparisonRows),
    '',
    `![Test accuracy against the learning rate](${plot})`,
    '',
    "## The matched-step arm's scales (pilot runs)",
    '',
    "Mean ‖AGR(g)‖ / ‖g‖ per tensor over the pilot run (AGR at the grid's first rate, seed 0): the factor the matched-step arm applies to that tensor's update.",
    '',
    markdownTable(['model', 'optimizer', 'tensor', 'mean ‖AGR(g)‖ / ‖g‖'], pilotRows),
    '',
    '## Verdict',
    '',
    ...decisions.map((d) => `- ${d.subject}: ${d.text}`),
    '',
  ].join('\n');
  writeFileAtomic(join(out, 'report.md'), report);
  const decided = decisions.filter((d) => d.decided).length;
  return [
    textTable(['model', 'arm', 'median edge', "failures at base's edge", 'accuracy there (%)'], summaryRows),
    '',
    ...decisions.map((d) => `${d.subject}: ${d.text}`),
    `Decided ${decided} of ${decisions.length} model-optimizer pairs; the report is ${join(out, 'report.md')}.`,
  ].join('\n');
}
