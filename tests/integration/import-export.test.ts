/**
 * Import and export through the real HTTP entry points (`POST /api/import`, served by
 * the Node entry ahead of SvelteKit, and `GET /api/export`) and the command line, on a
 * real server and store: files in the encodings real files have (a GBK CSV as Excel on
 * Chinese Windows writes it, Big5, UTF-16LE "Unicode text", UTF-8 with a BOM), quoted
 * line breaks, invalid rows reported by row and column, dry runs that change nothing,
 * export → import round trips, formula neutralisation, private records, bad files, and
 * a 10,000-row import whose records are written while the upload is still arriving.
 */
import { readFileSync, readdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync, strFromU8 } from 'fflate';
import type { RunningServer } from '../../server/http.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { ImportReport } from '../../server/import/run.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { entryArgs } from '../support/entry.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/import');

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

function importUrl(server: RunningServer, query: Query): string {
	return `${server.url}/api/import?${new URLSearchParams(query)}`;
}

async function postImport(server: RunningServer, body: Uint8Array | string, contentType: string, query: Query = {}, role: 'admin' | 'editor' | 'viewer' = 'editor'): Promise<Response> {
	return apiFetch(importUrl(server, query), { method: 'POST', headers: { 'content-type': contentType }, body: body as BodyInit }, role);
}

async function importOk(server: RunningServer, body: Uint8Array | string, contentType: string, query: Query = {}): Promise<ImportReport> {
	const response = await postImport(server, body, contentType, query);
	const text = await response.text();
	expect(response.status, text).toBe(200);
	return JSON.parse(text) as ImportReport;
}

async function total(server: RunningServer): Promise<number> {
	const response = await apiFetch(`${server.url}/api/records?limit=1&archived=1`);
	return ((await response.json()) as { total: number }).total;
}

async function exportAll(server: RunningServer, format: string, role: 'admin' | 'editor' | 'viewer' = 'editor', extra = ''): Promise<Response> {
	const response = await apiFetch(`${server.url}/api/export?format=${format}${extra}`, {}, role);
	expect(response.status).toBe(200);
	return response;
}

async function exportJson(server: RunningServer, role: 'admin' | 'editor' | 'viewer' = 'editor', extra = ''): Promise<CustomerRecord[]> {
	return (await (await exportAll(server, 'json', role, extra)).json()) as CustomerRecord[];
}

const byName = (records: CustomerRecord[], name: string): CustomerRecord => {
	const found = records.find((r) => r.fields.name === name);
	if (!found) throw new Error(`no record named ${name} among ${records.map((r) => r.fields.name).join(', ')}`);
	return found;
};

