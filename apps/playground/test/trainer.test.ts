import type { GraphNode } from '@agrad/autograd';
import { cpuBackend, setBackend } from '@agrad/tensor';
import { describe, expect, it } from 'vitest';
import { DATASETS, type DatasetName, loadDataset } from '../src/datasets.js';
import { graphRows, graphSvg } from '../src/graph-view.js';
import { Batches, DEFAULT_SETTINGS, gridPoints, Run, toTensors } from '../src/trainer.js';

/** The playground's training logic in Node, on the CPU backend (the browser runs the same code). */
describe('playground data and runs', () => {
  setBackend(cpuBackend);
  const toys = DATASETS.filter((d) => d !== 'fashion-mnist') as DatasetName[];

  it.each(toys)(
    '%s: 2-D points in about [-1.2, 1.2]^2, both classes, reproducible from the seed',
    async (name) => {
      const a = await loadDataset(name, 5, 'http://unused/');
      const b = await loadDataset(name, 5, 'http://unused/');
      expect(a.train.x).toEqual(b.train.x);
      expect(a.train.count).toBe(400);
      expect(a.test.count).toBe(200);
      expect(Math.max(...a.train.x.map(Math.abs))).toBeLessThan(1.4);
      const ones = a.train.y.reduce((s, v) => s + v, 0);
      expect(ones).toBeGreaterThan(100);
      expect(ones).toBeLessThan(300);
    },
  );

  it('batches cover the training set once per epoch, in an order set by the seed', async () => {
    const data = await loadDataset('moons', 1, 'http://unused/');
    const seen = new Set<string>();
    const batches = new Batches(data, 40, 9);
    for (let i = 0; i < 10; i++) {
      const b = batches.next();
      for (let k = 0; k < b.count; k++) seen.add(`${b.x[2 * k]},${b.x[2 * k + 1]}`);
    }
    expect(seen.size).toBe(400);
    expect(new Batches(data, 40, 9).next().x).toEqual(new Batches(data, 40, 9).next().x);
  });

  it('two runs start from the same weights; with AGR on both they stay equal, with AGR on one they part', async () => {
    const data = await loadDataset('spirals', 1, 'http://unused/');
    const settings = { ...DEFAULT_SETTINGS, lr: 0.05 };
    const losses = (agr: [boolean, boolean]) => {
      const runs = [new Run(agr[0], settings, data), new Run(agr[1], settings, data)];
      const batches = new Batches(data, settings.batchSize, settings.seed);
      const out: number[][] = [[], []];
      for (let i = 0; i < 20; i++) {
        const b = batches.next();
        const { x, y } = toTensors(b.x, b.y, 2);
        runs.forEach((run, k) => out[k].push(run.step(x, y).item()));
      }
      const test = toTensors(data.test.x, data.test.y, 2);
      return {
        out,
        report: runs[0].report(test),
        boundary: runs[0].boundary(toTensors(gridPoints(8), new Int32Array(64), 2).x),
      };
    };
    const same = losses([true, true]);
    expect(same.out[0]).toEqual(same.out[1]);
    const apart = losses([true, false]);
    expect(apart.out[0]).toEqual(same.out[0]);
    expect(apart.out[1]).not.toEqual(apart.out[0]);
    // The report: per-layer norms never grow under AGR, alpha counts every gradient entry.
    for (const layer of same.report.layers) expect(layer.afterAgr).toBeLessThanOrEqual(layer.raw);
    const entries = [...new Run(true, settings, data).model.parameters()].reduce((s, p) => s + p.size, 0);
    expect(same.report.alpha.counts.reduce((a, b) => a + b, 0)).toBe(entries);
    expect(same.report.accuracy).toBeGreaterThanOrEqual(0);
    expect(same.boundary.classes.length).toBe(64);
  });
});

describe("the drawing of the loss's autograd graph", () => {
  setBackend(cpuBackend);

  it('has every parameter, op and edge, parameters in the first row and the loss alone in the last', async () => {
    const data = await loadDataset('moons', 1, 'http://unused/');
    const settings = { ...DEFAULT_SETTINGS, hidden: [8] };
    const run = new Run(false, settings, data);
    const { x, y } = toTensors(data.test.x.subarray(0, 32), data.test.y.subarray(0, 16), 2);
    const graph = run.lossGraph(x, y);
    const parameters = graph.nodes.filter((n) => n.kind === 'parameter');
    expect(parameters.map((n) => `${n.title} ${n.shape}`).sort()).toEqual(
      ['0.bias [8]', '0.weight [8,2]', '2.bias [2]', '2.weight [2,8]'].sort(),
    );
    const rows = graphRows(graph);
    for (const p of parameters) expect(rows.get(p.id)).toBe(0);
    const root = graph.nodes.find((n) => n.isRoot) as GraphNode;
    const last = Math.max(...rows.values());
    expect(rows.get(root.id)).toBe(last);
    expect(graph.nodes.filter((n) => rows.get(n.id) === last)).toEqual([root]);
    // Each edge goes down at least one row.
    for (const [from, to] of graph.edges)
      expect(rows.get(to) as number).toBeGreaterThan(rows.get(from) as number);
    const svg = graphSvg(graph);
    expect(svg.match(/<g class="node /g)?.length).toBe(graph.nodes.length);
    expect(svg.match(/<line /g)?.length).toBe(graph.edges.length);
    expect(svg).toContain('<title>0.weight [8,2] float32</title>');
  });
});
