/**
 * Excel `.xlsx` import and matching on another system's id, through the real entry
 * points (`POST /api/import` on a real server and store, as a dry run, a real run and a
 * job, and the command line). The workbooks are written at test time by
 * tests/support/xlsx-fixture.ts with fflate, not by the reader's code, as Excel lays
 * them out: a notes sheet first, a title row above a Chinese header, shared strings
 * after the sheets, rich text with phonetic guides, dates in two formats. Bad
 * workbooks (cut off, an .xls, a zip that is not a workbook, parts that unpack past
 * the limits or past what they declare) each get a clear refusal while the server
 * keeps serving.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync, strToU8 } from 'fflate';
import type { RunningServer } from '../../server/http.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { ImportReport } from '../../server/import/run.ts';
import { cliOnPglite } from '../support/cli.ts';
import { apiFetch, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { buildXlsx, type FixtureSheet } from '../support/xlsx-fixture.ts';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function useServer(): () => RunningServer {
	let server: RunningServer | undefined;
	let data: { dir: string; remove(): void } | undefined;
	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		await server?.close();
		data?.remove();
	});
	return () => server!;
}

type Query = Record<string, string>;

async function postImport(server: RunningServer, body: Uint8Array | string, contentType: string, query: Query = {}, role: 'admin' | 'editor' = 'editor'): Promise<Response> {
	return apiFetch(`${server.url}/api/import?${new URLSearchParams(query)}`, { method: 'POST', headers: { 'content-type': contentType }, body: body as BodyInit }, role);
}

async function importOk(server: RunningServer, body: Uint8Array | string, contentType: string, query: Query = {}): Promise<ImportReport> {
	const response = await postImport(server, body, contentType, query);
	const text = await response.text();
	expect(response.status, text).toBe(200);
	return JSON.parse(text) as ImportReport;
}

async function refused(server: RunningServer, body: Uint8Array, query: Query = {}): Promise<{ message: string; row: number | null; sheets?: string[] }> {
	const response = await postImport(server, body, XLSX, query);
	const text = await response.text();
	expect(response.status, text).toBe(422);
	return JSON.parse(text) as { message: string; row: number | null; sheets?: string[] };
}

async function exportJson(server: RunningServer): Promise<CustomerRecord[]> {
	return (await (await apiFetch(`${server.url}/api/export?format=json`)).json()) as CustomerRecord[];
}

async function total(server: RunningServer): Promise<number> {
	const response = await apiFetch(`${server.url}/api/records?limit=1&archived=1`);
	return ((await response.json()) as { total: number }).total;
}

const byName = (records: CustomerRecord[], name: string): CustomerRecord => {
	const found = records.find((r) => r.fields.name === name);
	if (!found) throw new Error(`no record named ${name} among ${records.map((r) => r.fields.name).join(', ')}`);
	return found;
};

/** A workbook as a Chinese sales team keeps one: notes first, then the customers under a title. */
const customers = (prefix = ''): FixtureSheet[] => [
	{ name: '说明', rows: [{ row: 1, cells: ['请勿修改表头'] }] },
	{
		name: '客户',
		rows: [
			{ row: 1, cells: ['客户名单 2026'] },
			{ row: 3, cells: ['姓名', '公司', '手机', '邮箱', '跟进日期', '阶段', '标签', '备注', '国家'] },
			// A mobile number typed into Excel is a number: read with the row's country, as the form reads it.
			{ row: 4, cells: [`${prefix}王伟`, { rich: ['华信', '科技有限公司'], phonetic: 'かしん' }, 13800138000, `${prefix}wang.wei@huaxin.cn`, new Date(Date.UTC(2026, 2, 15)), 'qualified', '华东, 重点客户', '首次拜访：展会', 'CN'] },
			{ row: 5, cells: [`${prefix}李娜`, '长城贸易', '+86 139 0013 9000', `${prefix}li.na@cc.cn`, new Date(Date.UTC(2026, 3, 1)), 'lead', null, { inline: '内联文字' }] },
			{ row: 7, cells: [`${prefix}张磊`, '深圳创新', 13700137000, 'not-an-email', null, 'won', null, null, 'CN'] }
		]
	},
	{ name: 'Sheet3', rows: [{ row: 1, cells: ['Name', 'Company'] }, { row: 2, cells: [`${prefix}Zhou Min`, 'Huaxin'] }] }
];

