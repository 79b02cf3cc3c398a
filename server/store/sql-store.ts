/**
 * The document store in SQL, written once for PGlite and Postgres alike.
 *
 * A document is its snapshot plus the updates appended after it, numbered 1, 2, 3…
 * per document with no gaps; `documents.last_seq` is the number of the last one and
 * `snapshot_seq` the last one the snapshot covers. A new document's initial state is
 * update 1, so a snapshot exists only after the first compaction.
 */
import * as Y from 'yjs';
import { projectedFrom, type RecordRow } from '../../src/lib/model/projection.ts';
import type { RecordPage, RecordQuery } from '../../src/lib/server/services.ts';
import type { RecordVisibility } from '../../src/lib/access.ts';
import { migrateIfBehind } from './migrations-current.ts';
import type { ComparisonOp, SearchQuery } from '../../src/lib/search/query.ts';
import { SEARCH_VERSION } from '../../src/lib/search/tokenize.ts';
import { recordSearchEntry } from '../../src/lib/search/record.ts';
import { isRecordDoc, readRecord, newDoc } from '../../src/lib/model/record.ts';
import { DUPLICATE_KEYS_VERSION, duplicateKeys } from '../../src/lib/model/duplicates.ts';
import { backfillDuplicateKeys, duplicateCandidates, duplicateGroups, storedDuplicateKeys } from './duplicate-store.ts';
import { batchedReads } from './batched-reads.ts';
import { LIST_COLUMNS_VERSION, backfillListColumns, conditionSql, listColumnsOf, listColumnsOfRow, sortSql } from './list-columns.ts';
import type { AlsoInTransaction, AppendedUpdate, DocumentStore, NewDocument, Sql, SqlTx, StoredDocument } from './types.ts';
// Document bytes are sealed on the way in and opened on the way out (encryption at rest).
import { openBytes, sealBytes } from '../crypto/data-key.ts';

