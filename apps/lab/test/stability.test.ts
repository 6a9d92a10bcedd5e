import { describe, expect, it } from 'vitest';
import {
  CHANCE_LOSS,
  gridRates,
  instability,
  pilotScales,
  STABILITY_PRESETS,
  type StabilityConfig,
} from '../src/experiments/stability.js';
import { writeStabilityReport } from '../src/report/stability-report.js';
import { emptyLog } from '../src/run/log.js';
import type { JobResult } from '../src/run/runner.js';
import { syntheticReport } from './synthetic.js';

const GRID = { first: 0.05, factor: 2, count: 5 }; // 0.05, 0.1, 0.2, 0.4, 0.8

const config: StabilityConfig = {
  ...STABILITY_PRESETS.smoke,
  optimizers: ['sgd'],
  seeds: 3,
  grid: { sgd: GRID, adamw: GRID },
};

/** One finished run: trained (accuracy `accuracy`, loss 0.5) or failed (diverged at step 7). */
function run(arm: string, seed: number, lr: number, trained: boolean, accuracy = 80): JobResult {
  const log = emptyLog();
  log.losses = [{ step: 10, loss: trained ? 0.5 : Number.NaN }];
  log.divergedAt = trained ? null : 7;
  log.trainSeconds = 1;
  return {
    key: `mlp/${arm}/seed${seed}/lr${lr}`,
    label: arm,
    info: { model: 'mlp', optimizer: 'sgd', arm, seed, lr },
    final: { testAccuracy: trained ? accuracy : 9, testLoss: 0.5, trainLoss: trained ? 0.5 : Number.NaN },
    log,
  };
}

/** A sweep as the experiment runs it: every rate up to `edge` trains, the next one fails. */
function sweep(arm: string, seed: number, edge: number, accuracy = 80): JobResult[] {
  const rates = gridRates(GRID);
  const last = rates.indexOf(edge);
  return rates
    .slice(0, Math.min(last + 2, rates.length))
    .map((lr, i) => run(arm, seed, lr, i <= last, accuracy));
}

async function report(edges: Record<string, number[]>): Promise<string> {
  const jobs = Object.entries(edges).flatMap(([arm, perSeed]) =>
    perSeed.flatMap((edge, seed) => sweep(arm, seed, edge, arm === 'sgd+agr' ? 82 : 80)),
  );
  return syntheticReport('stability', config, jobs, writeStabilityReport);
}

describe('stability: edges, failures and the verdict that follows from the intervals', () => {
  it('a run fails when its loss stopped being finite or it ended no better than chance', () => {
    expect(instability(run('sgd', 0, 0.1, true))).toBeNull();
    expect(instability(run('sgd', 0, 0.1, false))).toBe('diverged at step 7');
    const flat = run('sgd', 0, 0.1, true);
    flat.final.trainLoss = CHANCE_LOSS + 0.01;
    expect(instability(flat)).toMatch(/no better than chance/);
  });

  it("the matched-step scales are each tensor's mean ‖AGR(g)‖ / ‖g‖ over the pilot", () => {
    const pilot = run('pilot', 0, 0.05, true);
    pilot.log.gradNorms = [
      { step: 1, layer: 'w', before: 2, after: 1.9 },
      { step: 2, layer: 'w', before: 1, after: 0.98 },
      { step: 1, layer: 'b', before: 1, after: 0.5 },
      { step: 2, layer: 'b', before: 0, after: 0 }, // a zero gradient says nothing about the shrinkage
    ];
    const scales = pilotScales(pilot);
    expect(scales.w).toBeCloseTo((0.95 + 0.98) / 2, 12);
    expect(scales.b).toBe(0.5);
  });

  it('confirms when AGR raises the edge beyond the matched smaller step', async () => {
    const text = await report({
      sgd: [0.2, 0.2, 0.4],
      'sgd+agr': [0.4, 0.4, 0.8],
      'sgd+matched-step': [0.2, 0.2, 0.4],
    });
    expect(text).toContain('| sgd | 0.2, 0.2, 0.4 | 0.2 | 0 of 3 | 80.00 |');
    expect(text).toContain('| sgd+agr | 0.4, 0.4, 0.8+ | 0.4 | 0 of 3 | 82.00 |'); // 0.8 ends the grid
    expect(text).toContain('| mlp | sgd+agr − sgd: log2 edge | +1.00 [+1.00, +1.00] doublings |');
    expect(text).toContain('not only a smaller step (confirms the claim here)');
  });

  it('calls a gain the matched smaller step shares a smaller step, and counts failures at the edge', async () => {
    const text = await report({
      sgd: [0.2, 0.4, 0.4],
      'sgd+agr': [0.4, 0.8, 0.8],
      'sgd+matched-step': [0.4, 0.8, 0.8],
    });
    expect(text).toContain(
      'no more than the matched smaller step does: the gain is explained by a smaller step',
    );
    // Censored sweeps (no failure within the grid) are marked with +.
    expect(text).toContain('| sgd+agr | 0.4, 0.8+, 0.8+ |');
  });

  it('refutes when AGR lowers the edge, counting the runs it never reached as failures', async () => {
    const text = await report({
      sgd: [0.4, 0.4, 0.8],
      'sgd+agr': [0.2, 0.2, 0.4],
      'sgd+matched-step': [0.4, 0.4, 0.8],
    });
    expect(text).toContain('AGR lowered the largest stable learning rate (refutes the claim here)');
    // At the baseline's edge AGR failed in every seed: counted at chance, 10%.
    expect(text).toContain('| sgd+agr | 0.2, 0.2, 0.4 | 0.2 | 3 of 3 | 10.00 |');
  });

  it('leaves it undecided when the interval includes 0, or the edges lie off the grid', async () => {
    const mixed = await report({
      sgd: [0.2, 0.2, 0.2],
      'sgd+agr': [0.4, 0.1, 0.2],
      'sgd+matched-step': [0.2, 0.2, 0.2],
    });
    expect(mixed).toContain('undecided: the interval of AGR');
    const below = await report({
      sgd: [0.025, 0.025, 0.025],
      'sgd+agr': [0.025, 0.025, 0.025],
      'sgd+matched-step': [0.025, 0.025, 0.025],
    });
    expect(below).toContain("undecided: every run failed at the grid's first rate");
  });

  it("finds each arm's run at the baseline's edge on a grid of irrational steps (×√2)", async () => {
    const grid = { first: 0.05, factor: Math.SQRT2, count: 6 };
    const rates = gridRates(grid); // 0.05, 0.0707107, 0.1, 0.141421, 0.2, 0.282843
    const jobs = ['sgd', 'sgd+agr', 'sgd+matched-step'].flatMap((arm) =>
      [0, 1, 2].flatMap((seed) => rates.slice(0, 5).map((lr, i) => run(arm, seed, lr, i < 4))),
    );
    const text = await syntheticReport(
      'stability',
      { ...config, grid: { sgd: grid, adamw: grid } },
      jobs,
      writeStabilityReport,
    );
    expect(text).toContain('| sgd | 0.141, 0.141, 0.141 | 0.141 | 0 of 3 | 80.00 |');
  });
});
