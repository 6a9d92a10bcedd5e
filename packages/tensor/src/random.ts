/**
 * A small seeded generator (xoshiro128**, 32-bit state words) so every run with the same seed
 * draws the same numbers on every platform. Normals come from Box-Muller.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /**
   * Resets the state from a seed (any safe integer, negative ones included) with splitmix32, which
   * spreads nearby seeds apart. The low 32 bits seed the state; higher bits, where there are any,
   * are mixed in after, so seeds that differ only there (1 and 2^32 + 1) still differ.
   */
  seed(seed: number): void {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `manualSeed: the seed must be an integer between -(2^53 - 1) and 2^53 - 1, got ${typeof seed === 'number' ? seed : JSON.stringify(seed)} (a fraction or NaN would silently alias another seed)`,
      );
    }
    const words = splitmix32(seed >>> 0);
    [this.s0, this.s1, this.s2, this.s3] = [words(), words(), words(), words()];
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    if (high !== 0) {
      const more = splitmix32(high ^ 0x5bd1e995);
      this.s0 = (this.s0 ^ more()) >>> 0;
      this.s1 = (this.s1 ^ more()) >>> 0;
      this.s2 = (this.s2 ^ more()) >>> 0;
      this.s3 = (this.s3 ^ more()) >>> 0;
    }
    this.spareNormal = null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** The generator's state, for setState to restore (checkpoints use it). */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a getState(): four 32-bit integers, not all zero (xoshiro's one bad state). */
  setState(state: readonly number[]): void {
    const valid =
      Array.isArray(state) &&
      state.length === 4 &&
      state.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32) &&
      state.some((v) => v !== 0);
    if (!valid) {
      throw new RangeError(
        `Generator.setState: expected four 32-bit integers, not all zero (as getState() gives), got ${JSON.stringify(state)}`,
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0);
    this.spareNormal = null;
  }
}

/** The splitmix32 sequence from a 32-bit start: well-spread words for seeding. */
function splitmix32(start: number): () => number {
  let x = start >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The generator every random op uses unless given one. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator, as torch.manual_seed does. */
export function manualSeed(seed: number): void {
  defaultGenerator.seed(seed);
}
