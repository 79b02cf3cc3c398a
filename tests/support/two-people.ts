/**
 * The set-up most browser tests share: a server with a few demo records, one record of
 * the test's own, and alice (admin) and bob (editor) signed in through the development
 * provider in separate browser contexts, both on that record's page, live and online.
 */
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, startTestServer, tempDataDir } from './server.ts';
import { launchBrowser } from './browser.ts';
import { pageAs } from './sign-in.ts';

export interface TwoPeople {
	server: RunningServer;
	browser: Browser;
	recordId: string;
	alice: Page;
	bob: Page;
	close(): Promise<void>;
}

export interface TwoPeopleOptions {
	demoRecordCount: number;
	record: { fields: Record<string, unknown>; extra?: Record<string, unknown> };
	/** Selectors each page must show before the tests start, beyond being live and online. */
	waitFor?: string[];
}

export async function twoPeopleOnOneRecord(options: TwoPeopleOptions): Promise<TwoPeople> {
	const data = tempDataDir();
	let server: RunningServer | undefined;
	let browser: Browser | undefined;
	const close = async () => {
		await browser?.close();
		await server?.close();
		data.remove();
	};
	try {
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: options.demoRecordCount });
		const recordId = await createRecord(server, options.record.fields, options.record.extra);
		browser = await launchBrowser();
		const [alice, bob] = await Promise.all([pageAs(browser, server, 'alice'), pageAs(browser, server, 'bob')]);
		await Promise.all([alice.goto(`${server.url}/records/${recordId}`), bob.goto(`${server.url}/records/${recordId}`)]);
		const ready = ['[data-testid="record-page"][data-live="true"]', '[data-testid="connection-status"][data-status="online"]', ...(options.waitFor ?? [])];
		for (const page of [alice, bob]) for (const selector of ready) await page.waitForSelector(selector, { timeout: 30_000 });
		return { server, browser, recordId, alice, bob, close };
	} catch (error) {
		await close();
		throw error;
	}
}
