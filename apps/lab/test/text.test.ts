import { Generator } from '@agrad/autograd';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLS, MASK, makeBatch, PAD, SEP, UNK, Vocabulary, versePairs, words } from '../src/data/text.js';

describe('language data', () => {
  it('splits words, inner apostrophes and punctuation, lower-cased', () => {
    expect(words("And God said, Let there be light: and there was light. Israel's 12")).toEqual([
      'and',
      'god',
      'said',
      ',',
      'let',
      'there',
      'be',
      'light',
      ':',
      'and',
      'there',
      'was',
      'light',
      '.',
      "israel's",
      '12',
    ]);
  });

  it('the vocabulary ranks words by frequency after the five specials and maps the rest to [UNK]', () => {
    const v = new Vocabulary(['b a a', 'c a b'], 7);
    expect(v.tokens).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b']);
    expect(v.encode('a b c')).toEqual([5, 6, UNK]);
  });

  it('holds out every 10th chapter and pairs consecutive verses within a chapter only', () => {
    const verses = Array.from({ length: 20 }, (_, c) =>
      Array.from({ length: 3 }, (_, v) => ({
        book: 'Ge',
        chapter: c + 1,
        verse: v + 1,
        text: `ch${String.fromCharCode(97 + c)} verse`,
      })),
    ).flat();
    const split = versePairs(verses, { heldOutEvery: 10, vocabularySize: 100 });
    expect(split.chapters).toEqual({ train: 18, test: 2 });
    expect(split.train).toHaveLength(18 * 2);
    expect(split.test).toHaveLength(2 * 2);
    // Words only in held-out chapters (the 10th and 20th: chj, cht) are not in the vocabulary.
    expect(split.vocabulary.encode('chj cht cha')).toEqual([UNK, UNK, split.vocabulary.encode('cha')[0]]);
    expect(split.vocabulary.encode('cha')[0]).toBeGreaterThan(MASK);
  });

  it('batches: [CLS] A [SEP] B [SEP] within maxLength, SOP label = swapped, ~15% of words masked', () => {
    const pair = fc.array(fc.integer({ min: 5, max: 99 }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: pair, b: pair }), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        (pairs, seed) => {
          const maxLength = 24;
          const batch = makeBatch(pairs, new Generator(seed), maxLength, 100);
          expect(batch.length).toBeLessThanOrEqual(maxLength);
          pairs.forEach((p, i) => {
            const row = Array.from(batch.tokens.subarray(i * batch.length, (i + 1) * batch.length));
            const real = row.filter((_, t) => batch.padding[i * batch.length + t] === 0);
            expect(real[0]).toBe(CLS);
            expect(real.filter((t) => t === SEP)).toHaveLength(2);
            expect(real.at(-1)).toBe(SEP);
            expect(row.slice(real.length).every((t) => t === PAD)).toBe(true);
            // Unmask to compare with the pair: the first segment is B when swapped.
            const original = [...row];
            batch.maskedPositions.forEach((at, k) => {
              if (at >= i * batch.length && at < (i + 1) * batch.length)
                original[at - i * batch.length] = batch.maskedTargets[k];
            });
            const firstSep = original.indexOf(SEP);
            const first = original.slice(1, firstSep);
            const [x, y] = batch.sopLabels[i] === 1 ? [p.b, p.a] : [p.a, p.b];
            expect(first).toEqual(x.slice(0, first.length));
            const second = original.slice(firstSep + 1, real.length - 1);
            expect(second).toEqual(y.slice(0, second.length));
          });
          for (const at of batch.maskedPositions) expect(batch.padding[at]).toBe(0);
          for (const target of batch.maskedTargets) expect(target).toBeGreaterThan(MASK);
        },
      ),
      { numRuns: 60 },
    );
    // On a large batch the masking rate is close to 15%.
    const long = Array.from({ length: 200 }, (_, i) => ({
      a: [5 + (i % 50), 6, 7, 8, 9, 10],
      b: [11, 12, 13, 14, 15],
    }));
    const batch = makeBatch(long, new Generator(1), 64, 100);
    expect(batch.maskedPositions.length / (200 * 11)).toBeCloseTo(0.15, 1);
  });
});