/** Thrown when a write names a document that does not exist (or an id that cannot be one). */
export class UnknownDocumentError extends Error {
	constructor(readonly documentId: string) {
		super(`no document with id ${JSON.stringify(documentId)}`);
		this.name = 'UnknownDocumentError';
	}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Postgres rejects a malformed uuid with an error; to callers it is simply an id no
 * document has. Any spelling of an id is the same document here (Postgres compares
 * uuids, not text, and what the store hands back is keyed in lower case), so the store
 * is one of the places where ids are canonical; rooms above it key by the canonical
 * spelling too (canonicalRecordId).
 */
export const isDocumentId = (id: string): boolean => UUID.test(id);

/** Updates per statement when appending (3 parameters each): far below the 65,535 a statement may have. */
const INSERT_CHUNK = 1_000;

interface DocumentRow {
	id: string;
	workspace_id: string;
	snapshot: Uint8Array | null;
	snapshot_seq: number;
	last_seq: number;
	updates: Uint8Array[] | null;
}

interface ProjectionRow {
	id: string;
	/** Selected on reads only; the projection writer never touches it. */
	private?: boolean;
	workspace_id: string;
	name: string;
	company: string | null;
	email: string | null;
	phone: string | null;
	stage: string | null;
	owner: string | null;
	value: string | number | null;
	currency: string | null;
	country: string | null;
	city: string | null;
	tags: string[] | null;
	archived: boolean;
	created_at: Date | string;
	updated_at: Date | string;
}

const PROJECTION_COLUMNS =
	'id, workspace_id, name, company, email, phone, stage, owner, value, currency, country, city, tags, archived, created_at, updated_at';
/** What the projection writes: the row, and the record's search tokens (never read back into rows). */
const PROJECTION_WRITE_COLUMNS = `${PROJECTION_COLUMNS}, search_tokens, search_prefixes, search_version, duplicate_keys, duplicate_version, list_fields, list_sort, last_activity_at, list_version`;

/** The writes take `also` as a last argument the interface does not show: callers give it through `alsoInTransaction`. */
interface WritesAlso extends DocumentStore {
	createDocument(id: string, workspace: string, initialState: Uint8Array, projection: RecordRow | null, also?: AlsoInTransaction): Promise<void>;
	createDocuments(documents: readonly NewDocument[], also?: AlsoInTransaction): Promise<void>;
	appendUpdates(batch: readonly AppendedUpdate[], also?: AlsoInTransaction): Promise<Map<string, number>>;
}

export function createSqlStore(sql: Sql): DocumentStore {
	const projections = projectionBatcher(sql);
	const documents = batchedReads((ids) => readDocuments(sql, ids));
	let backfill: Promise<unknown> | undefined;
	let closing = false;
	const store: WritesAlso = {
		kind: sql.kind,

		async migrate() {
			await migrateIfBehind(sql);
			// Rows projected before search existed (or by an older tokenizer) are indexed in
			// the background, so a large workspace does not hold up the start.
			backfill ??= backfillSearchTokens(sql, () => closing)
				.catch(() => {
					// Retried at the next start; until then those rows are indexed when next projected.
				})
				// Duplicate keys the same way (migration 9), after the search tokens.
				.then(() => backfillDuplicates(sql, () => closing))
				.catch(() => {
					// Likewise retried at the next start, or keyed when next projected.
				})
				// And every field on the list row (migration 14), for the list's filters and sorts.
				.then(() => backfillListColumns(sql, (ids) => readDocuments(sql, ids), () => closing))
				.catch(() => {
					// Retried at the next start; until then those rows get them when next projected.
				});
		},

		async ensureWorkspace(id, name) {
			await ensureWorkspace(sql, id, name);
		},

		async createDocument(id, workspace, initialState, projection, also) {
			if (!isDocumentId(id)) throw new Error(`not a document id: ${JSON.stringify(id)}`);
			if (projection && (projection.id !== id || projection.workspace !== workspace)) {
				throw new Error(`the projection of document ${id} must carry the same id and workspace`);
			}
			await sql.transaction(async (tx) => {
				await ensureWorkspace(tx, workspace, workspace);
				const created = await tx.query(
					`INSERT INTO documents (id, workspace_id, last_seq) VALUES ($1, $2, 1)
					 ON CONFLICT (id) DO NOTHING RETURNING id`,
					[id, workspace]
				);
				if (created.length === 0) throw new Error(`document ${id} already exists`);
				await tx.query('INSERT INTO document_updates (document_id, seq, update) VALUES ($1, 1, $2)', [id, sealBytes(initialState)]);
				if (projection) await writeProjections(tx, [projection]);
				await also?.(tx);
			});
		},

		async createDocuments(batch, also) {
			if (batch.length === 0) return;
			for (const doc of batch) {
				if (!isDocumentId(doc.id)) throw new Error(`not a document id: ${JSON.stringify(doc.id)}`);
				if (doc.projection.id !== doc.id || doc.projection.workspace !== doc.workspace) {
					throw new Error(`the projection of document ${doc.id} must carry the same id and workspace`);
				}
			}
			await sql.transaction(async (tx) => {
				for (const workspace of new Set(batch.map((doc) => doc.workspace))) await ensureWorkspace(tx, workspace, workspace);
				const values = (width: number) => batch.map((_, i) => `(${Array.from({ length: width }, (_, k) => `$${i * width + k + 1}`).join(', ')}, 1)`).join(', ');
				const created = await tx.query(
					`INSERT INTO documents (id, workspace_id, last_seq) VALUES ${values(2)} ON CONFLICT (id) DO NOTHING RETURNING id`,
					batch.flatMap((doc) => [doc.id, doc.workspace])
				);
				if (created.length !== batch.length) throw new Error(`${batch.length - created.length} of these documents already exist`);
				await tx.query(
					`INSERT INTO document_updates (document_id, update, seq) VALUES ${values(2)}`,
					batch.flatMap((doc) => [doc.id, sealBytes(doc.initialState)])
				);
				await writeProjections(tx, batch.map((doc) => doc.projection));
				await also?.(tx);
			});
		},

		async loadDocument(id) {
			return isDocumentId(id) ? documents(id) : null;
		},

		async documentWorkspace(id) {
			if (!isDocumentId(id)) return null;
			const [row] = await sql.query<{ workspace_id: string }>('SELECT workspace_id FROM documents WHERE id = $1', [id]);
			return row?.workspace_id ?? null;
		},

		async appendUpdates(batch, also) {
			for (const { documentId } of batch) if (!isDocumentId(documentId)) throw new UnknownDocumentError(documentId);
			if (batch.length === 0) return new Map();
			return sql.transaction(async (tx) => {
				// Updates some instance stored already (published before their commit: UpdateKey) are skipped.
				const appended = batch.some((item) => item.key) ? await unstoredOf(tx, batch) : batch;
				const lastSeqs = appended.length > 0 ? await appendToDocuments(tx, appended) : new Map<string, number>();
				// What describes these updates (their audit entries), in the same transaction: both or neither.
				await also?.(tx, appended);
				return lastSeqs;
			});
		},

		alsoInTransaction(also) {
			return {
				createDocument: (id, workspace, initialState, projection) => store.createDocument(id, workspace, initialState, projection, also),
				createDocuments: (batch) => store.createDocuments(batch, also),
				appendUpdates: (batch) => store.appendUpdates(batch, also)
			};
		},

		async compact(id, snapshot, upToSeq) {
			if (!isDocumentId(id)) throw new UnknownDocumentError(id);
			await sql.transaction(async (tx) => {
				const [row] = await tx.query<{ snapshot_seq: number; last_seq: number }>(
					'SELECT snapshot_seq, last_seq FROM documents WHERE id = $1 FOR UPDATE',
					[id]
				);
				if (!row) throw new UnknownDocumentError(id);
				// An older compaction finishing late must not replace a newer snapshot.
				if (upToSeq <= Number(row.snapshot_seq)) return;
				if (upToSeq > Number(row.last_seq)) {
					throw new Error(`document ${id}: cannot compact up to ${upToSeq}, only ${Number(row.last_seq)} updates are stored`);
				}
				// What is deleted is folded into the new snapshot here, whatever the caller's
				// snapshot holds: a caller whose copy missed some of these updates (a room that
				// had not applied them) cannot make the store forget them. Merging is cheap next
				// to the caller's encoding, and changes nothing when the snapshot covers them all.
				const folded = await tx.query<{ update: Uint8Array }>(
					'SELECT update FROM document_updates WHERE document_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
					[id, Number(row.snapshot_seq), upToSeq]
				);
				const [previous] = await tx.query<{ snapshot: Uint8Array | null }>('SELECT snapshot FROM documents WHERE id = $1', [id]);
				const parts = [snapshot, ...(previous?.snapshot ? [openBytes(bytes(previous.snapshot))] : []), ...folded.map((r) => openBytes(bytes(r.update)))];
				const merged = parts.length === 1 ? snapshot : Y.mergeUpdates(parts);
				await tx.query('UPDATE documents SET snapshot = $2, snapshot_seq = $3 WHERE id = $1', [id, sealBytes(merged), upToSeq]);
				await tx.query('DELETE FROM document_updates WHERE document_id = $1 AND seq <= $2', [id, upToSeq]);
			});
		},

		async pendingUpdateCount(id) {
			if (!isDocumentId(id)) return 0;
			const [row] = await sql.query<{ pending: number }>(
				'SELECT last_seq - snapshot_seq AS pending FROM documents WHERE id = $1',
				[id]
			);
			return row ? Number(row.pending) : 0;
		},

		upsertProjection: (row) => projections.write(row),

		async upsertProjections(rows) {
			if (rows.length <= PROJECTION_CHUNK) {
				await writeProjections(sql, rows);
				return;
			}
			// More than one statement's worth: still all or nothing.
			await sql.transaction((tx) => writeProjections(tx, rows));
		},

		async getProjection(id) {
			if (!isDocumentId(id)) return null;
			const [row] = await sql.query<ProjectionRow>(`SELECT ${PROJECTION_COLUMNS}, private FROM records WHERE id = $1`, [id]);
			return row ? toRecordRow(row) : null;
		},

		async listRecords(query) {
			return listRecords(sql, query);
		},

		duplicateCandidates: (workspace, keys, options) => duplicateCandidates(sql, workspace, keys, options),
		duplicateKeysOf: (id) => (isDocumentId(id) ? storedDuplicateKeys(sql, id) : Promise.resolve(null)),
		duplicateGroups: (workspace, viewer, maxGroup) => duplicateGroups(sql, workspace, viewer, maxGroup),

		async recordsHiddenSince(workspace, since, person) {
			// record_hidings has a row per hiding (migration 6); the latest one per record
			// that concerns this person, for records still private (admins and owners are
			// filtered by the caller, which knows the person's role).
			const rows = await sql.query<{ id: string; hidden_at: Date | string; private: boolean; owner: string | null }>(
				`SELECT h.record_id::text AS id, max(h.hidden_at) AS hidden_at, r.private, r.owner
				   FROM record_hidings AS h JOIN records AS r ON r.id = h.record_id
				  WHERE h.workspace_id = $1 AND ($2::timestamptz IS NULL OR h.hidden_at > $2::timestamptz)
				    AND (h.hidden_from IS NULL OR h.hidden_from = $3) AND r.private
				  GROUP BY h.record_id, r.private, r.owner`,
				[workspace, since, person]
			);
			return rows.map((row) => ({ id: row.id, hiddenAt: isoTime(row.hidden_at), private: row.private, owner: row.owner }));
		},

		async countDocuments(workspace) {
			const [row] =
				workspace === undefined
					? await sql.query<{ count: number }>('SELECT count(*) AS count FROM documents')
					: await sql.query<{ count: number }>('SELECT count(*) AS count FROM documents WHERE workspace_id = $1', [workspace]);
			return Number(row.count);
		},

		async close() {
			closing = true;
			await backfill;
			await projections.drain();
			await sql.close();
		}
	};
	return store;
}

type Queryable = Pick<SqlTx, 'query'>;

/**
 * Documents with their updates since the snapshot, many at once. One statement, so one
 * snapshot of the data: a compaction or append that commits meanwhile cannot leave a gap
 * between a document's snapshot and its updates.
 */
async function readDocuments(sql: Sql, ids: string[]): Promise<Map<string, StoredDocument | Error>> {
	const rows = await sql.query<DocumentRow>(
		`SELECT d.id, d.workspace_id, d.snapshot, d.snapshot_seq, d.last_seq,
		        (SELECT array_agg(u.update ORDER BY u.seq) FROM document_updates u
		          WHERE u.document_id = d.id AND u.seq > d.snapshot_seq AND u.seq <= d.last_seq) AS updates
		   FROM documents d WHERE d.id = ANY($1::uuid[])`,
		[ids]
	);
	const found = new Map<string, StoredDocument | Error>();
	for (const row of rows) {
		const id = row.id.toLowerCase();
		let updates: Uint8Array[];
		let snapshot: Uint8Array | null;
		try {
			updates = (row.updates ?? []).map((update) => openBytes(bytes(update)));
			snapshot = row.snapshot === null ? null : openBytes(bytes(row.snapshot));
		} catch (error) {
			// A value this process's keys cannot open fails its own document only.
			found.set(id, new Error(`document ${id}: ${(error as Error).message}`));
			continue;
		}
		const lastSeq = Number(row.last_seq);
		found.set(
			id,
			updates.length === lastSeq - Number(row.snapshot_seq)
				? { workspace: row.workspace_id, snapshot, updates, lastSeq }
				: new Error(`document ${id}: expected updates ${Number(row.snapshot_seq) + 1}..${lastSeq}, found ${updates.length}`)
		);
	}
	return found;
}

async function ensureWorkspace(db: Queryable, id: string, name: string): Promise<void> {
	await db.query('INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, name]);
}

/**
 * Keeps each document's updates in the order they came. Keyed by the id as Postgres
 * spells it (lower case), so two spellings of one id are one document, as in the database.
 */
function groupByDocument(batch: readonly AppendedUpdate[]): Map<string, { spellings: string[]; updates: Uint8Array[] }> {
	const groups = new Map<string, { spellings: string[]; updates: Uint8Array[] }>();
	for (const { documentId, update } of batch) {
		const id = documentId.toLowerCase();
		const group = groups.get(id);
		if (!group) groups.set(id, { spellings: [documentId], updates: [update] });
		else {
			group.updates.push(update);
			if (!group.spellings.includes(documentId)) group.spellings.push(documentId);
		}
	}
	return groups;
}

/**
 * Numbers and stores the updates of every document of a batch in one statement: bumps
 * each document's `last_seq` by its count of updates and inserts them under the numbers
 * just freed. Returns each document's new `last_seq`, under every spelling of its id the
 * batch used; throws for the first document (in id order) that does not exist, leaving
 * the transaction to roll back what was written.
 *
 * Deadlocks across instances: the sub-select `l` locks the rows in id order (its LockRows
 * sits above its Sort), and the UPDATE only reaches a row once it is joined to the row
 * `l` emitted for it, which is then already locked by this transaction. So every wait
 * for another transaction's lock happens in `l`, in id order, whatever join order the
 * planner picks; a lone `UPDATE ... FROM unnest(...)` would lock in plan order instead.
 */
async function appendToDocuments(tx: Queryable, batch: readonly AppendedUpdate[]): Promise<Map<string, number>> {
	const documents = groupByDocument(batch);
	const ids = [...documents.keys()].sort();
	// Each update's distance from its document's last update: its seq is the new last_seq minus that.
	const rows = ids.flatMap((id) => {
		const { updates } = documents.get(id)!;
		return updates.map((update, i) => ({ id, back: updates.length - 1 - i, update }));
	});
	const params: unknown[] = [ids, ids.map((id) => documents.get(id)!.updates.length)];
	const values = updateValues(rows.slice(0, INSERT_CHUNK), params);
	const bumped = await tx.query<{ id: string; last_seq: number }>(
		`WITH bumped AS (
		   UPDATE documents AS d SET last_seq = d.last_seq + v.n, updated_at = now()
		     FROM unnest($1::uuid[], $2::bigint[]) AS v(id, n),
		          (SELECT id FROM documents WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE) AS l
		    WHERE d.id = v.id AND l.id = v.id
		   RETURNING d.id, d.last_seq
		 ), stored AS (
		   INSERT INTO document_updates (document_id, seq, update)
		   SELECT b.id, b.last_seq - u.back, u.update
		     FROM bumped AS b JOIN (VALUES ${values}) AS u(id, back, update) ON u.id = b.id
		 )
		 SELECT id::text AS id, last_seq FROM bumped`,
		params
	);
	const found = new Map(bumped.map((row) => [row.id, Number(row.last_seq)]));
	const lastSeqs = new Map<string, number>();
	for (const id of ids) {
		const { spellings } = documents.get(id)!;
		const lastSeq = found.get(id);
		if (lastSeq === undefined) throw new UnknownDocumentError(spellings[0]);
		for (const spelling of spellings) lastSeqs.set(spelling, lastSeq);
	}
	// Only a batch too large for one statement gets here (the update writer's never are).
	for (let start = INSERT_CHUNK; start < rows.length; start += INSERT_CHUNK) {
		const more: unknown[] = [];
		const list = updateValues(rows.slice(start, start + INSERT_CHUNK), more);
		await tx.query(
			`INSERT INTO document_updates (document_id, seq, update)
			 SELECT d.id, d.last_seq - u.back, u.update FROM documents AS d JOIN (VALUES ${list}) AS u(id, back, update) ON u.id = d.id`,
			more
		);
	}
	return lastSeqs;
}

/**
 * The updates of a batch that no instance has stored yet (migration 18 says how). First
 * every origin's row is locked, in origin order (two instances lock them in one order,
 * and before any document row), moving the mark of the origin's own updates and flagging
 * those taken over by this one: once locked, whatever another instance claimed is
 * committed and seen by the statements after (read committed takes a snapshot per
 * statement), or waits for this transaction. Then an origin's own updates are stored
 * unless taken over (looked up only when any of its updates ever were), and a taken-over
 * update unless its origin's mark covers it or another taker claimed it first.
 */
async function unstoredOf(tx: Queryable, batch: readonly AppendedUpdate[]): Promise<AppendedUpdate[]> {
	const own = new Map<string, number>();
	const taken = new Set<string>();
	for (const { key } of batch) {
		if (!key) continue;
		if (key.takenOver) taken.add(key.origin);
		else own.set(key.origin, Math.max(own.get(key.origin) ?? 0, key.id));
	}
	const origins = [...new Set([...own.keys(), ...taken])].sort();
	const marks = await tx.query<{ origin: string; through: string | number; taken_over: boolean }>(
		`INSERT INTO update_origins AS o (origin, through, taken_over)
		 SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::boolean[]) ORDER BY 1
		 ON CONFLICT (origin) DO UPDATE SET through = GREATEST(o.through, EXCLUDED.through), taken_over = o.taken_over OR EXCLUDED.taken_over, updated_at = now()
		 RETURNING origin::text AS origin, through, taken_over`,
		[origins, origins.map((origin) => own.get(origin) ?? 0), origins.map((origin) => taken.has(origin))]
	);
	const markOf = new Map(marks.map((row) => [row.origin, row]));
	const skipped = new Set<string>();
	const keyOf = (origin: string, id: number | string) => `${origin}/${id}`;
	// This instance's own updates that another one took over meanwhile.
	const ownLookedUp = batch.filter((item) => item.key && !item.key.takenOver && markOf.get(item.key.origin)?.taken_over);
	if (ownLookedUp.length > 0) {
		const rows = await tx.query<{ origin: string; id: string | number }>(
			`SELECT t.origin::text AS origin, t.id FROM update_takeovers AS t
			   JOIN unnest($1::uuid[], $2::bigint[]) AS k(origin, id) ON t.origin = k.origin AND t.id = k.id`,
			[ownLookedUp.map((item) => item.key!.origin), ownLookedUp.map((item) => item.key!.id)]
		);
		for (const row of rows) skipped.add(keyOf(row.origin, row.id));
	}
	// Others' updates this one takes over: not those their origin stored, nor those another taker claimed.
	const claims = batch.filter((item) => item.key?.takenOver && item.key.id > Number(markOf.get(item.key.origin)?.through ?? 0));
	const claimed = new Set<string>();
	if (claims.length > 0) {
		const rows = await tx.query<{ origin: string; id: string | number }>(
			`INSERT INTO update_takeovers (origin, id) SELECT * FROM unnest($1::uuid[], $2::bigint[]) ORDER BY 1, 2
			 ON CONFLICT DO NOTHING RETURNING origin::text AS origin, id`,
			[claims.map((item) => item.key!.origin), claims.map((item) => item.key!.id)]
		);
		for (const row of rows) claimed.add(keyOf(row.origin, row.id));
	}
	const kept = new Set<string>();
	return batch.filter(({ key }) => {
		if (!key) return true;
		const name = keyOf(key.origin, key.id);
		if (kept.has(name) || (key.takenOver ? !claimed.has(name) : skipped.has(name))) return false;
		kept.add(name);
		return true;
	});
}

/** `($n::uuid, $n::bigint, $n::bytea), …` for the rows, their values pushed onto `params`. */
function updateValues(rows: readonly { id: string; back: number; update: Uint8Array }[], params: unknown[]): string {
	return rows
		.map((row) => {
			params.push(row.id, row.back, sealBytes(row.update));
			return `($${params.length - 2}::uuid, $${params.length - 1}::bigint, $${params.length}::bytea)`;
		})
		.join(', ');
}

/** Rows per projection statement (25 parameters each): far below the 65,535 a statement may have. */
const PROJECTION_CHUNK = 1_000;

/**
 * Writes projection rows, a few hundred per statement. Rows for one id: the last one
 * wins (one statement may not update a row twice). Rows go in id order, so two instances
 * writing overlapping sets lock them in the same order and cannot deadlock.
 */
async function writeProjections(db: Queryable, rows: readonly RecordRow[]): Promise<Map<string, RecordVisibility>> {
	for (const row of rows) if (!isDocumentId(row.id)) throw new UnknownDocumentError(row.id);
	const latest = new Map<string, RecordRow>();
	for (const row of rows) latest.set(row.id.toLowerCase(), row);
	const ordered = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
	const written = new Map<string, RecordVisibility>();
	for (let start = 0; start < ordered.length; start += PROJECTION_CHUNK) {
		const params: unknown[] = [];
		const values = ordered.slice(start, start + PROJECTION_CHUNK).map((row) => {
			// The record's search tokens, made here from the record the row was projected from.
			const source = projectedFrom(row);
			const search = source ? recordSearchEntry(source) : null;
			params.push(
				row.id,
				row.workspace,
				row.name,
				row.company,
				row.email,
				row.phone,
				row.stage,
				row.owner,
				row.value,
				row.currency,
				row.country,
				row.city,
				row.tags,
				row.archived,
				row.createdAt,
				row.updatedAt,
				search?.tokens ?? [],
				search?.prefixes ?? [],
				// A row not made by projectRecord has no tokens: left for the backfill to index.
				search ? SEARCH_VERSION : 0,
				// Its duplicate keys likewise (migration 9), in the same statement as the row.
				source ? duplicateKeys(source.fields) : [],
				source ? DUPLICATE_KEYS_VERSION : 0,
				// Every field for the list's filters and sorts (migration 14); a row without its record waits for the backfill.
				...listColumnParams(source, row)
			);
			const p = (i: number) => `$${params.length - 25 + i}`;
			return `(${p(1)}::uuid, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::text, ${p(6)}::text, ${p(7)}::text, ${p(8)}::text, ${p(9)}::numeric, ${p(10)}::text, ${p(11)}::text, ${p(12)}::text, ${p(13)}::text[], ${p(14)}::boolean, ${p(15)}::timestamptz, ${p(16)}::timestamptz, ${p(17)}::text[], ${p(18)}::text[], ${p(19)}::smallint, ${p(20)}::text[], ${p(21)}::smallint, ${p(22)}::jsonb, ${p(23)}::jsonb, ${p(24)}::timestamptz, ${p(25)}::smallint)`;
		});
		// Returning who may see each record: `private` is the database's, not the document's,
		// and the caller announces the change to those people only (one round trip, not two).
		const returned = await db.query<{ id: string; private: boolean; owner: string | null }>(
			`INSERT INTO records (${PROJECTION_WRITE_COLUMNS})
			 VALUES ${values.join(', ')}
			 ON CONFLICT (id) DO UPDATE SET
			   workspace_id = EXCLUDED.workspace_id, name = EXCLUDED.name, company = EXCLUDED.company,
			   email = EXCLUDED.email, phone = EXCLUDED.phone, stage = EXCLUDED.stage, owner = EXCLUDED.owner,
			   value = EXCLUDED.value, currency = EXCLUDED.currency, country = EXCLUDED.country, city = EXCLUDED.city,
			   tags = EXCLUDED.tags, archived = EXCLUDED.archived, created_at = EXCLUDED.created_at,
			   updated_at = EXCLUDED.updated_at, search_tokens = EXCLUDED.search_tokens,
			   search_prefixes = EXCLUDED.search_prefixes, search_version = EXCLUDED.search_version,
			   duplicate_keys = EXCLUDED.duplicate_keys, duplicate_version = EXCLUDED.duplicate_version,
			   list_fields = EXCLUDED.list_fields, list_sort = EXCLUDED.list_sort,
			   last_activity_at = EXCLUDED.last_activity_at, list_version = EXCLUDED.list_version
			 RETURNING id::text AS id, private, owner`,
			params
		);
		for (const row of returned) written.set(row.id.toLowerCase(), { private: row.private, owner: row.owner });
	}
	return written;
}

/**
 * The list columns' four parameters for a row: from its record; without it, what the row
 * itself holds (so it still sorts by its own columns) at version 0, for the backfill to redo.
 */
function listColumnParams(source: ReturnType<typeof projectedFrom>, row: RecordRow): unknown[] {
	if (!source) {
		const own = listColumnsOfRow(row);
		return [JSON.stringify(own.fields), JSON.stringify(own.sort), row.createdAt, 0];
	}
	const columns = listColumnsOf(source);
	return [JSON.stringify(columns.fields), JSON.stringify(columns.sort), columns.lastActivityAt ?? row.createdAt, LIST_COLUMNS_VERSION];
}

/** A written row's visibility; a row the statement did not return is taken as hidden from all but admins. */
function visibilityOf(written: ReadonlyMap<string, RecordVisibility>, row: RecordRow): RecordVisibility {
	return written.get(row.id.toLowerCase()) ?? { private: true, owner: null };
}

/** How long a single projection write waits for others to share its statement. */
const PROJECTION_BATCH_MS = 2;

interface ProjectionWaiter {
	resolve(visibility: RecordVisibility): void;
	reject(error: unknown): void;
}

/**
 * Coalesces single projection writes arriving within PROJECTION_BATCH_MS (typically the
 * refreshes of every record one group commit stored, which all wake up together) into
 * one statement. One batch is written at a time, so a later write of a row never lands
 * before an earlier one; what arrives meanwhile is the next batch. A batch that fails
 * fails only its own callers; when the failure is one row's (its document was removed,
 * a value does not fit), each row is retried alone, so only that row's callers see it.
 */
function projectionBatcher(sql: Sql) {
	let queued = new Map<string, { row: RecordRow; waiters: ProjectionWaiter[] }>();
	let timer: ReturnType<typeof setTimeout> | null = null;
	let writing: Promise<void> | null = null;

	function schedule(): void {
		if (timer || writing || queued.size === 0) return;
		timer = setTimeout(flush, PROJECTION_BATCH_MS);
	}

	function flush(): void {
		if (timer) clearTimeout(timer);
		timer = null;
		if (writing || queued.size === 0) return;
		const batch = [...queued.values()];
		queued = new Map();
		writing = writeBatch(batch).finally(() => {
			writing = null;
			// Whatever came in meanwhile has waited long enough.
			flush();
		});
	}

	async function writeBatch(batch: readonly { row: RecordRow; waiters: ProjectionWaiter[] }[]): Promise<void> {
		try {
			const written = await writeProjections(sql, batch.map((entry) => entry.row));
			for (const entry of batch) for (const waiter of entry.waiters) waiter.resolve(visibilityOf(written, entry.row));
			return;
		} catch (error) {
			if (batch.length === 1 || !isRowError(error)) {
				for (const entry of batch) for (const waiter of entry.waiters) waiter.reject(error);
				return;
			}
		}
		for (const entry of batch) {
			try {
				const written = await writeProjections(sql, [entry.row]);
				for (const waiter of entry.waiters) waiter.resolve(visibilityOf(written, entry.row));
			} catch (error) {
				for (const waiter of entry.waiters) waiter.reject(error);
			}
		}
	}

	return {
		write(row: RecordRow): Promise<RecordVisibility> {
			if (!isDocumentId(row.id)) return Promise.reject(new UnknownDocumentError(row.id));
			return new Promise<RecordVisibility>((resolve, reject) => {
				const key = row.id.toLowerCase();
				const entry = queued.get(key);
				if (entry) {
					entry.row = row;
					entry.waiters.push({ resolve, reject });
				} else queued.set(key, { row, waiters: [{ resolve, reject }] });
				schedule();
			});
		},

		/** Writes what is queued now, and resolves once nothing is being written. */
		async drain(): Promise<void> {
			flush();
			while (writing) await writing;
		}
	};
}

/**
 * Whether a failed statement failed because of the data it carried (SQLSTATE class 22,
 * data exception, or 23, integrity constraint violation), not because of the connection
 * or the server: only then can writing the rows one by one succeed for some of them.
 */
function isRowError(error: unknown): boolean {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

async function listRecords(sql: Sql, query: RecordQuery): Promise<RecordPage> {
	const params: unknown[] = [query.workspace];
	const where = ['workspace_id = $1'];
	if (query.stage !== undefined) {
		params.push(query.stage);
		where.push(`stage = $${params.length}`);
	}
	if (query.owner !== undefined) {
		params.push(query.owner);
		where.push(`owner = $${params.length}`);
	}
	if (!query.includeArchived) where.push('NOT archived');
	if (query.viewer && !query.viewer.admin) {
		params.push(query.viewer.id);
		where.push(`(NOT private OR owner = $${params.length})`);
	}
	if (query.search) where.push(...searchConditions(query.search, params));
	// Dates, custom fields' numbers and idleness (list-columns.ts), measured to the present.
	if (query.search) where.push(...conditionSql(query.search.conditions, params, Date.now()));
	const filter = where.join(' AND ');

	const direction = query.descending ?? query.sort === undefined;
	const limit = Math.max(0, Math.trunc(query.limit));
	const offset = Math.max(0, Math.trunc(query.offset));

	const sortParams = [...params];
	const order = sortSql(query.sort ?? 'updatedAt', direction, sortParams);
	const pageSql = `SELECT ${PROJECTION_COLUMNS}, list_fields, private FROM records WHERE ${filter}
		 ORDER BY ${order}, id ASC
		 LIMIT $${sortParams.length + 1} OFFSET $${sortParams.length + 2}`;
	const pageParams = [...sortParams, limit, offset];
	// Counting every match of a broad search visits most of the table (70,000 rows of
	// 100,000 cost over 100 ms): a search's count stops at the cap, and says so. The cap
	// is never below the page's end, so a page past the end still learns the true total.
	const cap = query.countUpTo ?? (query.search ? SEARCH_COUNT_CAP : null);
	const upTo = cap === null ? 0 : Math.max(cap, offset + limit);
	const counted = (count: number): Pick<RecordPage, 'total' | 'totalCapped'> => (cap !== null && count > upTo ? { total: upTo, totalCapped: true } : { total: count });
	const cappedCountSql = `SELECT count(*) AS total FROM (SELECT 1 FROM records WHERE ${filter} LIMIT $${params.length + 1}) AS capped`;

	if (cap !== null && query.search && query.search.clauses.length > 0) {
		// A search for words: its tokens' GIN index finds the matches without reading their
		// token arrays, which are large and stored out of line (TOAST). The planner prices
		// reading them as nothing, so left alone it counts by a sequential scan that opens
		// every row's array (3.7 s for 10,000 of `huaxin`'s matches at 100,000 records), and
		// pages a few thousand matches by walking the time index, opening each one's too.
		// So the count goes through the GIN index (bitmap scans only), and a page of at most
		// BITMAP_PAGE_MAX matches is sorted from them the same way; a broader one walks the
		// (workspace_id, updated_at DESC, id) index, where a page is found within its first
		// few hundred rows.
		return sql.transaction(async (tx) => {
			// For this transaction only (set_config's `true`): bitmap scans, no row-by-row ones.
			await tx.query(`SELECT set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)`);
			const [count] = await tx.query<{ total: number }>(cappedCountSql, [...params, upTo + 1]);
			const total = Number(count.total);
			if (total > BITMAP_PAGE_MAX) await tx.query(`SELECT set_config('enable_seqscan', 'on', true), set_config('enable_indexscan', 'on', true)`);
			const rows = await tx.query<ProjectionRow>(pageSql, pageParams);
			return { rows: rows.map(listRow), ...counted(total) };
		});
	}

	const page = (await sql.query<ProjectionRow>(pageSql, pageParams)).map(listRow);
	// A page that is not full ends the list: its last row is the total's.
	if (limit > 0 && (page.length > 0 || offset === 0) && page.length < limit) return { rows: page, total: offset + page.length };
	if (cap === null) {
		const [count] = await sql.query<{ total: number }>(`SELECT count(*) AS total FROM records WHERE ${filter}`, params);
		return { rows: page, total: Number(count.total) };
	}
	const [count] = await sql.query<{ total: number }>(cappedCountSql, [...params, upTo + 1]);
	return { rows: page, ...counted(Number(count.total)) };
}

/**
 * Where a search's count stops (`totalCapped`: "10,000+"): past it, counting costs a
 * visit to every further match, and nobody pages that far.
 */
export const SEARCH_COUNT_CAP = 10_000;
/** A search with at most this many matches is paged by sorting them (see listRecords), a broader one by the time index. */
const BITMAP_PAGE_MAX = 5_000;

/**
 * What a search adds to the records list's WHERE (over `records`, unqualified columns), for
 * others that select "the records matching q" as the list does: the dashboard's segments.
 */
export function searchWhere(search: SearchQuery, params: unknown[], now: number): string[] {
	return [...searchConditions(search, params), ...conditionSql(search.conditions, params, now)];
}

/** Records indexed per statement by the backfill. */
const BACKFILL_BATCH = 100;

/**
 * Gives rows without current search tokens (search_version below SEARCH_VERSION) their
 * tokens, from their documents, a batch at a time. A row projected meanwhile is left as
 * it is (its tokens are newer). Stops between batches once `stop()` says so.
 */
export async function backfillSearchTokens(sql: Sql, stop: () => boolean = () => false): Promise<number> {
	let indexed = 0;
	while (!stop()) {
		const stale = await sql.query<{ id: string }>('SELECT id::text AS id FROM records WHERE search_version < $1 ORDER BY id LIMIT $2', [SEARCH_VERSION, BACKFILL_BATCH]);
		if (stale.length === 0) break;
		const documents = await readDocuments(sql, stale.map((row) => row.id));
		const entries = stale.map(({ id }) => {
			const stored = documents.get(id.toLowerCase());
			// A document that cannot be read is marked all the same (with no tokens), or the loop would never end.
			let entry: { tokens: string[]; prefixes: string[] } = { tokens: [], prefixes: [] };
			if (stored && !(stored instanceof Error)) {
				const doc = newDoc();
				try {
					if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
					for (const update of stored.updates) Y.applyUpdate(doc, update);
					if (isRecordDoc(doc)) entry = recordSearchEntry(readRecord(doc, id));
				} catch {
					// Left without tokens; the next projection of the record gives it some.
				} finally {
					doc.destroy();
				}
			}
			return { id, tokens: entry.tokens, prefixes: entry.prefixes };
		});
		await sql.query(
			`UPDATE records AS r
			    SET search_tokens = ARRAY(SELECT jsonb_array_elements_text(v.tokens)),
			        search_prefixes = ARRAY(SELECT jsonb_array_elements_text(v.prefixes)),
			        search_version = $2
			   FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, tokens jsonb, prefixes jsonb)
			  WHERE r.id = v.id AND r.search_version < $2`,
			[JSON.stringify(entries), SEARCH_VERSION]
		);
		indexed += entries.length;
	}
	return indexed;
}

/** Gives rows without current duplicate keys their keys, from their documents (see backfillDuplicateKeys). */
export function backfillDuplicates(sql: Sql, stop: () => boolean = () => false): Promise<number> {
	return backfillDuplicateKeys(sql, (ids) => readDocuments(sql, ids), stop);
}

/** Whitelist of comparison operators spliced into SQL, by the parsed query's operator. */
const COMPARISON: Record<ComparisonOp, string> = { '=': '=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' };

/**
 * A parsed search (src/lib/search/query.ts) as conditions over the stored tokens and
 * the row's columns; every value a parameter. The same plan is evaluated in the browser
 * by `matches` (src/lib/search/match.ts), step for step:
 * - an alternative's whole tokens: `search_tokens @> $n` (GIN);
 * - its prefix: `search_prefixes @> ARRAY[first PREFIX_MAX characters]` (GIN), and when
 *   the prefix is longer than that, a token that starts with all of it (checked only on
 *   the rows the index found);
 * - a term: any of its alternatives; the query: every term and filter.
 */
function searchConditions(search: SearchQuery, params: unknown[]): string[] {
	const param = (value: unknown): string => {
		params.push(value);
		return `$${params.length}`;
	};
	const conditions: string[] = [];
	for (const clause of search.clauses) {
		const alternatives = clause.anyOf.map((alt) => {
			const parts: string[] = [];
			if (alt.all.length > 0) parts.push(`search_tokens @> ${param(alt.all)}::text[]`);
			if (alt.prefix) {
				parts.push(`search_prefixes @> ${param([alt.prefix.indexed])}::text[]`);
				if (alt.prefix.exact) {
					parts.push(`EXISTS (SELECT 1 FROM unnest(search_tokens) AS t WHERE starts_with(t, ${param(alt.prefix.full)}::text))`);
				}
			}
			return parts.length > 0 ? `(${parts.join(' AND ')})` : 'true';
		});
		conditions.push(alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' OR ')})`);
	}
	for (const filter of search.filters) {
		switch (filter.field) {
			case 'stage':
			case 'owner':
			case 'currency':
			case 'country':
				conditions.push(`${filter.field} = ${param(filter.value)}::text`);
				break;
			case 'tag':
				conditions.push(`tags @> ${param([filter.value])}::text[]`);
				break;
			case 'value':
				conditions.push(`value ${COMPARISON[filter.op]} ${param(filter.value)}::numeric`);
				break;
		}
	}
	return conditions;
}

function toRecordRow(row: ProjectionRow): RecordRow {
	return {
		id: row.id,
		workspace: row.workspace_id,
		name: row.name,
		company: row.company,
		email: row.email,
		phone: row.phone,
		stage: row.stage,
		owner: row.owner,
		// numeric comes back as text on both engines, to keep its precision.
		value: row.value === null ? null : Number(row.value),
		currency: row.currency,
		country: row.country,
		city: row.city,
		tags: row.tags ?? [],
		archived: row.archived,
		private: row.private === true,
		createdAt: isoTime(row.created_at),
		updatedAt: isoTime(row.updated_at)
	};
}

/** A list row: the row, with the workspace's own fields' values for the list's columns. */
function listRow(row: ProjectionRow & { list_fields?: Record<string, unknown> | string | null }): RecordRow {
	const out = toRecordRow(row);
	const stored = typeof row.list_fields === 'string' ? (JSON.parse(row.list_fields) as Record<string, unknown>) : row.list_fields;
	const custom = Object.entries(stored ?? {}).filter(([key, value]) => key.startsWith('x_') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'));
	if (custom.length > 0) out.custom = Object.fromEntries(custom) as Record<string, string | number | boolean>;
	return out;
}

const isoTime = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

/** node-postgres gives Buffers; hand out plain Uint8Array views so both engines return the same type. */
function bytes(value: Uint8Array): Uint8Array {
	return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}
