/**
 * The playground's data: four 2-D toy sets drawn from a seeded generator, and a Fashion-MNIST
 * subset (2,000 training and 500 test images, shipped gzip-compressed as public/fashion-mnist-2500.dat;
 * not named .gz, so that static servers hand over the bytes instead of decoding them on the way).
 * Points of the toy sets lie in about [-1, 1]^2.
 */
import { Generator } from '@agrad/tensor';

export type DatasetName = 'spirals' | 'moons' | 'circles' | 'xor' | 'fashion-mnist';
export const DATASETS: readonly DatasetName[] = ['spirals', 'moons', 'circles', 'xor', 'fashion-mnist'];

export interface Dataset {
  name: DatasetName;
  features: number;
  classes: number;
  train: { x: Float32Array; y: Int32Array; count: number };
  test: { x: Float32Array; y: Int32Array; count: number };
}

type Sampler = (g: Generator, i: number, count: number) => [number, number, number];

const TOY: Record<Exclude<DatasetName, 'fashion-mnist'>, { classes: number; sample: Sampler }> = {
  // Two arms winding around the origin, one per class.
  spirals: {
    classes: 2,
    sample: (g, i) => {
      const label = i % 2;
      const t = g.uniform();
      const angle = 2.5 * Math.PI * t + label * Math.PI;
      const r = 0.1 + 0.85 * t;
      return [r * Math.cos(angle) + 0.04 * g.normal(), r * Math.sin(angle) + 0.04 * g.normal(), label];
    },
  },
  // Two interleaved half circles.
  moons: {
    classes: 2,
    sample: (g, i) => {
      const label = i % 2;
      const angle = Math.PI * g.uniform();
      const [x, y] =
        label === 0 ? [Math.cos(angle), Math.sin(angle)] : [1 - Math.cos(angle), 0.5 - Math.sin(angle)];
      return [(x - 0.5) * 0.75 + 0.06 * g.normal(), (y - 0.25) * 0.75 + 0.06 * g.normal(), label];
    },
  },
  // A disc inside a ring.
  circles: {
    classes: 2,
    sample: (g, i) => {
      const label = i % 2;
      const angle = 2 * Math.PI * g.uniform();
      const r = (label === 0 ? 0.35 : 0.85) + 0.07 * g.normal();
      return [r * Math.cos(angle), r * Math.sin(angle), label];
    },
  },
  // The sign of x * y.
  xor: {
    classes: 2,
    sample: (g) => {
      const x = 2 * g.uniform() - 1;
      const y = 2 * g.uniform() - 1;
      return [x, y, x * y > 0 ? 1 : 0];
    },
  },
};

function toySplit(name: keyof typeof TOY, g: Generator, count: number) {
  const x = new Float32Array(count * 2);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const [a, b, label] = TOY[name].sample(g, i, count);
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = label;
  }
  return { x, y, count };
}

/** Loads a dataset; toy sets are drawn from `seed` (400 training and 200 test points). */
export async function loadDataset(name: DatasetName, seed: number, baseUrl: string): Promise<Dataset> {
  if (name !== 'fashion-mnist') {
    const g = new Generator(seed);
    const classes = TOY[name].classes;
    return {
      name,
      features: 2,
      classes,
      train: toySplit(name, g, 400),
      test: toySplit(name, g, 200),
    };
  }
  const response = await fetch(new URL('fashion-mnist-2500.dat', baseUrl));
  if (!response.ok || !response.body)
    throw new Error(`fashion-mnist: could not load the subset (HTTP ${response.status})`);
  const bytes = new Uint8Array(
    await new Response(response.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer(),
  );
  const total = 2500;
  if (bytes.length !== total * 785)
    throw new Error(`fashion-mnist: expected ${total * 785} bytes, got ${bytes.length}`);
  const split = (from: number, count: number) => ({
    x: Float32Array.from(bytes.subarray(total + from * 784, total + (from + count) * 784), (v) => v / 255),
    y: Int32Array.from(bytes.subarray(from, from + count)),
    count,
  });
  return {
    name,
    features: 784,
    classes: 10,
    train: split(0, 2000),
    test: split(2000, 500),
  };
}
