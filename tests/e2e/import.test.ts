/**
 * The import page in Chromium, as an editor uses it: from the Records page to /import,
 * a file chosen, the encoding the server read and the mapping it guessed shown, a column
 * mapped by hand, the preview with a problem on its cell, the import as a job with its
 * progress bar, the records arriving in another person's list in a second browser, the
 * rejected rows downloaded, and an export of a view downloaded and read back; an import
 * that fails part-way says which rows made it, and an admin undoes them.
 * Screenshots in English, in Chinese and at phone width.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { IMPORT_BATCH } from '../../server/import/run.ts';
import { apiFetch, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const CSV = '客户,邮箱,阶段,Memo\n王伟,wang@huaxin.cn,won,"见面两次\n下周报价"\n李娜,not-an-email,lead,\n';
/** Enough rows that the job runs for a while: the progress bar is seen. */
const BULK = 4_000;
const LARGE = CSV + Array.from({ length: BULK }, (_, i) => `Bulk ${i + 1},bulk${i + 1}@example.cn,lead,`).join('\n') + '\n';

describe('import page', () => {
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

	const total = async (): Promise<number> => ((await (await apiFetch(`${server.url}/api/records?limit=1`)).json()) as { total: number }).total;

	it('checks a file, maps a column by hand, shows problems on their cells, imports as a job others see arrive, and exports a view', async () => {
		const page = await pageAs(browser, server, 'bob');
		// A second person, in another browser context, watching the records list.
		const other = await pageAs(browser, server, 'alice');
		await other.goto(`${server.url}/records`);
		await other.getByTestId('records-table').waitFor();
		await page.goto(`${server.url}/records`);
		await page.getByTestId('import-link').click();
		await page.getByTestId('import-page').waitFor();
		await page.getByTestId('import-file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(LARGE) });
		await page.getByTestId('import-preview').waitFor({ timeout: 60_000 });
		await expect.poll(() => page.getByTestId('import-status').innerText()).toContain('UTF-8');
		expect(await page.getByTestId('import-status').innerText()).toContain(`Rows read: ${BULK + 2}. Ready to import: ${BULK + 1}. With problems (left out): 1.`);
		expect(await page.getByTestId('import-policy').inputValue()).toBe('skip');
		// The guess: 客户 → name, 邮箱 → email, 阶段 → stage; "Memo" is not guessed.
		expect(await page.getByTestId('map-客户').inputValue()).toBe('name');
		expect(await page.getByTestId('map-Memo').inputValue()).toBe('');
		await page.getByTestId('map-Memo').selectOption('notes');
		await page.getByTestId('cell-2-notes').waitFor();
		expect(await page.getByTestId('cell-2-notes').innerText()).toContain('下周报价');
		const bad = page.getByTestId('cell-3-email');
		expect(await bad.getAttribute('class')).toContain('problem');
		expect(await bad.innerText()).toContain('not an email address');
		expect(await total()).toBe(0);
		await page.screenshot({ path: screenshotPath('import-en.png'), fullPage: true });

		await page.getByTestId('import-run').click();
		// The job's progress bar, while it runs on the server.
		await page.getByTestId('import-progress').waitFor({ timeout: 30_000 });
		await page.screenshot({ path: screenshotPath('import-progress-en.png'), fullPage: true });
		await expect.poll(() => page.getByTestId('import-done').textContent(), { timeout: 120_000 }).toContain(`Created: ${BULK + 1}.`);
		expect(await page.getByTestId('import-done').innerText()).toContain('Left out (with problems): 1.');
		expect(await total()).toBe(BULK + 1);
		// The other person's list took the new records in without a reload.
		const listed = async () => Number((await other.getByTestId('list-range').innerText()).replace(/[^\d–-]/g, ' ').trim().split(/\s+/).at(-1));
		await expect.poll(listed, { timeout: 30_000 }).toBe(BULK + 1);
		await page.screenshot({ path: screenshotPath('import-done-en.png'), fullPage: true });

		// The rejected row, with its reason.
		const [rejected] = await Promise.all([page.waitForEvent('download'), page.getByTestId('import-rejected').click()]);
		const rejectedText = readFileSync((await rejected.path())!, 'utf8');
		expect(rejectedText).toContain('李娜');
		expect(rejectedText.split('\r\n')[0]).toBe('\ufeffrow,reason,客户,邮箱,阶段,Memo');
		expect(rejectedText).toContain('not an email address');

		// Export of a view (the list's search), read back.
		await page.goto(`${server.url}/import?q=${encodeURIComponent('王伟')}`);
		await page.getByTestId('export-view').waitFor();
		const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
		const bytes = readFileSync((await download.path())!);
		expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		const text = bytes.toString('utf8');
		expect(text).toContain('王伟');
		expect(text).toContain('"见面两次\n下周报价"');
		expect(text).not.toContain('Bulk 1');
		expect(text.trim().split('\r\n')).toHaveLength(2);
		await page.context().close();
		await other.context().close();
	}, 120_000);

	it('says which rows made it when an import fails part-way (whole batches up to a row, and how many), and an admin undoes them', async () => {
		// A real error inside the import's own writes: the database refuses the note of one record of the second batch.
		const sql = server.accord.database.sql;
		const doomed = IMPORT_BATCH + 100;
		await sql.query(`
			CREATE FUNCTION e2e_refuse_note() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF (SELECT name FROM records WHERE id = NEW.record_id) = 'Doomed ${doomed}' THEN
					RAISE EXCEPTION 'the database refused a write';
				END IF;
				RETURN NEW;
			END $$`);
		await sql.query('CREATE TRIGGER e2e_refuse_note BEFORE INSERT ON import_job_records FOR EACH ROW EXECUTE FUNCTION e2e_refuse_note()');
		const kept = async (): Promise<number> =>
			Number((await sql.query<{ n: number }>("SELECT count(*) AS n FROM records WHERE name LIKE 'Doomed %' AND NOT archived"))[0].n);
		try {
			const rows = Array.from({ length: 2 * IMPORT_BATCH }, (_, i) => `Doomed ${i + 1},doomed${i + 1}@example.cn`);
			const page = await pageAs(browser, server, 'alice');
			await page.goto(`${server.url}/import`);
			await page.getByTestId('import-file').setInputFiles({ name: 'doomed.csv', mimeType: 'text/csv', buffer: Buffer.from(['Name,Email', ...rows].join('\n')) });
			await page.getByTestId('import-preview').waitFor({ timeout: 60_000 });
			await page.getByTestId('import-run').click();
			const failed = page.getByTestId('import-failed');
			await failed.waitFor({ timeout: 60_000 });
			// The first batch (rows 2 to IMPORT_BATCH + 1; the header is row 1), none of the second.
			expect(await failed.innerText()).toContain(`failed after whole batches up to row ${IMPORT_BATCH + 1} were written, nothing after: the database refused a write`);
			expect(await page.getByTestId('import-written').innerText()).toContain(`${IMPORT_BATCH} created, 0 updated`);
			expect(await kept()).toBe(IMPORT_BATCH);
			await page.screenshot({ path: screenshotPath('import-failed-en.png'), fullPage: true });

			page.once('dialog', (dialog) => void dialog.accept());
			await page.getByTestId('import-undo').click();
			await eventually(async () => (await kept()) === 0, 'the written batch undone');
			await page.context().close();
		} finally {
			await sql.query('DROP TRIGGER e2e_refuse_note ON import_job_records');
			await sql.query('DROP FUNCTION e2e_refuse_note()');
		}
	}, 120_000);

	it('reads in Chinese and fits a phone', async () => {
		for (const [name, options] of [
			['import-zh.png', { locale: 'zh-CN' }],
			['import-phone.png', { locale: 'zh-CN', viewport: { width: 390, height: 844 } }]
		] as const) {
			const page = await pageAs(browser, server, 'wang.fang', options);
			await page.goto(`${server.url}/import`);
			await page.getByTestId('import-file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
			await page.getByTestId('import-preview').waitFor();
			await expect.poll(() => page.getByTestId('import-status').innerText()).toContain('共读取 2 行');
			expect(await page.locator('h1').innerText()).toBe('导入和导出');
			// Nothing wider than the window but the tables, which scroll inside their own box.
			const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
			expect(overflow).toBeLessThanOrEqual(0);
			await page.screenshot({ path: screenshotPath(name), fullPage: true });
			await page.context().close();
		}
	}, 120_000);
});
