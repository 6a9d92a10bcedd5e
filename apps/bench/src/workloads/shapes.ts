/** The work every system runs (see shared/PERF.md), so rows compare like with like. */
export const MLP = { batch: 128, sizes: [784, 512, 256, 10] } as const;
/** conv 3x3 1->32, ReLU, maxpool 2; conv 3x3 32->64, ReLU, maxpool 2; linear 1600->128, ReLU; linear 128->10. */
export const CNN = { batch: 64, image: 28 } as const;
export const TRANSFORMER = { batch: 16, sequence: 64, width: 128, heads: 4, feedforward: 512 } as const;
export const MATMUL_SIZES = [128, 256, 512, 1024] as const;

/** Deterministic inputs shared by every system: values in [-1, 1) from a fixed LCG. */
export function fixedValues(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

export function fixedLabels(count: number, classes: number, seed: number): Int32Array {
  return Int32Array.from(fixedValues(count, seed), (v) => Math.floor(((v + 1) / 2) * classes) % classes);
}