/** Sets an entry's declared uncompressed size in both the local header and the central directory. */
function declareSize(zip: Uint8Array, name: string, size: number): Uint8Array {
	const bytes = new Uint8Array(zip);
	const view = new DataView(bytes.buffer);
	const wanted = new TextEncoder().encode(name);
	const nameAt = (at: number, length: number) => bytes.subarray(at, at + length).every((b, i) => b === wanted[i]) && length === wanted.length;
	for (let i = 0; i + 46 < bytes.length; i++) {
		const signature = view.getUint32(i, true);
		if (signature === 0x04034b50 && nameAt(i + 30, view.getUint16(i + 26, true))) view.setUint32(i + 22, size, true);
		if (signature === 0x02014b50 && nameAt(i + 46, view.getUint16(i + 28, true))) view.setUint32(i + 24, size, true);
	}
	return bytes;
}

describe('import: Excel workbooks', () => {
	const server = useServer();

	it('reads the first sheet that has a table, finds the header under a title, and reads shared and inline text, numbers and dates', async () => {
		const before = await total(server());
		const dry = await importOk(server(), buildXlsx(customers()), XLSX, { dryRun: '1' });
		expect(dry).toMatchObject({ format: 'xlsx', encodingReason: 'xlsx', rowsRead: 3, valid: 2, rejected: 1 });
		expect(dry.workbook).toEqual({ sheets: ['说明', '客户', 'Sheet3'], sheet: '客户', headerRow: 3, headerGuessed: true });
		expect(dry.mapping).toEqual({ 姓名: 'name', 公司: 'company', 手机: 'phone', 邮箱: 'email', 跟进日期: 'followUpAt', 阶段: 'stage', 标签: 'tags', 备注: 'notes', 国家: 'country' });
		// Rows numbered as Excel shows them; the phonetic guide is not part of the text.
		expect(dry.preview.map((p) => p.row)).toEqual([4, 5, 7]);
		expect(dry.preview[0]).toMatchObject({ fields: { name: '王伟', company: '华信科技有限公司', phone: '+8613800138000', followUpAt: '2026-03-15' }, tags: ['华东', '重点客户'], notes: '首次拜访：展会' });
		expect(dry.preview[1]).toMatchObject({ fields: { name: '李娜', followUpAt: '2026-04-01' }, notes: '内联文字' });
		expect(dry.problems).toEqual([expect.objectContaining({ row: 7, column: '邮箱', field: 'email' })]);
		expect(await total(server())).toBe(before);

		const real = await importOk(server(), buildXlsx(customers()), XLSX);
		expect(real).toMatchObject({ created: 2, rejected: 1, writtenThrough: 5 });
		const wang = byName(await exportJson(server()), '王伟');
		expect(wang.fields).toMatchObject({ company: '华信科技有限公司', email: 'wang.wei@huaxin.cn', stage: 'qualified', followUpAt: '2026-03-15' });
	});

	it('reads the sheet and header row chosen, by name or place, and the 1904 date system and prefixed elements', async () => {
		const bySheet = await importOk(server(), buildXlsx(customers()), XLSX, { dryRun: '1', sheet: 'Sheet3' });
		expect(bySheet).toMatchObject({ rowsRead: 1, workbook: { sheet: 'Sheet3', headerRow: 1 } });
		expect(bySheet.preview[0].fields).toMatchObject({ name: 'Zhou Min', company: 'Huaxin' });
		expect((await importOk(server(), buildXlsx(customers()), 'application/octet-stream', { format: 'xlsx', dryRun: '1', sheet: '3' })).workbook?.sheet).toBe('Sheet3');
		// The header named by hand: row 4 read as column names, rows under it as data.
		const named = await importOk(server(), buildXlsx(customers()), XLSX, { dryRun: '1', sheet: '客户', headerRow: '4' });
		expect(named.workbook).toMatchObject({ headerRow: 4, headerGuessed: false });
		expect(named.rowsRead).toBe(2);
		expect(Object.keys(named.mapping)).toContain('王伟');

		const sheets: FixtureSheet[] = [{ name: 'A', rows: [{ row: 1, cells: ['name', 'follow up', 'value', 'tags'] }, { row: 2, cells: ['Old Mac', new Date(Date.UTC(2026, 0, 31)), 1234.5, true] }] }];
		const old = await importOk(server(), buildXlsx(sheets, { date1904: true, prefixed: true, excelOrder: false }), XLSX, { dryRun: '1' });
		expect(old.preview[0]).toMatchObject({ fields: { name: 'Old Mac', followUpAt: '2026-01-31', value: 1234.5 }, tags: ['true'] });
	});

	it('refuses bad workbooks with a message naming the problem, writes nothing, and keeps serving', async () => {
		const before = await total(server());
		const good = buildXlsx(customers());
		expect((await refused(server(), good.subarray(0, Math.floor(good.length * 0.6)))).message).toMatch(/not a complete \.xlsx/);
		const ole = new Uint8Array(4096);
		ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
		expect((await refused(server(), ole)).message).toMatch(/\.xls\b.*save it as an Excel workbook/);
		expect((await refused(server(), zipSync({ 'readme.txt': strToU8('hello') }))).message).toMatch(/not an Excel workbook/);
		expect((await refused(server(), new Uint8Array(0))).message).toMatch(/empty/);
		const missing = await refused(server(), good, { sheet: '订单' });
		expect(missing.message).toMatch(/no sheet "订单".*"客户"/);
		expect(missing.sheets).toEqual(['说明', '客户', 'Sheet3']);
		expect((await refused(server(), good, { sheet: '客户', headerRow: '2' })).message).toMatch(/Row 2 of sheet "客户" is empty/);
		expect((await refused(server(), good, { sheet: '说明' })).message).toMatch(/no rows under them/);
		const doctype = buildXlsx([{ name: 'A', rows: [{ row: 1, cells: ['name'] }, { row: 2, cells: ['x'] }] }]);
		const unzipped = (await import('fflate')).unzipSync(doctype);
		unzipped['xl/worksheets/sheet1.xml'] = strToU8('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>');
		expect((await refused(server(), zipSync(unzipped))).message).toMatch(/DOCTYPE/);
		// A zip bomb: a sheet declaring 2 GB is refused before it is unpacked; one that unpacks to more than it declares, while unpacking.
		const sheetPath = 'xl/worksheets/sheet2.xml';
		expect((await refused(server(), declareSize(good, sheetPath, 2 * 1024 * 1024 * 1024))).message).toMatch(/unpacks to 2048 MB, more than the 1024 MB/);
		expect((await refused(server(), declareSize(good, sheetPath, 300 * 1024 * 1024))).message).toMatch(/zip bomb/);
		expect((await refused(server(), declareSize(good, sheetPath, 200))).message).toMatch(/cannot be unpacked|damaged/);
		// More columns than are read.
		const wide = buildXlsx([{ name: 'W', rows: [{ row: 1, cells: Array.from({ length: 600 }, (_, i) => `c${i}`) }, { row: 2, cells: ['x'] }] }]);
		expect((await refused(server(), wide)).message).toMatch(/600 columns; at most 500/);
		expect(await total(server())).toBe(before);
		expect((await fetch(`${server().url}/healthz`)).status).toBe(200);
	});

	it('an exported workbook imports back to the same records: under the update policy every row is unchanged', async () => {
		const exported = new Uint8Array(await (await apiFetch(`${server().url}/api/export?format=xlsx`)).arrayBuffer());
		const count = await total(server());
		const again = await importOk(server(), exported, XLSX, { policy: 'update' });
		expect(again).toMatchObject({ rowsRead: count, matched: count, created: 0, updated: 0, unchanged: count, rejected: 0 });
		expect(again.workbook).toMatchObject({ sheet: 'Records', headerRow: 1 });
		expect(await total(server())).toBe(count);
	});

	it('runs as a job, with its progress read from the sheet', async () => {
		const rows = Array.from({ length: 1200 }, (_, i) => ({ row: i + 2, cells: [`Job Sheet ${i}`, `job${i}@sheet.cn`, i % 3 === 0 ? new Date(Date.UTC(2026, 5, 1 + (i % 28))) : null] }));
		const book = buildXlsx([{ name: 'Customers', rows: [{ row: 1, cells: ['Name', 'Email', 'Follow-up'] }, ...rows] }]);
		const started = await postImport(server(), book, XLSX, { job: '1', name: 'customers.xlsx', sheet: 'Customers' });
		expect(started.status, await started.clone().text()).toBe(202);
		const { id } = (await started.json()) as { id: string };
		let job: { status: string; report: ImportReport | null; progress: { bytesRead: number; bytesTotal: number; created: number } } | null = null;
		await eventually(async () => {
			job = (await (await apiFetch(`${server().url}/api/import/jobs/${id}`)).json()) as typeof job;
			return job!.status !== 'running';
		}, 'the workbook job to finish', 120_000);
		expect(job!.status).toBe('done');
		expect(job!.report).toMatchObject({ rowsRead: 1200, created: 1200, workbook: { sheet: 'Customers' } });
		expect(job!.progress.bytesRead).toBe(job!.progress.bytesTotal);
	});
});