describe('import: encodings, delimiters and mapping', () => {
	const server = useServer();

	it('imports a GBK CSV from Excel with a Chinese header: the dry run changes nothing, the real run creates every row', async () => {
		const bytes = readFileSync(path.join(FIXTURES, 'customers-gbk.csv'));
		const before = await total(server());
		const dry = await importOk(server(), bytes, 'text/csv', { dryRun: '1' });
		expect(dry).toMatchObject({ encoding: 'gb18030', encodingReason: 'guess', dryRun: true, rowsRead: 3, valid: 3, created: 0, rejected: 0, problems: [] });
		expect(dry.mapping).toEqual({ 姓名: 'name', 公司: 'company', 手机: 'phone', 邮箱: 'email', 城市: 'city', 阶段: 'stage', 标签: 'tags', 备注: 'notes' });
		expect(await total(server())).toBe(before);

		const real = await importOk(server(), bytes, 'text/csv');
		expect(real).toMatchObject({ rowsRead: 3, created: 3, rejected: 0 });
		const wang = byName(await exportJson(server()), '王伟');
		expect(wang.fields).toMatchObject({ company: '华信科技有限公司', phone: '+8613800138000', email: 'wang.wei@huaxin.cn', city: '上海', stage: 'qualified' });
		expect(wang.tags).toEqual(['华东', '重点客户']);
		expect(wang.notes).toBe('首次拜访：展会\n对报价满意');
		// Audited as an import, by the importer.
		const history = (await (await apiFetch(`${server().url}/api/records/${wang.id}/history`)).json()) as { entries: Array<{ op: string; source: string }> };
		expect(history.entries.find((e) => e.op === 'create')?.source).toBe('import');
	});

	it('tells Big5 from GBK and reads a traditional Chinese header; an encoding named by hand wins', async () => {
		const bytes = readFileSync(path.join(FIXTURES, 'customers-big5.csv'));
		const guessed = await importOk(server(), bytes, 'text/csv', { dryRun: '1' });
		expect(guessed).toMatchObject({ encoding: 'big5', rowsRead: 2, valid: 2 });
		expect(guessed.preview[0].fields).toMatchObject({ name: '陳志明', company: '台北資訊股份有限公司', phone: '+886223456789' });
		const forced = await importOk(server(), bytes, 'text/csv', { dryRun: '1', encoding: 'GBK' });
		expect(forced).toMatchObject({ encoding: 'gb18030', encodingReason: 'override' });
		expect(forced.preview[0].fields.name).not.toBe('陳志明');
	});

	it('reads a UTF-16LE tab-separated file with a BOM and a quoted line break', async () => {
		const text = 'Name\tCompany\tNotes\n"Zhou Min"\tHuaxin\t"line one\nline two"\n周敏\t华信\t\n';
		const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
		const report = await importOk(server(), bytes, 'text/tab-separated-values', { dryRun: '1' });
		expect(report).toMatchObject({ encoding: 'utf-16le', encodingReason: 'bom', rowsRead: 2, valid: 2 });
		expect(report.preview[0]).toMatchObject({ row: 2, fields: { name: 'Zhou Min', company: 'Huaxin' }, notes: 'line one\nline two' });
		expect(report.preview[1].fields).toMatchObject({ name: '周敏', company: '华信' });
	});

	it('reads a UTF-8 CSV with a BOM, semicolons and quoted line breaks, with a mapping given by hand', async () => {
		const text = '\ufeffKunde;Firma;E-Mail;Bemerkung\n"Li; Na";"Changcheng\nTrading";li@cc.cn;"a ""quoted"" word"\n';
		const mapping = JSON.stringify({ Kunde: 'name', Firma: 'company', Bemerkung: 'notes' });
		const report = await importOk(server(), text, 'text/csv', { dryRun: '1', mapping });
		expect(report).toMatchObject({ encoding: 'utf-8', encodingReason: 'bom', rowsRead: 1, valid: 1 });
		expect(report.mapping).toMatchObject({ Kunde: 'name', Firma: 'company', 'E-Mail': 'email', Bemerkung: 'notes' });
		expect(report.preview[0]).toMatchObject({ fields: { name: 'Li; Na', company: 'Changcheng Trading', email: 'li@cc.cn' }, notes: 'a "quoted" word' });
	});

	it('lists every invalid row by row and column, and a dry run creates nothing', async () => {
		const lines = ['name,email,stage,value'];
		const bad = new Map<number, string[]>();
		for (let i = 1; i <= 40; i++) {
			const row = i + 1;
			if (i % 10 === 3) {
				lines.push(`Bad ${i},not-an-email,lead,10`);
				bad.set(row, ['email']);
			} else if (i % 10 === 7) {
				lines.push(`Bad ${i},b${i}@x.cn,someday,-5`);
				bad.set(row, ['stage', 'value']);
			} else if (i === 20) {
				lines.push(`,nobody@x.cn,lead,1`);
				bad.set(row, ['name']);
			} else lines.push(`Good ${i},g${i}@x.cn,won,"1,200.50"`);
		}
		const before = await total(server());
		const report = await importOk(server(), lines.join('\r\n'), 'text/csv', { dryRun: '1' });
		expect(report).toMatchObject({ rowsRead: 40, rejected: bad.size, valid: 40 - bad.size, created: 0 });
		const found = new Map<number, string[]>();
		for (const problem of report.problems) found.set(problem.row, [...(found.get(problem.row) ?? []), problem.column ?? '?']);
		expect(new Map([...found].map(([row, columns]) => [row, columns.sort()]))).toEqual(new Map([...bad].map(([row, columns]) => [row, columns.sort()])));
		expect(report.problems.find((p) => p.row === 4)?.message).toContain('not-an-email');
		expect(await total(server())).toBe(before);
		// A real run creates exactly the valid rows.
		const real = await importOk(server(), lines.join('\r\n'), 'text/csv');
		expect(real.created).toBe(40 - bad.size);
		expect(await total(server())).toBe(before + 40 - bad.size);
	});

	it('reads JSON (an array of flat objects or of records) and XML', async () => {
		const json = JSON.stringify([{ 姓名: '赵六', 邮箱: 'zhao@x.cn', 标签: ['vip'] }, { 姓名: '钱七', 金额: 99.5 }]);
		const fromJson = await importOk(server(), json, 'application/json', { dryRun: '1' });
		expect(fromJson).toMatchObject({ rowsRead: 2, valid: 2 });
		expect(fromJson.preview[0]).toMatchObject({ fields: { name: '赵六', email: 'zhao@x.cn' }, tags: ['vip'] });
		expect(fromJson.preview[1].fields).toMatchObject({ name: '钱七', value: 99.5 });
		const xml = '<?xml version="1.0"?><customers><customer><name>A &amp; B Ltd</name><tags><tag>x</tag><tag>y</tag></tags><notes><![CDATA[<b>raw</b>]]></notes></customer></customers>';
		const fromXml = await importOk(server(), xml, 'application/xml', { dryRun: '1' });
		expect(fromXml.preview[0]).toMatchObject({ fields: { name: 'A & B Ltd' }, tags: ['x', 'y'], notes: '<b>raw</b>' });
	});
});

