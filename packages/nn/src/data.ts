import {
  defaultGenerator,
  fromTypedArray,
  Generator,
  randperm,
  stack,
  Tensor,
  tensor,
} from '@agrad/autograd';
import { checkOptions, describeValue, formatShape, rules } from '@agrad/tensor';

/**
 * torch.utils.data in agrad's terms: a Dataset is anything with a `length` and `get(i)`; a
 * DataLoader batches one, in order or shuffled from a seeded generator, and is iterated with
 * `for (const [x, y] of loader)`. Here in @agrad/nn, beside the modules they feed.
 */

/** A map-style dataset: `length` items, item i from `get(i)` (torch's __len__ and __getitem__). */
export interface Dataset<T> {
  readonly length: number;
  /** Item `index`, 0 <= index < length. */
  get(index: number): T;
}

/**
 * A dataset whose items come asynchronously (read from files or the network): iterate its
 * DataLoader with `for await`, which prepares the next batches while the current one trains.
 */
export interface AsyncDataset<T> {
  readonly length: number;
  /** Item `index`, when it is ready. */
  get(index: number): Promise<T>;
}

/** A dataset that can also hand out several items at once, already collated (one gather per tensor). */
export interface BatchedDataset<T> extends Dataset<T> {
  /** The items at `indices` already collated into one batch (faster than get() per item). */
  getBatch(indices: readonly number[]): T;
}

/**
 * Item i is the i-th row (along dim 0) of each tensor, as torch's TensorDataset; every tensor must
 * have the same size in dim 0.
 */
export class TensorDataset implements BatchedDataset<Tensor[]> {
  readonly tensors: readonly Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new RangeError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor))
        throw new TypeError(`TensorDataset: argument ${i} is not a Tensor (got ${describeValue(t)})`);
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensor ${i} is 0-d; items are rows along dim 0`);
    });
    const sizes = tensors.map((t) => t.shape[0]);
    if (sizes.some((n) => n !== sizes[0]))
      throw new RangeError(
        `TensorDataset: every tensor must have the same size in dim 0, got shapes ${tensors.map((t) => formatShape(t.shape)).join(', ')}`,
      );
    this.tensors = tensors;
    this.length = sizes[0];
  }

  /** Row `index` of every tensor. */
  get(index: number): Tensor[] {
    checkIndex('TensorDataset', index, this.length);
    return this.tensors.map((t) => t.narrow(0, index, 1).squeeze(0));
  }

  /** The rows at `indices` of every tensor, gathered in one op each. */
  getBatch(indices: readonly number[]): Tensor[] {
    for (const i of indices) checkIndex('TensorDataset', i, this.length);
    // The index on each tensor's own backend (a dataset may live on a GPU backend).
    return this.tensors.map((t) =>
      t.indexSelect(0, fromTypedArray(Int32Array.from(indices), [indices.length], t.array.backend)),
    );
  }
}

/** The items of `dataset` at `indices`, in that order (torch's Subset). */
export class Subset<T> implements Dataset<T> {
  constructor(
    readonly dataset: Dataset<T>,
    readonly indices: readonly number[],
  ) {
    for (const i of indices) checkIndex('Subset', i, dataset.length);
  }

  get length(): number {
    return this.indices.length;
  }

  /** Item `indices[index]` of the underlying dataset. */
  get(index: number): T {
    checkIndex('Subset', index, this.indices.length);
    return this.dataset.get(this.indices[index]);
  }
}

/**
 * Splits a dataset into non-overlapping Subsets of the given lengths (counts summing to its
 * length, or fractions summing to 1), from one random permutation, as torch's random_split: with
 * fractions, each gets floor(fraction * length) and the remainder goes one by one to the first.
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  options: { generator?: Generator } = {},
): Subset<T>[] {
  checkOptions('randomSplit', options, { generator: generatorRule });
  if (
    !Array.isArray(lengths) ||
    lengths.length === 0 ||
    lengths.some((c) => typeof c !== 'number' || !(c >= 0))
  )
    throw new RangeError(
      `randomSplit: lengths must be a non-empty list of counts or fractions >= 0, got ${describeValue(lengths)}`,
    );
  const n = dataset.length;
  let counts = [...lengths];
  const total = counts.reduce((a, b) => a + b, 0);
  // torch's test for fractions: the sum is close to 1 (math.isclose) and not above the length.
  if (Math.abs(total - 1) <= 1e-9 * Math.max(1, Math.abs(total)) && total <= n) {
    if (counts.some((f) => f > 1))
      throw new RangeError(`randomSplit: fractions must be in [0, 1], got ${JSON.stringify(lengths)}`);
    counts = counts.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  }
  if (counts.some((c) => !Number.isInteger(c)) || counts.reduce((a, b) => a + b, 0) !== n)
    throw new RangeError(
      `randomSplit: lengths ${JSON.stringify(lengths)} must be counts that sum to the dataset's length (${n}) or fractions that sum to 1`,
    );
  const order = Array.from(randperm(n, { generator: options.generator ?? defaultGenerator }).data);
  let start = 0;
  return counts.map((count) => {
    const subset = new Subset(dataset, order.slice(start, start + count));
    start += count;
    return subset;
  });
}

