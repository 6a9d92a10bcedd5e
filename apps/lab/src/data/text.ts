import type { Verse } from './corpus.js';

/** Ids of the special tokens, the first five entries of every vocabulary. */
export const PAD = 0;
export const UNK = 1;
export const CLS = 2;
export const SEP = 3;
export const MASK = 4;
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Lower-cased words (with inner apostrophes), numbers, and single punctuation marks. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?|[0-9]+|[^\sa-z0-9]/g) ?? [];
}

/** A word-level vocabulary: the specials, then words by frequency (ties alphabetical). */
export class Vocabulary {
  readonly tokens: string[];
  private readonly ids: Map<string, number>;

  constructor(texts: Iterable<string>, maxSize: number) {
    const counts = new Map<string, number>();
    for (const text of texts) for (const w of words(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    this.tokens = [...SPECIALS, ...ranked.slice(0, maxSize - SPECIALS.length).map(([w]) => w)];
    this.ids = new Map(this.tokens.map((t, i) => [t, i]));
  }

  get size(): number {
    return this.tokens.length;
  }

  encode(text: string): number[] {
    return words(text).map((w) => this.ids.get(w) ?? UNK);
  }
}

/** Two consecutive verses of one chapter: the sentence pair of ALBERT's sentence-order task. */
export interface VersePair {
  a: number[];
  b: number[];
}

/**
 * Splits the corpus by chapter (every `heldOutEvery`-th chapter held out, so held-out text is
 * unseen but of the same style), builds the vocabulary from the training chapters only, and
 * returns consecutive-verse pairs of each split.
 */
export function versePairs(
  verses: Verse[],
  options: { heldOutEvery: number; vocabularySize: number },
): {
  vocabulary: Vocabulary;
  train: VersePair[];
  test: VersePair[];
  chapters: { train: number; test: number };
} {
  const chapters: Verse[][] = [];
  for (const verse of verses) {
    const last = chapters.at(-1)?.[0];
    if (last && last.book === verse.book && last.chapter === verse.chapter) chapters.at(-1)?.push(verse);
    else chapters.push([verse]);
  }
  const isHeldOut = (index: number) => index % options.heldOutEvery === options.heldOutEvery - 1;
  const vocabulary = new Vocabulary(
    chapters.filter((_, i) => !isHeldOut(i)).flatMap((c) => c.map((v) => v.text)),
    options.vocabularySize,
  );
  const train: VersePair[] = [];
  const test: VersePair[] = [];
  chapters.forEach((chapter, index) => {
    const encoded = chapter.map((v) => vocabulary.encode(v.text));
    for (let i = 0; i + 1 < encoded.length; i++)
      (isHeldOut(index) ? test : train).push({ a: encoded[i], b: encoded[i + 1] });
  });
  const heldOutChapters = chapters.filter((_, i) => isHeldOut(i)).length;
  return {
    vocabulary,
    train,
    test,
    chapters: { train: chapters.length - heldOutChapters, test: heldOutChapters },
  };
}

/** One batch of pre-training inputs: [CLS] A [SEP] B [SEP], padded; MLM targets; SOP labels. */
export interface PretrainingBatch {
  tokens: Int32Array;
  segments: Int32Array;
  padding: Uint8Array;
  length: number;
  /** Flat positions (n * length + t) of the masked tokens, and the original ids there. */
  maskedPositions: Int32Array;
  maskedTargets: Int32Array;
  /** 1 where A and B were swapped. */
  sopLabels: Int32Array;
}

/** Uniform draws in [0, 1); the caller passes a seeded generator so batches are reproducible. */
export interface Uniform {
  uniform(): number;
}

/**
 * BERT's masking: this share of the word tokens is predicted; of those, this share becomes
 * [MASK], this share a random word, and the rest stay as they are.
 */
export const MASKING = { rate: 0.15, mask: 0.8, random: 0.1, keep: 0.1 } as const;

/**
 * Builds a batch as ALBERT's pre-training does: swap the pair with probability 1/2 (the SOP
 * label), truncate the longer segment first to fit `maxLength`, and mask 15% of the word tokens
 * (of those, 80% become [MASK], 10% a random word, 10% stay), predicting the originals.
 */
export function makeBatch(
  pairs: VersePair[],
  random: Uniform,
  maxLength: number,
  vocabSize: number,
): PretrainingBatch {
  const n = pairs.length;
  const rows: Array<{ ids: number[]; segments: number[]; swapped: boolean }> = pairs.map((pair) => {
    const swapped = random.uniform() < 0.5;
    const [first, second] = swapped ? [pair.b, pair.a] : [pair.a, pair.b];
    // Trim the longer segment one token at a time until both fit (ties trim the first), counting
    // lengths and slicing once.
    let [keepA, keepB] = [first.length, second.length];
    while (keepA + keepB > maxLength - 3) {
      if (keepA >= keepB) keepA -= 1;
      else keepB -= 1;
    }
    const [a, b] = [first.slice(0, keepA), second.slice(0, keepB)];
    return {
      ids: [CLS, ...a, SEP, ...b, SEP],
      segments: [0, ...a.map(() => 0), 0, ...b.map(() => 1), 1],
      swapped,
    };
  });
  const length = Math.max(...rows.map((r) => r.ids.length));
  const tokens = new Int32Array(n * length);
  const segments = new Int32Array(n * length);
  const padding = new Uint8Array(n * length).fill(1);
  const positions: number[] = [];
  const targets: number[] = [];
  rows.forEach((row, i) => {
    row.ids.forEach((id, t) => {
      const at = i * length + t;
      tokens[at] = id;
      segments[at] = row.segments[t];
      padding[at] = 0;
      if (id < SPECIALS.length || random.uniform() >= MASKING.rate) return;
      positions.push(at);
      targets.push(id);
      const r = random.uniform();
      if (r < MASKING.mask) tokens[at] = MASK;
      else if (r < MASKING.mask + MASKING.random)
        tokens[at] = SPECIALS.length + Math.floor(random.uniform() * (vocabSize - SPECIALS.length));
    });
  });
  // A batch with nothing masked would have no MLM loss; mask the first word of the first pair.
  if (positions.length === 0) {
    positions.push(1);
    targets.push(tokens[1]);
    tokens[1] = MASK;
  }
  return {
    tokens,
    segments,
    padding,
    length,
    maskedPositions: Int32Array.from(positions),
    maskedTargets: Int32Array.from(targets),
    sopLabels: Int32Array.from(rows, (r) => (r.swapped ? 1 : 0)),
  };
}