describe('import: refusals', () => {
	const server = useServer();

	const refused = async (response: Response, status: number): Promise<{ message: string; row?: number | null }> => {
		const text = await response.text();
		expect(response.status, text).toBe(status);
		const body = JSON.parse(text) as { message: string; row?: number | null };
		expect(body.message.length).toBeGreaterThan(10);
		return body;
	};

	it('answers each bad file with a message naming the problem, writes nothing, and keeps serving', async () => {
		const before = await total(server());
		expect((await refused(await postImport(server(), '', 'text/csv'), 422)).message).toMatch(/empty/);
		expect((await refused(await postImport(server(), '\r\n\r\n', 'text/csv'), 422)).message).toMatch(/header/);
		const junk = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
		expect((await refused(await postImport(server(), junk, 'text/csv'), 422)).message).toMatch(/binary|does not read/);
		const entities = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r><c><name>&e;</name></c></r>';
		expect((await refused(await postImport(server(), entities, 'application/xml'), 422)).message).toMatch(/DOCTYPE/);
		expect((await refused(await postImport(server(), '<r><c><name>x</c></r>', 'application/xml'), 422)).message).toMatch(/not well-formed/);
		expect((await refused(await postImport(server(), 'name\n"never closed\n', 'text/csv'), 422)).message).toMatch(/never closed/);
		const wide = `${Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',')}\n`;
		expect((await refused(await postImport(server(), wide, 'text/csv'), 422)).message).toMatch(/10000 columns/);
		expect((await refused(await postImport(server(), `name,notes\nA,${'x'.repeat(10 * 1024 * 1024)}\n`, 'text/csv'), 422)).row).toBe(2);
		expect((await refused(await postImport(server(), 'a,b', 'application/octet-stream'), 400)).message).toMatch(/format/);
		expect((await refused(await postImport(server(), 'name\nA', 'text/csv', { mapping: '{"name": "nonsense"}' }), 400)).message).toMatch(/nonsense/);
		expect((await refused(await postImport(server(), 'name\nA', 'text/csv', { encoding: 'ebcdic' }), 400)).message).toMatch(/encoding/);
		expect(await total(server())).toBe(before);
		expect((await fetch(`${server().url}/healthz`)).status).toBe(200);
	});

	it('a JSON file cut off part way keeps the whole records before the cut and says where it stopped', async () => {
		const report = await importOk(server(), '[{"name": "Whole"}, {"name": "Cut', 'application/json', { dryRun: '1' });
		expect(report.rowsRead).toBe(1);
		expect(report.stoppedAt?.message).toMatch(/cut off|not well-formed/);
	});

	it('refuses a file over the limit with 413, viewers with 403 and strangers with 401', async () => {
		process.env.ACCORD_IMPORT_MAX_BYTES = '1000';
		try {
			const body = await refused(await postImport(server(), `name\n${'Someone\n'.repeat(500)}`, 'text/csv'), 413);
			expect(body.message).toMatch(/limit/);
			// Without a declared length (a stream), the limit is counted as the bytes arrive.
			const stream = new ReadableStream<Uint8Array>({
				start(controller) {
					for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(`name\n${'Someone\n'.repeat(50)}`));
					controller.close();
				}
			});
			const streamed = await apiFetch(importUrl(server(), { dryRun: '1' }), { method: 'POST', headers: { 'content-type': 'text/csv' }, body: stream, duplex: 'half' } as RequestInit);
			await refused(streamed, 413);
		} finally {
			delete process.env.ACCORD_IMPORT_MAX_BYTES;
		}
		await refused(await postImport(server(), 'name\nA', 'text/csv', {}, 'viewer'), 403);
		await refused(await fetch(importUrl(server(), {}), { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'name\nA' }), 401);
	});
});

