/**
 * The audit log's storage on both engines (PGlite always, Postgres when DATABASE_URL is
 * set): entries staged with their updates in one transaction, coalesced, sealed into a
 * per-workspace hash chain that `verify` (and `npm run accord -- audit verify`) checks,
 * and that detects a row altered or removed with SQL.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { AuditDraft } from '../../server/audit/types.ts';
import { openDatabase, type Database } from '../../server/database.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import type { Sql } from '../../server/store/types.ts';
import { COALESCE_MAX_MS, COALESCE_WINDOW_MS, stageAudit } from '../../server/audit/staging.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { bareRow, tempDir, tempPostgresUrl } from '../support/databases.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';
import { createRecord, eventually, startTestServer } from '../support/server.ts';
import { providersSynced, yWebsocketClient } from '../support/sync-client.ts';
import { REPO_ROOT } from '../support/processes.ts';
import { entryArgs } from '../support/entry.ts';

interface Engine {
	name: 'pglite' | 'postgres';
	available: boolean;
	/** A fresh database: how to open it as Accord does, as raw SQL, and as the CLI would (environment). */
	create(): Promise<{ open(): Promise<Database>; sql(): Promise<Sql>; env: Record<string, string>; dataDir: string; databaseUrl?: string; cleanup(): Promise<void> }>;
}

const engines: Engine[] = [
	{
		name: 'pglite',
		available: true,
		async create() {
			const dir = await tempDir('accord-audit-');
			// A copy of the migrated template, as a server would make on its first start.
			await seedPgliteDataDir(dir.path);
			return {
				open: () => openDatabase({ dataDir: dir.path }),
				sql: () => openPglite(join(dir.path, 'pglite')),
				env: { DATA_DIR: dir.path },
				dataDir: dir.path,
				cleanup: dir.remove
			};
		}
	},
	{
		name: 'postgres',
		available: Boolean(process.env.DATABASE_URL),
		async create() {
			const db = (await tempPostgresUrl({ migrated: true }))!;
			const dir = await tempDir('accord-audit-');
			return {
				open: () => openDatabase({ databaseUrl: db.url, dataDir: dir.path }),
				sql: () => openPostgres(db.url),
				env: { DATABASE_URL: db.url },
				dataDir: dir.path,
				databaseUrl: db.url,
				cleanup: async () => {
					await db.drop();
					await dir.remove();
				}
			};
		}
	}
];

