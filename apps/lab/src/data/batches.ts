import { Generator } from '@agrad/tensor';

/**
 * Epoch-wise shuffled mini-batches, reproducible from (seed, epoch) alone, so a run resumed
 * from a checkpoint at any step sees exactly the batches an uninterrupted run would.
 */
export class BatchOrder {
  private epoch = -1;
  private order = new Int32Array(0);

  constructor(
    readonly count: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (batchSize > count)
      throw new RangeError(`batch size ${batchSize} exceeds the ${count} training examples`);
  }

  /** Full batches per epoch; the remainder of each shuffled epoch is dropped, as drop_last=True. */
  get stepsPerEpoch(): number {
    return Math.floor(this.count / this.batchSize);
  }

  /** Example indices of training step `step` (1-based). */
  batch(step: number): Int32Array {
    const epoch = Math.floor((step - 1) / this.stepsPerEpoch);
    if (epoch !== this.epoch) {
      const generator = new Generator(this.seed * 1_000_003 + epoch);
      this.order = Int32Array.from({ length: this.count }, (_, i) => i);
      for (let i = this.count - 1; i > 0; i--) {
        const j = generator.integer(0, i + 1);
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
      this.epoch = epoch;
    }
    const start = ((step - 1) % this.stepsPerEpoch) * this.batchSize;
    return this.order.subarray(start, start + this.batchSize);
  }
}

/** Copies rows `indices` of a row-major [n, rowSize] array into a new array. */
export function gatherRows<T extends Float32Array | Int32Array>(
  source: T,
  rowSize: number,
  indices: ArrayLike<number>,
): T {
  const out = new (source.constructor as new (n: number) => T)(indices.length * rowSize);
  for (let i = 0; i < indices.length; i++) {
    out.set(source.subarray(indices[i] * rowSize, (indices[i] + 1) * rowSize), i * rowSize);
  }
  return out;
}
