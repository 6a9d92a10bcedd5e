import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runnablePage } from '../src/doctest.js';

/**
 * Every tutorial's code runs here, as one program per page, against the packages' sources, and
 * must print what the page says it prints; every link into the repository must point at a file
 * that exists and, where the link names a function or class, defines it.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const TUTORIALS = join(ROOT, 'docs/tutorials');
const RUNS = join(import.meta.dirname, '../.tutorial-runs');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const pages = readdirSync(TUTORIALS)
  .filter((f) => f.endsWith('.md'))
  .sort();

afterAll(() => rmSync(RUNS, { recursive: true, force: true }));

describe.each(pages)('docs/tutorials/%s', (page) => {
  const markdown = readFileSync(join(TUTORIALS, page), 'utf8');

  it('runs, printing what the page promises', () => {
    const { blocks, program, promised } = runnablePage(markdown);
    expect(blocks.length).toBeGreaterThan(0);
    expect(promised.length, 'a tutorial promises some output').toBeGreaterThan(0);
    mkdirSync(RUNS, { recursive: true });
    const file = join(RUNS, page.replace(/\.md$/, '.ts'));
    writeFileSync(file, program);
    let printed: string;
    try {
      printed = execFileSync(TSX, ['--conditions=source', file], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(`${page} failed:\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.replace(/^/gm, '| ')}`);
    }
    // Every line printed must be promised, in order: a page shows all of its output.
    expect(printed.trim().split('\n')).toEqual(promised);
  });

  it('links only to files that exist, defining what the link names', () => {
    for (const [, text, target] of markdown.matchAll(/\[([^\]]+)\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const path = resolve(TUTORIALS, target);
      expect(existsSync(path), `${page}: [${text}](${target})`).toBe(true);
      const named = /^`([A-Za-z_$][\w$]*)(\(\))?`$/.exec(text);
      if (named && path.endsWith('.ts')) {
        const source = readFileSync(path, 'utf8');
        const defines = new RegExp(
          `(function|class|interface|type|const)\\s+${named[1]}\\b|^\\s+(get\\s+)?${named[1]}\\s*[(<]`,
          'm',
        );
        expect(defines.test(source), `${page}: ${target} defines ${named[1]}`).toBe(true);
      }
    }
  });
});