/** What defaultCollate makes of items of type T: tensors and numbers become tensors, field by field. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number
    ? Tensor
    : T extends readonly unknown[]
      ? { [K in keyof T]: Collated<T[K]> }
      : T extends object
        ? { [K in keyof T]: Collated<T[K]> }
        : never;

/** DataLoader's options, as torch.utils.data.DataLoader's: batch size, shuffling (with a generator), dropping the last partial batch, a collate function, and how many batches to prepare ahead with `for await` (`prefetch`). */
export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A new random order each epoch, drawn from `generator` (default false: in order). */
  shuffle?: boolean;
  /** Leave out the last batch when it is short (default false). */
  dropLast?: boolean;
  /** Where shuffled orders come from (default: the global generator, so manualSeed fixes them). */
  generator?: Generator;
  /** Items to a batch (default `defaultCollate`: tensors stacked, numbers made tensors, tuples and records per field). */
  collate?: (items: T[]) => B;
  /** With `for await`: how many batches are being prepared ahead of the one in use (default 2). */
  prefetch?: number;
}

/**
 * Batches a dataset, as torch's DataLoader: `for (const [x, y] of loader)` runs one epoch. With
 * shuffle, each epoch (each iteration over the loader) is a new permutation drawn from the
 * generator, so a run is reproducible after manualSeed. A dataset that can hand out whole
 * batches (TensorDataset) does so in one gather per tensor when the collate is the default, with
 * the same result as stacking its items.
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  private readonly generator: Generator;
  private readonly collate: ((items: T[]) => B) | null;

  constructor(
    readonly dataset: {
      readonly length: number;
      /** Item `index` (or a Promise of it, for `for await`). */
      get(index: number): T | Promise<T>;
    },
    options: DataLoaderOptions<T, B> = {},
  ) {
    checkOptions('DataLoader', options, {
      batchSize: rules.positiveInteger,
      shuffle: rules.boolean,
      dropLast: rules.boolean,
      generator: generatorRule,
      collate: rules.func,
      prefetch: rules.positiveInteger,
    });
    if (
      typeof dataset !== 'object' ||
      dataset === null ||
      typeof dataset.get !== 'function' ||
      !Number.isSafeInteger(dataset.length) ||
      dataset.length < 0
    )
      throw new TypeError(
        `DataLoader: expected a dataset (an object with a length and get(i)), got ${describeValue(dataset)}`,
      );
    this.batchSize = options.batchSize ?? 1;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator ?? defaultGenerator;
    this.collate = options.collate ?? null;
    this.prefetch = options.prefetch ?? 2;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The batches' indices for one epoch (a new permutation when shuffling). */
  private epoch(): number[][] {
    const n = this.dataset.length;
    const order = this.shuffle
      ? Array.from(randperm(n, { generator: this.generator }).data)
      : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      if (indices.length < this.batchSize && this.dropLast) break;
      batches.push(indices);
    }
    return batches;
  }

  /** One epoch with `for ... of`: the batches in order (shuffled anew each epoch when `shuffle`). */
  *[Symbol.iterator](): Iterator<B> {
    for (const indices of this.epoch()) yield this.batch(indices);
  }

  /**
   * One epoch with `for await`, for datasets whose get() returns a Promise (or any dataset):
   * while a batch is in use, the next `prefetch` batches are being fetched, their items
   * requested together, so waiting on storage overlaps training.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const batches = this.epoch();
    const pending: Promise<B>[] = [];
    let next = 0;
    const request = () => {
      const indices = batches[next++];
      const batch = Promise.all(indices.map((i) => this.dataset.get(i))).then((items) =>
        this.collateItems(items),
      );
      // Its error surfaces where it is awaited; unawaited (the loop left early), it is dropped.
      batch.catch(() => {});
      pending.push(batch);
    };
    while (next < batches.length && pending.length <= this.prefetch) request();
    while (pending.length > 0) {
      yield await (pending.shift() as Promise<B>);
      if (next < batches.length) request();
    }
  }

  private batch(indices: number[]): B {
    const batched = this.dataset as Partial<BatchedDataset<T>>;
    if (this.collate === null && typeof batched.getBatch === 'function')
      return batched.getBatch(indices) as unknown as B;
    const items = indices.map((i) => this.dataset.get(i));
    if (items.some((item) => item instanceof Promise))
      throw new TypeError("DataLoader: the dataset's get() returned a Promise; iterate with `for await`");
    return this.collateItems(items as T[]);
  }

  private collateItems(items: T[]): B {
    return this.collate ? this.collate(items) : (defaultCollate(items) as B);
  }
}

/**
 * torch's default_collate for agrad's types: tensors are stacked along a new dim 0; numbers become
 * a 1-d tensor (int32 when all are integers, else float32); arrays (tuples) and plain records are
 * collated field by field, keeping their structure.
 */
