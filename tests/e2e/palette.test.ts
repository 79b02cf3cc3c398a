/**
 * The command palette and the search worker in Chromium: Ctrl+K opens the palette, a
 * Chinese name typed finds the record and Enter opens it, all by keyboard, and Escape
 * gives focus back; pages and actions are there for the person's role; the palette passes
 * axe-core open; with the network cut, the palette and the list still find records
 * through the worker's index of the device's copy, including one edited a moment ago;
 * and the palette's screenshots in English and Chinese at phone width.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function axeViolations(page: Page): Promise<string[]> {
	await page.evaluate(AXE_SOURCE);
	return page.evaluate(async () => {
		const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
		const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
		return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
	});
}

const recordNames = (page: Page) => page.getByTestId('palette-record').locator('.palette-name').allInnerTexts();

describe('the command palette', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let ids: { zhang: string; wang: string; elodie: string };

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		ids = {
			zhang: await createRecord(server, { name: '张伟', company: '深圳华信科技有限公司', city: '深圳', stage: 'won' }),
			wang: await createRecord(server, { name: '王芳', company: '华为技术有限公司', city: '深圳', stage: 'proposal' }),
			elodie: await createRecord(server, { name: 'Élodie Durand', company: 'Acme Café Ltd', stage: 'lead' })
		};
		for (let i = 0; i < 12; i++) await createRecord(server, { name: `Filler ${String(i).padStart(2, '0')}`, company: 'Northwind' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('opens with Ctrl+K, finds a Chinese name and opens the record with Enter; Escape gives focus back', async () => {
		const bob = await pageAs(browser, server, 'bob');
		await bob.goto(`${server.url}/board`);
		await bob.getByTestId('palette-open').waitFor();
		await bob.getByTestId('nav-board').focus();
		await bob.keyboard.press('Control+k');
		await bob.getByTestId('palette-input').waitFor();
		expect(await bob.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('palette-input');
		// Pages and actions for an editor: no settings, a new record.
		const commands = await bob.getByTestId('palette-command').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-command')));
		expect(commands).toEqual(['page:records', 'page:board', 'action:new-record', 'action:language', 'action:sign-out']);

		await bob.keyboard.type('张伟');
		await eventually(async () => (await recordNames(bob))[0] === '张伟', 'the palette to list 张伟 first');
		expect(await bob.getByTestId('palette-input').getAttribute('aria-activedescendant')).toBe(await bob.getByTestId('palette-record').first().getAttribute('id'));
		await bob.keyboard.press('Enter');
		await bob.waitForURL(`${server.url}/records/${ids.zhang}`);
		expect(await bob.getByTestId('palette').isVisible()).toBe(false);

		// Escape closes and focus goes back where it was.
		await bob.getByTestId('nav-board').focus();
		await bob.keyboard.press('Control+k');
		await bob.getByTestId('palette-input').waitFor();
		await bob.keyboard.press('Escape');
		await eventually(async () => !(await bob.getByTestId('palette').isVisible()), 'the palette to close');
		expect(await bob.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('nav-board');

		// Arrow keys reach the actions: "new record" opens the list's form.
		await bob.keyboard.press('Control+k');
		await bob.keyboard.type('new');
		await eventually(async () => (await bob.getByTestId('palette-command').first().getAttribute('data-command')) === 'action:new-record', 'New record to be offered');
		await bob.keyboard.press('ArrowDown');
		await bob.keyboard.press('ArrowUp');
		await bob.keyboard.press('Enter');
		await bob.getByTestId('new-record-dialog').waitFor({ state: 'visible' });
		expect(new URL(bob.url()).searchParams.has('new')).toBe(false);
		await bob.context().close();
	});

	it('offers an admin the settings and audit pages, `/` opens it where there is no search box, and passes axe open', async () => {
		const alice = await pageAs(browser, server, 'alice');
		await alice.goto(`${server.url}/board`);
		await alice.getByTestId('palette-open').waitFor();
		await alice.locator('body').click({ position: { x: 5, y: 400 } });
		await alice.keyboard.press('/');
		await alice.getByTestId('palette-input').waitFor();
		await alice.keyboard.type('audit');
		await eventually(async () => (await alice.getByTestId('palette-command').evaluateAll((n) => n.map((e) => e.getAttribute('data-command')))).join() === 'page:audit', 'the audit page alone');
		expect(await axeViolations(alice)).toEqual([]);
		await alice.keyboard.press('Enter');
		await alice.waitForURL(`${server.url}/settings/audit`);
		await alice.context().close();
	});

	it('finds records with the network cut, through the worker’s index, an edit included', async () => {
		const bob = await pageAs(browser, server, 'bob');
		await bob.goto(`${server.url}/records`);
		// The index of this device's copy covers every record before the network goes.
		await bob.waitForFunction(() => document.documentElement.dataset.searchIndex === 'ready', undefined, { timeout: 30_000 });
		// An edit by someone else reaches this tab and its index.
		const edited = await apiFetch(`${server.url}/api/records/${ids.elodie}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fields: { company: 'Zyxwv Robotics' } }) });
		expect(edited.ok).toBe(true);
		await bob.keyboard.press('Control+k');
		await bob.getByTestId('palette-input').waitFor();
		await bob.keyboard.type('zyxwv');
		await eventually(async () => JSON.stringify(await recordNames(bob)) === JSON.stringify(['Élodie Durand']), 'the edited company to be found', 15_000);
		await bob.keyboard.press('Escape');

		await bob.context().setOffline(true);
		await bob.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 10_000 });
		await bob.keyboard.press('Control+k');
		await bob.getByTestId('palette-input').waitFor();
		await bob.keyboard.type('huawei');
		await eventually(async () => JSON.stringify(await recordNames(bob)) === JSON.stringify(['王芳']), 'pinyin to find 王芳 offline');
		expect(await bob.getByTestId('palette-source').getAttribute('data-source')).toBe('device');
		// The old company is no longer found; the new one is.
		await bob.getByTestId('palette-input').fill('acme');
		await bob.getByTestId('palette-input').press('End');
		await bob.keyboard.type(' ');
		await eventually(async () => (await bob.locator('.palette-empty').count()) === 1, 'the old company to find nothing');
		await bob.keyboard.press('Escape');

		// The list's search box, offline, answers from the device too.
		await bob.getByTestId('search').fill('深圳');
		await eventually(async () => (await bob.locator('[data-testid="record-row"] .cell-name a').allInnerTexts()).sort().join() === '张伟,王芳', 'the list to find both 深圳 records offline');
		expect(await bob.getByTestId('records-table').getAttribute('data-source')).toBe('local');
		await bob.context().setOffline(false);
		await bob.context().close();
	});

	it('looks right at phone width in English and Chinese', async () => {
		for (const [locale, query, file] of [
			['en-US', 'hua', 'palette-phone-en.png'],
			['zh-CN', '深圳', 'palette-phone-zh.png']
		] as const) {
			const page = await pageAs(browser, server, 'alice', { locale, viewport: { width: 390, height: 844 } });
			await page.goto(`${server.url}/records`);
			await page.getByTestId('palette-open').click();
			await page.getByTestId('palette-input').waitFor();
			// Opened, before typing: the pages and actions.
			await page.getByTestId('palette-command').first().waitFor();
			await page.screenshot({ path: screenshotPath(file.replace('.png', '-commands.png')) });
			await page.keyboard.type(query);
			await eventually(async () => (await page.getByTestId('palette-record').count()) > 0, `records for ${query}`);
			const box = await page.getByTestId('palette').boundingBox();
			expect(box!.x).toBeGreaterThanOrEqual(0);
			expect(box!.x + box!.width).toBeLessThanOrEqual(390);
			await page.screenshot({ path: screenshotPath(file) });
			await page.context().close();
		}
	});
});
