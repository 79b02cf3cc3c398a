/**
 * The service worker takes every open page, including one that was still loading when
 * it activated. Such a page is skipped by the worker's claim at activation (only pages
 * already running are claimed); without asking again it stays outside the worker, with
 * no offline reload and no offline shell kept, until the person reloads it.
 *
 * The page is also kept for offline use, as if the worker had seen it load.
 *
 * The race is made certain here: a page's navigation is held at the network while a
 * second page of the same browser installs and activates the worker, then let go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { eventually, startTestServer } from '../support/server.ts';
import { signInAs } from '../support/sign-in.ts';
import { launchBrowser } from '../support/browser.ts';

describe('the offline shell', () => {
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startTestServer({ seedDemo: true, demoRecordCount: 3 });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
	});

	it('controls a page that was still loading when the worker activated', async () => {
		// Signed in without a worker, so none is installed before the race is set up.
		const signingIn = await browser.newContext({ serviceWorkers: 'block' });
		await signInAs(await signingIn.newPage(), server, 'bob');
		const context = await browser.newContext({ storageState: await signingIn.storageState() });
		await signingIn.close();

		const late = await context.newPage();
		let release!: () => void;
		const released = new Promise<void>((resolve) => (release = resolve));
		let held = false;
		await late.route(
			(url) => url.pathname === '/records',
			async (route) => {
				held = true;
				await released;
				await route.continue();
			}
		);
		const loading = late.goto(`${server.url}/records`);
		await eventually(() => held, 'the late page to start loading');

		const first: Page = await context.newPage();
		await first.goto(`${server.url}/records`);
		await first.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
		await eventually(() => first.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker to control the first page', 30_000);

		release();
		await loading;
		await late.waitForSelector('[data-testid="signed-in-person"][data-person="bob"]');
		await eventually(() => late.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker to control the page that was loading', 15_000);
		expect(await late.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${server.url}/service-worker.js`);
		// And the list it loaded before the worker could keep it opens without a network.
		await eventually(() => late.evaluate(async () => (await caches.match(location.href)) !== undefined), 'the loaded page to be kept', 15_000);
		await context.setOffline(true);
		await late.reload();
		await late.waitForSelector('[data-testid="records-table"]', { timeout: 20_000 });
		await context.close();
	});
});