describe('export', () => {
	// One server: SvelteKit's routes reach the services of the last server started in a process.
	const server = useServer();

	const records = [
		{ fields: { name: '王伟', company: '=SUM(A1:A9)', phone: '+86 138 0013 8000', email: 'wang@huaxin.cn', stage: 'won', value: 1200.5, currency: 'CNY', country: 'CN', city: '上海', website: 'huaxin.cn', x_source: '展会' }, tags: ['重点客户', 'east'], notes: 'Line one,\n"two"\n@three' },
		{ fields: { name: '-Minus Co', title: "'quoted", address: '1 Road\nFloor 2', followUpAt: '2027-01-31' }, tags: [], notes: '' },
		{ fields: { name: 'Plain', industry: '@home' }, tags: ['a'], notes: 'n' }
	];

	const originalIds: string[] = [];
	beforeAll(async () => {
		for (const record of records) originalIds.push(await createRecord(server(), record.fields, { tags: record.tags, notes: record.notes }));
	});

	it('writes CSV as UTF-8 with a BOM, field keys as the header, and formula-looking cells neutralised', async () => {
		const response = await exportAll(server(), 'csv');
		expect(response.headers.get('content-type')).toContain('text/csv');
		expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="accord-records-.*\.csv"/);
		const bytes = new Uint8Array(await response.arrayBuffer());
		expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		const text = new TextDecoder().decode(bytes);
		expect(text.split('\r\n')[0]).toMatch(/^\ufeff?id,name,company,/);
		expect(text).toContain(",'=SUM(A1:A9),");
		expect(text).toContain("'+8613800138000");
		expect(text).toContain("'-Minus Co");
		expect(text).toContain("''quoted");
		expect(text).toContain("'@home");
		expect(text).not.toMatch(/,=SUM/);
	});

	for (const format of ['csv', 'json', 'xml'] as const) {
		it(`round trip through ${format}: every record's fields, tags and notes come back`, async () => {
			const before = await exportJson(server());
			const file = new Uint8Array(await (await exportAll(server(), format)).arrayBuffer());
			const type = { csv: 'text/csv', json: 'application/json', xml: 'application/xml' }[format];
			const report = await importOk(server(), file, type);
			expect(report).toMatchObject({ rowsRead: before.length, created: before.length, rejected: 0 });
			const seen = new Set(before.map((r) => r.id));
			const copies = (await exportJson(server())).filter((r) => !seen.has(r.id));
			expect(copies).toHaveLength(before.length);
			// Every copy (of an original, or of an earlier round trip's copy) holds what its original holds.
			for (const copy of copies) {
				const original = byName(before.filter((r) => originalIds.includes(r.id)), copy.fields.name as string);
				expect(copy.fields).toEqual(original.fields);
				expect(copy.tags).toEqual(original.tags);
				expect(copy.notes).toBe(original.notes);
			}
		});
	}

	it('writes an XLSX workbook a reader can open: one sheet, the header and every record', async () => {
		const response = await exportAll(server(), 'xlsx');
		expect(response.headers.get('content-type')).toContain('spreadsheetml');
		const zip = unzipSync(new Uint8Array(await response.arrayBuffer()));
		expect(Object.keys(zip).sort()).toEqual(['[Content_Types].xml', '_rels/.rels', 'xl/_rels/workbook.xml.rels', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml']);
		const sheet = strFromU8(zip['xl/worksheets/sheet1.xml']);
		expect(sheet.match(/<row /g)).toHaveLength((await total(server())) + 1);
		expect(sheet).toContain('<t xml:space="preserve">王伟</t>');
		expect(sheet).toContain('<v>1200.5</v>');
	});

	it('exports what the list search matches, and never private records of others', async () => {
		const matched = await exportJson(server(), 'editor', `&q=${encodeURIComponent('王伟')}`);
		expect(matched.length).toBeGreaterThan(0);
		expect(new Set(matched.map((r) => r.fields.name))).toEqual(new Set(['王伟']));
		const secret = await createRecord(server(), { name: 'Secret Deal', owner: 'alice' });
		const made = await apiFetch(`${server().url}/api/records/${secret}/private`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"private": true}' }, 'admin');
		expect(made.status).toBe(200);
		for (const format of ['json', 'csv', 'xml'] as const) {
			const text = await (await exportAll(server(), format, 'viewer')).text();
			expect(text).not.toContain('Secret Deal');
			expect(text).toContain('Plain');
		}
		expect((await exportJson(server(), 'admin')).map((r) => r.fields.name)).toContain('Secret Deal');
		expect((await apiFetch(`${server().url}/api/export?format=pdf`)).status).toBe(400);
	});
});

describe('import at size', () => {
	const server = useServer();

	/** 10,000 rows of 12 columns, a quarter of them in Chinese. */
	function row(i: number): string {
		const chinese = i % 4 === 0;
		return [
			chinese ? `客户${i}` : `Customer ${i}`,
			chinese ? `华信科技${i % 97}有限公司` : `Company ${i % 97}`,
			`c${i}@example.com`,
			`+86 138 ${String(i).padStart(4, '0')} ${String(i % 10_000).padStart(4, '0')}`,
			['lead', 'qualified', 'proposal', 'won'][i % 4],
			String(i * 10),
			'CNY',
			'CN',
			chinese ? '上海' : 'Shanghai',
			`tag${i % 5}`,
			chinese ? '备注：第一次联系' : 'First contact',
			`https://c${i % 50}.example.com`
		]
			.map((cell) => (cell.includes(',') ? `"${cell}"` : cell))
			.join(',');
	}

	it('writes records while the upload is still arriving, within a memory bound of 256 MB of RSS growth', async () => {
		const header = 'name,company,email,phone,stage,value,currency,country,city,tags,notes,website\n';
		const encoder = new TextEncoder();
		let release!: () => void;
		const halfway = new Promise<void>((resolve) => (release = resolve));
		let peak = process.memoryUsage().rss;
		const start = peak;
		const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
		const body = new ReadableStream<Uint8Array>({
			async start(controller) {
				controller.enqueue(encoder.encode(header));
				// 3,000 rows, twelve batches: enough to show writing while reading; memory at 100,000 rows is bench/export.ts's.
				for (let i = 1; i <= 3_000; i++) {
					if (i === 1501) await halfway;
					controller.enqueue(encoder.encode(`${row(i)}\n`));
				}
				controller.close();
			}
		});
		const answer = apiFetch(importUrl(server(), {}), { method: 'POST', headers: { 'content-type': 'text/csv' }, body, duplex: 'half' } as RequestInit);
		// The second half is held back until the server has stored records from the first: it reads as it goes.
		await eventually(async () => (await total(server())) >= 1000, 'records created before the upload ended', 240_000);
		release();
		const response = await answer;
		clearInterval(sampler);
		const report = (await response.json()) as ImportReport;
		expect(report).toMatchObject({ rowsRead: 3_000, created: 3_000, rejected: 0 });
		expect(await total(server())).toBe(3_000);
		// V8 grows its heap lazily, so the bound is loose; that memory does not grow with the rows is what bench/export.ts measures at 100,000.
		expect(peak - start).toBeLessThan(256 * 1024 * 1024);
	}, 900_000);
});

describe('import: field definitions and duplicate policies', () => {
	const server = useServer();
	const csv = (lines: string[]) => lines.join('\r\n');
	const recordById = async (id: string): Promise<CustomerRecord & { meta?: Record<string, unknown> }> =>
		(await (await apiFetch(`${server().url}/api/records/${id}`)).json()) as CustomerRecord & { meta?: Record<string, unknown> };
	const historyOf = async (id: string) =>
		((await (await apiFetch(`${server().url}/api/records/${id}/history`)).json()) as { entries: Array<{ op: string; source: string; path: string }> }).entries;

	it("checks values against the workspace's own fields and maps a column by a field's English or Chinese label", async () => {
		const defined = await apiFetch(
			`${server().url}/api/fields`,
			{
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ label: { en: 'Lead source', zh: '线索来源' }, type: 'select', options: [{ label: { en: 'Trade fair', zh: '展会' } }, { label: { en: 'Website', zh: '官网' } }] })
			},
			'admin'
		);
		expect(defined.status, await defined.clone().text()).toBe(201);
		const key = ((await defined.json()) as { key: string }).key;
		const report = await importOk(server(), csv(['姓名,线索来源', '周一,展会', '周二,Cold call', '周三,']), 'text/csv', { dryRun: '1' });
		expect(report.mapping).toEqual({ 姓名: 'name', 线索来源: key });
		expect(report).toMatchObject({ rowsRead: 3, valid: 2, rejected: 1 });
		expect(report.problems).toEqual([expect.objectContaining({ row: 3, column: '线索来源', field: key })]);
		const english = await importOk(server(), csv(['Name,Lead Source', 'Zhou Yi,website']), 'text/csv');
		expect(english).toMatchObject({ mapping: { Name: 'name', 'Lead Source': key }, created: 1 });
		expect(byName(await exportJson(server()), 'Zhou Yi').fields[key]).toBe('website');
	});

	it('skips, updates, merges into or creates anyway the rows that match on email, phone, website domain or id; a second update changes nothing', async () => {
		const base = await importOk(
			server(),
			csv(['name,email,phone,website,city', 'Base Email,base@match.cn,,,Beijing', 'Base Phone,,+8613911112222,,Shanghai', 'Base Domain,,,https://www.match-domain.cn,Shenzhen']),
			'text/csv'
		);
		expect(base.created).toBe(3);
		const before = await total(server());
		const incoming = csv([
			'name,email,phone,website,city',
			'Other Name,BASE@match.cn,,,Hangzhou',
			'Phone Twin,,+86 139 1111 2222,,',
			'Site Twin,,,match-domain.cn/about,Guangzhou',
			'Brand New,new@match-new.cn,,,Wuhan',
			'Brand New Again,NEW@match-new.cn,,,'
		]);
		const planned = await importOk(server(), incoming, 'text/csv', { dryRun: '1', policy: 'skip' });
		expect(planned).toMatchObject({ policy: 'skip', valid: 5, matched: 4, created: 0, skipped: 0 });
		const skipped = await importOk(server(), incoming, 'text/csv', { policy: 'skip' });
		expect(skipped).toMatchObject({ created: 1, skipped: 4, updated: 0, writtenThrough: 6 });
		expect(await total(server())).toBe(before + 1);

		const update = csv([
			'name,email,phone,website,city,tags',
			'Other Name,BASE@match.cn,,,Hangzhou,imported',
			'Phone Twin,,+86 139 1111 2222,,,',
			'Site Twin,,,match-domain.cn/about,Guangzhou,',
			'Brand New,new@match-new.cn,,,Wuhan,'
		]);
		const updated = await importOk(server(), update, 'text/csv', { policy: 'update' });
		expect(updated).toMatchObject({ created: 0, updated: 3, unchanged: 1, matched: 4 });
		expect(await total(server())).toBe(before + 1);
		const all = await exportJson(server());
		const email = byName(all, 'Other Name');
		expect(email.fields).toMatchObject({ email: 'base@match.cn', city: 'Hangzhou' });
		expect(email.tags).toEqual(['imported']);
		expect(byName(all, 'Phone Twin').fields).toMatchObject({ phone: '+8613911112222', city: 'Shanghai' });
		expect(byName(all, 'Site Twin').fields).toMatchObject({ city: 'Guangzhou' });
		const changes = await historyOf(email.id);
		expect(changes.filter((e) => e.op !== 'create').every((e) => e.source === 'import')).toBe(true);
		expect(changes.some((e) => e.path === 'fields.city')).toBe(true);

		// The same file again: every row matches a record that already holds its values.
		const again = await importOk(server(), update, 'text/csv', { policy: 'update' });
		expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 4 });
		expect(await historyOf(email.id)).toHaveLength(changes.length);
		expect((await exportJson(server())).find((r) => r.id === email.id)).toEqual(all.find((r) => r.id === email.id));

		// Merge: the record keeps its values, the row fills its gaps; the row's own record is merged into it.
		const mergeFile = csv(['name,email,company,city', 'Merge Me,base@match.cn,Fill Co,Ignored City']);
		const merged = await importOk(server(), mergeFile, 'text/csv', { policy: 'merge' });
		expect(merged).toMatchObject({ merged: 1, created: 0, matched: 1 });
		const survivor = await recordById(email.id);
		expect(survivor.fields).toMatchObject({ name: 'Other Name', company: 'Fill Co', city: 'Hangzhou' });
		const folded = (await exportJson(server(), 'editor', '&includeArchived=1')).find((r) => r.fields.name === 'Merge Me');
		expect(folded?.meta).toMatchObject({ archived: true, mergedInto: email.id });

		// Create anyway: matched, and created all the same.
		expect(await importOk(server(), mergeFile, 'text/csv', { policy: 'create' })).toMatchObject({ created: 1 });

		// An export's id column names the record itself; matching on it alone ignores the other keys.
		const byId = await importOk(server(), csv(['id,name,email', `${email.id},Renamed By Id,someone-else@x.cn`]), 'text/csv', { policy: 'update', matchOn: 'id' });
		expect(byId).toMatchObject({ updated: 1, created: 0 });
		expect((await recordById(email.id)).fields).toMatchObject({ name: 'Renamed By Id', email: 'someone-else@x.cn' });

		const refused = await postImport(server(), 'name\nX', 'text/csv', { policy: 'overwrite' });
		expect(refused.status).toBe(400);
		expect(((await refused.json()) as { message: string }).message).toContain('skip, update, merge, create');
	});
});

