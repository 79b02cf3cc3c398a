/**
 * The list's search box in Chromium: `/` focuses it, typing searches as you type (a Han
 * fragment, pinyin, a phone), the search stays in the URL (`/records?q=…`) and in the
 * page's links, a search the server cannot read is shown on the list, the box is
 * labelled in 简体中文 too, and a page past the end of the list goes to its last page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const names = async (page: Page): Promise<string[]> => (await page.locator('[data-testid="record-row"] .cell-name a').allInnerTexts()).sort();

describe('searching the list', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let bob: Page;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		await createRecord(server, { name: '张伟', company: '深圳华信科技有限公司', city: '深圳', phone: '+86 138 0013 8000', stage: 'won' });
		await createRecord(server, { name: 'Élodie Durand', company: 'Acme Café Ltd', phone: '+1 415 555 0100', stage: 'lead' });
		for (let i = 0; i < 30; i++) await createRecord(server, { name: `Filler ${String(i).padStart(2, '0')}`, company: 'Northwind' });
		browser = await launchBrowser();
		bob = await pageAs(browser, server, 'bob');
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('focuses the search with /, searches as you type and keeps the search in the URL', async () => {
		await bob.goto(`${server.url}/records`);
		await bob.getByTestId('records-table').waitFor();
		await bob.locator('body').click({ position: { x: 5, y: 5 } });
		await bob.keyboard.press('/');
		await eventually(() => bob.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'search'), 'the search box to have focus');

		await bob.keyboard.type('科技');
		await bob.waitForURL((url) => url.searchParams.get('q') === '科技');
		await eventually(async () => JSON.stringify(await names(bob)) === JSON.stringify(['张伟']), 'the Han fragment to find 张伟');

		await bob.getByTestId('search').fill('');
		await bob.getByTestId('search').pressSequentially('zhangw');
		await bob.waitForURL((url) => url.searchParams.get('q') === 'zhangw');
		await eventually(async () => JSON.stringify(await names(bob)) === JSON.stringify(['张伟']), 'pinyin as typed to find 张伟');

		// The search stays in the page's links: sorting keeps it.
		expect(new URL(await bob.getByTestId('sort-name').getAttribute('href') ?? '', server.url).searchParams.get('q')).toBe('zhangw');

		// Opened from its address (a bookmark, a shared link), the list is searched on the server.
		await bob.goto(`${server.url}/records?q=${encodeURIComponent('138 0013 8000')}`);
		expect(await names(bob)).toEqual(['张伟']);
		expect(await bob.getByTestId('search').inputValue()).toBe('138 0013 8000');
		await bob.getByTestId('search-clear').click();
		await bob.waitForURL((url) => !url.searchParams.has('q'));
	});

	it('shows a search the server cannot read on the list, and says when nothing matches', async () => {
		await bob.goto(`${server.url}/records?q=${encodeURIComponent('colour:red')}`);
		expect(await bob.getByTestId('search-error').innerText()).toContain('colour');
		await bob.goto(`${server.url}/records?q=${encodeURIComponent('nothing-like-this ')}`);
		expect(await bob.locator('td.empty').innerText()).toContain('nothing-like-this');
	});

	it('is labelled in 简体中文', async () => {
		const zh = await pageAs(browser, server, 'wang.fang', 'zh-CN');
		await zh.goto(`${server.url}/records`);
		expect(await zh.locator('label.search-field span').innerText()).toBe('搜索客户');
		await zh.close();
	});

	it('goes to the last page from a page past the end', async () => {
		await bob.goto(`${server.url}/records?page=99`);
		await bob.waitForURL((url) => url.searchParams.get('page') === '2');
		expect(await bob.getByTestId('list-range').innerText()).toBe('26–32 of 32');
	});
});
