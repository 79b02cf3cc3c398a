/**
 * History people can read: the record page's timeline shows values as a person knows
 * them, not raw data — a phone grouped, an activity by its kind and subject (or kind and
 * time), a new empty contact said in words, the right plural for one character typed, and
 * in Chinese the same in Chinese. The changes are written as any client writes them
 * (a stock y-websocket client), and read in a real browser in both languages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { activitiesOf, addItem, contactsOf, fieldsOf, notesOf } from '../../src/lib/model/record.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

describe('a history people can read', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let recordId: string;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		browser = await launchBrowser();
		recordId = await createRecord(server, { name: '王芳', company: '华信科技', country: 'CN' });
		const { doc, provider } = yWebsocketClient(server, 'editor', recordId);
		try {
			await providersSynced(provider);
			fieldsOf(doc).set('phone', '+8613800138000');
			addItem(activitiesOf(doc), { kind: 'call', subject: 'Pricing follow-up', at: '2026-12-06T09:30:00.000Z' });
			addItem(activitiesOf(doc), { kind: 'meeting', subject: '', at: '2026-12-06T14:00:00.000Z' });
			addItem(contactsOf(doc), {});
			notesOf(doc).insert(0, 'x');
			await eventually(async () => {
				const response = await apiFetch(`${server.url}/api/records/${recordId}/history?limit=50`);
				const page = (await response.json()) as { total: number };
				return page.total >= 6;
			}, 'the changes to be in the history', 20_000);
		} finally {
			provider.destroy();
		}
	});
	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	async function timeline(page: Page): Promise<string> {
		await page.goto(`${server.url}/records/${recordId}`);
		await page.waitForSelector('[data-testid="history-entry"][data-path="notes"]', { timeout: 30_000 });
		return (await page.getByTestId('history-list').textContent()) ?? '';
	}

	it('reads in English', async () => {
		const alice = await pageAs(browser, server, 'alice');
		const text = await timeline(alice);
		await alice.getByTestId('history-list').screenshot({ path: screenshotPath('history-en.png') });
		expect(text).toContain('+86 138 0013 8000');
		expect(text).not.toContain('+8613800138000');
		expect(text).toContain('Call: Pricing follow-up');
		expect(text).toMatch(/Meeting · 6 Dec 2026/);
		expect(text).not.toContain('2026-12-06T');
		expect(text).toContain('a new, empty contact');
		expect(text).toContain('1 character added');
		expect(text).not.toContain('1 characters');
	});

	it('reads in Chinese, with 24-hour times', async () => {
		const alice = await pageAs(browser, server, 'alice', 'zh-CN');
		const text = await timeline(alice);
		await alice.getByTestId('history-list').screenshot({ path: screenshotPath('history-zh.png') });
		expect(text).toContain('+86 138 0013 8000');
		expect(text).toMatch(/会议 · 2026年12月6日 \d{2}:00/);
		expect(text).toContain('一个新的空联系人');
		expect(text).toContain('新增 1 个字符');
		expect(text).not.toMatch(/[AP]M/);
	});
});
