/**
 * The board's first screen at size, in a real browser: with this device's copy complete,
 * a reloaded board draws 15 cards a column first (what a screen shows) and the rest of
 * each column's 50 in the task after, so a large workspace's first screen is not held up
 * by the cards below it (bench/board-browser.ts measures it). The rest must always come:
 * every column ends with its 50 cards, and "Show more" shows the next ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const firstColumnCards = (page: Page) => page.locator('[data-testid="board-column"]').first().locator('[data-testid="board-card"]');

describe('the board of a large workspace, reloaded', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let page: Page;
	let leads: number;

	beforeAll(async () => {
		data = tempDataDir();
		// 200 demo records: about a third of them leads, more than a column's first page of 50.
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 200 });
		browser = await launchBrowser();
		page = await pageAs(browser, server, 'alice');
		await page.goto(`${server.url}/board`);
		await page.waitForSelector('[data-testid="board"]', { timeout: 30_000 });
		// The device's copy fills in the background (the board says so until it is complete).
		await page.waitForSelector('[data-testid="board-filling"]', { state: 'detached', timeout: 120_000 });
		await eventually(async () => (await firstColumnCards(page).count()) === 50, 'the first page of the first column', 30_000);
		leads = Number(await page.locator('[data-testid="board-column"]').first().getByTestId('board-count').getAttribute('data-count'));
		expect(leads, 'more leads than a column shows at first').toBeGreaterThan(50);
	}, 300_000);

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('draws 15 cards of a column first, then the rest of its 50; "Show more" shows the next ones', async () => {
		// How many cards the first column held when its first cards were put in, seen before any script of the page.
		await page.addInitScript(() => {
			const seen = { first: -1 };
			(window as unknown as { __firstColumn: typeof seen }).__firstColumn = seen;
			const observer = new MutationObserver(() => {
				const cards = document.querySelector('[data-testid="board-column"]')?.querySelectorAll('[data-testid="board-card"]').length ?? 0;
				if (cards > 0) {
					seen.first = cards;
					observer.disconnect();
				}
			});
			observer.observe(document, { childList: true, subtree: true });
		});
		await page.reload();
		await expect.poll(() => page.evaluate(() => (window as unknown as { __firstColumn: { first: number } }).__firstColumn.first), { timeout: 30_000 }).toBeGreaterThan(0);
		expect(await page.evaluate(() => (window as unknown as { __firstColumn: { first: number } }).__firstColumn.first)).toBe(15);
		// The rest follows at once, whatever the page does meanwhile.
		await expect.poll(() => firstColumnCards(page).count(), { timeout: 5_000 }).toBe(50);
		const more = page.locator('[data-testid="board-column"]').first().locator('button.board-more');
		expect(await more.innerText()).toContain(String(Math.min(50, leads - 50)));
		await more.click();
		await expect.poll(() => firstColumnCards(page).count(), { timeout: 5_000 }).toBe(Math.min(100, leads));
	});
});
