import { arange, Generator, manualSeed, type Tensor, tensor } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataLoader,
  type Dataset,
  defaultCollate,
  randomSplit,
  Subset,
  TensorDataset,
} from '../src/index.js';
import fixture from './fixtures/data.json' with { type: 'json' };

/**
 * The data pipeline against torch.utils.data (scripts/golden/data.py: unshuffled batches and
 * random_split's sizes), and its shuffling, collation and refusals as properties.
 */

const rows = (n: number) =>
  tensor(
    Float64Array.from({ length: 2 * n }, (_, i) => i),
    { shape: [n, 2] },
  );
const labels = (n: number) => tensor(Int32Array.from({ length: n }, (_, i) => i * 10));

describe('DataLoader and randomSplit match torch.utils.data', () => {
  for (const c of fixture.loaders) {
    it(`${c.n} items, batchSize ${c.batchSize}, dropLast ${c.dropLast}`, () => {
      const loader = new DataLoader(new TensorDataset(rows(c.n), labels(c.n)), {
        batchSize: c.batchSize,
        dropLast: c.dropLast,
      });
      const batches = [...loader];
      expect(loader.length).toBe(c.batches.length);
      expect(batches.length).toBe(c.batches.length);
      batches.forEach(([x, y], b) => {
        expect(x.shape).toEqual(c.batches[b].xShape);
        expect(Array.from(x.data)).toEqual(c.batches[b].x);
        expect(y.dtype).toBe('int32');
        expect(Array.from(y.data)).toEqual(c.batches[b].y);
      });
    });
  }
  for (const c of fixture.splits) {
    it(`randomSplit of ${c.n} items by ${JSON.stringify(c.lengths)}`, () => {
      const parts = randomSplit(new TensorDataset(rows(c.n)), c.lengths, { generator: new Generator(3) });
      expect(parts.map((p) => p.length)).toEqual(c.sizes);
      // One permutation: together the parts hold every item once.
      const all = parts.flatMap((p) => [...p.indices]).sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: c.n }, (_, i) => i));
    });
  }
});

