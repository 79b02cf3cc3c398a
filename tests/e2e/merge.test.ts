/**
 * Merging two duplicates in the browser, with a second browser watching: alice (admin)
 * finds the duplicate from her record's "Merge with…", picks the surviving values on
 * the merge page and merges; bob, who has the merged-away record open, is taken to the
 * survivor at once; alice undoes it, and both records are back exactly as they were.
 * Keeps screenshots of the merge page in English, in Chinese and at phone width.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

let server: RunningServer;
let browser: Browser;
let data: { dir: string; remove(): void };

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.close();
	data?.remove();
});

async function plain(id: string): Promise<string> {
	const response = await apiFetch(`${server.url}/api/records/${id}`, {}, 'admin');
	expect(response.status).toBe(200);
	return response.text();
}

const live = (page: Page, id: string) => page.waitForSelector(`[data-testid="record-page"][data-id="${id}"][data-live="true"]`, { timeout: 30_000 });

describe('merging duplicates in the browser', () => {
	it('merges two records from the record page, takes the other browser to the survivor, and undoes it', async () => {
		const survivor = await createRecord(server, { name: 'Zhang Wei', company: 'Yuanfang Trading', email: 'zhang.wei@yuanfang.cn' }, { tags: ['vip'], notes: 'Prefers email.' });
		const duplicate = await createRecord(server, { name: '张伟', company: 'Yuanfang Trading Ltd', phone: '+86 138 0013 8000', city: 'Hangzhou' }, { tags: ['hangzhou'], notes: '电话联系。' });
		const before = { survivor: await plain(survivor), duplicate: await plain(duplicate) };

		const [alice, bob] = await Promise.all([pageAs(browser, server, 'alice'), pageAs(browser, server, 'bob')]);
		await Promise.all([alice.goto(`${server.url}/records/${survivor}`), bob.goto(`${server.url}/records/${duplicate}`)]);
		await Promise.all([live(alice, survivor), live(bob, duplicate)]);

		// "Merge with…": find the duplicate by search, and compare the two.
		await alice.getByTestId('merge-with').click();
		await alice.getByTestId('merge-with-search').fill('张伟');
		await alice.locator(`[data-testid="merge-with-pick"][data-id="${duplicate}"]`).click();
		await alice.waitForURL((url) => url.pathname === '/merge' && url.searchParams.get('ids') === `${survivor},${duplicate}`);
		await alice.waitForSelector('[data-testid="merge-summary"]');
		expect(await alice.getByTestId('merge-record').count()).toBe(2);
		// The survivor is the record she came from; keep the duplicate's name (in Chinese).
		expect(await alice.locator(`[data-testid="merge-record"][data-id="${survivor}"] input`).isChecked()).toBe(true);
		await alice.locator(`[data-testid="merge-field"][data-key="name"] [data-testid="merge-pick"][data-record="${duplicate}"]`).check();
		await expect.poll(() => alice.getByTestId('merge-summary').textContent()).toContain('hangzhou, vip');
		await alice.screenshot({ path: screenshotPath('merge-page-en.png'), fullPage: true });

		await alice.getByTestId('merge-submit').click();
		await alice.waitForURL((url) => url.pathname === `/records/${survivor}` && url.searchParams.has('merged'));
		await alice.waitForSelector('[data-testid="merge-notice"]');
		await expect.poll(() => alice.getByTestId('record-title').textContent()).toBe('张伟');
		await alice.screenshot({ path: screenshotPath('merge-notice-en.png') });

		// Bob had the duplicate open: he is taken to the survivor, and told why.
		await bob.waitForURL((url) => url.pathname === `/records/${survivor}`, { timeout: 15_000 });
		await bob.waitForSelector('[data-testid="merge-taken-here"]');
		await live(bob, survivor);
		await expect.poll(() => bob.getByTestId('record-title').textContent()).toBe('张伟');
		const merged = JSON.parse(await plain(survivor)) as { fields: Record<string, unknown>; tags: string[]; notes: string };
		expect(merged.fields).toMatchObject({ name: '张伟', email: 'zhang.wei@yuanfang.cn', phone: '+8613800138000', city: 'Hangzhou' });
		expect(merged.tags).toEqual(['hangzhou', 'vip']);
		expect(merged.notes).toBe('Prefers email.\n\n── Notes merged from “张伟” ──\n电话联系。');

		// Bob is an editor: no undo for him. Alice (admin) undoes it.
		expect(await bob.getByTestId('merge-undo').count()).toBe(0);
		await alice.getByTestId('merge-undo').click();
		await alice.waitForSelector('[data-testid="merge-undone"]');
		await expect.poll(() => plain(survivor)).toBe(before.survivor);
		expect(await plain(duplicate)).toBe(before.duplicate);
		await expect.poll(() => alice.getByTestId('record-title').textContent()).toBe('Zhang Wei');
		await expect.poll(() => bob.getByTestId('record-title').textContent()).toBe('Zhang Wei');
	});

	it('shows the merge page in Chinese and at phone width', async () => {
		const a = await createRecord(server, { name: '李娜', company: '华信贸易有限公司', email: 'li.na@huaxin.cn', city: 'Shanghai' }, { tags: ['重点客户'] });
		const b = await createRecord(server, { name: 'Li Na', company: 'Huaxin Trading', phone: '+86 139 0013 9000', website: 'https://huaxin.cn' }, { notes: 'Met at the fair.' });
		for (const [name, options] of [
			['merge-page-zh.png', { locale: 'zh-CN' }],
			['merge-page-phone.png', { viewport: { width: 390, height: 844 } }],
			['merge-page-phone-zh.png', { locale: 'zh-CN', viewport: { width: 390, height: 844 } }]
		] as const) {
			const page = await pageAs(browser, server, 'alice', options);
			await page.goto(`${server.url}/merge?ids=${a},${b}`);
			await page.waitForSelector('[data-testid="merge-summary"]');
			if (name.includes('zh')) expect(await page.getByTestId('merge-submit').textContent()).toContain('合并 2 个客户');
			// Nothing is wider than the screen.
			expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
			await page.screenshot({ path: screenshotPath(name), fullPage: true });
			await page.context().close();
		}
		// The record page keeps fitting a phone with "Merge with…" in its header; the search dialog too.
		const phone = await pageAs(browser, server, 'alice', { locale: 'zh-CN', viewport: { width: 390, height: 844 } });
		await phone.goto(`${server.url}/records/${a}`);
		await live(phone, a);
		expect(await phone.getByTestId('merge-with').textContent()).toBe('与…合并');
		expect(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
		await phone.getByTestId('merge-with').click();
		await phone.getByTestId('merge-with-search').fill('Huaxin');
		await phone.locator(`[data-testid="merge-with-pick"][data-id="${b}"]`).waitFor();
		await phone.screenshot({ path: screenshotPath('merge-with-phone-zh.png') });
		await phone.context().close();
	});
});