describe('import jobs', () => {
	const server = useServer();
	interface JobView {
		id: string;
		status: string;
		progress: { rowsRead: number; created: number; rejected: number; writtenThrough: number | null; rate: number; secondsLeft: number | null };
		report: (ImportReport & { cancelled: boolean }) | null;
		rejectedFile: boolean;
	}
	const startJob = async (body: string, query: Query = {}): Promise<Response> => postImport(server(), body, 'text/csv', { job: '1', name: 'customers.csv', ...query });
	const jobOf = async (id: string): Promise<JobView> => (await (await apiFetch(`${server().url}/api/import/jobs/${id}`)).json()) as JobView;
	async function finished(id: string): Promise<JobView> {
		let job: JobView | null = null;
		await eventually(async () => {
			job = await jobOf(id);
			return job.status !== 'running';
		}, `import job ${id} to finish`, 120_000);
		return job!;
	}
	const rows = (count: number, prefix: string, bad: (i: number) => boolean = () => false) => {
		const lines = ['name,email,stage'];
		for (let i = 1; i <= count; i++) lines.push(bad(i) ? `${prefix} ${i},not-an-email-${i},lead` : `${prefix} ${i},${prefix.toLowerCase()}${i}@jobs.cn,lead`);
		return lines.join('\n');
	};

	it('runs as a job: 202 at once, progress for the workspace, exactly the 5% invalid rows rejected and downloadable with their reasons, audited with the job id', async () => {
		const before = await total(server());
		const started = await startJob(rows(600, 'Job', (i) => i % 20 === 0));
		expect(started.status).toBe(202);
		const { id } = (await started.json()) as JobView;
		const job = await finished(id);
		expect(job.status).toBe('done');
		expect(job.report).toMatchObject({ rowsRead: 600, created: 570, rejected: 30, writtenThrough: 600, cancelled: false });
		expect(job.progress).toMatchObject({ rowsRead: 600, created: 570, rejected: 30, secondsLeft: 0 });
		expect(await total(server())).toBe(before + 570);
		// Everyone in the workspace sees it, viewers too.
		const listed = (await (await apiFetch(`${server().url}/api/import/jobs`, {}, 'viewer')).json()) as { jobs: JobView[] };
		expect(listed.jobs[0].id).toBe(id);
		const rejected = await apiFetch(`${server().url}/api/import/jobs/${id}/rejected`);
		expect(rejected.status).toBe(200);
		const lines = (await rejected.text()).replace(/^\ufeff/, '').trim().split('\r\n');
		expect(lines[0]).toBe('row,reason,name,email,stage');
		expect(lines.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(Array.from({ length: 30 }, (_, k) => (k + 1) * 20 + 1));
		expect(lines[1]).toContain('email: ');
		const made = byName(await exportJson(server()), 'Job 1');
		const history = (await (await apiFetch(`${server().url}/api/records/${made.id}/history`)).json()) as { entries: Array<{ op: string; source: string; after: { importJob?: string } | null }> };
		expect(history.entries.find((e) => e.op === 'create')).toMatchObject({ source: 'import', after: { importJob: id } });
	});

	it('runs one import at a time per workspace; a cancel stops it between batches and the report says which rows made it', async () => {
		const before = await total(server());
		const first = await startJob(rows(20_000, 'Long'));
		expect(first.status).toBe(202);
		const { id } = (await first.json()) as JobView;
		const second = await startJob(rows(3, 'Second'));
		expect(second.status).toBe(409);
		expect(((await second.json()) as { message: string }).message).toContain('one import runs at a time');
		await eventually(async () => (await jobOf(id)).progress.created > 0 || (await jobOf(id)).status !== 'running', 'the long import to write a batch', 60_000);
		// The cancel lands mid-import: after the first batch of 250, 19,750 rows are left,
		// seconds of writing even at 5,000 rows/s, where the request takes milliseconds. A
		// refusal or a job run to its end is a failure here, not a pass without a cancel.
		const cancel = await apiFetch(`${server().url}/api/import/jobs/${id}/cancel`, { method: 'POST' });
		expect(cancel.status).toBe(202);
		const job = await finished(id);
		expect(job.status).toBe('cancelled');
		expect(job.report?.cancelled).toBe(true);
		const created = job.report!.created;
		// Whole batches only, some but not all, and exactly the rows up to the last one written.
		expect(created % 250).toBe(0);
		expect(created).toBeGreaterThan(0);
		expect(created).toBeLessThan(20_000);
		expect(job.report!.writtenThrough).toBe(created + 1);
		expect(await total(server())).toBe(before + created);
		expect((await startJob(rows(3, 'Second'))).status).toBe(202);
	});

	it('an admin undoes an import in one action: created records archived and out of lists, updated ones back as they were; audited', async () => {
		const original = await createRecord(server(), { name: 'Before Undo', email: 'undo@jobs.cn', city: 'Nanjing' }, { tags: ['kept'] });
		await eventually(async () => (await jobOf(((await (await apiFetch(`${server().url}/api/import/jobs`)).json()) as { jobs: JobView[] }).jobs[0].id)).status !== 'running', 'earlier jobs to finish', 60_000);
		const before = await total(server());
		const listed = async () => ((await (await apiFetch(`${server().url}/api/records?limit=1`)).json()) as { total: number }).total;
		const unarchived = await listed();
		const file = ['name,email,city,tags', 'After Undo,undo@jobs.cn,Suzhou,imported', 'Fresh One,fresh1@jobs.cn,,', 'Fresh Two,fresh2@jobs.cn,,'].join('\n');
		const started = await startJob(file, { policy: 'update' });
		const { id } = (await started.json()) as JobView;
		const job = await finished(id);
		expect(job.report).toMatchObject({ created: 2, updated: 1 });
		expect(await listed()).toBe(unarchived + 2);

		expect((await apiFetch(`${server().url}/api/import/jobs/${id}/undo`, { method: 'POST' }, 'editor')).status).toBe(403);
		const undone = await apiFetch(`${server().url}/api/import/jobs/${id}/undo`, { method: 'POST' }, 'admin');
		expect(undone.status).toBe(200);
		expect(await undone.json()).toMatchObject({ ok: true, archived: 2, restored: 1 });
		expect(await listed()).toBe(unarchived);
		expect(await total(server())).toBe(before + 2);
		const back = (await (await apiFetch(`${server().url}/api/records/${original}`)).json()) as CustomerRecord;
		expect(back.fields).toMatchObject({ name: 'Before Undo', city: 'Nanjing' });
		expect(back.tags).toEqual(['kept']);
		const history = (await (await apiFetch(`${server().url}/api/records/${original}/history`)).json()) as { entries: Array<{ source: string; actor: { name: string }; path: string }> };
		expect(history.entries.filter((e) => e.path === 'fields.city').map((e) => e.source)).toEqual(['import', 'import']);
		expect((await jobOf(id)).status).toBe('undone');
		expect((await apiFetch(`${server().url}/api/import/jobs/${id}/undo`, { method: 'POST' }, 'admin')).status).toBe(409);
	});
});

describe('command line', () => {
	it('imports with --dry-run and prints the JSON summary as its last line; exports to a file', async () => {
		const data = mkdtempSync(path.join(os.tmpdir(), 'accord-cli-io-'));
		try {
			// A copy of the migrated template: the first command would otherwise make the database from nothing (initdb and every migration).
			await seedPgliteDataDir(data);
			const env = { ...process.env, DATA_DIR: data, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'error' };
			const run = promisify(execFile);
			const cli = (args: string[]) => run(process.execPath, [...entryArgs('cli'), ...args], { env, cwd: path.resolve(import.meta.dirname, '../..'), maxBuffer: 10 * 1024 * 1024 });
			const file = path.join(FIXTURES, 'customers-gbk.csv');
			const dry = await cli(['import', file, '--dry-run']);
			const summary = JSON.parse(dry.stdout.trim().split('\n').at(-1)!) as ImportReport;
			expect(summary).toMatchObject({ dryRun: true, rowsRead: 3, valid: 3, created: 0, encoding: 'gb18030' });
			const real = await cli(['import', file, '--encoding=gbk']);
			expect(JSON.parse(real.stdout.trim().split('\n').at(-1)!)).toMatchObject({ created: 3, encodingReason: 'override' });
			// Again under --policy update: every row matches the record it made, which already holds its values.
			const again = await cli(['import', file, '--policy', 'update']);
			expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ policy: 'update', matched: 3, created: 0, updated: 0, unchanged: 3 });
			await expect(cli(['import', file, '--policy', 'overwrite'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('policy') });
			// Arguments and the file are checked before the database is opened: nothing is made in an empty DATA_DIR.
			const untouched = mkdtempSync(path.join(os.tmpdir(), 'accord-cli-untouched-'));
			try {
				const inEmpty = (args: string[]) => run(process.execPath, [...entryArgs('cli'), ...args], { env: { ...env, DATA_DIR: untouched }, cwd: path.resolve(import.meta.dirname, '../..') });
				await expect(inEmpty(['import', file, '--header-row', 'three'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--header-row') });
				await expect(inEmpty(['import', path.join(untouched, 'missing.csv')])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('Cannot read') });
				expect(readdirSync(untouched)).toEqual([]);
			} finally {
				rmSync(untouched, { recursive: true, force: true });
			}
			const out = path.join(data, 'out.json');
			await cli(['export', '--format=json', out]);
			const exported = JSON.parse(readFileSync(out, 'utf8')) as CustomerRecord[];
			expect(exported.map((r) => r.fields.name).sort()).toEqual(['张磊', '李娜', '王伟'].sort());
			writeFileSync(path.join(data, 'bad.csv'), '');
			await expect(cli(['import', path.join(data, 'bad.csv')])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('empty') });
		} finally {
			rmSync(data, { recursive: true, force: true });
		}
	}, 600_000);
});