export function defaultCollate(items: readonly unknown[]): unknown {
  if (items.length === 0) throw new RangeError('defaultCollate: no items to collate');
  const first = items[0];
  if (first instanceof Tensor) {
    if (!items.every((item) => item instanceof Tensor))
      throw new TypeError('defaultCollate: items mix tensors with other values');
    return stack(items as Tensor[], 0);
  }
  if (typeof first === 'number') {
    if (!items.every((item) => typeof item === 'number'))
      throw new TypeError('defaultCollate: items mix numbers with other values');
    const numbers = items as number[];
    return tensor(numbers, { dtype: numbers.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  if (Array.isArray(first)) {
    if (!items.every((item) => Array.isArray(item) && item.length === first.length))
      throw new RangeError(`defaultCollate: items are not all arrays of ${first.length} fields`);
    return first.map((_, k) => defaultCollate(items.map((item) => (item as unknown[])[k])));
  }
  if (typeof first === 'object' && first !== null && Object.getPrototypeOf(first) === Object.prototype) {
    const keys = Object.keys(first);
    return Object.fromEntries(
      keys.map((key) => [key, defaultCollate(items.map((item) => (item as Record<string, unknown>)[key]))]),
    );
  }
  throw new TypeError(
    `defaultCollate: cannot collate ${describeValue(first)}; expected tensors, numbers, arrays or records (or pass collate)`,
  );
}

const generatorRule = rules.instanceOf(Generator, 'Generator');

function checkIndex(op: string, index: number, length: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= length)
    throw new RangeError(
      `${op}: index ${index} is out of range for ${length} items (expected 0..${length - 1})`,
    );
}
