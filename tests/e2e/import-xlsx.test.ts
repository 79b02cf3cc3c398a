/**
 * The import page with an Excel workbook, in Chromium, as an editor uses it: the page
 * shows the sheet the server read (a notes sheet first in the workbook passed over) and
 * the header row it found under a title, another sheet is chosen (its own columns are
 * guessed afresh), the header row is changed by hand, a sheet that is not a table is
 * refused with the workbook's sheets still offered, and the chosen sheet is imported.
 * A field holding another system's id is offered once a column fills one. Screenshot
 * in English.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';
import { buildXlsx } from '../support/xlsx-fixture.ts';

const WORKBOOK = Buffer.from(
	buildXlsx([
		{ name: '说明', rows: [{ row: 1, cells: ['请勿修改表头'] }] },
		{
			name: '客户',
			rows: [
				{ row: 1, cells: ['客户名单 2026'] },
				{ row: 3, cells: ['姓名', '公司', '邮箱', '跟进日期', 'ERP编号'] },
				{ row: 4, cells: ['王伟', '华信科技', 'wang@huaxin.cn', new Date(Date.UTC(2026, 2, 15)), 'C-001'] },
				{ row: 5, cells: ['李娜', '长城贸易', 'li@cc.cn', null, 'C-002'] }
			]
		},
		{ name: 'Leads', rows: [{ row: 1, cells: ['Name', 'Company'] }, { row: 2, cells: ['Zhou Min', 'Huaxin'] }, { row: 3, cells: ['Chen Jie', 'Acme'] }] }
	])
);

describe('import page: Excel workbooks', () => {
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

	it('shows the sheet and header row read, lets them be chosen, and imports the chosen sheet', async () => {
		// An admin defines the field the ERP's id goes into.
		const defined = await apiFetch(
			`${server.url}/api/fields`,
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: { en: 'ERP number', zh: 'ERP编号' }, type: 'text' }) },
			'admin'
		);
		expect(defined.status).toBe(201);
		const key = ((await defined.json()) as { key: string }).key;

		const page = await pageAs(browser, server, 'bob');
		await page.goto(`${server.url}/import`);
		await page.getByTestId('import-page').waitFor();
		await page.getByTestId('import-file').setInputFiles({ name: '客户.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: WORKBOOK });
		await page.getByTestId('import-preview').waitFor({ timeout: 60_000 });
		expect(await page.getByTestId('import-format').inputValue()).toBe('xlsx');
		expect(await page.getByTestId('import-encoding').count()).toBe(0);
		expect(await page.getByTestId('import-sheet').inputValue()).toBe('客户');
		expect(await page.getByTestId('import-header-row').inputValue()).toBe('3');
		expect(await page.getByTestId('map-姓名').inputValue()).toBe('name');
		expect(await page.getByTestId('map-ERP编号').inputValue()).toBe(key);
		expect(await page.getByTestId('cell-4-followUpAt').innerText()).toContain('2026-03-15');
		// The ERP's id column fills one of the workspace's own fields: offered as the external id.
		await page.getByTestId('import-policy').selectOption('update');
		await page.getByTestId('import-external-id').selectOption(key);
		await expect.poll(() => page.getByTestId('import-status').innerText(), { timeout: 60_000 }).toContain('Rows read: 2.');
		await page.screenshot({ path: screenshotPath('import-xlsx-en.png'), fullPage: true });

		// Another sheet: its own header and columns.
		await page.getByTestId('import-sheet').selectOption('Leads');
		await page.getByTestId('map-Name').waitFor({ timeout: 30_000 });
		expect(await page.getByTestId('import-header-row').inputValue()).toBe('1');
		expect(await page.getByTestId('import-external-id').inputValue()).toBe('');
		expect(await page.getByTestId('cell-3-company').innerText()).toContain('Acme');
		// The header row by hand: row 2 holds the names now, one row under it.
		await page.getByTestId('import-header-row').fill('2');
		// Leaving the field commits it (the change event), as a person tabbing on does.
		await page.getByTestId('import-header-row').press('Tab');
		await page.getByTestId('map-Zhou Min').waitFor({ timeout: 30_000 });
		await expect.poll(() => page.getByTestId('import-status').innerText(), { timeout: 60_000 }).toContain('Rows read: 1.');
		// A sheet with no table is refused, and the sheets are still offered.
		await page.getByTestId('import-sheet').selectOption('说明');
		await expect.poll(() => page.getByTestId('import-status').innerText(), { timeout: 60_000 }).toContain('no rows under them');
		await page.getByTestId('import-sheet').selectOption('Leads');
		await page.getByTestId('map-Name').waitFor({ timeout: 30_000 });

		await page.getByTestId('import-run').click();
		await eventually(async () => {
			const records = (await (await apiFetch(`${server.url}/api/records?limit=10`)).json()) as { rows: Array<{ name: string }> };
			return records.rows.some((row) => row.name === 'Chen Jie');
		}, 'the chosen sheet imported', 60_000);
		await page.getByTestId('import-last').waitFor({ timeout: 30_000 });
		expect(await page.getByTestId('import-done').innerText()).toContain('Created: 2.');
		await page.close();
	}, 240_000);
});
