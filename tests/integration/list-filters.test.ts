/**
 * The list's filters on any field and its sorts, in the store's SQL on PGlite and on
 * Postgres (with DATABASE_URL), against the browser's evaluation of the same parsed
 * query (`matches` over the same records): dates and their spans and ranges, custom
 * fields' numbers and dates, value ranges, idleness, labels; sorts on any column, Chinese
 * by the collator's order; and the start-up backfill of rows written before migration 14.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as Y from 'yjs';
import { createSqlStore } from '../../server/store/sql-store.ts';
import { backfillListColumns } from '../../server/store/list-columns.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import type { DocumentStore, Sql } from '../../server/store/types.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import { readRecord, writeNewRecord, type CustomerRecord, type NewRecord } from '../../src/lib/model/record.ts';
import { matches, parseQuery } from '../../src/lib/search/index.ts';
import type { FieldDefinition } from '../../src/lib/model/schema.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';

const WS = 'filters';
const DAY = 86_400_000;
const now = Date.now();
const ago = (days: number): string => new Date(now - days * DAY).toISOString();

/** Records far from every boundary the queries draw, so the two clocks never disagree. */
const SEED: (Omit<NewRecord, 'workspace' | 'createdBy'> & { label: string })[] = [
	{ label: 'zhang', createdAt: '2025-11-20T10:00:00.000Z', fields: { name: '张伟', company: '深圳华信科技', stage: 'won', value: 250000, country: 'CN', owner: 'bob', followUpAt: '2026-03-15', x_budget: 1200, x_close: '2026-04-02', x_source: 'web' }, tags: ['vip'], activities: [{ kind: 'call', subject: 'hi', at: ago(3) }] },
	{ label: 'chen', createdAt: '2026-01-05T10:00:00.000Z', fields: { name: '陈静', company: '阿里巴巴', stage: 'lead', value: 5000, country: 'CN', followUpAt: '2026-06-30', x_budget: 80, x_close: '2026-07-01' }, activities: [{ kind: 'call', subject: 'old', at: ago(90) }] },
	{ label: 'gao', createdAt: '2026-02-10T10:00:00.000Z', fields: { name: '高明', company: '长城汽车', stage: 'proposal', value: 99000, country: 'CN', x_budget: 300, x_source: 'fair' } },
	{ label: 'elodie', createdAt: '2026-03-01T10:00:00.000Z', fields: { name: 'Élodie Durand', company: 'Acme', stage: 'lead', value: 1000, country: 'FR', followUpAt: '2026-02-28', x_close: '2026' }, activities: [{ kind: 'email', subject: 'x', at: ago(45) }, { kind: 'call', subject: 'y', at: ago(10) }] },
	{ label: 'adam', createdAt: '2026-03-20T10:00:00.000Z', fields: { name: 'adam', company: 'Zeta', value: 100000, country: 'US', x_budget: 'lots' } },
	{ label: 'huang', createdAt: '2026-04-01T10:00:00.000Z', fields: { name: '黄磊', company: '华为', stage: 'won', country: 'CN', followUpAt: '2026-06-01' }, activities: [{ kind: 'meeting', subject: 'z', at: ago(400) }] }
];

const DEFINITIONS: FieldDefinition[] = [
	{ key: 'x_budget', label: { en: 'Budget', zh: '预算' }, type: 'number', options: [], retired: false, order: 20, builtin: false },
	{ key: 'x_close', label: { en: 'Close date', zh: '成交日期' }, type: 'date', options: [], retired: false, order: 21, builtin: false },
	{ key: 'x_source', label: { en: 'Source', zh: '来源' }, type: 'text', options: [], retired: false, order: 22, builtin: false },
	{ key: 'x_other', label: { en: 'Source', zh: '其他' }, type: 'text', options: [], retired: false, order: 23, builtin: false }
];

const QUERIES = [
	'created>2026-01-01',
	'created>=2026-01-05',
	'created:2026-03',
	'created<2026',
	'created:2026-01..2026-02',
	'created:2026-03..',
	'created:..2026-01',
	'updated>2000',
	'updated<2000',
	'followup:2026-03..2026-06',
	'followup>2026-03-15',
	'followUpAt<=2026-02',
	'x_close:2026-03..2026-06',
	'x_close>2026-06',
	'x_close<2026-05',
	'x_budget>100',
	'x_budget:100..1000',
	'x_budget<=80',
	'预算>=300',
	'budget:..300',
	'成交日期:2026',
	'value:1000..100000',
	'value:..5000',
	'value:99000..',
	'idle>30',
	'idle<30',
	'idle:60',
	'idle>=0',
	'idle>30 country:cn',
	'stage:won owner:bob tag:vip value>100000',
	'created>2026-01-01 x_budget>100 idle<100',
	'x_source:web',
	'来源:fair',
	'深圳 created<2026'
];

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
			const dir = await tempDir('accord-list-filters-');
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

