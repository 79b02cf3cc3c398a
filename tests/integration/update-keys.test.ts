/**
 * Storing an update exactly once whichever instance stores it (migration 18, the store's
 * UpdateKey): an update published before its commit may be stored by its origin and by
 * instances that received it and heard nothing in time. Whoever comes first stores it
 * with its audit entries and bindings; everyone after is skipped with theirs. On both
 * engines (PGlite always, Postgres when DATABASE_URL is set), and concurrently on Postgres.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import type { AuditDraft } from '../../server/audit/types.ts';
import { migrate } from '../../server/store/migrations.ts';
import { createSqlStore } from '../../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../../server/store/sql.ts';
import { withAudit, type AttributedStore, type AttributedUpdate } from '../../server/audit/attributed-store.ts';
import type { Sql, UpdateKey } from '../../server/store/types.ts';
import { tempDir, tempPostgresUrl } from '../support/databases.ts';

const engines = [
	{
		name: 'pglite',
		available: true,
		async create() {
			const dir = await tempDir('accord-update-keys-');
			return { sql: await openPglite(join(dir.path, 'pglite')), cleanup: dir.remove };
		}
	},
	{
		name: 'postgres',
		available: Boolean(process.env.DATABASE_URL),
		async create() {
			const db = (await tempPostgresUrl())!;
			return { sql: await openPostgres(db.url), cleanup: db.drop };
		}
	}
] as const;

const ada: AuditPerson = { id: 'ada', name: 'Ada' };

/** A Yjs update of its own, written under client id 100 + n (so a stored one says which it is). */
function yjsUpdate(n: number): Uint8Array {
	const doc = new Y.Doc();
	doc.clientID = 100 + n;
	doc.getMap('fields').set(`x_${n}`, n);
	return Y.encodeStateAsUpdate(doc);
}

function row(id: string, workspace: string): RecordRow {
	return {
		id,
		workspace,
		name: 'Keyed',
		company: null,
		email: null,
		phone: null,
		stage: 'lead',
		owner: null,
		value: null,
		currency: null,
		country: null,
		city: null,
		tags: [],
		archived: false,
		private: false,
		createdAt: '2026-12-07T00:00:00.000Z',
		updatedAt: '2026-12-07T00:00:00.000Z'
	};
}

