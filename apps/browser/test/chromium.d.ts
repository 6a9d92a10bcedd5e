import { type Browser, type Page } from 'playwright-core';
/**
 * Debian's Chromium for the end-to-end tests (the browser bundle's and the playground's), driven by
 * playwright-core. Without it those tests are skipped, unless AGRAD_BROWSER_TESTS=required (as CI
 * sets it), which turns a missing browser into a failure.
 */
export declare const chromiumPath: string;
export declare const browserRequired: boolean;
export declare const browserAvailable: boolean;
export declare function launchChromium(): Promise<Browser>;
/** Collects the page's console errors and uncaught exceptions into the returned list. */
export declare function collectErrors(page: Page): string[];
