/**
 * The document store on both engines: embedded PGlite always, and Postgres when
 * DATABASE_URL names a server (each run gets its own throwaway database there).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import type { AuditDraft, PersonRef } from '../../server/audit/types.ts';
import { openStore, type StoreOptions } from '../../server/database.ts';
import { MIGRATIONS, migrate } from '../../server/store/migrations.ts';
import { migrateIfBehind } from '../../server/store/migrations-current.ts';
import { createSqlStore, UnknownDocumentError } from '../../server/store/sql-store.ts';
import { createAuthStore } from '../../server/store/auth-store.ts';
import { createAuditStore } from '../../server/audit/log-store.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import { withAudit, type AttributedStore } from '../../server/audit/attributed-store.ts';
import type { DocumentStore, Sql, SqlTx, StoredDocument } from '../../server/store/types.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';

interface Database {
	openSql(): Promise<Sql>;
	options: StoreOptions;
	cleanup(): Promise<void>;
}

interface Engine {
	name: 'pglite' | 'postgres';
	available: boolean;
	create(): Promise<Database>;
}

const engines: Engine[] = [
	{
		name: 'pglite',
		available: true,
		async create() {
			const dir = await tempDir('accord-store-');
			return {
				openSql: () => openPglite(join(dir.path, 'pglite')),
				options: { dataDir: dir.path },
				cleanup: dir.remove
			};
		}
	},
	{
		name: 'postgres',
		available: Boolean(process.env.DATABASE_URL),
		async create() {
			const db = await tempPostgresUrl();
			if (!db) throw new Error('DATABASE_URL is not set');
			return { openSql: () => openPostgres(db.url), options: { databaseUrl: db.url, dataDir: '/nonexistent' }, cleanup: db.drop };
		}
	}
];

function recordDoc(fields: Record<string, string | number>, notes = ''): Y.Doc {
	const doc = new Y.Doc();
	doc.transact(() => {
		const map = doc.getMap('fields');
		for (const [key, value] of Object.entries(fields)) map.set(key, value);
		doc.getMap('tags').set('vip', true);
		doc.getText('notes').insert(0, notes);
	});
	return doc;
}

/** What a client would rebuild from the stored state. */
function rebuild(stored: StoredDocument): Y.Doc {
	const doc = new Y.Doc();
	if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
	for (const update of stored.updates) Y.applyUpdate(doc, update);
	return doc;
}

function expectSameState(actual: Y.Doc, expected: Y.Doc): void {
	expect(actual.getMap('fields').toJSON()).toEqual(expected.getMap('fields').toJSON());
	expect(actual.getMap('tags').toJSON()).toEqual(expected.getMap('tags').toJSON());
	expect(actual.getText('notes').toString()).toBe(expected.getText('notes').toString());
	expect(Y.encodeStateVector(actual)).toEqual(Y.encodeStateVector(expected));
}

/** Records every update a document emits, as a client would send them. */
function captureUpdates(doc: Y.Doc): Uint8Array[] {
	const updates: Uint8Array[] = [];
	doc.on('update', (update: Uint8Array) => updates.push(update));
	return updates;
}

function row(id: string, workspace: string, overrides: Partial<RecordRow> = {}): RecordRow {
	return {
		id,
		workspace,
		name: 'Ada Lovelace',
		company: 'Analytical Engines',
		email: 'ada@example.com',
		phone: '+44 20 7946 0000',
		stage: 'lead',
		owner: 'grace',
		value: 1200.5,
		currency: 'GBP',
		country: 'GB',
		city: 'London',
		tags: ['vip', 'a,b "quoted"'],
		archived: false,
		private: false,
		createdAt: '2024-01-02T03:04:05.678Z',
		updatedAt: '2024-02-03T04:05:06.789Z',
		...overrides
	};
}

const workspaceId = (): string => `ws-${randomUUID().slice(0, 8)}`;

/** The same connection, counting the statements sent through it (BEGIN and COMMIT included). */
function counting(sql: Sql): { sql: Sql; statements(): number } {
	let statements = 0;
	return {
		statements: () => statements,
		sql: {
			kind: sql.kind,
			query<T>(text: string, params?: unknown[]) {
				statements++;
				return sql.query<T>(text, params);
			},
			transaction<T>(fn: (tx: SqlTx) => Promise<T>) {
				statements += 2;
				return sql.transaction((tx) =>
					fn({
						query<R>(text: string, params?: unknown[]) {
							statements++;
							return tx.query<R>(text, params);
						},
						exec(text: string) {
							statements++;
							return tx.exec(text);
						}
					})
				);
			},
			close: () => sql.close()
		}
	};
}

function draft(workspace: string, recordId: string, actor: PersonRef, path: string, after: string): AuditDraft {
	return { workspace, recordId, at: new Date().toISOString(), actor, source: 'ui', relayedBy: null, path, op: 'set', before: null, after, conflict: null };
}

