/**
 * Headless Debian Chromium through playwright-core. Never downloads a browser: the
 * machine's /usr/bin/chromium is used (CHROMIUM_PATH overrides).
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/**
 * Where a test writes a screenshot: outside the work tree (tests leave it clean), unless
 * ACCORD_SCREENSHOTS=docs asks to refresh the committed ones under docs/.
 */
export function screenshotPath(name: string): string {
	const dir = process.env.ACCORD_SCREENSHOTS === 'docs' ? 'docs' : path.join(os.tmpdir(), 'accord-screenshots');
	mkdirSync(dir, { recursive: true });
	return path.join(dir, name);
}

export async function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
	});
}

/** The desktop window most browser tests use. */
export const DESKTOP = { width: 1280, height: 860 } as const;

/**
 * A fresh browser context (its own cookies) in the given language and viewport
 * (desktop unless given). Nobody is signed in yet: sign in with `signInAs` (tests/support/sign-in.ts).
 */
export async function contextAs(browser: Browser, locale = 'en-US', viewport: { width: number; height: number } = DESKTOP): Promise<BrowserContext> {
	return browser.newContext({ locale, viewport });
}
