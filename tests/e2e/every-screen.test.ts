/**
 * Everyday screens as people meet them, measured in a real browser (bounding boxes, not
 * pixels): the list fits a 1400-pixel window and becomes cards on a 390 × 844 phone; on
 * the record page a contact's invalid email keeps its row in line, the phone placeholder
 * is not cut off, a person's presence label in the Tags panel is a label and not a bar,
 * and on a phone the conflict notice stays compact and off the fields; the audit page
 * names records and fields as people know them, and its Chinese source badge does not
 * wrap. Screenshots of the history, the audit page and the phone list, in English and
 * Chinese, are written for the docs.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fieldsOf } from '../../src/lib/model/record.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const PHONE = { width: 390, height: 844 };
const WIDE = { width: 1400, height: 900 };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

type Box = { x: number; y: number; width: number; height: number };
const box = async (page: Page, selector: string): Promise<Box> => {
	const found = await page.locator(selector).first().boundingBox();
	if (!found) throw new Error(`no box for ${selector}`);
	return found;
};

describe('every screen', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let recordId: string;
	const contexts: BrowserContext[] = [];

	async function pageAt(user: string, viewport: { width: number; height: number }, locale = 'en-US'): Promise<Page> {
		const page = await pageAs(browser, server, user, { locale, viewport });
		contexts.push(page.context());
		return page;
	}

	async function openRecord(page: Page, id = recordId): Promise<void> {
		await page.goto(`${server.url}/records/${id}`);
		await page.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 30_000 });
	}

	/** Two clients of two people change the company while apart, then sync one after the other: a conflict. */
	async function makeConflict(id: string): Promise<void> {
		const a = yWebsocketClient(server, 'editor', id);
		const b = yWebsocketClient(server, 'admin', id);
		try {
			await providersSynced(a.provider, b.provider);
			a.provider.disconnect();
			b.provider.disconnect();
			fieldsOf(a.doc).set('company', 'Harbour Freight');
			fieldsOf(b.doc).set('company', 'Harbour Shipping');
			a.provider.connect();
			await eventually(() => a.provider.synced, 'the first writer to sync again');
			await new Promise((resolve) => setTimeout(resolve, 300));
			b.provider.connect();
			await eventually(() => b.provider.synced, 'the second writer to sync again');
			await eventually(async () => {
				const response = await apiFetch(`${server.url}/api/records/${id}/history?op=conflict&limit=5`);
				return ((await response.json()) as { total: number }).total > 0;
			}, 'the conflict to be in the history', 20_000);
		} finally {
			a.provider.destroy();
			b.provider.destroy();
		}
	}

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: 30 });
		recordId = await createRecord(
			server,
			{ name: '陈静', company: 'Northwind Traders International', stage: 'negotiation', owner: 'alice', value: 1250000, currency: 'CNY', city: '上海', country: 'CN', phone: '+8613800138000' },
			{ tags: ['vip', '重点客户', 'enterprise', 'renewal'], notes: 'First meeting went well.' }
		);
		// A history with a change, a restore and a conflict, for the history and the audit page.
		const patch = await apiFetch(`${server.url}/api/records/${recordId}`, {
			method: 'PATCH',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ fields: { stage: 'won', city: '杭州' } })
		});
		expect(patch.status).toBe(200);
		const history = (await (await apiFetch(`${server.url}/api/records/${recordId}/history?field=city&limit=5`)).json()) as { entries: { id: string; op: string }[] };
		const cityChange = history.entries.find((entry) => entry.op === 'set');
		if (!cityChange) throw new Error('no change of the city in the history');
		const restore = await apiFetch(`${server.url}/api/records/${recordId}/restore`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ entryId: cityChange.id })
		});
		expect(restore.status).toBe(200);
		await makeConflict(recordId);
		browser = await launchBrowser();
	});
	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => {});
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('fits the list into a 1400-pixel window, the viewing avatar inside it', async () => {
		const alice = await pageAt('alice', WIDE);
		const bob = await pageAt('bob', WIDE);
		await openRecord(bob);
		await alice.goto(`${server.url}/records?sort=updatedAt&dir=desc`);
		const avatar = `[data-testid="record-row"][data-id="${recordId}"] .cell-viewers .avatar`;
		await alice.waitForSelector(avatar, { timeout: 30_000 });
		const sizes = await alice.evaluate(() => {
			const wrap = document.querySelector('.table-wrap') as HTMLElement;
			const table = wrap.querySelector('table') as HTMLElement;
			return { table: table.scrollWidth, wrap: wrap.clientWidth, page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth };
		});
		expect(sizes.table).toBeLessThanOrEqual(sizes.wrap);
		expect(sizes.page).toBeLessThanOrEqual(sizes.viewport);
		const wrap = await box(alice, '.table-wrap');
		const face = await box(alice, avatar);
		expect(face.x).toBeGreaterThanOrEqual(wrap.x);
		expect(face.x + face.width).toBeLessThanOrEqual(wrap.x + wrap.width);
		// For looking at, not for the docs: outside screenshotPath.
		await alice.screenshot({ path: path.join(os.tmpdir(), 'accord-list-1400.png') });
	});

	for (const [locale, suffix] of [
		['en-US', 'en'],
		['zh-CN', 'zh']
	] as const) {
		it(`shows the list as cards on a phone, with its controls, no sideways scrolling (${suffix})`, async () => {
			const alice = await pageAt('alice', PHONE, locale);
			await alice.goto(`${server.url}/records`);
			await alice.waitForSelector('[data-testid="record-row"]', { timeout: 30_000 });
			await alice.waitForTimeout(300);
			const sizes = await alice.evaluate(() => {
				const wrap = document.querySelector('.table-wrap') as HTMLElement;
				const table = wrap.querySelector('table') as HTMLElement;
				return { table: table.scrollWidth, wrap: wrap.clientWidth, page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth };
			});
			expect(sizes.page).toBeLessThanOrEqual(sizes.viewport);
			expect(sizes.table).toBeLessThanOrEqual(sizes.wrap);

			// A card: the row spans the list's width, and its values stack rather than sit in columns.
			const wrap = await box(alice, '.table-wrap');
			const rows = alice.getByTestId('record-row');
			expect(await rows.count()).toBeGreaterThan(5);
			for (const index of [0, 1, 2]) {
				const row = rows.nth(index);
				const card = (await row.boundingBox())!;
				expect(card.width).toBeGreaterThan(wrap.width * 0.85);
				const name = (await row.locator('.cell-name').boundingBox())!;
				const company = (await row.locator('.cell-company').boundingBox())!;
				const updated = (await row.locator('.cell-time').boundingBox())!;
				expect(company.y).toBeGreaterThanOrEqual(name.y + name.height - 1);
				for (const part of [name, company, updated]) {
					expect(part.x).toBeGreaterThanOrEqual(card.x - 0.5);
					expect(part.x + part.width).toBeLessThanOrEqual(card.x + card.width + 0.5);
				}
				// Every value of the row is there to read: name, company, stage, value, owner, updated.
				for (const cell of ['.cell-name', '.cell-company', '.cell-owner', '.cell-time', '.numeric']) expect(await row.locator(cell).first().isVisible()).toBe(true);
			}
			// Sorting, paging and search stay in reach.
			for (const id of ['sort-name', 'sort-updatedAt', 'sort-value', 'search', 'page-next']) {
				const control = alice.getByTestId(id);
				expect(await control.isVisible()).toBe(true);
				const b = (await control.boundingBox())!;
				expect(b.x).toBeGreaterThanOrEqual(0);
				expect(b.x + b.width).toBeLessThanOrEqual(PHONE.width);
			}
			// The search box's hint is read whole, not cut at the phone's edge.
			const hint = await alice.getByTestId('search').evaluate((el) => {
				const input = el as HTMLInputElement;
				const style = getComputedStyle(input);
				const context = document.createElement('canvas').getContext('2d')!;
				context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
				return { text: context.measureText(input.placeholder).width, room: input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight), placeholder: input.placeholder };
			});
			expect(hint.text, `“${hint.placeholder}”`).toBeLessThanOrEqual(hint.room);
			await alice.screenshot({ path: screenshotPath(`list-phone-${suffix}.png`), fullPage: false });
			await alice.getByTestId('sort-name').click();
			await alice.waitForURL((url) => url.searchParams.get('sort') === 'name', { timeout: 10_000 });
			// A tap on the card (not only on the name) opens the record.
			const first = alice.getByTestId('record-row').first();
			const id = await first.getAttribute('data-id');
			await first.locator('.cell-time').click();
			await alice.waitForURL((url) => url.pathname === `/records/${id}`, { timeout: 15_000 });
		});
	}

	it('keeps a contact row in line when its email is invalid', async () => {
		const alice = await pageAt('alice', WIDE);
		await openRecord(alice);
		await alice.getByTestId('add-contacts').click();
		const row = alice.getByTestId('item-contacts').last();
		await row.getByTestId('item-contacts-name').fill('Ada Lovelace');
		const email = row.getByTestId('item-contacts-email');
		await email.fill('ada@@example');
		await email.blur();
		await row.locator('.field-error').waitFor({ timeout: 10_000 });
		const tops = await Promise.all(['name', 'title', 'email', 'phone'].map(async (key) => (await row.getByTestId(`item-contacts-${key}`).boundingBox())!.y));
		for (const top of tops) expect(Math.abs(top - tops[0])).toBeLessThanOrEqual(1);
		const remove = (await row.locator('.item-remove').boundingBox())!;
		const input = (await email.boundingBox())!;
		expect(Math.abs(remove.y + remove.height / 2 - (input.y + input.height / 2))).toBeLessThanOrEqual(3);
	});

	for (const [label, viewport] of [
		['wide', WIDE],
		['phone', PHONE]
	] as const) {
		for (const locale of ['en-US', 'zh-CN']) {
			it(`shows the phone placeholders whole (${label}, ${locale})`, async () => {
				const alice = await pageAt('alice', viewport, locale);
				await openRecord(alice);
				if ((await alice.getByTestId('item-contacts').count()) === 0) await alice.getByTestId('add-contacts').click();
				// A contact's phone, and the record's own Phone field.
				const inputs = ['[data-testid="item-contacts-phone"]', '[data-testid="field-phone"]'];
				for (const selector of inputs) {
					const fit = await alice.locator(selector).first().evaluate((el) => {
						const input = el as HTMLInputElement;
						const style = getComputedStyle(input);
						const context = document.createElement('canvas').getContext('2d')!;
						context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
						const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
						return { placeholder: input.placeholder, text: context.measureText(input.placeholder).width, room };
					});
					expect(fit.placeholder.length).toBeGreaterThan(0);
					expect(fit.text, `${selector}: “${fit.placeholder}”`).toBeLessThanOrEqual(fit.room);
				}
			});
		}
	}

	it('draws a person in the Tags panel as a label, not a bar', async () => {
		const alice = await pageAt('alice', WIDE);
		const bob = await pageAt('bob', WIDE);
		await Promise.all([openRecord(alice), openRecord(bob)]);
		await bob.getByTestId('tag-input').focus();
		const label = alice.getByTestId('presence-tags');
		await label.waitFor({ timeout: 15_000 });
		const size = await label.evaluate((el) => {
			const range = document.createRange();
			range.selectNodeContents(el);
			return { width: el.getBoundingClientRect().width, text: range.getBoundingClientRect().width, panel: (el.parentElement as HTMLElement).clientWidth };
		});
		expect(size.width).toBeLessThanOrEqual(size.text + 20);
		expect(size.width).toBeLessThan(size.panel / 2);
	});

	it('keeps the conflict notice compact on a phone, off the fields', async () => {
		const alice = await pageAt('alice', PHONE);
		await openRecord(alice);
		await alice.waitForSelector('[data-testid="conflicts"]', { timeout: 30_000 });
		await alice.waitForTimeout(300);
		const notice = await box(alice, '[data-testid="conflicts"]');
		expect(notice.height).toBeLessThanOrEqual(PHONE.height * 0.1);
		// Scrolled to the end, the last of the page is above the notice, not under it.
		await alice.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
		await alice.waitForTimeout(200);
		const last = await alice.locator('.record-grid > :not(.conflicts)').evaluateAll((nodes) => Math.max(...nodes.map((n) => n.getBoundingClientRect().bottom)));
		const after = await box(alice, '[data-testid="conflicts"]');
		expect(last).toBeLessThanOrEqual(after.y + 1);
		// A focused field near the bottom is scrolled clear of it as well.
		await alice.getByTestId('field-city').evaluate((el) => window.scrollBy(0, el.getBoundingClientRect().bottom - window.innerHeight + 8));
		await alice.getByTestId('field-city').focus();
		await alice.waitForTimeout(200);
		const website = await box(alice, '[data-testid="field-city"]');
		const now = await box(alice, '[data-testid="conflicts"]');
		expect(website.y + website.height <= now.y || website.y >= now.y + now.height).toBe(true);
		// Opened, it says what happened and offers the choices.
		await alice.getByTestId('conflicts-toggle').click();
		await alice.getByTestId('conflict-text').first().waitFor({ timeout: 5_000 });
		expect(await alice.getByTestId('conflict-keep').first().isVisible()).toBe(true);
		// For looking at, not for the docs: outside screenshotPath.
		await alice.screenshot({ path: path.join(os.tmpdir(), 'accord-conflict-phone.png') });
	});

	for (const [locale, suffix] of [
		['en-US', 'en'],
		['zh-CN', 'zh']
	] as const) {
		it(`names records and fields on the audit page, the source badge on one line (${suffix})`, async () => {
			const alice = await pageAt('alice', { width: 1280, height: 860 }, locale);
			await alice.goto(`${server.url}/settings/audit`);
			await alice.getByTestId('audit-row').first().waitFor({ timeout: 15_000 });
			const table = alice.getByTestId('audit-table');
			expect((await table.textContent()) ?? '').not.toMatch(UUID);
			const link = alice.locator(`[data-testid="audit-row"] a[href="/records/${recordId}"]`).first();
			expect(await link.textContent()).toContain('陈静');
			// The field filter offers the fields by their labels.
			const field = alice.getByTestId('audit-field');
			expect(await field.evaluate((el) => el.tagName)).toBe('SELECT');
			const options = await field.locator('option').allTextContents();
			expect(options).toContain(suffix === 'en' ? 'Company' : '公司');
			expect(options.join(' ')).not.toMatch(/\bcompany\b/);
			// The record filter names the record it holds.
			await alice.goto(`${server.url}/settings/audit?record=${recordId}`);
			await alice.getByTestId('audit-row').first().waitFor({ timeout: 15_000 });
			expect((await alice.getByTestId('audit-filters').textContent()) ?? '').toContain('陈静');
			// Filtering by a field through its label works.
			await alice.getByTestId('audit-field').selectOption('city');
			await alice.getByTestId('audit-apply').click();
			await alice.waitForURL((url) => url.searchParams.get('field') === 'city', { timeout: 10_000 });
			await alice.locator('[data-testid="audit-row"][data-source="restore"]').first().waitFor({ timeout: 10_000 });
			const badges = await alice.locator('[data-testid="audit-source"]').evaluateAll((nodes) =>
				nodes.map((n) => ({ text: n.textContent, rects: n.getClientRects().length, height: n.getBoundingClientRect().height, line: parseFloat(getComputedStyle(n).lineHeight) || 20 }))
			);
			expect(badges.length).toBeGreaterThan(0);
			for (const badge of badges) {
				expect(badge.rects, badge.text ?? '').toBe(1);
				expect(badge.height).toBeLessThan(badge.line * 1.6);
			}
			await alice.goto(`${server.url}/settings/audit`);
			await alice.getByTestId('audit-row').first().waitFor({ timeout: 15_000 });
			await alice.waitForSelector('[data-testid="connection-status"][data-status="online"]', { timeout: 15_000 });
			await alice.screenshot({ path: screenshotPath(`audit-${suffix}.png`), fullPage: false });
		});

		it(`shows the record's history (screenshot, ${suffix})`, async () => {
			const alice = await pageAt('alice', { width: 1280, height: 860 }, locale);
			await openRecord(alice);
			await alice.waitForSelector('[data-testid="history-entry"][data-op="conflict"]', { timeout: 30_000 });
			// The conflict notice is dismissed first: the screenshot is of the history.
			const keep = alice.getByTestId('conflict-keep');
			if ((await keep.count()) > 0) await keep.first().click();
			await alice.getByTestId('history').scrollIntoViewIfNeeded();
			await alice.waitForTimeout(400);
			await alice.getByTestId('history').screenshot({ path: screenshotPath(`history-page-${suffix}.png`) });
		});
	}
});