describe("import: matching on another system's id", () => {
	const server = useServer();

	it('keeps the id on the record in a field of its own and matches on it on the next import, before email or phone', async () => {
		const defined = await apiFetch(
			`${server().url}/api/fields`,
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: { en: 'ERP number', zh: 'ERP编号' }, type: 'text' }) },
			'admin'
		);
		expect(defined.status, await defined.clone().text()).toBe(201);
		const key = ((await defined.json()) as { key: string }).key;
		const first = ['ERP编号,姓名,邮箱,城市', 'C-001,陈一,chen1@erp.cn,北京', 'C-002,陈二,chen2@erp.cn,上海', 'C-003,陈三,,深圳'].join('\r\n');
		const created = await importOk(server(), first, 'text/csv', { policy: 'update', externalId: key });
		expect(created).toMatchObject({ created: 3, matched: 0, mapping: { ERP编号: key } });
		const before = await total(server());

		// The other system's next export: new emails and a new city; C-004 is new, and C-002 appears twice (the second row matches the same record).
		const second = ['ERP编号,姓名,邮箱,城市', 'C-001,陈一,chen.one@erp-new.cn,北京', 'C-002,陈二,chen2@erp.cn,杭州', 'C-003,陈三,chen3@erp.cn,深圳', 'C-004,陈四,chen4@erp.cn,广州', 'C-002,陈二,,杭州'].join('\r\n');
		const dry = await importOk(server(), second, 'text/csv', { policy: 'update', externalId: key, matchOn: 'id', dryRun: '1' });
		expect(dry).toMatchObject({ matched: 4, valid: 5 });
		const updated = await importOk(server(), second, 'text/csv', { policy: 'update', externalId: key, matchOn: 'id' });
		expect(updated).toMatchObject({ matched: 4, created: 1, rejected: 0 });
		expect(updated.updated + updated.unchanged).toBe(4);
		expect(await total(server())).toBe(before + 1);
		const records = await exportJson(server());
		expect(byName(records, '陈一').fields).toMatchObject({ [key]: 'C-001', email: 'chen.one@erp-new.cn' });
		expect(byName(records, '陈二').fields).toMatchObject({ [key]: 'C-002', city: '杭州' });
		expect(byName(records, '陈三').fields).toMatchObject({ [key]: 'C-003', email: 'chen3@erp.cn' });
		expect(records.filter((r) => String(r.fields.name).startsWith('陈'))).toHaveLength(4);

		// The same file again changes nothing.
		const again = await importOk(server(), second, 'text/csv', { policy: 'update', externalId: key, matchOn: 'id' });
		expect(again).toMatchObject({ created: 0, updated: 0, matched: 5, unchanged: 5 });

		// Without an external id column mapped to the field, or with a field that is not the workspace's own, the import says so.
		const unmapped = await postImport(server(), 'Name\nX', 'text/csv', { dryRun: '1', externalId: key });
		expect(unmapped.status).toBe(400);
		expect(((await unmapped.json()) as { message: string }).message).toMatch(/No column is mapped/);
		const builtIn = await postImport(server(), 'Name\nX', 'text/csv', { dryRun: '1', externalId: 'email' });
		expect(builtIn.status).toBe(400);
	});
});

