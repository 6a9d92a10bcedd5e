import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as autograd from '@agrad/autograd';
import * as nn from '@agrad/nn';
import * as optim from '@agrad/optim';
import * as tensor from '@agrad/tensor';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, browserRequired, collectErrors, launchChromium } from './chromium.js';
// @ts-expect-error: plain JavaScript shared with the page, no type declarations
import { trainSteps } from './page/train-step.js';

/**
 * The browser bundle in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * loads dist/agrad.browser.js, trains a small CNN for three steps with gpu.js in WebGL2 mode and
 * again with the CPU backend, and both must agree with each other and with the same run in Node.
 * Chromium renders WebGL with SwiftShader here (software), so this checks correctness, not speed.
 *
 * Without Chromium the test is skipped, unless AGRAD_BROWSER_TESTS=required (see ./chromium.ts).
 */
const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  losses: number[];
  params: Record<string, number[]>;
  backend: string;
}
interface PageResult {
  mode?: string;
  error?: string;
  gpu: Run;
  cpu: Run;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.map': 'application/json',
};

/** Serves the app folder (the bundle in dist/, the page in test/page/) on a free local port. */
function serve(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path === '/' ? 'test/page/index.html' : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function expectClose(actual: Run, expected: Run, tolerance: number): void {
  actual.losses.forEach((loss, i) => expect(Math.abs(loss - expected.losses[i])).toBeLessThan(tolerance));
  for (const [name, values] of Object.entries(expected.params)) {
    const other = actual.params[name];
    expect(other.length, name).toBe(values.length);
    const worst = Math.max(...values.map((v, i) => Math.abs(other[i] - v) / (1 + Math.abs(v))));
    expect(worst, name).toBeLessThan(tolerance);
  }
}

describe.skipIf(!browserAvailable && !browserRequired)('the browser bundle in headless Chromium', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/agrad.browser.js'))) {
      throw new Error('dist/agrad.browser.js is missing: run `pnpm build` first (CI does)');
    }
    server = await serve();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('trains on gpu.js in WebGL2 mode and matches the CPU backend, in the page and in Node', async () => {
    const page = await browser.newPage();
    const consoleErrors = collectErrors(page);
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { agradResult?: unknown }).agradResult, null, {
      timeout: 120_000,
    });
    const result = (await page.evaluate(
      () => (window as unknown as { agradResult: unknown }).agradResult,
    )) as PageResult;
    expect(result.error).toBeUndefined();
    expect(consoleErrors).toEqual([]);
    expect(result.mode).toBe('webgl2');
    expect(result.gpu.backend).toBe('gpu:webgl2');
    expect(result.gpu.losses[2]).toBeLessThan(result.gpu.losses[0]);
    // WebGL2 (float32 in SwiftShader) against the CPU backend in the same page...
    expectClose(result.gpu, result.cpu, 5e-4);
    // ...and the page's CPU run against the same run in Node.
    const node = trainSteps({ autograd, nn, optim, tensor }, tensor.cpuBackend) as Run;
    expectClose(result.cpu, node, 1e-6);
    await page.close();
  });
});
