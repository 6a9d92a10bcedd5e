/**
 * Fréchet distance between two sets of feature vectors (Heusel et al., 2017):
 *     |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr( (C1^1/2 C2 C1^1/2)^1/2 ),
 * computed in float64 with a Jacobi eigensolver (the matrices are small and symmetric).
 * The lab feeds it penultimate-layer features of a Fashion-MNIST CNN, not Inception's.
 */

/** Mean vector and unbiased covariance of `count` rows of `dim` features. */
export function meanAndCovariance(features: ArrayLike<number>, count: number, dim: number) {
  if (count < 2) throw new RangeError(`fid: need at least 2 feature vectors, got ${count}`);
  if (features.length !== count * dim) {
    throw new RangeError(`fid: ${features.length} values are not ${count} vectors of ${dim} features`);
  }
  const mean = new Float64Array(dim);
  for (let n = 0; n < count; n++) for (let i = 0; i < dim; i++) mean[i] += features[n * dim + i] / count;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < dim; i++) centred[i] = features[n * dim + i] - mean[i];
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      if (ci === 0) continue;
      for (let j = i; j < dim; j++) cov[i * dim + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      cov[i * dim + j] /= count - 1;
      cov[j * dim + i] = cov[i * dim + j];
    }
  }
  return { mean, cov };
}

/**
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: returns eigenvalues and
 * eigenvectors as the columns of `vectors` (row-major). Converges quadratically; stops when the
 * off-diagonal mass is negligible against the diagonal.
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * Math.max(diagonal, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

/** The symmetric PSD square root V diag(sqrt(max(l, 0))) V^T. */
export function sqrtPsd(matrix: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const root = Math.sqrt(Math.max(values[k], 0));
    if (root === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * root;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

function multiply(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  return out;
}

/** Fréchet distance between two Gaussians given by means and covariances. */
export function frechetDistance(
  mu1: Float64Array,
  cov1: Float64Array,
  mu2: Float64Array,
  cov2: Float64Array,
): number {
  const n = mu1.length;
  let distance = 0;
  for (let i = 0; i < n; i++) distance += (mu1[i] - mu2[i]) ** 2 + cov1[i * n + i] + cov2[i * n + i];
  const root1 = sqrtPsd(cov1, n);
  const inner = multiply(multiply(root1, cov2, n), root1, n);
  // Symmetrise away rounding so the Jacobi solver sees an exactly symmetric matrix.
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const m = (inner[i * n + j] + inner[j * n + i]) / 2;
      inner[i * n + j] = m;
      inner[j * n + i] = m;
    }
  const { values } = symmetricEigen(inner, n);
  for (const value of values) distance -= 2 * Math.sqrt(Math.max(value, 0));
  return Math.max(distance, 0);
}

/** FID between two feature sets of `dim` features each. */
export function fid(
  a: ArrayLike<number>,
  countA: number,
  b: ArrayLike<number>,
  countB: number,
  dim: number,
): number {
  const x = meanAndCovariance(a, countA, dim);
  const y = meanAndCovariance(b, countB, dim);
  return frechetDistance(x.mean, x.cov, y.mean, y.cov);
}
