import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkModel, onnxChecker } from '../../../packages/onnx/test/helpers.js';
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
  timings: Record<string, number>;
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

  it('loads with no console errors, times both backends and trains on the faster', async () => {
    await page.waitForFunction(
      () => (window as unknown as { playground: State }).playground.backend !== '',
      null,
      {
        timeout: 120_000,
      },
    );
    const { backend, timings, errors } = await state(page);
    // Chromium here has WebGL2 (SwiftShader) in workers: 'auto' timed gpu.js there and the CPU backend.
    expect(Object.keys(timings).sort()).toEqual(['cpu', 'gpu:webgl2']);
    const faster = timings.cpu <= timings['gpu:webgl2'] ? 'cpu' : 'gpu:webgl2';
    expect(backend).toBe(faster);
    expect(await page.textContent('#backend')).toMatch(
      new RegExp(
        `backend: ${faster} .*auto picked the faster: cpu [\\d.]+ ms/step, gpu:webgl2 [\\d.]+ ms/step`,
      ),
    );
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: join(shots, 'loaded.png'), fullPage: true });
  });

  it("draws the autograd graph of run 1's loss, and links to the documentation", async () => {
    // The default model (2 inputs, hidden 16,16, 2 classes): three Linear layers, six parameters.
    const parameters = await page.$$eval('#graph g.node.parameter title', (titles) =>
      titles.map((t) => t.textContent),
    );
    expect(parameters.sort()).toEqual(
      ['0.bias [16]', '0.weight [16,2]', '2.bias [16]', '2.weight [16,16]', '4.bias [2]', '4.weight [2,16]']
        .map((p) => `${p} float32`)
        .sort(),
    );
    const nodes = await page.$$eval('#graph g.node', (g) => g.length);
    expect(await page.textContent('#graph-size')).toBe(`${nodes} tensors`);
    expect(await page.getAttribute('#docs-link', 'href')).toBe('../index.html');
  });

  it('trains on gpu.js in WebGL2 when asked to', async () => {
    await page.selectOption('#backendChoice', 'gpu');
    await page.waitForFunction(
      () => (window as unknown as { playground: State }).playground.backend === 'gpu:webgl2',
      null,
      {
        timeout: 120_000,
      },
    );
    await step(page, 3);
    const { history, errors } = await state(page);
    expect(history.steps).toEqual([1, 2, 3]);
    for (const run of [0, 1]) expect(history.loss[run].every(Number.isFinite)).toBe(true);
    expect(errors).toEqual([]);
    await page.selectOption('#backendChoice', 'auto');
    await page.waitForFunction(() => document.getElementById('step-count')?.textContent === '0');
  });

  it('refuses invalid settings with a message, keeping the runs as they are', async () => {
    for (const [field, value, message] of [
      ['#lr', '-0.5', 'Learning rate must be a finite number ≥ 0, got -0.5'],
      ['#lr', '', 'Learning rate must be a finite number ≥ 0, got NaN'],
      ['#batchSize', '2.5', 'Batch size must be a whole number from 1 to 2048, got 2.5'],
      ['#hidden', '16,abc', 'Hidden layers must be 1 to 4 comma-separated widths from 1 to 256, got 16,NaN'],
    ] as const) {
      await step(page, 2);
      const before = await state(page);
      await page.fill(field, value);
      await page.dispatchEvent(field, 'change');
      await page.waitForFunction(() => document.getElementById('settings-error')?.hidden === false);
      expect(await page.textContent('#settings-error')).toContain(message);
      expect(await page.getAttribute(field, 'aria-invalid')).toBe('true');
      expect(await page.isDisabled('#start')).toBe(true);
      // Nothing restarted: the curves and the step count are those from before.
      expect((await state(page)).history).toEqual(before.history);
      const restore = { '#lr': '0.03', '#batchSize': '32', '#hidden': '16,16' }[field];
      await page.fill(field, restore);
      await page.dispatchEvent(field, 'change');
      await page.waitForFunction(() => document.getElementById('settings-error')?.hidden === true);
      await page.waitForFunction(() => document.getElementById('step-count')?.textContent === '0');
      expect(await page.getAttribute(field, 'aria-invalid')).toBeNull();
    }
    expect(consoleErrors).toEqual([]);
  });

  it("the chart's legend shows the latest values", async () => {
    await step(page, 3);
    const { history } = await state(page);
    const values = await page.$$eval('.u-legend .u-value', (cells) => cells.map((c) => c.textContent));
    const last = history.steps.length - 1;
    expect(values).toEqual([
      String(history.steps[last]),
      history.loss[0][last].toFixed(4),
      history.loss[1][last].toFixed(4),
      `${(100 * history.accuracy[0][last]).toFixed(1)}%`,
      `${(100 * history.accuracy[1][last]).toFixed(1)}%`,
    ]);
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

  it('fits a 390 px wide phone screen without scrolling sideways', async () => {
    const narrow = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors = collectErrors(narrow);
    await narrow.goto(server.resolvedUrls?.local[0] ?? '');
    await narrow.waitForFunction(
      () => (window as unknown as { playground: State }).playground.backend !== '',
      null,
      {
        timeout: 120_000,
      },
    );
    await narrow.click('#step');
    await narrow.waitForFunction(() => Number(document.getElementById('step-count')?.textContent) > 0);
    const widths = await narrow.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      widest: Math.max(
        ...[...document.querySelectorAll('body *')].map((e) => e.getBoundingClientRect().right),
      ),
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    expect(widths.widest).toBeLessThanOrEqual(widths.viewport);
    expect(errors).toEqual([]);
    await narrow.screenshot({ path: join(shots, 'phone-390.png'), fullPage: true });
    await narrow.close();
  });

  it('downloads a run as .onnx, which onnxruntime-web runs to the same predictions as agrad', async () => {
    await step(page, 4);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-2')]);
    expect(download.suggestedFilename()).toMatch(/^agr-playground-run2-step\d+\.onnx$/);
    const file = readFileSync(await download.path());
    if (onnxChecker) expect(checkModel(file)).toBe('');
    const bytes = [...file];
    const { lastExport } = (await page.evaluate(
      () => (window as unknown as { playground: unknown }).playground,
    )) as { lastExport: { probe: { input: number[]; shape: number[]; logits: number[] } } };
    // onnxruntime-web's own files, served beside the page.
    const ortDist = join(root, 'node_modules/onnxruntime-web/dist');
    await page.route('**/__ort__/*', (route) => {
      const file = basename(new URL(route.request().url()).pathname);
      const contentType = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      return route.fulfill({ path: join(ortDist, file), contentType });
    });
    const origin = new URL(page.url()).origin;
    await page.addScriptTag({ url: `${origin}/__ort__/ort.wasm.min.js` });
    const logits = await page.evaluate(
      async ({ bytes, probe, base }) => {
        // biome-ignore lint/suspicious/noExplicitAny: onnxruntime-web's global, loaded just above
        const ort = (window as any).ort;
        ort.env.wasm.wasmPaths = base;
        ort.env.wasm.numThreads = 1;
        const session = await ort.InferenceSession.create(new Uint8Array(bytes));
        const input = new ort.Tensor('float32', Float32Array.from(probe.input), probe.shape);
        const output = await session.run({ input });
        return [...(output.logits.data as Float32Array)];
      },
      { bytes, probe: lastExport.probe, base: `${origin}/__ort__/` },
    );
    const expected = lastExport.probe.logits;
    expect(logits).toHaveLength(expected.length);
    logits.forEach((v, i) =>
      expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i]))),
    );
    // The same predicted class for every probe input.
    const classes = expected.length / lastExport.probe.shape[0];
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    for (let i = 0; i < lastExport.probe.shape[0]; i++)
      expect(argmax(logits.slice(i * classes, (i + 1) * classes))).toBe(
        argmax(expected.slice(i * classes, (i + 1) * classes)),
      );
    expect(consoleErrors).toEqual([]);
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
