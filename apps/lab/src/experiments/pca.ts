import { Generator, noGrad, type Tensor, tensor } from '@agrad/autograd';
import { symmetricEigen } from '../fid.js';

/**
 * The top `k` eigenvalues and eigenvectors of a symmetric positive semi-definite n x n matrix, by
 * subspace iteration: Q <- orthonormalise(A Q) `iterations` times for a block of k + 8 columns
 * (the extra columns speed convergence of the k-th), then Rayleigh-Ritz: the eigenvectors of the
 * small matrix Q^T A Q rotate Q onto the eigenvector estimates. The error in each direction
 * shrinks by (lambda_{k+9} / lambda_i)^iterations; where eigenvalues crowd (the tail of an
 * image spectrum) the last directions are only approximate, which a codec tolerates (the
 * variance it keeps is reported). Jacobi on all n columns, which is exact, costs a minute and a
 * half for the 784 pixels of Fashion-MNIST. Deterministic: the start block comes from a fixed seed.
 */
export function topEigen(
  matrix: Float64Array,
  n: number,
  k: number,
  iterations = 40,
): { values: Float64Array; vectors: Float64Array } {
  const block = Math.min(n, k + 8);
  // The products run in float32, where the GEMM is WebAssembly SIMD (float64's is several times
  // slower); the orthonormalisation and the small eigenproblem stay in float64.
  const a = tensor(Float32Array.from(matrix), { shape: [n, n] });
  const product = (left: Tensor, right: Tensor) =>
    Float64Array.from(noGrad(() => left.matmul(right)).data as Float32Array);
  const columns = () => tensor(Float32Array.from(q), { shape: [n, block] });
  const random = new Generator(7);
  let q = orthonormalColumns(
    Float64Array.from({ length: n * block }, () => random.normal()),
    n,
    block,
  );
  const rayleighRitz = () => {
    const qt = columns();
    const aq = noGrad(() => a.matmul(qt));
    const small = product(qt.transpose(0, 1), aq);
    // Symmetrise what float32 rounding left unsymmetric.
    for (let i = 0; i < block; i++)
      for (let j = 0; j < i; j++) {
        const mean = (small[i * block + j] + small[j * block + i]) / 2;
        small[i * block + j] = mean;
        small[j * block + i] = mean;
      }
    const { values, vectors } = symmetricEigen(small, block);
    const order = [...values.keys()].sort((x, y) => values[y] - values[x]);
    // Q <- Q V, columns in order of decreasing Ritz value.
    const rotated = new Float64Array(n * block);
    for (let p = 0; p < n; p++)
      order.forEach((column, c) => {
        let sum = 0;
        for (let j = 0; j < block; j++) sum += q[p * block + j] * vectors[j * block + column];
        rotated[p * block + c] = sum;
      });
    q = rotated;
    return Float64Array.from(order, (column) => values[column]);
  };
  for (let iteration = 0; iteration < iterations; iteration++)
    q = orthonormalColumns(product(a, columns()), n, block);
  const ritz = rayleighRitz();
  const vectors = new Float64Array(n * k);
  for (let p = 0; p < n; p++) for (let c = 0; c < k; c++) vectors[p * k + c] = q[p * block + c];
  return { values: ritz.slice(0, k), vectors };
}

/** Modified Gram-Schmidt on the columns of a row-major n x m matrix (a zero column stays zero). */
function orthonormalColumns(matrix: Float64Array, n: number, m: number): Float64Array {
  const q = Float64Array.from(matrix);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < j; i++) {
      let dot = 0;
      for (let p = 0; p < n; p++) dot += q[p * m + i] * q[p * m + j];
      for (let p = 0; p < n; p++) q[p * m + j] -= dot * q[p * m + i];
    }
    let norm = 0;
    for (let p = 0; p < n; p++) norm += q[p * m + j] ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let p = 0; p < n; p++) q[p * m + j] /= norm;
  }
  return q;
}

/**
 * A linear autoencoder from principal component analysis, for diffusion in a small latent space
 * (as latent diffusion models do with a learned one): `encode` projects images (rows of pixels in
 * [0, 1]) onto the top `components` principal directions of the training images and divides
 * each coordinate by its standard deviation, so every latent coordinate has variance 1 over the
 * training set, the scale a DDPM's noise schedule assumes; `decode` maps back and clips to [0, 1].
 */
export class PcaCodec {
  private constructor(
    readonly pixels: number,
    readonly components: number,
    /** Mean image, [pixels]. */
    private readonly mean: Tensor,
    /** [pixels, components]: the directions divided by their standard deviations. */
    private readonly encoder: Tensor,
    /** [components, pixels]: the directions times their standard deviations. */
    private readonly decoder: Tensor,
    /** Share of the training images' pixel variance the components keep. */
    readonly varianceKept: number,
  ) {}

  /**
   * Fits the codec to the first `count` rows of `images` ([count * pixels] values): covariance by
   * one float64 matrix product, the top eigenvectors by subspace iteration (deterministic, so a
   * resumed run gets the same codec), components sorted by variance.
   */
  static fit(images: Float32Array, count: number, pixels: number, components: number): PcaCodec {
    if (!Number.isInteger(components) || components < 1 || components > pixels) {
      throw new RangeError(`PcaCodec: components must be an integer from 1 to ${pixels}, got ${components}`);
    }
    if (count < 2 || images.length < count * pixels) {
      throw new RangeError(
        `PcaCodec: need at least 2 images of ${pixels} pixels, got ${images.length} values for ${count}`,
      );
    }
    const { covariance, mean } = noGrad(() => {
      // float32, for the SIMD GEMM: 60,000 images take seconds instead of a minute in float64.
      const x = tensor(images.subarray(0, count * pixels), { shape: [count, pixels] });
      const mean = x.mean(0);
      const centred = x.sub(mean);
      return {
        covariance: centred
          .transpose(0, 1)
          .matmul(centred)
          .div(count - 1),
        mean,
      };
    });
    const cov = Float64Array.from(covariance.data as Float32Array);
    const { values, vectors } = topEigen(cov, pixels, components);
    let total = 0;
    for (let p = 0; p < pixels; p++) total += cov[p * pixels + p];
    const kept = values.reduce((sum, v) => sum + v, 0);
    const encoder = new Float32Array(pixels * components);
    const decoder = new Float32Array(components * pixels);
    for (let c = 0; c < components; c++) {
      const deviation = Math.sqrt(Math.max(values[c], Number.MIN_VALUE));
      for (let p = 0; p < pixels; p++) {
        const direction = vectors[p * components + c];
        encoder[p * components + c] = direction / deviation;
        decoder[c * pixels + p] = direction * deviation;
      }
    }
    return new PcaCodec(
      pixels,
      components,
      mean,
      tensor(encoder, { shape: [pixels, components] }),
      tensor(decoder, { shape: [components, pixels] }),
      kept / total,
    );
  }

  /** Images [N, pixels] (or any [N, ...] with `pixels` values per row) in [0, 1] to latents [N, components]. */
  encode(images: Tensor): Tensor {
    return noGrad(() => images.reshape([images.shape[0], this.pixels]).sub(this.mean).matmul(this.encoder));
  }

  /** Latents [N, components] to images [N, pixels] in [0, 1]. */
  decode(latents: Tensor): Tensor {
    return noGrad(() => latents.matmul(this.decoder).add(this.mean).clamp(0, 1));
  }
}
