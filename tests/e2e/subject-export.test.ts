/**
 * The data-subject export in the browser: an admin sees it under the record and the link
 * downloads the record's export with her session; an editor does not see it. Keeps
 * screenshots of the record page's foot in English, in Chinese and at phone width.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createRecord } from '../support/server.ts';
import { screenshotPath } from '../support/browser.ts';
import { useServerAndBrowser } from '../support/server-and-browser.ts';
import { pageAs } from '../support/sign-in.ts';

const env = useServerAndBrowser();

const live = (page: Page, id: string) => page.waitForSelector(`[data-testid="record-page"][data-id="${id}"][data-live="true"]`, { timeout: 30_000 });

describe('data-subject export in the browser', () => {
	it('offers admins the export under the record, which downloads it with their session; editors do not see it', async () => {
		const { server, browser } = env;
		const id = await createRecord(server, { name: '李娜', company: 'Yuanfang Trading', email: 'li.na@yuanfang.cn' }, { notes: 'Asked for a copy of her data.' });
		const shots: [string, { locale: string; viewport?: { width: number; height: number } }][] = [
			['subject-export-en.png', { locale: 'en-US' }],
			['subject-export-zh.png', { locale: 'zh-CN' }],
			['subject-export-phone-zh.png', { locale: 'zh-CN', viewport: { width: 390, height: 844 } }]
		];
		for (const [name, options] of shots) {
			const alice = await pageAs(browser, server, 'alice', options);
			await alice.goto(`${server.url}/records/${id}`);
			await live(alice, id);
			const link = alice.getByTestId('subject-export-link');
			expect(await link.getAttribute('href')).toBe(`/api/records/${id}/subject-export`);
			expect(await link.textContent()).toBe(options.locale === 'zh-CN' ? '导出全部数据（JSON）' : 'Export all data (JSON)');
			await alice.getByTestId('subject-export').scrollIntoViewIfNeeded();
			await alice.screenshot({ path: screenshotPath(name) });
			// The section fits the screen: nothing runs past its right edge.
			const box = await alice.getByTestId('subject-export').boundingBox();
			expect(box!.x + box!.width).toBeLessThanOrEqual((options.viewport?.width ?? 1280) + 1);
			await alice.context().close();
		}

		const alice = await pageAs(browser, server, 'alice');
		await alice.goto(`${server.url}/records/${id}`);
		await live(alice, id);
		const [download] = await Promise.all([alice.waitForEvent('download'), alice.getByTestId('subject-export-link').click()]);
		expect(download.suggestedFilename()).toBe(`accord-subject-${id}.json`);
		const text = await (await download.createReadStream())!.toArray();
		const exported = JSON.parse(Buffer.concat(text as Buffer[]).toString('utf8')) as { recordId: string; exportedBy: { id: string }; record: { fields: { name: string } } };
		expect(exported.recordId).toBe(id);
		expect(exported.exportedBy.id).toBe('alice');
		expect(exported.record.fields.name).toBe('李娜');
		// The export is in the record's history, in words.
		await alice.reload();
		await live(alice, id);
		const entry = alice.locator('[data-testid="history-entry"][data-op="export"]');
		await entry.waitFor({ timeout: 30_000 });
		expect(await entry.textContent()).toMatch(/Alice Chen\s+exported everything held about this customer \(data-subject request\)/);
		await entry.scrollIntoViewIfNeeded();
		await alice.screenshot({ path: screenshotPath('subject-export-history-en.png') });
		await alice.context().close();

		const bob = await pageAs(browser, server, 'bob');
		await bob.goto(`${server.url}/records/${id}`);
		await live(bob, id);
		expect(await bob.getByTestId('subject-export').count()).toBe(0);
		await bob.context().close();
	});
});