/** Distinct bytes standing in for an update: the store neither reads nor merges them. */
const blob = (...bytes: number[]): Uint8Array => new Uint8Array(bytes);

describe.each(engines)('document store on $name', (engine) => {
	describe.skipIf(!engine.available)('', () => {
		let database: Database;
		let sql: Sql;
		let store: AttributedStore;
		let firstMigration: number[];

		async function create(workspace: string, doc: Y.Doc, overrides: Partial<RecordRow> = {}): Promise<string> {
			const id = randomUUID();
			await store.createDocument(id, workspace, Y.encodeStateAsUpdate(doc), row(id, workspace, overrides));
			return id;
		}

		async function storedUpdateRows(id: string): Promise<number> {
			const [result] = await sql.query<{ n: number }>('SELECT count(*) AS n FROM document_updates WHERE document_id = $1', [id]);
			return Number(result.n);
		}

		beforeAll(async () => {
			database = await engine.create();
			sql = await database.openSql();
			firstMigration = await migrate(sql);
			store = withAudit(createSqlStore(sql), sql);
		});

		afterAll(async () => {
			await store?.close();
			await database?.cleanup();
		});

		it('applies migrations once and is idempotent', async () => {
			expect(firstMigration).toEqual(MIGRATIONS.map((m) => m.version));
			expect(await migrate(sql)).toEqual([]);
			await store.migrate();
			const applied = await sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
			expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
			expect(store.kind).toBe(engine.name);
		});

		it('opens a current database with one query of the ledger, and still applies what is missing', async () => {
			const calls: string[] = [];
			const counted: Sql = {
				...sql,
				query: (text, params) => (calls.push('query'), sql.query(text, params)),
				transaction: (fn) => (calls.push('transaction'), sql.transaction(fn))
			};
			// Every start and command-line run: no lock, no transaction per migration.
			expect(await migrateIfBehind(counted)).toEqual([]);
			expect(calls).toEqual(['query']);
			expect(await migrateIfBehind(counted, [])).toEqual([]);
			// One migration not yet recorded: the walk runs, under its lock, and applies just that one.
			const extra = { version: MIGRATIONS.at(-1)!.version + 1000, name: 'test only', sql: 'CREATE TABLE migrate_if_behind_probe (id integer)' };
			try {
				expect(await migrateIfBehind(counted, [...MIGRATIONS, extra])).toEqual([extra.version]);
				expect(calls.filter((call) => call === 'transaction')).toHaveLength(MIGRATIONS.length + 1);
				expect(await sql.query('SELECT count(*)::integer AS n FROM migrate_if_behind_probe')).toEqual([{ n: 0 }]);
			} finally {
				await sql.query('DROP TABLE IF EXISTS migrate_if_behind_probe');
				await sql.query('DELETE FROM schema_migrations WHERE version = $1', [extra.version]);
			}
		});

		it('round-trips a Yjs document and its projection', async () => {
			const workspace = workspaceId();
			const doc = recordDoc({ name: '张三', company: 'Acme', value: 42 }, 'first call went well');
			const id = await create(workspace, doc);

			const stored = await store.loadDocument(id);
			expect(stored).not.toBeNull();
			if (!stored) return;
			expect(stored.workspace).toBe(workspace);
			expect(stored.snapshot).toBeNull();
			expect(stored.lastSeq).toBe(1);
			expect(typeof stored.lastSeq).toBe('number');
			expect(stored.updates).toHaveLength(1);
			expect(stored.updates[0].constructor).toBe(Uint8Array);
			expectSameState(rebuild(stored), doc);

			expect(await store.getProjection(id)).toEqual(row(id, workspace));
			expect(await store.documentWorkspace(id)).toBe(workspace);
			expect(await store.countDocuments(workspace)).toBe(1);
			expect(await store.pendingUpdateCount(id)).toBe(1);
		});

		it('refuses a second document with the same id and keeps the first', async () => {
			const workspace = workspaceId();
			const doc = recordDoc({ name: 'Original' });
			const id = await create(workspace, doc);
			await expect(
				store.createDocument(id, workspace, Y.encodeStateAsUpdate(recordDoc({ name: 'Impostor' })), row(id, workspace, { name: 'Impostor' }))
			).rejects.toThrow(/already exists/);
			const stored = await store.loadDocument(id);
			expect(stored && rebuild(stored).getMap('fields').get('name')).toBe('Original');
			expect((await store.getProjection(id))?.name).toBe('Ada Lovelace');
			expect(await store.countDocuments(workspace)).toBe(1);
		});

		it('appends a batch across documents in order and numbers each document on', async () => {
			const workspace = workspaceId();
			const a = recordDoc({ name: 'A' });
			const b = recordDoc({ name: 'B' });
			const idA = await create(workspace, a);
			const idB = await create(workspace, b);
			const fromA = captureUpdates(a);
			const fromB = captureUpdates(b);
			a.getMap('fields').set('stage', 'won');
			b.getText('notes').insert(0, 'hello');
			a.getText('notes').insert(0, 'order matters');
			a.getMap('fields').delete('stage');

			const seqs = await store.appendUpdates([
				{ documentId: idA, update: fromA[0] },
				{ documentId: idB, update: fromB[0] },
				{ documentId: idA, update: fromA[1] },
				{ documentId: idA, update: fromA[2] }
			]);
			expect(seqs).toEqual(new Map([[idA, 4], [idB, 2]]));

			const storedA = await store.loadDocument(idA);
			expect(storedA?.lastSeq).toBe(4);
			expect(storedA?.updates.slice(1)).toEqual(fromA);
			if (storedA) expectSameState(rebuild(storedA), a);
			const storedB = await store.loadDocument(idB);
			expect(storedB?.updates.slice(1)).toEqual(fromB);
			if (storedB) expectSameState(rebuild(storedB), b);

			b.getMap('fields').set('city', 'Paris');
			expect(await store.appendUpdates([{ documentId: idB, update: fromB[1] }])).toEqual(new Map([[idB, 3]]));
			expect(await store.pendingUpdateCount(idB)).toBe(3);
			expect(await store.appendUpdates([])).toEqual(new Map());
		});

		it('writes nothing of a batch that names an unknown document', async () => {
			const workspace = workspaceId();
			const a = recordDoc({ name: 'A' });
			const idA = await create(workspace, a);
			const fromA = captureUpdates(a);
			a.getMap('fields').set('owner', 'linus');

			// Sorts after any other id, so the known document is written before the
			// unknown one is found: only rolling back keeps its update out.
			const missing = 'ffffffff-ffff-4fff-bfff-ffffffffffff';
			const failed = store.appendUpdates([
				{ documentId: idA, update: fromA[0] },
				{ documentId: missing, update: fromA[0] }
			]);
			await expect(failed).rejects.toBeInstanceOf(UnknownDocumentError);
			await expect(failed).rejects.toThrow(missing);
			await expect(store.appendUpdates([{ documentId: idA, update: fromA[0] }, { documentId: 'not-a-uuid', update: fromA[0] }])).rejects.toThrow(
				UnknownDocumentError
			);

			expect(await storedUpdateRows(idA)).toBe(1);
			expect((await store.loadDocument(idA))?.lastSeq).toBe(1);
			expect(await store.loadDocument(missing)).toBeNull();
			// The failed batches used no sequence numbers: the next append gets 2.
			expect(await store.appendUpdates([{ documentId: idA, update: fromA[0] }])).toEqual(new Map([[idA, 2]]));
		});

		it('numbers every document of one batch gaplessly, each from where it was', async () => {
			const workspace = workspaceId();
			const ids: string[] = [];
			for (let i = 0; i < 5; i++) ids.push(await create(workspace, recordDoc({ name: `doc ${i}` })));
			// One document is further along than the others before the batch.
			await store.appendUpdates([1, 2, 3].map((n) => ({ documentId: ids[0], update: blob(0, n) })));
			const sent = new Map<string, Uint8Array[]>(ids.map((id) => [id, []]));
			const batch = [];
			for (let n = 0; n < 23; n++) {
				const id = ids[(n * 3) % 5 === 4 ? 4 : (n * 7) % 4];
				const update = blob(1, n);
				sent.get(id)?.push(update);
				batch.push({ documentId: id, update });
			}
			const seqs = await store.appendUpdates(batch);
			const expected = new Map(ids.map((id, i) => [id, (i === 0 ? 4 : 1) + (sent.get(id)?.length ?? 0)]));
			expect(seqs).toEqual(expected);
			for (const [i, id] of ids.entries()) {
				const stored = await store.loadDocument(id);
				expect(stored?.lastSeq).toBe(expected.get(id));
				const before = i === 0 ? [blob(0, 1), blob(0, 2), blob(0, 3)] : [];
				expect(stored?.updates.slice(1)).toEqual([...before, ...(sent.get(id) ?? [])]);
				const numbers = await sql.query<{ seq: number }>('SELECT seq FROM document_updates WHERE document_id = $1 ORDER BY seq', [id]);
				expect(numbers.map((r) => Number(r.seq))).toEqual(Array.from({ length: expected.get(id) ?? 0 }, (_, k) => k + 1));
			}
		});

		it('numbers a batch too large for one statement just as gaplessly', async () => {
			const workspace = workspaceId();
			const ids = [await create(workspace, recordDoc({ name: 'A' })), await create(workspace, recordDoc({ name: 'B' }))];
			const batch = Array.from({ length: 2_345 }, (_, n) => ({ documentId: ids[n % 3 === 0 ? 1 : 0], update: blob(n % 256, n >> 8) }));
			const seqs = await store.appendUpdates(batch);
			for (const id of ids) {
				const sent = batch.filter((item) => item.documentId === id).map((item) => item.update);
				expect(seqs.get(id)).toBe(1 + sent.length);
				expect((await store.loadDocument(id))?.updates.slice(1)).toEqual(sent);
			}
		});

		it('stores a batch in the same few statements however many documents it spans', async () => {
			const workspace = workspaceId();
			const ids: string[] = [];
			for (let i = 0; i < 40; i++) ids.push(await create(workspace, recordDoc({ name: `doc ${i}` })));
			for (const id of ids) await store.bindClients(id, [1], { id: 'ada', name: 'Ada' });
			const counted = counting(sql);
			const countedStore = withAudit(createSqlStore(counted.sql), counted.sql);
			const statementsFor = async (documents: string[]) => {
				const before = counted.statements();
				await countedStore.appendUpdates(
					documents.flatMap((id, i) => [
						{ documentId: id, update: blob(2, i), audit: [draft(workspace, id, { client: 1 }, 'fields.stage', 'a')], bindings: [{ client: 2, person: { id: 'bo', name: 'Bo' } }] },
						{
							documentId: id,
							update: blob(3, i),
							audit: [
								draft(workspace, id, { id: 'bo', name: 'Bo' }, 'fields.city', 'b'),
								// A conflict is never merged: each batch inserts one.
								{ ...draft(workspace, id, { client: 1 }, 'fields.owner', 'c'), conflict: { winner: { person: { client: 1 }, value: 'c' }, loser: { person: { id: 'bo', name: 'Bo' }, value: 'd' } } }
							]
						}
					])
				);
				return counted.statements() - before;
			};
			// The second time, the open entries of the first are merged into.
			const few = [await statementsFor(ids.slice(0, 2)), await statementsFor(ids.slice(0, 2))];
			expect([await statementsFor(ids.slice(2)), await statementsFor(ids.slice(2))]).toEqual(few);
			// BEGIN, updates, bindings, their lookup, open entries, merged and new entries, COMMIT.
			expect(few).toEqual([7, 7]);
			const [merged] = await sql.query<{ n: number }>("SELECT count(*) AS n FROM audit_pending WHERE workspace_id = $1 AND changes = 2", [workspace]);
			expect(Number(merged.n)).toBe(2 * ids.length);
		});

		it('stores nothing of a batch whose unknown document sorts first or in the middle, and names it', async () => {
			const workspace = workspaceId();
			const known = [await create(workspace, recordDoc({ name: 'A' })), await create(workspace, recordDoc({ name: 'B' }))];
			for (const missing of ['00000000-0000-4000-8000-000000000000', randomUUID()]) {
				const failed = store.appendUpdates([
					{ documentId: known[0], update: blob(4), audit: [draft(workspace, known[0], { client: 9 }, 'fields.stage', 'x')], bindings: [{ client: 9, person: { id: 'ada', name: 'Ada' } }] },
					{ documentId: missing, update: blob(5) },
					{ documentId: known[1], update: blob(6), audit: [draft(workspace, known[1], { id: 'ada', name: 'Ada' }, 'fields.city', 'y')] }
				]);
				await expect(failed).rejects.toBeInstanceOf(UnknownDocumentError);
				await expect(failed).rejects.toMatchObject({ documentId: missing });
			}
			for (const id of known) {
				expect((await store.loadDocument(id))?.lastSeq).toBe(1);
				expect(await storedUpdateRows(id)).toBe(1);
				expect(await store.loadBindings(id)).toEqual(new Map());
			}
			const [staged] = await sql.query<{ n: number }>('SELECT count(*) AS n FROM audit_pending WHERE workspace_id = $1', [workspace]);
			expect(Number(staged.n)).toBe(0);
		});

		it('stores the bindings of several documents carried by one batch, before the entries that name them', async () => {
			const workspace = workspaceId();
			const [a, b, c] = [await create(workspace, recordDoc({ name: 'A' })), await create(workspace, recordDoc({ name: 'B' })), await create(workspace, recordDoc({ name: 'C' }))];
			const ada = { id: 'ada', name: 'Ada' };
			const bo = { id: 'bo', name: 'Bo' };
			const cy = { id: 'cy', name: 'Cy' };
			const mallory = { id: 'mallory', name: 'Mallory' };
			await store.bindClients(c, [7], mallory);
			await store.appendUpdates([
				{ documentId: a, update: blob(7), bindings: [{ client: 1, person: ada }, { client: 2, person: ada }], audit: [draft(workspace, a, { client: 2 }, 'fields.stage', 'won')] },
				// The same client id on another document is another binding.
				{ documentId: b, update: blob(8), bindings: [{ client: 1, person: bo }], audit: [draft(workspace, b, { client: 1 }, 'fields.stage', 'lost')] },
				// An id already bound keeps its binding.
				{ documentId: c, update: blob(9), bindings: [{ client: 7, person: cy }, { client: 8, person: cy }], audit: [draft(workspace, c, { client: 7 }, 'fields.stage', 'lead')] }
			]);
			expect(await store.loadBindings(a)).toEqual(new Map([[1, ada], [2, ada]]));
			expect(await store.loadBindings(b)).toEqual(new Map([[1, bo]]));
			expect(await store.loadBindings(c)).toEqual(new Map([[7, mallory], [8, cy]]));
			const actors = await sql.query<{ record_id: string; actor_id: string }>('SELECT record_id, actor_id FROM audit_pending WHERE workspace_id = $1', [workspace]);
			expect(new Map(actors.map((r) => [r.record_id, r.actor_id]))).toEqual(new Map([[a, 'ada'], [b, 'bo'], [c, 'mallory']]));
		});

		it('appends concurrent batches over the same documents in any order without deadlock or gaps', async () => {
			const workspace = workspaceId();
			const ids: string[] = [];
			for (let i = 0; i < 8; i++) ids.push(await create(workspace, recordDoc({ name: `doc ${i}` })));
			const rounds = 6;
			const writers = 8;
			for (let round = 0; round < rounds; round++) {
				// Each writer names the documents in another order (rotated, every other one reversed).
				await Promise.all(
					Array.from({ length: writers }, (_, w) => {
						const order = [...ids.slice(w), ...ids.slice(0, w)];
						if (w % 2) order.reverse();
						return store.appendUpdates(order.map((id) => ({ documentId: id, update: blob(10, round, w) })));
					})
				);
			}
			for (const id of ids) {
				const numbers = await sql.query<{ seq: number }>('SELECT seq FROM document_updates WHERE document_id = $1 ORDER BY seq', [id]);
				expect(numbers.map((r) => Number(r.seq))).toEqual(Array.from({ length: 1 + rounds * writers }, (_, k) => k + 1));
			}
		});

		it('compacts the log into a snapshot without changing the document', async () => {
			const workspace = workspaceId();
			const doc = recordDoc({ name: 'Compact me' });
			const id = await create(workspace, doc);
			const updates = captureUpdates(doc);
			for (let i = 0; i < 5; i++) doc.getText('notes').insert(0, `line ${i}\n`);
			await store.appendUpdates(updates.map((update) => ({ documentId: id, update })));
			expect(await storedUpdateRows(id)).toBe(6);

			// The snapshot covers updates 1..5; update 6 stays in the log.
			const covered = new Y.Doc();
			const before = await store.loadDocument(id);
			if (!before) throw new Error('document vanished');
			for (const update of before.updates.slice(0, 5)) Y.applyUpdate(covered, update);
			const snapshot = Y.encodeStateAsUpdate(covered);
			await store.compact(id, snapshot, 5);

			const after = await store.loadDocument(id);
			// The stored snapshot holds what the given one holds (merged with what it folds, see the next test).
			expectSameState(rebuild({ ...after!, updates: [] }), covered);
			expect(after?.updates).toEqual([before.updates[5]]);
			expect(after?.lastSeq).toBe(6);
			if (after) expectSameState(rebuild(after), doc);
			expect(await storedUpdateRows(id)).toBe(1);
			expect(await store.pendingUpdateCount(id)).toBe(1);

			// A late, older compaction is ignored; one past the log is refused.
			const kept = (await store.loadDocument(id))?.snapshot;
			await store.compact(id, Y.encodeStateAsUpdate(new Y.Doc()), 3);
			expect((await store.loadDocument(id))?.snapshot).toEqual(kept);
			await expect(store.compact(id, snapshot, 7)).rejects.toThrow(/cannot compact/);
			await expect(store.compact(randomUUID(), snapshot, 1)).rejects.toThrow(UnknownDocumentError);

			doc.getMap('fields').set('stage', 'won');
			expect(await store.appendUpdates([{ documentId: id, update: updates[5] }])).toEqual(new Map([[id, 7]]));
			const latest = await store.loadDocument(id);
			if (latest) expectSameState(rebuild(latest), doc);
			expect(latest?.updates).toHaveLength(2);
		});

		it('cannot lose an update by compacting with a snapshot that lacks it', async () => {
			const workspace = workspaceId();
			const doc = recordDoc({ name: 'Fold me' });
			const id = await create(workspace, doc);
			const updates = captureUpdates(doc);
			doc.getMap('fields').set('city', 'Dalian');
			doc.getText('notes').insert(0, 'stored by another room');
			doc.getMap('fields').delete('name');
			await store.appendUpdates(updates.map((update) => ({ documentId: id, update })));
			// A caller whose copy never saw updates 2..4 (as a room keyed by another spelling of the id had not).
			const stale = new Y.Doc();
			Y.applyUpdate(stale, (await store.loadDocument(id))!.updates[0]);
			await store.compact(id, Y.encodeStateAsUpdate(stale), 4);
			const after = (await store.loadDocument(id))!;
			expect(after.updates).toEqual([]);
			expectSameState(rebuild(after), doc);
			expect(rebuild(after).getMap('fields').has('name')).toBe(false);
		});

		it('lists records with filters, sorting, paging and archived rows hidden', async () => {
			const workspace = workspaceId();
			const other = workspaceId();
			const seed: Partial<RecordRow>[] = [
				{ name: 'bravo', stage: 'lead', owner: 'grace', value: 300, updatedAt: '2024-03-01T00:00:00.000Z' },
				{ name: 'Alpha', stage: 'won', owner: 'linus', value: null, updatedAt: '2024-03-05T00:00:00.000Z' },
				{ name: 'charlie', stage: 'lead', owner: 'linus', value: 100, updatedAt: '2024-03-03T00:00:00.000Z' },
				{ name: 'Delta', stage: null, owner: 'grace', value: 100, updatedAt: '2024-03-02T00:00:00.000Z' },
				{ name: 'echo', stage: 'lead', owner: 'grace', value: 50.25, updatedAt: '2024-03-04T00:00:00.000Z' },
				{ name: 'archived', stage: 'lead', owner: 'grace', value: 1, archived: true, updatedAt: '2024-03-06T00:00:00.000Z' }
			];
			const ids = new Map<string, string>();
			for (const overrides of seed) ids.set(overrides.name ?? '', await create(workspace, recordDoc({ name: overrides.name ?? '' }), overrides));
			await create(other, recordDoc({ name: 'elsewhere' }), { name: 'aaa elsewhere' });

			const names = async (query: Partial<Parameters<DocumentStore['listRecords']>[0]> = {}) => {
				const page = await store.listRecords({ workspace, limit: 50, offset: 0, ...query });
				return { names: page.rows.map((r) => r.name), total: page.total };
			};

			// Default: most recently updated first, archived hidden, other workspace absent.
			expect(await names()).toEqual({ names: ['Alpha', 'echo', 'charlie', 'Delta', 'bravo'], total: 5 });
			expect(await names({ includeArchived: true })).toMatchObject({ total: 6 });
			expect((await names({ includeArchived: true })).names[0]).toBe('archived');

			expect(await names({ sort: 'name' })).toEqual({ names: ['Alpha', 'bravo', 'charlie', 'Delta', 'echo'], total: 5 });
			expect((await names({ sort: 'name', descending: true })).names).toEqual(['echo', 'Delta', 'charlie', 'bravo', 'Alpha']);

			// Nulls last both ways; equal values fall back to id order.
			const idOf = (name: string) => ids.get(name) ?? '';
			const tiedNames = ['charlie', 'Delta'].sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
			expect((await names({ sort: 'value' })).names).toEqual(['echo', ...tiedNames, 'bravo', 'Alpha']);
			expect((await names({ sort: 'value', descending: true })).names).toEqual(['bravo', ...tiedNames, 'echo', 'Alpha']);
			expect((await names({ sort: 'stage' })).names.at(-1)).toBe('Delta');

			expect(await names({ stage: 'lead', sort: 'name' })).toEqual({ names: ['bravo', 'charlie', 'echo'], total: 3 });
			expect(await names({ owner: 'grace', stage: 'lead', includeArchived: true, sort: 'name' })).toEqual({
				names: ['archived', 'bravo', 'echo'],
				total: 3
			});

			const all = (await names({ sort: 'name' })).names;
			expect(await names({ sort: 'name', limit: 2, offset: 2 })).toEqual({ names: all.slice(2, 4), total: 5 });
			expect(await names({ sort: 'name', limit: 2, offset: 10 })).toEqual({ names: [], total: 5 });

			const page = await store.listRecords({ workspace, sort: 'value', limit: 1, offset: 0 });
			expect(page.rows[0]).toEqual(row(ids.get('echo') ?? '', workspace, seed[4]));
			expect(typeof page.rows[0].value).toBe('number');

			await expect(store.listRecords({ workspace, sort: 'name; DROP TABLE records' as 'name', limit: 1, offset: 0 })).rejects.toThrow(/cannot sort/);
		});

		it('updates a projection in place', async () => {
			const workspace = workspaceId();
			const id = await create(workspace, recordDoc({ name: 'Before' }));
			const changed = row(id, workspace, { name: 'After', stage: 'won', value: null, tags: [], archived: true, updatedAt: '2025-01-01T00:00:00.000Z' });
			await store.upsertProjection(changed);
			expect(await store.getProjection(id)).toEqual(changed);
			expect((await store.listRecords({ workspace, limit: 10, offset: 0 })).total).toBe(0);
			await expect(store.upsertProjection(row(randomUUID(), workspace))).rejects.toThrow();
		});

		it('writes concurrent single projection updates in one statement, the last of one record winning', async () => {
			const workspace = workspaceId();
			const ids: string[] = [];
			for (let i = 0; i < 4; i++) ids.push(await create(workspace, recordDoc({ name: `doc ${i}` })));
			const counted = counting(sql);
			const countedStore = createSqlStore(counted.sql);
			const rows = ids.map((id, i) => row(id, workspace, { name: `first ${i}`, value: i, tags: [`t${i}`] }));
			const latest = row(ids[1], workspace, { name: 'second 1', stage: 'won', value: null, tags: [], updatedAt: '2025-06-01T00:00:00.000Z' });
			await Promise.all([countedStore.upsertProjection(rows[0]), countedStore.upsertProjection(rows[1]), countedStore.upsertProjection(rows[2]), countedStore.upsertProjection(latest), countedStore.upsertProjection(rows[3])]);
			expect(counted.statements()).toBe(1);
			expect(await store.getProjection(ids[0])).toEqual(rows[0]);
			expect(await store.getProjection(ids[1])).toEqual(latest);
			expect(await store.getProjection(ids[2])).toEqual(rows[2]);
			expect(await store.getProjection(ids[3])).toEqual(rows[3]);

			// One call after another: each its own write, the later one landing last.
			await countedStore.upsertProjection(row(ids[2], workspace, { name: 'then' }));
			await countedStore.upsertProjection(row(ids[2], workspace, { name: 'now' }));
			expect((await store.getProjection(ids[2]))?.name).toBe('now');
		});

		it('answers record access checks asked for together with one statement, each with its own record', async () => {
			const workspace = workspaceId();
			const open = await create(workspace, recordDoc({ name: 'Open' }), { owner: 'grace', private: false });
			const hidden = await create(workspace, recordDoc({ name: 'Hidden' }), { owner: 'ada' });
			await createAuditStore(sql).setPrivate(hidden, true, []);
			const counted = counting(sql);
			const auth = createAuthStore(counted.sql);
			const missing = randomUUID();
			const answers = await Promise.all([auth.recordAccess(open), auth.recordAccess(hidden.toUpperCase()), auth.recordAccess(missing), auth.recordAccess('not-a-uuid'), auth.recordAccess(open)]);
			expect(answers).toEqual([
				{ workspace, private: false, owner: 'grace' },
				{ workspace, private: true, owner: 'ada' },
				null,
				null,
				{ workspace, private: false, owner: 'grace' }
			]);
			expect(counted.statements()).toBe(1);
			// A check on its own still gets its answer.
			expect(await auth.recordAccess(hidden)).toEqual({ workspace, private: true, owner: 'ada' });
			expect(counted.statements()).toBe(2);
		});

		it('loads documents and their bindings asked for together with one statement each, each document whole', async () => {
			const workspace = workspaceId();
			const docs = [recordDoc({ name: 'One' }, 'first notes'), recordDoc({ name: 'Two' })];
			const ids = [await create(workspace, docs[0]), await create(workspace, docs[1])];
			const later = captureUpdates(docs[1]);
			docs[1].getMap('fields').set('company', 'Two Co');
			await store.appendUpdates([{ documentId: ids[1], update: later[0] }]);
			const ada = { id: 'ada', name: 'Ada' };
			await store.bindClients(ids[0], [11, 12], ada);
			const counted = counting(sql);
			const countedStore = withAudit(createSqlStore(counted.sql), counted.sql);
			const missing = randomUUID();
			const [one, two, none] = await Promise.all([countedStore.loadDocument(ids[0].toUpperCase()), countedStore.loadDocument(ids[1]), countedStore.loadDocument(missing)]);
			const bindings = await Promise.all([countedStore.loadBindings(ids[0]), countedStore.loadBindings(ids[1].toUpperCase()), countedStore.loadBindings(missing)]);
			expect(counted.statements()).toBe(2);
			expectSameState(rebuild(one!), docs[0]);
			expectSameState(rebuild(two!), docs[1]);
			expect([one!.workspace, one!.lastSeq, two!.lastSeq]).toEqual([workspace, 1, 2]);
			expect(none).toBeNull();
			expect(bindings).toEqual([new Map([[11, ada], [12, ada]]), new Map(), new Map()]);
		});

		it('fails only the callers whose projection row cannot be written', async () => {
			const workspace = workspaceId();
			const ids = [await create(workspace, recordDoc({ name: 'A' })), await create(workspace, recordDoc({ name: 'B' }))];
			const removed = randomUUID();
			const outcomes = await Promise.allSettled([
				store.upsertProjection(row(ids[0], workspace, { name: 'A2' })),
				store.upsertProjection(row(removed, workspace)),
				store.upsertProjection(row(ids[1], workspace, { name: 'B2' })),
				store.upsertProjection(row('not-a-uuid', workspace))
			]);
			expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
			expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(UnknownDocumentError);
			expect((await store.getProjection(ids[0]))?.name).toBe('A2');
			expect((await store.getProjection(ids[1]))?.name).toBe('B2');
			expect(await store.getProjection(removed)).toBeNull();
		});

		it('writes many projection rows at once, all or none, the last of one record winning', async () => {
			const workspace = workspaceId();
			const ids: string[] = [];
			for (let i = 0; i < 3; i++) ids.push(await create(workspace, recordDoc({ name: `doc ${i}` })));
			await store.upsertProjections([
				row(ids[0], workspace, { name: 'zero' }),
				row(ids[1], workspace, { name: 'one, first' }),
				row(ids[2], workspace, { name: 'two', archived: true }),
				row(ids[1], workspace, { name: 'one, last', owner: null })
			]);
			expect(await store.getProjection(ids[0])).toEqual(row(ids[0], workspace, { name: 'zero' }));
			expect(await store.getProjection(ids[1])).toEqual(row(ids[1], workspace, { name: 'one, last', owner: null }));
			expect((await store.getProjection(ids[2]))?.archived).toBe(true);

			await expect(store.upsertProjections([row(ids[0], workspace, { name: 'never' }), row(randomUUID(), workspace)])).rejects.toThrow();
			expect((await store.getProjection(ids[0]))?.name).toBe('zero');
			await store.upsertProjections([]);
		});

		it('answers null, not an error, for unknown and malformed ids', async () => {
			for (const id of [randomUUID(), 'not-a-uuid', "'; DROP TABLE documents; --", '']) {
				expect(await store.documentWorkspace(id)).toBeNull();
				expect(await store.loadDocument(id)).toBeNull();
				expect(await store.getProjection(id)).toBeNull();
				expect(await store.pendingUpdateCount(id)).toBe(0);
			}
			await expect(store.createDocument('not-a-uuid', 'w', new Uint8Array([0, 0]), row('not-a-uuid', 'w'))).rejects.toThrow(/not a document id/);
		});

		it('counts documents per workspace and overall', async () => {
			const workspace = workspaceId();
			const total = await store.countDocuments();
			await create(workspace, recordDoc({ name: 'one' }));
			await create(workspace, recordDoc({ name: 'two' }));
			expect(await store.countDocuments(workspace)).toBe(2);
			expect(await store.countDocuments(workspaceId())).toBe(0);
			expect(await store.countDocuments()).toBe(total + 2);
		});

		it.skipIf(engine.name !== 'postgres')('migrates once when two instances start together', async () => {
			const fresh = await tempPostgresUrl();
			if (!fresh) throw new Error('DATABASE_URL is not set');
			const [one, two] = await Promise.all([openPostgres(fresh.url), openPostgres(fresh.url)]);
			try {
				const [a, b] = await Promise.all([migrate(one), migrate(two)]);
				expect([...a, ...b].sort((x, y) => x - y)).toEqual(MIGRATIONS.map((m) => m.version));
				const [{ n }] = await one.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
				expect(n).toBe(MIGRATIONS.length);
			} finally {
				await Promise.all([one.close(), two.close()]);
				await fresh.drop();
			}
		});

		// Last: it closes the store the other tests share.
		it('keeps everything across closing and reopening', async () => {
			const workspace = workspaceId();
			const doc = recordDoc({ name: 'Durable' }, 'still here');
			const id = await create(workspace, doc);
			const updates = captureUpdates(doc);
			doc.getMap('fields').set('stage', 'won');
			await store.appendUpdates([{ documentId: id, update: updates[0] }]);
			await store.compact(id, Y.encodeStateAsUpdate(doc), 2);
			doc.getText('notes').insert(0, 'after compaction: ');
			await store.appendUpdates([{ documentId: id, update: updates[1] }]);
			const listed = await store.listRecords({ workspace, limit: 10, offset: 0 });
			await store.close();

			store = await openStore(database.options);
			const stored = await store.loadDocument(id);
			expect(stored?.lastSeq).toBe(3);
			expect(stored?.snapshot).not.toBeNull();
			if (stored) expectSameState(rebuild(stored), doc);
			expect(await store.listRecords({ workspace, limit: 10, offset: 0 })).toEqual(listed);
			expect(await store.documentWorkspace(id)).toBe(workspace);
		});
	});
});
