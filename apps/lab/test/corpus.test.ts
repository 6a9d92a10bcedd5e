import { describe, expect, it } from 'vitest';
import { loadKjv, parseVerses } from '../src/data/corpus.js';

describe('the KJV corpus', () => {
  it('holds the 31,102 verses of the King James Bible, Genesis to Revelation', () => {
    const { verses } = loadKjv();
    expect(verses.length).toBe(31102);
    expect(verses[0]).toEqual({
      book: 'Ge',
      chapter: 1,
      verse: 1,
      text: 'In the beginning God created the heaven and the earth.',
    });
    expect(verses.at(-1)).toMatchObject({ book: 'Rev', chapter: 22, verse: 21 });
    expect(new Set(verses.map((v) => v.book)).size).toBe(66);
  });
  it('names the file and line of malformed text, and how to get the corpus', () => {
    expect(() => parseVerses('Ge1:1 ok\nnot a verse\n', 'x.txt')).toThrow(
      'x.txt:2: expected "Book C:V text", got "not a verse"',
    );
    expect(() => loadKjv('/nonexistent')).toThrow(
      /\/nonexistent\/kjv\.txt: cannot read the corpus.*apt-get install bible-kjv/,
    );
  });
});
