/**
 * The list rows an import's batch writes (`createDocuments`, which sends its rows as one
 * JSON parameter for speed) are the rows the store's general projection writer makes for
 * the same records (`upsertProjections`, one parameter per column): every column the
 * list, search and duplicate matching read, on PGlite and on Postgres. A difference
 * would mean an imported record is found, sorted or matched differently from the same
 * record after its first edit.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecordBatch } from '../../server/import/batch.ts';
import { validateNewRecord } from '../../server/records.ts';
import { createSqlStore } from '../../server/store/sql-store.ts';
import { migrate } from '../../server/store/migrations.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import { withAudit, type AttributedStore } from '../../server/audit/attributed-store.ts';
import type { NewRecord } from '../../src/lib/model/record.ts';
import type { Sql } from '../../server/store/types.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';

const engines = [
	{
		name: 'pglite',
		available: true,
		async open(): Promise<{ sql: Sql; cleanup(): Promise<void> }> {
			const dir = await tempDir('accord-import-rows-');
			// A copy of the migrated template, not a database made from nothing (initdb and every migration).
			await seedPgliteDataDir(dir.path);
			return { sql: await openPglite(join(dir.path, 'pglite')), cleanup: dir.remove };
		}
	},
	{
		name: 'postgres',
		available: Boolean(process.env.DATABASE_URL),
		async open(): Promise<{ sql: Sql; cleanup(): Promise<void> }> {
			const db = await tempPostgresUrl({ migrated: true });
			if (!db) throw new Error('DATABASE_URL is not set');
			return { sql: await openPostgres(db.url), cleanup: db.drop };
		}
	}
];

/** Records as an import makes them: Chinese and English names, phones, sites, a custom field, tags, notes, a number and a missing value. */
function records(): NewRecord[] {
	const inputs: Array<{ fields: Record<string, string | number | null>; tags: string[]; notes: string }> = [
		{ fields: { name: '客户 张伟', company: '华信科技有限公司', email: 'zhang@example.com', phone: '+86 138 0013 8000', website: 'https://huaxin.example.cn', stage: 'won', value: 12000, city: '上海', x_source: '展会' }, tags: ['vip', '重点'], notes: '第一次联系：展会。再次跟进！' },
		{ fields: { name: 'Ada Lovelace', company: 'Analytical Engines Ltd', email: 'ada@example.org', phone: '+44 20 7946 0958', country: 'GB' }, tags: ['prospect'], notes: '' },
		{ fields: { name: 'Müller & Söhne', company: null, value: 0 }, tags: [], notes: 'Quote "special" characters, a backslash \\ and an emoji 🎉.' }
	];
	// Enough more that the batch's rows take several statements (each carries about 100 KB of JSON).
	for (let i = 1; i <= 60; i++) {
		const zh = i % 4 === 0;
		inputs.push({
			fields: { name: zh ? `客户${i}` : `Customer ${i}`, company: zh ? `华信科技${i}有限公司` : `Company ${i} Ltd`, email: `c${i}@example.com`, phone: `+86 138 ${String(1000 + i)} ${String(2000 + i)}`, website: `https://c${i}.example.com`, stage: 'lead', value: i * 100, city: zh ? '上海' : 'Shanghai', x_source: 'fair' },
			tags: [`tag${i % 7}`],
			notes: zh ? `第一次联系：展会 ${i}` : `First contact at the fair ${i}`
		});
	}
	return inputs.map((input) => {
		const validated = validateNewRecord(input, 'ws', 'u1');
		if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
		return validated.record;
	});
}

const COLUMNS =
	'id::text AS id, workspace_id, name, company, email, phone, stage, owner, value::text AS value, currency, country, city, tags, archived, created_at, updated_at, search_tokens, search_prefixes, search_version, duplicate_keys, duplicate_version, list_fields, list_sort, last_activity_at, list_version';

describe.each(engines)('an import batch’s list rows on $name', (engine) => {
	describe.skipIf(!engine.available)('', () => {
		let sql: Sql;
		let store: AttributedStore;
		let cleanup: () => Promise<void>;

		beforeAll(async () => {
			const opened = await engine.open();
			sql = opened.sql;
			cleanup = opened.cleanup;
			await migrate(sql);
			store = withAudit(createSqlStore(sql), sql);
			await store.ensureWorkspace('ws', 'ws');
		});

		afterAll(async () => {
			await store?.close();
			await cleanup?.();
		});

		it('are, column for column, the rows the general projection writer makes for the same records', async () => {
			const documents = buildRecordBatch(records(), { actor: { id: 'u1', name: 'U' }, source: 'import' });
			await store.createDocuments(documents);
			const ids = documents.map((d) => d.id);
			const read = () => sql.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM records WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
			const imported = await read();
			expect(imported).toHaveLength(documents.length);
			// Each record's search tokens, prefixes and duplicate keys are there (not a row waiting for a backfill).
			for (const row of imported) {
				expect((row.search_tokens as string[]).length).toBeGreaterThan(0);
				expect(row.search_version).toBeGreaterThan(0);
				expect(row.list_version).toBeGreaterThan(0);
			}
			await store.upsertProjections(documents.map((d) => d.projection));
			expect(await read()).toEqual(imported);
		});
	});
});
