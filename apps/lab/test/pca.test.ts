import { Generator, tensor } from '@agrad/autograd';
import { describe, expect, it } from 'vitest';
import { PcaCodec, topEigen } from '../src/experiments/pca.js';
import { symmetricEigen } from '../src/fid.js';

/** `count` images of `pixels` values in [0.2, 0.8] that lie in a `rank`-dimensional affine subspace. */
function subspaceImages(count: number, pixels: number, rank: number, seed: number): Float32Array {
  const random = new Generator(seed);
  const base = Float64Array.from({ length: pixels }, () => 0.4 + 0.2 * random.uniform());
  const directions = Array.from({ length: rank }, () =>
    Float64Array.from({ length: pixels }, () => random.normal() * 0.02),
  );
  const out = new Float32Array(count * pixels);
  for (let n = 0; n < count; n++) {
    const weights = directions.map(() => random.normal() * (1 + random.uniform()));
    for (let p = 0; p < pixels; p++)
      out[n * pixels + p] = base[p] + directions.reduce((s, d, r) => s + weights[r] * d[p], 0);
  }
  return out;
}

describe('PcaCodec', () => {
  it('reconstructs images of a rank-k subspace exactly from k components and whitens the latents', () => {
    const [count, pixels, rank] = [400, 24, 3];
    const images = subspaceImages(count, pixels, rank, 1);
    const codec = PcaCodec.fit(images, count, pixels, rank);
    expect(codec.varianceKept).toBeCloseTo(1, 6);
    const x = tensor(images, { shape: [count, pixels] });
    const z = codec.encode(x);
    expect(z.shape).toEqual([count, rank]);
    const back = codec.decode(z).data as Float32Array;
    for (let i = 0; i < images.length; i++) expect(back[i]).toBeCloseTo(images[i], 4);
    // Over the fitted images the latent coordinates have mean 0 and covariance I.
    const latents = z.data as Float32Array;
    for (let a = 0; a < rank; a++) {
      let mean = 0;
      for (let n = 0; n < count; n++) mean += latents[n * rank + a] / count;
      expect(mean).toBeCloseTo(0, 4);
      for (let b = 0; b < rank; b++) {
        let c = 0;
        for (let n = 0; n < count; n++) c += (latents[n * rank + a] * latents[n * rank + b]) / (count - 1);
        expect(c).toBeCloseTo(a === b ? 1 : 0, 3);
      }
    }
  });

  it('with fewer components keeps the directions of largest variance, in order', () => {
    const [count, pixels] = [300, 4];
    const random = new Generator(5);
    // Pixel p varies with standard deviation 0.1 * (p + 1), independently: PCA's directions are the axes.
    const images = new Float32Array(count * pixels);
    for (let n = 0; n < count; n++)
      for (let p = 0; p < pixels; p++) images[n * pixels + p] = 0.5 + 0.1 * (p + 1) * random.normal() * 0.5;
    const codec = PcaCodec.fit(images, count, pixels, 2);
    // Each of the two latent coordinates reads one pixel: the last (largest variance), then the third.
    const probe = codec.encode(tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9], { shape: [2, pixels] }));
    const [first, second] = [...(probe.data as Float32Array)].slice(2);
    expect(Math.abs(first)).toBeGreaterThan(1);
    expect(Math.abs(second)).toBeLessThan(0.2);
    const expectedShare = (4 ** 2 + 3 ** 2) / (1 + 4 + 9 + 16);
    expect(codec.varianceKept).toBeCloseTo(expectedShare, 1);
  });

  it('refuses a component count outside 1..pixels and too few images, naming the values', () => {
    const images = subspaceImages(10, 6, 2, 2);
    expect(() => PcaCodec.fit(images, 10, 6, 0)).toThrow(/components must be an integer from 1 to 6, got 0/);
    expect(() => PcaCodec.fit(images, 10, 6, 7)).toThrow(/from 1 to 6, got 7/);
    expect(() => PcaCodec.fit(images, 11, 6, 2)).toThrow(
      /need at least 2 images of 6 pixels, got 60 values for 11/,
    );
  });
});

describe('topEigen', () => {
  it('agrees with Jacobi on all columns for the top k eigenvalues and eigenvectors (up to sign)', () => {
    const n = 30;
    const random = new Generator(11);
    const b = Float64Array.from({ length: n * n }, () => random.normal());
    // A = B B^T / n: symmetric positive semi-definite with a spread of eigenvalues.
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += b[i * n + p] * b[j * n + p];
        a[i * n + j] = s / n;
      }
    const k = 5;
    const top = topEigen(a, n, k);
    const all = symmetricEigen(a, n);
    const order = [...all.values.keys()].sort((x, y) => all.values[y] - all.values[x]);
    for (let c = 0; c < k; c++) {
      // Float32 products: agreement to about 1e-6 relative.
      expect(top.values[c] / all.values[order[c]]).toBeCloseTo(1, 5);
      let dot = 0;
      for (let p = 0; p < n; p++) dot += top.vectors[p * k + c] * all.vectors[p * n + order[c]];
      expect(Math.abs(dot)).toBeCloseTo(1, 4);
    }
  });
});