for (const engine of engines) {
	describe.skipIf(!engine.available)(`list filters and sorts on ${engine.name}`, () => {
		let store: DocumentStore;
		let sql: Sql;
		let cleanup: () => Promise<void>;
		const records: CustomerRecord[] = [];
		const updatedAt = '2026-05-01T00:00:00.000Z';
		const ids: Record<string, string> = {};

		beforeAll(async () => {
			const opened = await engine.open();
			sql = opened.sql;
			cleanup = opened.cleanup;
			store = createSqlStore(sql);
			await store.migrate();
			for (const { label, ...seed } of SEED) {
				const id = randomUUID();
				const doc = new Y.Doc();
				writeNewRecord(doc, { ...seed, workspace: WS, createdBy: 'alice' });
				const record = readRecord(doc, id);
				records.push(record);
				ids[label] = id;
				await store.createDocument(id, WS, Y.encodeStateAsUpdate(doc), projectRecord(record, updatedAt));
			}
		});

		afterAll(async () => {
			await store?.close();
			await cleanup?.();
		});

		async function serverIds(q: string): Promise<string[]> {
			const parsed = parseQuery(q, { fields: DEFINITIONS });
			if (!parsed.ok) throw new Error(parsed.message);
			const page = await store.listRecords({ workspace: WS, search: parsed.query, limit: 500, offset: 0 });
			return page.rows.map((row) => row.id).sort();
		}

		function browserIds(q: string): string[] {
			const parsed = parseQuery(q, { fields: DEFINITIONS });
			if (!parsed.ok) throw new Error(parsed.message);
			return records.filter((record) => matches(parsed.query, record, { updatedAt, now: Date.now() })).map((record) => record.id).sort();
		}

		it('finds the same ids as the browser for every new filter', async () => {
			for (const q of QUERIES) expect(await serverIds(q), q).toEqual(browserIds(q));
		});

		it('finds what each filter means', async () => {
			const named = (...labels: string[]) => labels.map((label) => ids[label]).sort();
			expect(await serverIds('created:2026-03')).toEqual(named('elodie', 'adam'));
			expect(await serverIds('created>2026-01-01')).toEqual(named('chen', 'gao', 'elodie', 'adam', 'huang'));
			expect(await serverIds('followup:2026-03..2026-06')).toEqual(named('zhang', 'chen', 'huang'));
			expect(await serverIds('x_close:2026-03..2026-06')).toEqual(named('zhang'));
			expect(await serverIds('x_budget>100')).toEqual(named('zhang', 'gao'));
			expect(await serverIds('预算>=300')).toEqual(named('zhang', 'gao'));
			expect(await serverIds('value:1000..100000')).toEqual(named('chen', 'gao', 'elodie', 'adam'));
			// The newest activity counts (elodie: 45 and 10 days ago); no activity: the creation.
			expect(await serverIds('idle>30')).toEqual(named('zhang', 'chen', 'gao', 'adam', 'huang').filter((id) => id !== ids.zhang));
			expect(await serverIds('idle<30')).toEqual(named('zhang', 'elodie'));
		});

		it('refuses a label two fields share, naming both keys', () => {
			const parsed = parseQuery('source:web', { fields: DEFINITIONS });
			expect(parsed.ok).toBe(false);
			if (!parsed.ok) expect(parsed.message).toContain('x_other');
		});

		it('sorts on any column, Chinese as Intl.Collator("zh") orders it', async () => {
			const collator = new Intl.Collator('zh');
			for (const column of ['name', 'company']) {
				const page = await store.listRecords({ workspace: WS, sort: column, descending: false, limit: 500, offset: 0 });
				const names = page.rows.map((row) => (column === 'name' ? row.name : row.company ?? ''));
				expect(names, column).toEqual([...names].sort(collator.compare));
			}
			const byBudget = await store.listRecords({ workspace: WS, sort: 'x_budget', descending: true, limit: 500, offset: 0 });
			// Numbers by their value, largest first; a text in a number field after them; none last.
			expect(byBudget.rows.slice(0, 4).map((row) => row.id)).toEqual([ids.zhang, ids.gao, ids.chen, ids.adam]);
			const byClose = await store.listRecords({ workspace: WS, sort: 'x_close', descending: false, limit: 500, offset: 0 });
			expect(byClose.rows.slice(0, 3).map((row) => row.id)).toEqual([ids.elodie, ids.zhang, ids.chen]);
			expect(byClose.rows[0].custom?.x_close).toBe('2026');
			const created = await store.listRecords({ workspace: WS, sort: 'createdAt', descending: false, limit: 2, offset: 0 });
			expect(created.rows.map((row) => row.id)).toEqual([ids.zhang, ids.chen]);
		});

		it('gives rows written before the list columns existed theirs at start', async () => {
			await sql.query(`UPDATE records SET list_fields = '{}', list_sort = '{}', last_activity_at = NULL, list_version = 0 WHERE workspace_id = $1`, [WS]);
			expect(await serverIds('x_budget>100')).toEqual([]);
			const done = await backfillListColumns(sql, async (wanted) => {
				const out = new Map<string, { snapshot: Uint8Array | null; updates: Uint8Array[] } | Error>();
				for (const id of wanted) {
					const stored = await store.loadDocument(id);
					if (stored) out.set(id.toLowerCase(), stored);
				}
				return out;
			});
			expect(done).toBe(SEED.length);
			for (const q of QUERIES) expect(await serverIds(q), q).toEqual(browserIds(q));
		});
	});
}