/** Runs `npm run accord -- audit verify` as an operator would (the same entry point). */
function auditVerify(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
	for (const name of ['DATABASE_URL', 'DATA_DIR', 'REDIS_URL']) delete childEnv[name];
	const child = spawn(process.execPath, [...entryArgs('cli'), 'audit', 'verify', ...args], { cwd: REPO_ROOT, env: { ...childEnv, ...env } });
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

const T0 = Date.parse('2025-06-01T08:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function draft(recordId: string, fields: Partial<AuditDraft> = {}): AuditDraft {
	return {
		workspace: 'ws',
		recordId,
		at: at(0),
		actor: { id: 'alice', name: 'Alice' },
		source: 'ui',
		relayedBy: null,
		path: 'fields.company',
		op: 'set',
		before: 'A',
		after: 'B',
		conflict: null,
		...fields
	};
}

function newDoc(): Uint8Array {
	const doc = new Y.Doc();
	doc.getMap('fields').set('name', 'x');
	return Y.encodeStateAsUpdate(doc);
}

describe.each(engines)('the audit log on $name', (engine) => {
	let db: Awaited<ReturnType<Engine['create']>>;
	let database: Database;

	beforeAll(async () => {
		if (!engine.available) return;
		db = await engine.create();
		database = await db.open();
	});
	afterAll(async () => {
		if (!engine.available) return;
		await database?.close().catch(() => undefined);
		await db?.cleanup();
	});

	it.skipIf(!engine.available)('stores an update and its entries together, or neither', async () => {
		const id = crypto.randomUUID();
		await database.documents.createDocument(id, 'ws', newDoc(), bareRow(id));
		const before = await database.audit.query({ workspace: 'ws', recordId: id, limit: 10, offset: 0 });
		// One bad entry (a value Postgres cannot store) fails the whole batch: the update is not stored either.
		const broken = { ...draft(id), at: 'not a time' };
		await expect(database.documents.appendUpdates([{ documentId: id, update: newDoc(), audit: [broken] }])).rejects.toThrow();
		expect(await database.documents.pendingUpdateCount(id)).toBe(1);
		expect((await database.audit.query({ workspace: 'ws', recordId: id, limit: 10, offset: 0 })).total).toBe(before.total);

		await database.documents.appendUpdates([{ documentId: id, update: newDoc(), audit: [draft(id)] }]);
		expect(await database.documents.pendingUpdateCount(id)).toBe(2);
		expect((await database.audit.query({ workspace: 'ws', recordId: id, limit: 10, offset: 0 })).total).toBe(before.total + 1);
	});

	it.skipIf(!engine.available)('coalesces one person’s changes to one place within the window, and seals them into the chain', async () => {
		const id = crypto.randomUUID();
		await database.documents.createDocument(id, 'ws', newDoc(), bareRow(id));
		const append = (d: AuditDraft) => database.documents.appendUpdates([{ documentId: id, update: newDoc(), audit: [d] }]);
		await append(draft(id, { at: at(0), before: 'A', after: 'B' }));
		await append(draft(id, { at: at(1_000), before: 'B', after: 'C' }));
		await append(draft(id, { at: at(1_500), before: 'C', after: null, op: 'unset' }));
		await append(draft(id, { at: at(2_000), before: null, after: 'D' }));
		// Someone else, and another place: their own entries.
		await append(draft(id, { at: at(2_100), actor: { id: 'bob', name: 'Bob' }, before: 'D', after: 'E' }));
		await append(draft(id, { at: at(2_200), path: 'notes', op: 'edit', before: null, after: { inserted: 3, deleted: 0, excerpt: 'abc', removed: '' } }));
		await append(draft(id, { at: at(2_300), path: 'notes', op: 'edit', before: null, after: { inserted: 2, deleted: 1, excerpt: 'de', removed: 'x' } }));
		// After a pause longer than the window: a new entry.
		await append(draft(id, { at: at(2_000 + COALESCE_WINDOW_MS + 1), before: 'E', after: 'F' }));
		// A conflict never merges.
		const conflict = { winner: { person: { id: 'alice', name: 'Alice' }, value: 'F' }, loser: { person: { id: 'bob', name: 'Bob' }, value: 'G' } };
		await append(draft(id, { at: at(2_000 + COALESCE_WINDOW_MS + 2), op: 'conflict', before: 'G', after: 'F', conflict }));

		const page = await database.audit.query({ workspace: 'ws', recordId: id, limit: 50, offset: 0 });
		const summary = page.entries.map((e) => [e.actor.id, e.path, e.op, e.before, e.after, e.changes, e.sealed]);
		expect(summary).toEqual([
			['alice', 'fields.company', 'conflict', 'G', 'F', 1, false],
			['alice', 'fields.company', 'set', 'E', 'F', 1, false],
			['alice', 'notes', 'edit', null, { inserted: 5, deleted: 1, excerpt: 'abcde', removed: 'x' }, 2, false],
			['bob', 'fields.company', 'set', 'D', 'E', 1, false],
			['alice', 'fields.company', 'set', 'A', 'D', 4, false]
		]);
		const stagedId = page.entries.at(-1)!.id;
		expect(stagedId).toMatch(/^p\d+$/);

		// Sealing takes the entries whose window has closed (by the time given), in staging order.
		const sealedEarly = await database.audit.seal({ now: T0 + 2_000 + COALESCE_WINDOW_MS + 10 });
		expect(sealedEarly).toBeGreaterThanOrEqual(3);
		await database.audit.seal({ now: T0 + COALESCE_MAX_MS * 10 });
		const sealed = await database.audit.query({ workspace: 'ws', recordId: id, limit: 50, offset: 0 });
		expect(sealed.entries.every((e) => e.sealed && e.seq !== null && /^[0-9a-f]{64}$/.test(e.hash!))).toBe(true);
		expect(sealed.entries.map((e) => [e.path, e.op, e.before, e.after])).toEqual(summary.map(([, path, op, before, after]) => [path, op, before, after]));
		// An entry's id from before sealing still finds it.
		const found = await database.audit.find('ws', stagedId);
		expect(found).toMatchObject({ sealed: true, before: 'A', after: 'D', changes: 4 });
		expect(await database.audit.find('ws', found!.id)).toEqual(found);
		expect(await database.audit.find('other', found!.id)).toBeNull();

		const verified = await database.audit.verify('ws');
		expect(verified.problem).toBeNull();
		expect(verified.entries).toBeGreaterThanOrEqual(6);
	});

	it.skipIf(!engine.available)('refuses to change or delete sealed entries', async () => {
		await expect(database.audit.seal({ all: true })).resolves.toBeGreaterThanOrEqual(0);
		const sql = await rawSql();
		try {
			await expect(sql.query(`UPDATE audit_log SET after = '"x"' WHERE workspace_id = 'ws'`)).rejects.toThrow(/append-only/);
			await expect(sql.query(`DELETE FROM audit_log WHERE workspace_id = 'ws'`)).rejects.toThrow(/append-only/);
		} finally {
			await sql.close?.();
		}
	});

	it.skipIf(!engine.available)('folds a change into its open entry by updating the row in place, not through every index', async () => {
		const id = crypto.randomUUID();
		await database.documents.createDocument(id, 'ws', newDoc(), bareRow(id));
		await database.documents.appendUpdates([{ documentId: id, update: newDoc(), audit: [draft(id, { at: at(0), path: 'fields.city' })] }]);
		const sql = await rawSql();
		try {
			const folded = await sql.transaction(async (tx) => {
				// This transaction's own counts: a HOT update is one that touched no index. Taken
				// as a difference: on PGlite the connection is the open database's own, and counts
				// of its earlier transactions may not have been flushed out of these yet.
				const counts = async () => {
					const [row] = await tx.query<{ updated: number; hot: number }>(
						`SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_xact_user_tables WHERE relname = 'audit_pending'`
					);
					return { updated: Number(row?.updated ?? 0), hot: Number(row?.hot ?? 0) };
				};
				const before = await counts();
				await stageAudit(tx, [draft(id, { at: at(500), path: 'fields.city', before: 'B', after: 'C' })]);
				const after = await counts();
				return { updated: after.updated - before.updated, hot: after.hot - before.hot };
			});
			expect(folded).toEqual({ updated: 1, hot: 1 });
		} finally {
			await sql.close();
		}
		const [entry] = (await database.audit.query({ workspace: 'ws', recordId: id, limit: 5, offset: 0 })).entries;
		expect(entry).toMatchObject({ path: 'fields.city', before: 'A', after: 'C', changes: 2 });
	});

	/**
	 * Plain SQL on the database: a connection beside Accord's own on Postgres; on PGlite,
	 * which serves one connection, Accord's own (its `sql` is the same plain SQL). Closing
	 * Accord's to open another, then opening Accord's again, cost two starts of the
	 * embedded database per use and changed nothing the tests look at.
	 */
	async function rawSql(): Promise<Sql & { close(): Promise<void> }> {
		if (engine.name === 'pglite') return { ...database.sql, close: async () => undefined };
		return db.sql();
	}

	it.skipIf(!engine.available)('`audit verify` passes on an honest log and names the first entry altered or removed with SQL', async () => {
		// A real server writing real entries into this database, then stopped (which seals what is staged).
		await database.close();
		const server = await startTestServer({ dataDir: db.dataDir, databaseUrl: db.databaseUrl, redisUrl: undefined });
		const id = await createRecord(server, { name: 'Verify Co', company: 'One' });
		const { doc, provider } = yWebsocketClient(server, 'editor', id);
		await providersSynced(provider);
		for (const field of ['company', 'city', 'title', 'industry']) fieldsOf(doc).set(field, `${field} 2`);
		doc.getMap('tags').set('key-account', true);
		await eventually(async () => (await server.accord.database.audit.query({ workspace: 'demo', recordId: id, limit: 1, offset: 0 })).total === 6, 'the entries');
		provider.destroy();
		await server.close();

		const honest = await auditVerify(db.env);
		expect(honest.stderr).toBe('');
		expect(honest.code).toBe(0);
		const total = Number(/(\d+) entries verified\./.exec(honest.stdout)?.[1]);
		expect(total).toBeGreaterThanOrEqual(6);
		expect(honest.stdout).toMatch(/Workspace demo: \d+ entries verified; chain head [0-9a-f]{64}/);

		const sql = await db.sql();
		// An entry in the middle of the chain.
		const seq = 3;
		const [{ after }] = await sql.query<{ after: unknown }>(`SELECT after FROM audit_log WHERE workspace_id = 'demo' AND seq = $1`, [seq]);
		await sql.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
		await sql.query(`UPDATE audit_log SET after = '"x"' WHERE workspace_id = 'demo' AND seq = $1`, [seq]);
		await sql.close();
		const altered = await auditVerify(db.env, '--workspace', 'demo');
		expect(altered.code).toBe(1);
		expect(altered.stderr).toContain(`audit entry seq ${seq} (id `);
		expect(altered.stderr).toContain('does not match its hash: the row was altered');

		// Put it back (as it was), then remove an entry in the middle, then the last one.
		const fix = await db.sql();
		await fix.query(`UPDATE audit_log SET after = $2::jsonb WHERE workspace_id = 'demo' AND seq = $1`, [seq, JSON.stringify(after)]);
		expect((await auditVerify(db.env)).code).toBe(0);
		await fix.query(`DELETE FROM audit_log WHERE workspace_id = 'demo' AND seq = $1`, [seq]);
		await fix.close();
		const removed = await auditVerify(db.env);
		expect(removed.code).toBe(1);
		expect(removed.stderr).toContain(`audit entry seq ${seq} is broken: entry ${seq} is missing`);

		const tail = await db.sql();
		await tail.query(`DELETE FROM audit_log WHERE workspace_id = 'demo' AND seq >= $1`, [seq]);
		await tail.close();
		const truncated = await auditVerify(db.env);
		expect(truncated.code).toBe(1);
		expect(truncated.stderr).toMatch(/rows were removed from the end of the log/);
		database = await db.open();
	}, 180_000); // a server start and five runs of the command line, each a process of its own
});