describe('command line: workbooks', () => {
	it('imports a chosen sheet and header row, and matches on an external id', async () => {
		const { dir: data, cli, remove } = await cliOnPglite('accord-cli-xlsx-');
		try {
			const file = path.join(data, '客户.xlsx');
			writeFileSync(file, buildXlsx(customers()));
			const dry = await cli(['import', file, '--dry-run', '--sheet', '客户', '--header-row', '3']);
			const summary = JSON.parse(dry.stdout.trim().split('\n').at(-1)!) as ImportReport;
			expect(summary).toMatchObject({ dryRun: true, format: 'xlsx', rowsRead: 3, valid: 2, workbook: { sheet: '客户', headerRow: 3, headerGuessed: false } });
			expect(dry.stderr).toMatch(/Sheet "客户"/);
			const real = await cli(['import', file]);
			expect(JSON.parse(real.stdout.trim().split('\n').at(-1)!)).toMatchObject({ created: 2, rejected: 1 });
			await expect(cli(['import', file, '--header-row', 'three'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--header-row') });
			const cut = path.join(data, 'cut.xlsx');
			writeFileSync(cut, readFileSync(file).subarray(0, 300));
			await expect(cli(['import', cut])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('not a complete .xlsx') });
			await expect(cli(['import', file, '--external-id', 'x_missing'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('No column is mapped to x_missing') });
		} finally {
			remove();
		}
	}, 600_000);
});
