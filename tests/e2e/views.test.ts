/**
 * Saved views in two browsers: bob (editor) filters the list with the filter builder,
 * sorts it and saves it as a view shared with the workspace; alice (admin), with the list
 * open, sees the view in her picker without a reload, opens it (its query, sort and
 * columns), and when bob changes the view her open list follows at once. The view's count
 * and export are the segment's; the palette opens a view by keyboard; `/records?page=99`
 * lands on the last page. Screenshots in English, in Chinese and at phone width.
 */
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

describe('saved views shared live', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let alice: Page;
	let bob: Page;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 30 });
		await createRecord(server, { name: '黄磊', company: '华为', city: '拉萨', stage: 'won', value: 300000, country: 'CN' }, { tags: ['vip'] });
		await createRecord(server, { name: '陈静', company: '阿里巴巴', city: '拉萨', stage: 'won', value: 200000, country: 'CN' }, { tags: ['vip'] });
		await createRecord(server, { name: '高明', company: '长城汽车', city: '拉萨', stage: 'lead', value: 150000, country: 'CN' });
		browser = await launchBrowser();
		[alice, bob] = await Promise.all([pageAs(browser, server, 'alice'), pageAs(browser, server, 'bob')]);
		for (const page of [alice, bob]) {
			await page.goto(`${server.url}/records`);
			await page.waitForSelector('[data-testid="connection-status"][data-status="online"]', { timeout: 30_000 });
		}
	}, 180_000);

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	const names = async (page: Page) => page.locator('[data-testid="record-row"] .cell-name a').allTextContents();

	it('builds a filter, sorts by name in pinyin order and saves a shared view', async () => {
		await bob.getByTestId('filter-add').click();
		await bob.getByTestId('filter-field').selectOption('city');
		await bob.getByTestId('filter-value').fill('拉萨');
		await bob.getByTestId('filter-apply').click();
		await bob.waitForURL(/q=city/);
		await bob.getByTestId('filter-field').selectOption('value');
		await bob.getByTestId('filter-op').selectOption('>');
		await bob.getByTestId('filter-value').fill('100000');
		await bob.getByTestId('filter-apply').click();
		await bob.waitForURL(/value%3E100000|value>100000/);
		await bob.getByTestId('sort-name').click();
		await bob.waitForURL(/sort=name/);
		await eventually(async () => (await names(bob)).join(',') === '陈静,高明,黄磊', 'the three Lhasa records in pinyin order');
		expect(await bob.locator('[data-testid="filter-chip"] > span').allTextContents()).toEqual(['city:拉萨', 'value>100000']);

		await bob.getByTestId('view-save').click();
		await bob.getByTestId('view-name').fill('Shenzhen big deals');
		await bob.getByTestId('view-share').check();
		await bob.getByTestId('view-submit').click();
		await bob.waitForURL(/view=/);
		expect(await bob.getByTestId('view-count').textContent()).toContain('3');
		await bob.screenshot({ path: screenshotPath('views-saved-en.png'), fullPage: true });
	});

	it('shows the shared view in the other browser at once, and opens it', async () => {
		const select = alice.getByTestId('view-select');
		await eventually(async () => (await select.locator('option').allTextContents()).some((text) => text.includes('Shenzhen big deals')), 'the shared view in alice’s picker', 15_000);
		const id = await select.locator('option', { hasText: 'Shenzhen big deals' }).getAttribute('value');
		await select.selectOption(id!);
		await alice.waitForURL(/view=/);
		await eventually(async () => (await names(alice)).join(',') === '陈静,高明,黄磊', 'the view’s records in its order');
		expect(await alice.getByTestId('view-count').textContent()).toContain('3');
		// The segment's export: its query, as the list has it.
		const href = await alice.getByTestId('view-export').getAttribute('href');
		const exported = await apiFetch(`${server.url}${href!.replace('format=csv', 'format=json')}`);
		expect((JSON.parse(await exported.text()) as unknown[]).length).toBe(3);
		// As a table: the id, then the view's columns with the name first, in the view's order.
		const table = Papa.parse<string[]>((await (await apiFetch(`${server.url}${href!}`)).text()).replace(/^\ufeff/, '').trimEnd(), { newline: '\r\n' }).data;
		expect(table[0].slice(0, 2)).toEqual(['id', 'name']);
		expect(table.slice(1).map((row) => row[1]).join(',')).toBe('陈静,高明,黄磊');
		// The segment's board: the same three records.
		const boardHref = await alice.getByTestId('view-board').getAttribute('href');
		const board = await alice.context().newPage();
		try {
			await board.goto(`${server.url}${boardHref!}`);
			await board.waitForSelector('[data-testid="board"][data-segment="on"][data-segment-ready="true"]', { timeout: 30_000 });
			await expect.poll(() => board.locator('[data-testid="board-card"]').count(), { timeout: 15_000 }).toBe(3);
		} finally {
			await board.close();
		}
	});

	it('follows the owner’s change of the view live', async () => {
		// Bob narrows it to VIP customers and updates the view.
		await bob.getByTestId('filter-field').selectOption('tag');
		await bob.getByTestId('filter-value').fill('vip');
		await bob.getByTestId('filter-apply').click();
		await bob.waitForURL(/tag/);
		await bob.getByTestId('view-update').click();
		await bob.getByTestId('view-changed').waitFor({ state: 'detached', timeout: 10_000 });

		// Alice did nothing: her list follows the view.
		await alice.getByTestId('view-notice').waitFor({ timeout: 15_000 });
		await eventually(async () => (await names(alice)).join(',') === '陈静,黄磊', 'alice’s list to follow the changed view', 15_000);
		expect(alice.url()).toContain('tag%3Avip');
		await alice.screenshot({ path: screenshotPath('views-followed-en.png'), fullPage: true });
	});

	it('refuses to let someone else change the shared view', async () => {
		await alice.getByTestId('filter-add').click();
		await alice.getByTestId('filter-field').selectOption('stage');
		await alice.getByTestId('filter-value').selectOption('won');
		await alice.getByTestId('filter-apply').click();
		await alice.getByTestId('view-changed').waitFor();
		// Not hers: no update button; an admin may delete it.
		expect(await alice.getByTestId('view-update').count()).toBe(0);
		expect(await alice.getByTestId('view-delete').count()).toBe(1);
	});

	it('opens a view from the palette by keyboard', async () => {
		await alice.goto(`${server.url}/records`);
		// Ctrl+K pressed before the page's scripts run is the browser's, not the palette's (an
		// earlier run pressed it at once, while the page was still the server's HTML, and the
		// palette never opened): wait until the page is live, as the sync status shows.
		await alice.waitForSelector('[data-testid="connection-status"][data-status="online"]', { timeout: 30_000 });
		await alice.keyboard.press('Control+k');
		await alice.getByTestId('palette-input').waitFor();
		await alice.keyboard.type('Shenzhen big');
		const command = alice.locator('[data-testid="palette-command"][data-command^="view:"]');
		await command.first().waitFor({ timeout: 10_000 });
		while (!(await command.first().getAttribute('aria-selected'))?.includes('true')) await alice.keyboard.press('ArrowDown');
		await alice.keyboard.press('Enter');
		await alice.waitForURL(/view=/);
		await eventually(async () => (await names(alice)).join(',') === '陈静,黄磊', 'the view opened from the palette');
	});

	it('sends a page past the end to the last page', async () => {
		await alice.goto(`${server.url}/records?page=99`);
		await alice.waitForURL(/page=2/);
		expect(await alice.locator('[data-testid="record-row"]').count()).toBeGreaterThan(0);
	});

	it('fits a phone in Chinese', async () => {
		const phone = await pageAs(browser, server, 'wang.fang', { locale: 'zh-CN', viewport: { width: 390, height: 844 } });
		await phone.goto(`${server.url}/records`);
		await phone.getByTestId('view-select').waitFor();
		await phone.getByTestId('filter-add').click();
		await phone.screenshot({ path: screenshotPath('views-phone-zh.png'), fullPage: true });
		const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		expect(overflow).toBeLessThanOrEqual(0);
		await phone.context().close();
	});
});
