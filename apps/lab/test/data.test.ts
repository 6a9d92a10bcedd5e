import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BUNDLED_FASHION_MNIST, loadFashionMnist, parseIdx, readIdxGz } from '../src/data/idx.js';

describe('Fashion-MNIST', () => {
  it('reads the bundled subset: 6000 training and 1000 test images of 28x28, ten classes', () => {
    const data = loadFashionMnist(BUNDLED_FASHION_MNIST);
    expect(data.source).toBe('subset');
    expect([data.trainCount, data.testCount]).toEqual([6000, 1000]);
    expect(data.trainImages.length).toBe(6000 * 784);
    const counts = new Array(10).fill(0);
    for (const label of data.trainLabels) counts[label]++;
    // The first 6000 of the official training set hold every class, roughly balanced.
    for (const c of counts) expect(c).toBeGreaterThan(450);
    let min = 1;
    let max = 0;
    let sum = 0;
    for (const v of data.trainImages) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect([min, max]).toEqual([0, 1]);
    // Fashion-MNIST's mean pixel is about 0.286.
    expect(sum / data.trainImages.length).toBeCloseTo(0.286, 1);
  });

  it('names the file and the problem for missing, truncated and corrupt data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agrad-lab-'));
    expect(() => loadFashionMnist(dir)).toThrow(
      /train-images-idx3-ubyte\.gz.*not found.*apt-get install dataset-fashion-mnist/,
    );
    const labels = readFileSync(join(BUNDLED_FASHION_MNIST, 'train-labels-idx1-ubyte.gz'));
    writeFileSync(join(dir, 'cut.gz'), labels.subarray(0, labels.length - 10));
    expect(() => readIdxGz(join(dir, 'cut.gz'))).toThrow(/cut\.gz: not a valid gzip file/);
    writeFileSync(join(dir, 'short.gz'), gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 5, 1, 2])));
    expect(() => readIdxGz(join(dir, 'short.gz'))).toThrow(
      /short\.gz: header shape \[5\] needs 5 bytes of data but the file has 2/,
    );
    expect(() => parseIdx(new Uint8Array([1, 0, 8, 1]), 'x.idx')).toThrow(
      'x.idx: not an IDX file (the first two bytes must be 0)',
    );
  });
});