describe.each(engines)('updates keyed by origin on $name', (engine) => {
	describe.skipIf(!engine.available)('', () => {
		let sql: Sql;
		let store: AttributedStore;
		let cleanup: () => Promise<void>;
		/** Instances, as the stores see them: each its own origin. */
		const origin = randomUUID();

		beforeAll(async () => {
			const created = await engine.create();
			sql = created.sql;
			cleanup = created.cleanup;
			await migrate(sql);
			store = withAudit(createSqlStore(sql), sql);
		});

		afterAll(async () => {
			await store?.close();
			await cleanup?.();
		});

		async function record(): Promise<{ id: string; workspace: string }> {
			const workspace = `ws-${randomUUID().slice(0, 8)}`;
			await store.ensureWorkspace(workspace, workspace);
			const id = randomUUID();
			await store.createDocument(id, workspace, Y.encodeStateAsUpdate(new Y.Doc()), row(id, workspace));
			return { id, workspace };
		}

		/** Update `n` of a record, with an entry on a path of its own and a binding, as the origin or a taker sends it. */
		function update(at: { id: string; workspace: string }, n: number, key: UpdateKey): AttributedUpdate {
			const entry: AuditDraft = {
				workspace: at.workspace,
				recordId: at.id,
				at: new Date().toISOString(),
				actor: { client: 100 + n },
				source: 'ui',
				relayedBy: null,
				path: `fields.x_${n}`,
				op: 'set',
				before: null,
				after: `value ${n}`,
				conflict: null
			};
			return { documentId: at.id, update: yjsUpdate(n), audit: [entry], bindings: [{ client: 100 + n, person: ada }], key };
		}

		/** The updates stored after the creation (by their number), and the entries staged, by path, with the person they name. */
		async function stored(id: string): Promise<{ rows: number[]; entries: string[] }> {
			const updates = await store.loadDocument(id);
			const rows = (updates?.updates ?? []).slice(1).map((u) => Y.decodeUpdate(u).structs[0].id.client - 100);
			const staged = await sql.query<{ path: string; actor_id: string; changes: number }>(
				'SELECT path, actor_id, changes FROM audit_pending WHERE record_id = $1 ORDER BY path',
				[id]
			);
			return { rows: rows.sort((x, y) => x - y), entries: staged.map((e) => `${e.path} by ${e.actor_id} x${e.changes}`) };
		}

		const own = (id: number): UpdateKey => ({ origin, id, takenOver: false });
		const taken = (id: number, from = origin): UpdateKey => ({ origin: from, id, takenOver: true });

		it('skips a taken-over update its origin stored, even after compaction, with its entry and binding', async () => {
			const at = await record();
			expect(await store.appendUpdates([update(at, 1, own(1))])).toEqual(new Map([[at.id, 2]]));
			// Compaction folds the update's row away: the origin's mark still says it is stored.
			await store.compact(at.id, Y.encodeStateAsUpdate(new Y.Doc()), 2);
			expect(await store.appendUpdates([update(at, 1, taken(1))])).toEqual(new Map());
			const [entries] = await sql.query<{ n: number }>('SELECT count(*)::integer AS n FROM audit_pending WHERE record_id = $1', [at.id]);
			expect(entries.n).toBe(1);
			expect((await store.loadDocument(at.id))?.lastSeq).toBe(2);
		});

		it('stores a taken-over update once among several takers, and the origin, storing it later, skips it', async () => {
			const at = await record();
			// Origin numbers 2 and 3 are this record's; another record had number 1 before.
			await store.appendUpdates([update(await record(), 1, own(201))]);
			const first = update(at, 2, taken(202));
			expect(await store.appendUpdates([first])).toEqual(new Map([[at.id, 2]]));
			expect(await store.appendUpdates([update(at, 2, taken(202))])).toEqual(new Map());
			// The origin's commit finally comes, with its next update: only that one is new.
			expect(await store.appendUpdates([update(at, 2, own(202)), update(at, 3, own(203))])).toEqual(new Map([[at.id, 3]]));
			expect(await stored(at.id)).toEqual({ rows: [2, 3], entries: ['fields.x_2 by ada x1', 'fields.x_3 by ada x1'] });
			// A taker after the origin: skipped by the mark.
			expect(await store.appendUpdates([update(at, 3, taken(203))])).toEqual(new Map());
			expect(await stored(at.id)).toEqual({ rows: [2, 3], entries: ['fields.x_2 by ada x1', 'fields.x_3 by ada x1'] });
		});

		it('stores updates without a key as before, beside keyed ones, and one key twice in a batch once', async () => {
			const at = await record();
			const plain = { ...update(at, 5, own(1)), key: undefined };
			const elsewhere = randomUUID();
			const seqs = await store.appendUpdates([plain, update(at, 6, taken(1, elsewhere)), update(at, 7, taken(1, elsewhere))]);
			expect(seqs).toEqual(new Map([[at.id, 3]]));
			expect((await stored(at.id)).rows).toEqual([5, 6]);
		});

		it.skipIf(engine.name !== 'postgres')('stores each update once when the origin and two takers race for it', async () => {
			const at = await record();
			const rounds = 20;
			const base = 1_000;
			for (let n = 1; n <= rounds; n++) {
				const key = base + n;
				const attempts = [update(at, n, own(key)), update(at, n, taken(key)), update(at, n, taken(key))];
				// Each in its own transaction, on its own connection of the pool, in a different order each round.
				const order = n % 3 === 0 ? attempts : n % 3 === 1 ? attempts.reverse() : [attempts[1], attempts[0], attempts[2]];
				await Promise.all(order.map((attempt) => store.appendUpdates([attempt])));
			}
			const result = await stored(at.id);
			expect(result.rows).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
			expect(result.entries).toHaveLength(rounds);
			expect(result.entries.every((entry) => entry.endsWith('by ada x1'))).toBe(true);
		});
	});
});
