/**
 * Exporting the current view: its filter, its order and, in the tables (CSV, Excel), its
 * columns, custom fields each in a column of its own, with the record's id first so the
 * file imports back onto the same records. JSON stays whole records. A column or sort
 * that is not the workspace's is answered with a sentence naming it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { unzipSync, strFromU8 } from 'fflate';
import type { RunningServer } from '../../server/http.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { ImportReport } from '../../server/import/run.ts';
import { viewExportHref } from '../../src/lib/views/views.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { cliOnPglite } from '../support/cli.ts';

describe('export of a view', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const ids: Record<string, string> = {};

	const get = (path: string) => apiFetch(`${server.url}${path}`);
	const csvOf = async (path: string): Promise<string[][]> => {
		const response = await get(path);
		expect(response.status, path).toBe(200);
		const text = (await response.text()).replace(/^\ufeff/, '');
		return Papa.parse<string[]>(text.trimEnd(), { newline: '\r\n' }).data;
	};

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		const field = await apiFetch(
			`${server.url}/api/fields`,
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: { en: 'Region', zh: '大区' }, type: 'text' }) },
			'admin'
		);
		expect(field.status).toBe(201);
		ids.small = await createRecord(server, { name: 'Small Lead Ltd', stage: 'lead', value: 1_000, city: 'Leeds', x_region: 'North' });
		ids.big = await createRecord(server, { name: '华信科技', stage: 'lead', value: 90_000, city: '深圳', x_region: '华南' });
		ids.won = await createRecord(server, { name: 'Won Already plc', stage: 'won', value: 50_000, x_region: 'South' });
	});
	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it("writes a CSV of the view's records in its order, with the id and its columns only", async () => {
		const href = viewExportHref({ query: 'stage:lead', columns: ['stage', 'x_region', 'value'], sort: 'value', dir: 'desc' }, 'csv');
		const rows = await csvOf(href);
		expect(rows[0]).toEqual(['id', 'name', 'stage', 'x_region', 'value']);
		expect(rows.slice(1)).toEqual([
			[ids.big, '华信科技', 'lead', '华南', '90000'],
			[ids.small, 'Small Lead Ltd', 'lead', 'North', '1000']
		]);
		// The other order of the same view.
		const ascending = await csvOf(viewExportHref({ query: 'stage:lead', columns: ['value'], sort: 'value', dir: 'asc' }, 'csv'));
		expect(ascending.slice(1).map((row) => row[0])).toEqual([ids.small, ids.big]);
	});

	it('writes the same columns into an Excel sheet', async () => {
		const response = await get(viewExportHref({ query: 'stage:lead', columns: ['x_region'], sort: 'name', dir: 'asc' }, 'xlsx'));
		expect(response.status).toBe(200);
		const sheet = strFromU8(unzipSync(new Uint8Array(await response.arrayBuffer()))['xl/worksheets/sheet1.xml']);
		const firstRow = /<row r="1">(.*?)<\/row>/.exec(sheet)?.[1] ?? '';
		expect([...firstRow.matchAll(/<t xml:space="preserve">([^<]*)<\/t>/g)].map((m) => m[1])).toEqual(['id', 'name', 'x_region']);
		expect(sheet).toContain('华南');
		expect(sheet).not.toContain('Won Already');
	});

	it('keeps JSON whole: every field of every record the view matches', async () => {
		const response = await get(viewExportHref({ query: 'stage:lead', columns: ['stage'] }, 'json'));
		const records = (await response.json()) as CustomerRecord[];
		expect(records.map((r) => r.id).sort()).toEqual([ids.small, ids.big].sort());
		expect(records.find((r) => r.id === ids.small)?.fields).toMatchObject({ city: 'Leeds', x_region: 'North', value: 1_000 });
	});

	it("imports back onto the same records: under the update policy nothing changes", async () => {
		const response = await get(viewExportHref({ query: '', columns: ['stage', 'x_region', 'value', 'city'], sort: 'name', dir: 'asc' }, 'csv'));
		const file = await response.text();
		const imported = await apiFetch(`${server.url}/api/import?policy=update&matchOn=id`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: file });
		const report = (await imported.json()) as ImportReport;
		expect(imported.status, JSON.stringify(report)).toBe(200);
		expect(report).toMatchObject({ rowsRead: 3, created: 0, updated: 0, unchanged: 3, rejected: 0 });
	});

	it('answers a column, a sort or a direction that is not there with a sentence naming it', async () => {
		const cases: Array<[string, RegExp]> = [
			['/api/export?format=csv&columns=name,x_nowhere', /no field "x_nowhere"/],
			['/api/export?format=csv&columns=,', /names no field/],
			[`/api/export?format=csv&columns=${Array.from({ length: 60 }, () => 'name').join(',')}`, /at most 50/],
			['/api/export?format=csv&sort=shoe_size', /no field "shoe_size" to sort by/],
			['/api/export?format=csv&sort=name&dir=sideways', /dir must be asc or desc/]
		];
		for (const [path, message] of cases) {
			const response = await get(path);
			expect(response.status, path).toBe(400);
			expect(((await response.json()) as { message: string }).message, path).toMatch(message);
		}
	});
});

describe('export of a view from the command line', () => {
	it('takes --columns, --sort and --query, and names a column the workspace does not have', async () => {
		const { dir, cli, remove } = await cliOnPglite('accord-cli-view-');
		try {
			const file = path.join(dir, 'in.csv');
			writeFileSync(file, 'name,stage,value,city\nLow Lead,lead,100,Leeds\nHigh Lead,lead,900,York\nWon One,won,500,Bath\n');
			expect(JSON.parse((await cli(['import', file])).stdout.trim().split('\n').at(-1)!)).toMatchObject({ created: 3 });
			const out = await cli(['export', '--format=csv', '-', '--columns', 'name,value', '--sort', 'value', '--dir', 'desc', '--query', 'stage:lead']);
			const rows = Papa.parse<string[]>(out.stdout.replace(/^\ufeff/, '').trimEnd(), { newline: '\r\n' }).data;
			expect(rows[0]).toEqual(['id', 'name', 'value']);
			expect(rows.slice(1).map((row) => row.slice(1))).toEqual([
				['High Lead', '900'],
				['Low Lead', '100']
			]);
			await expect(cli(['export', '--format=csv', '-', '--columns', 'name,x_nowhere'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('no field "x_nowhere"') });
		} finally {
			remove();
		}
	}, 300_000);
});
