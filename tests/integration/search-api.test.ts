/**
 * `GET /api/records?q=` against the real server (PGlite, or Postgres with DATABASE_URL):
 * records created through the API are found by Han fragments, pinyin, phone forms,
 * email domains, prefixes and fielded terms; private records stay hidden from others;
 * bad queries are a 400 with a message, never a 500; and the browser's `matches`, over
 * the same records read back through the API, finds exactly the ids the server finds.
 * Also the start-up backfill that indexes rows projected before search existed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import { readRecord, writeNewRecord } from '../../src/lib/model/record.ts';
import { matches, parseQuery, searchable, type SearchQuery } from '../../src/lib/search/index.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';
import { backfillSearchTokens, createSqlStore } from '../../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import type { Role } from '../../src/lib/access.ts';

interface Page {
	rows: RecordRow[];
	total: number;
}

describe('GET /api/records?q=', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const ids: Record<string, string> = {};

	async function search(q: string, role: Role = 'editor'): Promise<string[]> {
		const response = await apiFetch(`${server.url}/api/records?limit=500&q=${encodeURIComponent(q)}`, {}, role);
		const text = await response.text();
		expect(response.status, `q=${q}: ${text}`).toBe(200);
		return ((JSON.parse(text) as Page).rows.map((row) => row.id)).sort();
	}

	const named = (...names: string[]): string[] => names.map((name) => ids[name]).sort();

	beforeAll(async () => {
		data = tempDataDir('accord-search-');
		server = await startTestServer({ dataDir: data.dir });
		ids.zhang = await createRecord(
			server,
			{ name: '张伟', company: '深圳华信科技有限公司', city: '深圳', phone: '+86 138 0013 8000', email: 'zhang.wei@huaxin.cn', stage: 'won', value: 250000, currency: 'CNY', country: 'CN', x_region: '华南' },
			{ tags: ['vip'], notes: '这是一个测试' }
		);
		ids.elodie = await createRecord(server, { name: 'Élodie Durand', company: 'Acme Café Ltd', phone: '+1 415 555 0100', email: 'elodie@acme.com', stage: 'lead', value: 4000, currency: 'USD', country: 'US' }, { tags: ['trial'] });
		ids.wang = await createRecord(server, { name: '王芳', company: '华为技术有限公司', city: '深圳', stage: 'proposal', value: 120000, email: 'wang.fang@huawei.com' });
		ids.shan = await createRecord(server, { name: '单伟', company: '字节跳动', owner: 'bob', phone: '010 6552 9988', country: 'CN' });
		ids.secret = await createRecord(server, { name: '张秘密', company: '深圳机密科技', owner: 'alice', phone: '+86 139 0000 8000' });
		const made = await apiFetch(`${server.url}/api/records/${ids.secret}/private`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: true }) }, 'admin');
		expect(made.status).toBe(200);
	});

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('finds Han words and fragments of long names', async () => {
		expect(await search('华为')).toEqual(named('wang'));
		expect(await search('科技')).toEqual(named('zhang'));
		expect(await search('华信科技')).toEqual(named('zhang'));
		expect(await search('测试')).toEqual(named('zhang'));
		expect(await search('节跳')).toEqual(named('shan'));
		expect(await search('深圳')).toEqual(named('zhang', 'wang'));
	});

	it('finds by pinyin, full and initials', async () => {
		expect(await search('zhangwei')).toEqual(named('zhang'));
		expect(await search('zw')).toEqual(named('zhang'));
		expect(await search('huaxin')).toEqual(named('zhang'));
		expect(await search('shanwei')).toEqual(named('shan'));
	});

	it('finds phones in any form, and the last four digits', async () => {
		for (const q of ['138 0013 8000', '+86 13800138000', '13800138000', '0086-138-0013-8000']) expect(await search(q), q).toEqual(named('zhang'));
		expect(await search('8000')).toEqual(named('zhang'));
		expect(await search('010 6552 9988')).toEqual(named('shan'));
		expect(await search('(415) 555-0100')).toEqual(named('elodie'));
	});

	it('finds emails whole, by domain and by local part', async () => {
		expect(await search('zhang.wei@huaxin.cn')).toEqual(named('zhang'));
		expect(await search('huaxin.cn')).toEqual(named('zhang'));
		expect(await search('@acme.com')).toEqual(named('elodie'));
		expect(await search('wang.fang')).toEqual(named('wang'));
	});

	it('finds prefixes, typed (acm*) and as the word being typed', async () => {
		expect(await search('acm*')).toEqual(named('elodie'));
		expect(await search('acm')).toEqual(named('elodie'));
		expect(await search('acm ')).toEqual([]);
		expect(await search('élo')).toEqual(named('elodie'));
		expect(await search('zhangw')).toEqual(named('zhang'));
		// Longer than the indexed prefixes: checked against the tokens themselves.
		expect(await search('zhang.wei@huax')).toEqual(named('zhang'));
		expect(await search('shenzhenhuaxink')).toEqual(named('zhang'));
	});

	it('applies fielded terms and comparisons', async () => {
		expect(await search('stage:won')).toEqual(named('zhang'));
		expect(await search('owner:bob')).toEqual(named('shan'));
		expect(await search('tag:vip')).toEqual(named('zhang'));
		expect(await search('city:深圳 value>100000')).toEqual(named('zhang', 'wang'));
		expect(await search('value<=5000')).toEqual(named('elodie'));
		expect(await search('company:huawei')).toEqual(named('wang'));
		expect(await search('x_region:华南')).toEqual(named('zhang'));
		expect(await search('currency:usd stage:lead acme')).toEqual(named('elodie'));
	});

	it('keeps a private record from everyone but its owner and admins', async () => {
		expect(await search('机密')).toEqual([]);
		expect(await search('张')).toEqual(named('zhang'));
		expect(await search('机密', 'admin')).toEqual(named('secret'));
		expect(await search('张', 'admin')).toEqual(named('zhang', 'secret'));
	});

	it('answers a bad query with 400 and a message, and odd text with a result', async () => {
		for (const q of ['foo:bar', 'stage:nope', 'value>abc', 'name>3']) {
			const response = await apiFetch(`${server.url}/api/records?q=${encodeURIComponent(q)}`);
			expect(response.status, q).toBe(400);
			const body = (await response.json()) as { message: string };
			expect(body.message).toMatch(/^q: .{10,}/);
		}
		for (const q of ['x'.repeat(10_000), '"unbalanced', "'; DROP TABLE records; --", '^acme.*$', '%', '\\', "' OR 1=1 --"]) {
			const response = await apiFetch(`${server.url}/api/records?q=${encodeURIComponent(q)}`);
			expect(response.status, q.slice(0, 40)).toBe(200);
		}
		// A lone surrogate, as a client may send it (decoded to U+FFFD), and one spelled raw.
		for (const raw of ['%ED%A0%80acme', '%F0%9F%98acme']) {
			const response = await apiFetch(`${server.url}/api/records?q=${raw}`);
			expect(response.status, raw).toBe(200);
		}
		const decoded = (await (await apiFetch(`${server.url}/api/records?q=%ED%A0%80acme`)).json()) as Page;
		expect(decoded.rows.map((row) => row.id)).toEqual([ids.elodie]);
	});

	it('finds the same ids as the browser-side matcher over the same records', async () => {
		const page = (await (await apiFetch(`${server.url}/api/records?limit=500`)).json()) as Page;
		const records: CustomerRecord[] = [];
		for (const row of page.rows) records.push((await (await apiFetch(`${server.url}/api/records/${row.id}`)).json()) as CustomerRecord);
		const ready = records.map(searchable);
		const queries = ['深圳', '科技', '华', 'zhangwei', 'zw', 'hua', '8000', '138 0013 8000', '+86 13800138000', 'huaxin.cn', 'acme', 'acm*', 'élodie durand', 'stage:won', 'city:深圳', 'value>100000', 'value<5000', 'tag:vip', 'owner:bob', 'company:深圳', 'x_region:华南', '"acme café"', 'shenzhenhuaxink', 'zhang.wei@huax', 'w', '伟', '张 zw', 'ltd', 'country:cn'];
		for (const q of queries) {
			const parsed = parseQuery(q);
			expect(parsed.ok, q).toBe(true);
			const query = (parsed as { query: SearchQuery }).query;
			const browser = ready.filter((entry) => matches(query, entry)).map((entry) => entry.record.id).sort();
			expect(await search(q), q).toEqual(browser);
		}
	});
});

describe('search tokens of rows projected before search', () => {
	it('are filled in at start (the backfill), on PGlite and on Postgres', async () => {
		const dir = await tempDir('accord-search-backfill-');
		const postgres = await tempPostgresUrl();
		try {
			const engines = [() => openPglite(join(dir.path, 'pglite')), ...(postgres ? [() => openPostgres(postgres.url)] : [])];
			for (const open of engines) {
				const sql = await open();
				const store = createSqlStore(sql);
				try {
					await store.migrate();
					const id = randomUUID();
					const doc = new Y.Doc();
					writeNewRecord(doc, { fields: { name: '李娜', company: 'Huaxin 华信' }, workspace: 'ws', createdBy: 'alice' });
					// A row as an older version wrote it: a copy has no source record, so no tokens.
					const old = { ...projectRecord(readRecord(doc, id), new Date().toISOString()) };
					await store.createDocument(id, 'ws', Y.encodeStateAsUpdate(doc), old);
					const lina = parseQuery('lina');
					if (!lina.ok) throw new Error(lina.message);
					const find = async () => (await store.listRecords({ workspace: 'ws', limit: 10, offset: 0, search: lina.query })).rows.map((row) => row.id);
					expect(await find()).toEqual([]);
					expect(await backfillSearchTokens(sql)).toBe(1);
					expect(await find()).toEqual([id]);
					expect(await backfillSearchTokens(sql)).toBe(0);
				} finally {
					await store.close();
				}
			}
		} finally {
			await postgres?.drop();
			await dir.remove();
		}
	});
});
