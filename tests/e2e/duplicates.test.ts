/**
 * The duplicate warning in Chromium: an editor typing a near-copy of a Chinese customer
 * (`Zhang Wei / 华信科技` when `张伟 / 华信科技有限公司` exists) is told "This looks like …"
 * with the reason before creating, can open the existing record or create anyway; the
 * new record's page then shows the banner, and the Duplicates page (linked from the
 * list) lists the pair with a link to merge them. In English, in Chinese, and at phone
 * width; screenshots kept in the temp dir for looking at.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

describe('the duplicate warning on creating a near-copy', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let bob: Page;
	let zhangWei = '';

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		zhangWei = await createRecord(server, { name: '张伟', company: '华信科技有限公司', phone: '+86 138 0013 8000' });
		await createRecord(server, { name: 'Ingrid Olsen', company: 'Nordlys AS' });
		browser = await launchBrowser();
		bob = await pageAs(browser, server, 'bob');
	}, 60_000);

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('says "This looks like …" with the reason as the person types, opens the existing one or creates anyway', async () => {
		await bob.goto(`${server.url}/records`);
		await bob.getByTestId('new-record').click();
		const dialog = bob.getByTestId('new-record-dialog');
		await bob.getByTestId('new-name').pressSequentially('Zhang Wei');
		await bob.getByTestId('new-company').pressSequentially('华信科技');

		const warning = dialog.getByTestId('new-duplicates');
		await warning.waitFor({ timeout: 10_000 });
		expect(await warning.innerText()).toContain('This looks like an existing customer');
		const candidate = warning.getByTestId('duplicate-candidate');
		expect(await candidate.count()).toBe(1);
		expect(await candidate.getAttribute('data-id')).toBe(zhangWei);
		expect(await candidate.innerText()).toContain('张伟');
		expect(await candidate.getByTestId('duplicate-reasons').innerText()).toBe('similar name and company');
		expect(await candidate.getByTestId('duplicate-open').getAttribute('href')).toBe(`/records/${zhangWei}`);
		expect(await bob.getByTestId('new-submit').innerText()).toBe('Create anyway');
		await bob.screenshot({ path: screenshotPath('duplicates-dialog-en.png') });

		// Typing on to someone else takes the warning away.
		await bob.getByTestId('new-name').fill('');
		await bob.getByTestId('new-name').pressSequentially('Someone Else');
		await warning.waitFor({ state: 'detached', timeout: 10_000 });
		expect(await bob.getByTestId('new-submit').innerText()).toBe('Create record');

		await bob.getByTestId('new-name').fill('');
		await bob.getByTestId('new-name').pressSequentially('ZHANG WEI');
		await warning.waitFor({ timeout: 10_000 });
		await bob.getByTestId('new-submit').click();
		// The action creates the record, then the page navigates once the record's page has
		// loaded: under both CI lanes' load that took over 15 s once (5.9 s alone).
		await bob.waitForURL((url) => url.pathname.startsWith('/records/') && !url.pathname.endsWith(zhangWei), { timeout: 30_000 });

		// The new record's page says it may be a duplicate, and offers the merge.
		const banner = bob.getByTestId('duplicate-banner');
		await banner.waitFor({ timeout: 10_000 });
		expect(await banner.getByTestId('duplicate-candidate').getAttribute('data-id')).toBe(zhangWei);
		const created = new URL(bob.url()).pathname.split('/').pop();
		expect(await banner.getByTestId('duplicate-merge').getAttribute('href')).toBe(`/merge?ids=${created},${zhangWei}`);
		await bob.screenshot({ path: screenshotPath('duplicates-banner-en.png') });

		// "Open it" opens the existing record.
		await banner.getByTestId('duplicate-open').click();
		await bob.waitForURL((url) => url.pathname === `/records/${zhangWei}`, { timeout: 15_000 });
	});

	it('stops a create typed faster than the check and shows the candidates before creating', async () => {
		await bob.goto(`${server.url}/records`);
		const before = await bob.getByTestId('list-range').innerText();
		await bob.getByTestId('new-record').click();
		// Filled at once (no typing, no input events) and sent straight away: the server's check stops it.
		await bob.getByTestId('new-name').evaluate((input: HTMLInputElement) => (input.value = '张伟'));
		await bob.getByTestId('new-phone').evaluate((input: HTMLInputElement) => (input.value = '13800138000'));
		await bob.getByTestId('new-country').evaluate((input: HTMLInputElement) => (input.value = 'CN'));
		await bob.getByTestId('new-submit').click();
		const warning = bob.getByTestId('new-duplicates');
		await warning.waitFor({ timeout: 10_000 });
		expect(await warning.innerText()).toContain('same phone +8613800138000');
		expect(await bob.getByTestId('list-range').innerText()).toBe(before);
		expect(await bob.getByTestId('new-submit').innerText()).toBe('Create anyway');
	});

	it('lists the pair on the Duplicates page, linked from the list, with a link to merge them; in Chinese and on a phone', async () => {
		await bob.goto(`${server.url}/records`);
		await bob.getByTestId('duplicates-link').click();
		await bob.waitForURL((url) => url.pathname === '/duplicates');
		const cluster = bob.getByTestId('duplicate-cluster');
		expect(await cluster.count()).toBe(1);
		expect(await cluster.innerText()).toContain('张伟');
		expect(await cluster.innerText()).toContain('ZHANG WEI');
		const merge = await cluster.getByTestId('cluster-merge').getAttribute('href');
		expect(merge?.startsWith('/merge?ids=')).toBe(true);
		expect(merge?.split('=')[1].split(',')).toContain(zhangWei);
		await bob.screenshot({ path: screenshotPath('duplicates-page-en.png'), fullPage: true });

		const zh = await pageAs(browser, server, 'wang.fang', { locale: 'zh-CN', viewport: { width: 390, height: 844 } });
		try {
			await zh.goto(`${server.url}/duplicates`);
			expect(await zh.getByTestId('cluster-reasons').innerText()).toContain('姓名和公司相近');
			await zh.screenshot({ path: screenshotPath('duplicates-page-zh-phone.png'), fullPage: true });
			const width = await zh.evaluate(() => document.documentElement.scrollWidth);
			expect(width).toBeLessThanOrEqual(390);
			await zh.goto(`${server.url}/records`);
			await zh.getByTestId('new-record').click();
			await zh.getByTestId('new-name').pressSequentially('zhangwei');
			await zh.getByTestId('new-company').pressSequentially('华信科技股份有限公司');
			const warning = zh.getByTestId('new-duplicates');
			await warning.waitFor({ timeout: 10_000 });
			expect(await warning.innerText()).toContain('这看起来像是已有的客户');
			expect(await zh.getByTestId('new-submit').innerText()).toBe('仍然创建');
			await zh.screenshot({ path: screenshotPath('duplicates-dialog-zh-phone.png') });
		} finally {
			await zh.context().close();
		}
	});
});
