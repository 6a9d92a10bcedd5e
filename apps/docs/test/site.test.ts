import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailable,
  browserRequired,
  collectErrors,
  launchChromium,
} from '../../browser/test/chromium.js';
import { filesUnder, SITE } from '../src/build-site.js';

/**
 * The built documentation site (`pnpm docs`; the CI command builds it before the tests): every
 * relative link and resource of every page resolves to a file of the site, and the pages load in
 * Chromium without console errors or failed requests, served below an arbitrary path so that a
 * link that assumes the site's location fails.
 */
const PREFIX = '/some/host/path/agrad-docs/';
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

const pages = () => (existsSync(SITE) ? filesUnder(SITE).filter((f) => f.endsWith('.html')) : []);

/** Relative links and resources of a page: href and src attributes that name no scheme. */
function relativeTargets(html: string): string[] {
  return [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)]
    .map((m) => m[1].replace(/&amp;/g, '&'))
    .filter((t) => t !== '' && !t.startsWith('#') && !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('//'));
}

describe('the documentation site', () => {
  beforeAll(() => {
    if (!existsSync(join(SITE, 'index.html')))
      throw new Error('docs/site is missing: run `pnpm docs` first (the CI command builds it)');
  });

  it('has the API reference of every package, the six tutorials and the playground', () => {
    const files = pages().map((f) => relative(SITE, f).split(sep).join('/'));
    const index = readFileSync(join(SITE, 'index.html'), 'utf8');
    for (const pkg of ['tensor', 'autograd', 'nn', 'optim', 'onnx', 'gpu'])
      expect(index).toContain(`@agrad/${pkg}`);
    expect(files.filter((f) => f.startsWith('documents/'))).toHaveLength(6);
    expect(files).toContain('playground/index.html');
    expect(index).toContain('href="playground/index.html"');
    // The API reference documents, among every export, the ones the tutorials lean on.
    const reference = files.join('\n');
    for (const name of [
      'Tensor',
      'customOp',
      'gradcheck',
      'toDot',
      'agr',
      'chain',
      'Optimizer',
      'exportOnnx',
    ])
      expect(reference).toMatch(new RegExp(`[./]${name}\\.html`));
  });

  it('links only to files of the site, relatively', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      for (const target of relativeTargets(readFileSync(page, 'utf8'))) {
        if (target.startsWith('/')) {
          broken.push(`${relative(SITE, page)}: ${target} (absolute)`);
          continue;
        }
        const file = resolve(page, '..', decodeURIComponent(target.split(/[?#]/)[0]));
        const inside = file.startsWith(SITE + sep);
        const exists = existsSync(file) && (statSync(file).isFile() || existsSync(join(file, 'index.html')));
        if (!inside || !exists) broken.push(`${relative(SITE, page)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  describe.skipIf(!browserAvailable && !browserRequired)('in headless Chromium', () => {
    let server: Server;
    let base: string;
    let browser: Browser;

    beforeAll(async () => {
      server = createServer((request, response) => {
        const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
        const file = path.startsWith(PREFIX) ? resolve(SITE, path.slice(PREFIX.length) || 'index.html') : '';
        if (!file.startsWith(SITE) || !existsSync(file) || !statSync(file).isFile()) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        response.end(readFileSync(file));
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PREFIX}`;
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((done) => server?.close(done));
    });

    it('loads the front page, every tutorial, every package page and the playground without errors', async () => {
      const chosen = pages()
        .map((f) => relative(SITE, f).split(sep).join('/'))
        .filter(
          (f) =>
            f === 'index.html' ||
            f === 'modules.html' ||
            f.startsWith('documents/') ||
            /^modules\/[^/]+\.html$/.test(f),
        )
        .concat('playground/index.html');
      expect(chosen.length).toBeGreaterThan(10);
      const page = await browser.newPage();
      const errors = collectErrors(page);
      const failed: string[] = [];
      // A request the next navigation cancels (the favicon, fetched after 'load') is aborted, not
      // broken: missing files show as 4xx responses, and the link check above covers every file.
      page.on('requestfailed', (r) => {
        const error = r.failure()?.errorText;
        if (error !== 'net::ERR_ABORTED') failed.push(`${r.url()} (${error})`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.url()} (${r.status()})`);
      });
      for (const path of chosen) {
        await page.goto(base + path, { waitUntil: 'load' });
        expect(await page.title(), path).not.toBe('');
      }
      // The playground's way back to the documentation lands on the front page.
      await page.click('#docs-link');
      await page.waitForURL(`${base}index.html`);
      expect(await page.textContent('body')).toContain('Tutorials');
      await page.close();
      expect(failed).toEqual([]);
      expect(errors).toEqual([]);
    });
  });
});
