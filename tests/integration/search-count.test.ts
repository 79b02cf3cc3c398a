/**
 * A search's count in the store's SQL, on PGlite and on Postgres (with DATABASE_URL):
 * counting every match of a broad search at 100,000 records visits most of the table, so
 * the count stops at a cap and the page says so (`totalCapped`), while a page that is not
 * full, or one past the end, still learns the exact total. And `GET /api/records?q=`
 * answers the same through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as Y from 'yjs';
import { createSqlStore, SEARCH_COUNT_CAP } from '../../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import type { DocumentStore, Sql } from '../../server/store/types.ts';
import type { RunningServer } from '../../server/http.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import { readRecord, writeNewRecord } from '../../src/lib/model/record.ts';
import { parseQuery, type SearchQuery } from '../../src/lib/search/index.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';

const WS = 'counting';
/** Records whose company says 深圳 (the rest: 上海). */
const SHENZHEN = 12;
const SHANGHAI = 5;

interface Engine {
	name: string;
	available: boolean;
	open(): Promise<{ sql: Sql; cleanup(): Promise<void> }>;
}

const engines: Engine[] = [
	{
		name: 'pglite',
		available: true,
		async open() {
			const dir = await tempDir('accord-search-count-');
			return { sql: await openPglite(join(dir.path, 'pglite')), cleanup: dir.remove };
		}
	},
	{
		name: 'postgres',
		available: Boolean(process.env.DATABASE_URL),
		async open() {
			const db = await tempPostgresUrl();
			if (!db) throw new Error('DATABASE_URL is not set');
			return { sql: await openPostgres(db.url), cleanup: db.drop };
		}
	}
];

function parsed(q: string): SearchQuery {
	const result = parseQuery(q);
	if (!result.ok) throw new Error(result.message);
	return result.query;
}

for (const engine of engines) {
	describe.skipIf(!engine.available)(`a search's count on ${engine.name}`, () => {
		let store: DocumentStore;
		let cleanup: () => Promise<void>;

		beforeAll(async () => {
			const opened = await engine.open();
			cleanup = opened.cleanup;
			store = createSqlStore(opened.sql);
			await store.migrate();
			for (let i = 0; i < SHENZHEN + SHANGHAI; i++) {
				const id = randomUUID();
				const doc = new Y.Doc();
				const city = i < SHENZHEN ? '深圳' : '上海';
				writeNewRecord(doc, { workspace: WS, createdBy: 'alice', fields: { name: `客户${i}`, company: `${city}华信科技` } });
				const record = readRecord(doc, id);
				await store.createDocument(id, WS, Y.encodeStateAsUpdate(doc), projectRecord(record, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()));
			}
		});

		afterAll(async () => {
			await store?.close();
			await cleanup?.();
		});

		const list = (q: string, limit: number, offset: number, countUpTo?: number) => store.listRecords({ workspace: WS, search: parsed(q), limit, offset, countUpTo });

		it('stops counting at the cap and says so', async () => {
			const page = await list('深圳', 2, 0, 5);
			expect(page.rows).toHaveLength(2);
			expect(page).toMatchObject({ total: 5, totalCapped: true });
		});

		it('counts exactly below the cap, with no mark', async () => {
			const page = await list('深圳', 2, 0, 50);
			expect(page.total).toBe(SHENZHEN);
			expect(page.totalCapped).toBeUndefined();
			expect((await list('华信', 2, 0)).total).toBe(SHENZHEN + SHANGHAI);
		});

		it('takes the total from a page that is not full', async () => {
			const page = await list('深圳', 5, 10, 3);
			expect(page.rows).toHaveLength(SHENZHEN - 10);
			expect(page.total).toBe(SHENZHEN);
			expect(page.totalCapped).toBeUndefined();
		});

		it('never caps below the page it was asked for, so a page past the end learns the true total', async () => {
			const past = await list('深圳', 5, 20, 3);
			expect(past.rows).toHaveLength(0);
			expect(past.total).toBe(SHENZHEN);
			expect(past.totalCapped).toBeUndefined();
			// A full page deep in the list: counted at least to its end.
			const deep = await list('华信', 5, 10, 3);
			expect(deep.rows).toHaveLength(5);
			expect(deep).toMatchObject({ total: 15, totalCapped: true });
		});

		it('lists newest first, ties by id, the same with and without a search', async () => {
			const all = await store.listRecords({ workspace: WS, limit: 100, offset: 0 });
			const times = all.rows.map((row) => row.updatedAt);
			expect(times).toEqual([...times].sort().reverse());
			const searched = await list('华信', 100, 0);
			expect(searched.rows.map((row) => row.id)).toEqual(all.rows.map((row) => row.id));
		});
	});
}

describe('GET /api/records?q= count', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };

	beforeAll(async () => {
		data = tempDataDir('accord-search-count-api-');
		server = await startTestServer({ dataDir: data.dir });
		for (let i = 0; i < 3; i++) await createRecord(server, { name: `深圳客户${i}`, company: '深圳华信' });
	});

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('gives the exact total under the cap, without the capped mark', async () => {
		expect(SEARCH_COUNT_CAP).toBeGreaterThanOrEqual(1_000);
		const response = await apiFetch(`${server.url}/api/records?limit=2&q=${encodeURIComponent('深圳')}`, {}, 'editor');
		expect(response.status).toBe(200);
		const body = (await response.json()) as { rows: unknown[]; total: number; totalCapped?: boolean };
		expect(body.rows).toHaveLength(2);
		expect(body.total).toBe(3);
		expect(body.totalCapped).toBeUndefined();
	});
});
