// Takes the README's screenshot: the built playground (pnpm build) in Debian's headless Chromium,
// default settings (spirals), trained for 25 seconds.
//   node apps/playground/scripts/screenshot.mjs [output.png]
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const output =
  process.argv[2] ?? fileURLToPath(new URL('../../../docs/images/playground.png', import.meta.url));
const server = await preview({ root, logLevel: 'silent', preview: { port: 0, host: '127.0.0.1' } });
const browser = await chromium.launch({
  executablePath: process.env.AGRAD_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(server.resolvedUrls.local[0]);
  await page.waitForFunction(() => window.playground.backend !== '');
  await page.click('#start');
  await new Promise((resolve) => setTimeout(resolve, 25_000));
  await page.click('#pause');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await page.screenshot({ path: output, fullPage: true });
  console.log(`wrote ${output} at step ${await page.textContent('#step-count')}`);
} finally {
  await browser.close();
  await server.close();
}
