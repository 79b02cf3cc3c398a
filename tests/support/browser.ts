/**
 * Headless Debian Chromium through playwright-core. Never downloads a browser: the
 * machine's /usr/bin/chromium is used (CHROMIUM_PATH overrides).
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';

export async function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
	});
}

/** A browser context for one person of the demo team, in the given language. */
export async function contextAs(browser: Browser, server: RunningServer, personId: string, locale = 'en-US'): Promise<BrowserContext> {
	const context = await browser.newContext({ locale, viewport: { width: 1280, height: 860 } });
	await context.addCookies([{ name: 'accord_person', value: personId, url: server.url }]);
	return context;
}
