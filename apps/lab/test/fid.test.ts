import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fid, frechetDistance, meanAndCovariance, symmetricEigen } from '../src/fid.js';

/** A random symmetric matrix from fast-check's doubles. */
const symmetricArb = (n: number) =>
  fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n * n, maxLength: n * n }).map((xs) => {
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) m[i * n + j] = (xs[i * n + j] + xs[j * n + i]) / 2;
    return m;
  });

/** A random orthogonal matrix: Gram-Schmidt on a random basis. */
function orthogonal(n: number, seed: number): Float64Array {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const q = Float64Array.from({ length: n * n }, next);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < n; j++) dot += q[i * n + j] * q[k * n + j];
      for (let j = 0; j < n; j++) q[i * n + j] -= dot * q[k * n + j];
    }
    const norm = Math.hypot(...q.subarray(i * n, i * n + n));
    for (let j = 0; j < n; j++) q[i * n + j] /= norm;
  }
  return q;
}

describe('FID', () => {
  it('the Jacobi eigensolver reconstructs the matrix and gives orthonormal vectors', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((n) => symmetricArb(n).map((m) => [n, m] as const)),
        ([n, m]) => {
          const { values, vectors } = symmetricEigen(m, n);
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              let rebuilt = 0;
              let gram = 0;
              for (let k = 0; k < n; k++) {
                rebuilt += vectors[i * n + k] * values[k] * vectors[j * n + k];
                gram += vectors[k * n + i] * vectors[k * n + j];
              }
              expect(rebuilt).toBeCloseTo(m[i * n + j], 9);
              expect(gram).toBeCloseTo(i === j ? 1 : 0, 9);
            }
          }
        },
      ),
    );
  });

  it('equals the closed form for diagonal covariances: |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0, max: 4, noNaN: true })),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        fc.array(
          fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0, max: 4, noNaN: true })),
          {
            minLength: 6,
            maxLength: 6,
          },
        ),
        (first, second) => {
          const n = first.length;
          const diag = (xs: number[]) => {
            const m = new Float64Array(n * n);
            xs.forEach((x, i) => {
              m[i * n + i] = x;
            });
            return m;
          };
          const [mu1, a] = [first.map((p) => p[0]), first.map((p) => p[1])];
          const [mu2, b] = [second.slice(0, n).map((p) => p[0]), second.slice(0, n).map((p) => p[1])];
          let expected = 0;
          for (let i = 0; i < n; i++)
            expected += (mu1[i] - mu2[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
          const got = frechetDistance(Float64Array.from(mu1), diag(a), Float64Array.from(mu2), diag(b));
          expect(got).toBeCloseTo(expected, 8);
        },
      ),
    );
  });

  it('is zero between a set and itself, and unchanged by rotating both sets', () => {
    const [count, dim] = [40, 5];
    let s = 7;
    const next = () => ((s = (s * 69069 + 1) % 4294967296) / 4294967296) * 2 - 1;
    const x = Float64Array.from({ length: count * dim }, next);
    const y = Float64Array.from({ length: count * dim }, () => next() * 1.5 + 0.3);
    expect(fid(x, count, x, count, dim)).toBeLessThan(1e-9);
    const q = orthogonal(dim, 3);
    const rotate = (z: Float64Array) =>
      Float64Array.from({ length: count * dim }, (_, at) => {
        const [row, col] = [Math.floor(at / dim), at % dim];
        let v = 0;
        for (let k = 0; k < dim; k++) v += z[row * dim + k] * q[col * dim + k];
        return v;
      });
    const plain = fid(x, count, y, count, dim);
    expect(plain).toBeGreaterThan(0.1);
    expect(fid(rotate(x), count, rotate(y), count, dim)).toBeCloseTo(plain, 9);
  });

  it('covariance is the unbiased estimate, and bad shapes are named', () => {
    const { mean, cov } = meanAndCovariance([1, 2, 3, 6], 2, 2);
    expect([...mean]).toEqual([2, 4]);
    expect([...cov]).toEqual([2, 4, 4, 8]);
    expect(() => meanAndCovariance([1, 2, 3], 2, 2)).toThrow('fid: 3 values are not 2 vectors of 2 features');
    expect(() => meanAndCovariance([1, 2], 1, 2)).toThrow('fid: need at least 2 feature vectors, got 1');
  });
});
