import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Debian's Chromium for the end-to-end tests (the browser bundle's and the playground's), driven by
 * playwright-core. Without it those tests are skipped, unless AGRAD_BROWSER_TESTS=required (as CI
 * sets it), which turns a missing browser into a failure.
 */
export const chromiumPath = process.env.AGRAD_CHROMIUM ?? '/usr/bin/chromium';
export const browserRequired = process.env.AGRAD_BROWSER_TESTS === 'required';
export const browserAvailable = existsSync(chromiumPath);

export async function launchChromium(): Promise<Browser> {
  if (!browserAvailable) {
    throw new Error(`Chromium is required (AGRAD_BROWSER_TESTS) but ${chromiumPath} does not exist`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    // No network here: the background services would only fail to connect.
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Collects the page's console errors and uncaught exceptions into the returned list. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  return errors;
}