describe('DataLoader', () => {
  it('property: a shuffled epoch visits every item once, a new order each epoch, the same after manualSeed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        (n, batchSize, dropLast) => {
          const loader = new DataLoader(new TensorDataset(labels(n)), { batchSize, shuffle: true, dropLast });
          const epoch = () => [...loader].flatMap(([y]) => Array.from(y.data).map((v) => v / 10));
          manualSeed(5);
          const [first, second] = [epoch(), epoch()];
          manualSeed(5);
          expect(epoch()).toEqual(first);
          const kept = dropLast ? Math.floor(n / batchSize) * batchSize : n;
          expect(first.length).toBe(kept);
          expect(new Set(first).size).toBe(kept);
          if (!dropLast)
            expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
          if (kept >= 6) expect(second).not.toEqual(first);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a TensorDataset's batches (one gather) equal its items stacked by defaultCollate", () => {
    const dataset = new TensorDataset(rows(9), labels(9));
    const generator = () => new Generator(11);
    const fast = [...new DataLoader(dataset, { batchSize: 4, shuffle: true, generator: generator() })];
    const slow = [
      ...new DataLoader(dataset, {
        batchSize: 4,
        shuffle: true,
        generator: generator(),
        collate: defaultCollate,
      }),
    ] as Tensor[][];
    expect(fast.length).toBe(3);
    fast.forEach((batch, b) =>
      batch.forEach((t, k) => {
        expect(t.shape).toEqual(slow[b][k].shape);
        expect(Array.from(t.data)).toEqual(Array.from(slow[b][k].data));
      }),
    );
  });

  it('collates tuples, records and numbers field by field, or with a collate of its own', () => {
    const dataset: Dataset<{ image: Tensor; label: number; pair: [number, Tensor] }> = {
      length: 5,
      get: (i) => ({ image: arange(3).mul(i), label: i, pair: [i / 2, tensor([i])] }),
    };
    const [batch] = [...new DataLoader(dataset, { batchSize: 5 })];
    expect(batch.image.shape).toEqual([5, 3]);
    expect(Array.from(batch.image.data)).toEqual([0, 0, 0, 0, 1, 2, 0, 2, 4, 0, 3, 6, 0, 4, 8]);
    expect(batch.label.dtype).toBe('int32');
    expect(Array.from(batch.label.data)).toEqual([0, 1, 2, 3, 4]);
    const [halves, column] = batch.pair;
    expect(halves.dtype).toBe('float32');
    expect(Array.from(halves.data)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(column.shape).toEqual([5, 1]);
    const sums = [
      ...new DataLoader(dataset, {
        batchSize: 2,
        collate: (items) => items.reduce((s, it) => s + it.label, 0),
      }),
    ];
    expect(sums).toEqual([1, 5, 4]);
  });

  it('with for await, fetches the next batches while one is in use, with the same batches as in order', async () => {
    const log: string[] = [];
    const dataset = {
      length: 7,
      get: async (i: number) => {
        log.push(`get ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return [tensor([i, i * i]), i] as [Tensor, number];
      },
    };
    const loader = new DataLoader(dataset, { batchSize: 2, prefetch: 2 });
    const seen: number[][] = [];
    for await (const [x, y] of loader) {
      log.push(`use ${Array.from(y.data).join(',')}`);
      seen.push(Array.from(x.data));
    }
    expect(seen).toEqual([
      [0, 0, 1, 1],
      [2, 4, 3, 9],
      [4, 16, 5, 25],
      [6, 36],
    ]);
    // When batch 0 is used, batches 1 and 2 (prefetch 2) have been requested already.
    expect(log.slice(0, log.indexOf('use 0,1'))).toEqual([
      'get 0',
      'get 1',
      'get 2',
      'get 3',
      'get 4',
      'get 5',
    ]);
    expect(() => [...loader]).toThrow(
      /DataLoader: the dataset's get\(\) returned a Promise; iterate with `for await`/,
    );
    const failing = new DataLoader({
      length: 4,
      get: async (i: number) => {
        if (i === 3) throw new Error(`item ${i} is missing`);
        return i;
      },
    });
    await expect(async () => {
      for await (const _ of failing) void _;
    }).rejects.toThrow('item 3 is missing');
  });

  it('refuses bad datasets, options and indices, naming them', () => {
    const dataset = new TensorDataset(rows(4));
    expect(() => new DataLoader(dataset, { batchSize: 0 })).toThrow(
      /DataLoader: option batchSize must be an integer >= 1, got 0/,
    );
    expect(() => new DataLoader(dataset, { batch_size: 2 } as never)).toThrow(/DataLoader.*batch_size/);
    expect(() => new DataLoader(dataset, { generator: 3 } as never)).toThrow(/DataLoader.*generator/);
    expect(() => new DataLoader([1, 2, 3] as never)).toThrow(/DataLoader: expected a dataset/);
    expect(() => new TensorDataset(rows(4), labels(3))).toThrow(
      /same size in dim 0, got shapes \[4,2\], \[3\]/,
    );
    expect(() => new TensorDataset()).toThrow(/at least one tensor/);
    expect(() => dataset.get(4)).toThrow(/TensorDataset: index 4 is out of range for 4 items/);
    expect(() => new Subset(dataset, [0, 7])).toThrow(/Subset: index 7 is out of range/);
    expect(() => randomSplit(dataset, [1, 2])).toThrow(
      /randomSplit: lengths \[1,2\] must be counts that sum/,
    );
    expect(() => randomSplit(dataset, [])).toThrow(/randomSplit: lengths must be a non-empty list/);
    expect(() => defaultCollate([new Date()])).toThrow(/defaultCollate: cannot collate/);
  });
});
