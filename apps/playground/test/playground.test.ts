import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browserAvailable,
  browserRequired,
  collectErrors,
  launchChromium,
} from '../../browser/test/chromium.js';

/**
 * The playground end to end, in Debian's headless Chromium driven by playwright-core, against the
 * static build (`pnpm build`) served by `vite preview`. Screenshots go to test-results/playground/.
 * Without Chromium the tests are skipped, unless AGRAD_BROWSER_TESTS=required (see
 * apps/browser/test/chromium.ts).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const shots = fileURLToPath(new URL('../../../test-results/playground/', import.meta.url));

interface State {
  history: { steps: number[]; loss: number[][]; accuracy: number[][] };
  backend: string;
  errors: string[];
}
const state = (page: Page) => page.evaluate(() => (window as unknown as { playground: State }).playground);
const stepCount = async (page: Page) => Number(await page.textContent('#step-count'));

/** Clicks Step `count` times, each time waiting for the worker's report. */
async function step(page: Page, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const before = await stepCount(page);
    await page.click('#step');
    await page.waitForFunction((n) => Number(document.getElementById('step-count')?.textContent) > n, before);
  }
}

/** Changes a checkbox (which resets both runs) and waits for the fresh runs' first report. */
async function setAgr(page: Page, run: 1 | 2, on: boolean): Promise<void> {
  const box = `#agr-${run}`;
  if ((await page.isChecked(box)) === on) return;
  await page.setChecked(box, on);
  await page.waitForFunction(() => document.getElementById('step-count')?.textContent === '0');
}

describe.skipIf(!browserAvailable && !browserRequired)('the AGR playground in headless Chromium', () => {
  let server: PreviewServer;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/index.html'))) {
      throw new Error('apps/playground/dist is missing: run `pnpm build` first (CI does)');
    }
    mkdirSync(shots, { recursive: true });
    server = await preview({ root, logLevel: 'silent', preview: { port: 0, host: '127.0.0.1' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    consoleErrors = collectErrors(page);
    await page.goto(server.resolvedUrls?.local[0] ?? '');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads with no console errors and shows which backend trains', async () => {
    await page.waitForFunction(() => (window as unknown as { playground: State }).playground.backend !== '');
    const { backend, errors } = await state(page);
    // Chromium here has WebGL2 (SwiftShader) in workers, so the gpu.js backend is chosen.
    expect(backend).toBe('gpu:webgl2');
    expect(await page.textContent('#backend')).toContain('gpu:webgl2');
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(shots, 'loaded.png'), fullPage: true });
  });

  it('starts a run, updates both curves while the page stays responsive, and pauses', async () => {
    await page.click('#start');
    await page.waitForFunction(
      () => (window as unknown as { playground: State }).playground.history.steps.length >= 3,
      null,
      {
        timeout: 120_000,
      },
    );
    const early = await state(page);
    // The main thread answers at once while the worker trains.
    const started = Date.now();
    await page.evaluate(() => 1);
    expect(Date.now() - started).toBeLessThan(1000);
    await page.waitForFunction(
      (n) => (window as unknown as { playground: State }).playground.history.steps.length >= n + 3,
      early.history.steps.length,
      {
        timeout: 120_000,
      },
    );
    await page.click('#pause');
    const later = await state(page);
    for (const run of [0, 1]) {
      expect(later.history.loss[run].length).toBe(later.history.steps.length);
      expect(later.history.loss[run].length).toBeGreaterThan(early.history.loss[run].length);
      expect(later.history.loss[run].every(Number.isFinite)).toBe(true);
      expect(later.history.accuracy[run].every((a) => a >= 0 && a <= 1)).toBe(true);
    }
    expect(await page.isDisabled('#start')).toBe(false);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(shots, 'training.png'), fullPage: true });
  });

  it('toggling AGR changes the run: equal settings give equal runs, AGR on one makes them differ', async () => {
    await setAgr(page, 1, true);
    await setAgr(page, 2, true);
    await step(page, 12);
    const bothOn = (await state(page)).history.loss;
    expect(bothOn[0]).toEqual(bothOn[1]);

    await setAgr(page, 2, false);
    await step(page, 12);
    const oneOn = (await state(page)).history.loss;
    // Same seed, same batches: run 1 (AGR) repeats itself, run 2 (no AGR) goes its own way.
    expect(oneOn[0]).toEqual(bothOn[0]);
    expect(oneOn[1]).not.toEqual(oneOn[0]);
    expect(Math.max(...oneOn[1].map((l, i) => Math.abs(l - oneOn[0][i])))).toBeGreaterThan(1e-6);
    await page.screenshot({ path: join(shots, 'agr-toggled.png'), fullPage: true });
  });

  it('trains on the Fashion-MNIST subset too (no decision boundary for images)', async () => {
    await page.selectOption('#dataset', 'fashion-mnist');
    await page.waitForFunction(() => document.getElementById('no-boundary')?.hidden === false, null, {
      timeout: 60_000,
    });
    await step(page, 2);
    const { history, errors } = await state(page);
    expect(history.steps).toEqual([1, 2]);
    // Ten classes: the first losses sit near ln 10.
    for (const run of [0, 1]) expect(Math.abs(history.loss[run][0] - Math.log(10))).toBeLessThan(0.7);
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(shots, 'fashion-mnist.png'), fullPage: true });
    await page.selectOption('#dataset', 'spirals');
    await page.waitForFunction(() => document.getElementById('no-boundary')?.hidden === true);
  });

  it('reset starts both runs over from the same weights', async () => {
    await step(page, 3);
    const first = (await state(page)).history.loss.map((l) => l[0]);
    expect(first.every(Number.isFinite)).toBe(true);
    await page.click('#reset');
    await page.waitForFunction(() => document.getElementById('step-count')?.textContent === '0');
    expect((await state(page)).history.steps).toEqual([]);
    await step(page, 1);
    const again = await state(page);
    expect(again.history.steps).toEqual([1]);
    expect(again.history.loss.map((l) => l[0])).toEqual(first);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(shots, 'reset.png'), fullPage: true });
  });
});
