/**
 * The document store in SQL, written once for PGlite and Postgres alike.
 *
 * A document is its snapshot plus the updates appended after it, numbered 1, 2, 3…
 * per document with no gaps; `documents.last_seq` is the number of the last one and
 * `snapshot_seq` the last one the snapshot covers. A new document's initial state is
 * update 1, so a snapshot exists only after the first compaction.
 */
import type { RecordRow, SortColumn } from '../../src/lib/model/projection.ts';
import type { RecordPage, RecordQuery } from '../../src/lib/server/services.ts';
import { migrate } from './migrations.ts';
import type { AppendedUpdate, DocumentStore, Sql, SqlTx, StoredDocument } from './types.ts';
import { bindClients, loadBindings, lookupBindings, stageAudit } from './audit-store.ts';

/** Thrown when a write names a document that does not exist (or an id that cannot be one). */
export class UnknownDocumentError extends Error {
	constructor(readonly documentId: string) {
		super(`no document with id ${JSON.stringify(documentId)}`);
		this.name = 'UnknownDocumentError';
	}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Postgres rejects a malformed uuid with an error; to callers it is simply an id no document has. */
export const isDocumentId = (id: string): boolean => UUID.test(id);

/** Whitelist: the only text ever spliced into SQL, chosen by key, never taken from input. */
const ORDER_BY: Record<SortColumn, string> = {
	name: 'lower(name)',
	company: 'lower(company)',
	stage: 'stage',
	owner: 'owner',
	value: 'value',
	updatedAt: 'updated_at'
};

/** Rows per INSERT when appending; keeps far below the 65,535 parameters a statement may have. */
const INSERT_CHUNK = 1_000;

interface DocumentRow {
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

export function createSqlStore(sql: Sql): DocumentStore {
	return {
		kind: sql.kind,

		async migrate() {
			await migrate(sql);
		},

		async ensureWorkspace(id, name) {
			await ensureWorkspace(sql, id, name);
		},

		async createDocument(id, workspace, initialState, projection, audit) {
			if (!isDocumentId(id)) throw new Error(`not a document id: ${JSON.stringify(id)}`);
			if (projection.id !== id || projection.workspace !== workspace) {
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
				await tx.query('INSERT INTO document_updates (document_id, seq, update) VALUES ($1, 1, $2)', [id, initialState]);
				await writeProjection(tx, projection);
				if (audit) {
					await bindClients(tx, id, [audit.binding.client], audit.binding.person);
					await stageAudit(tx, audit.drafts);
				}
			});
		},

		async loadDocument(id) {
			if (!isDocumentId(id)) return null;
			// One statement, so one snapshot of the data: a compaction or append that
			// commits meanwhile cannot leave a gap between snapshot and updates.
			const [row] = await sql.query<DocumentRow>(
				`SELECT d.workspace_id, d.snapshot, d.snapshot_seq, d.last_seq,
				        (SELECT array_agg(u.update ORDER BY u.seq) FROM document_updates u
				          WHERE u.document_id = d.id AND u.seq > d.snapshot_seq AND u.seq <= d.last_seq) AS updates
				   FROM documents d WHERE d.id = $1`,
				[id]
			);
			if (!row) return null;
			const updates = (row.updates ?? []).map(bytes);
			const document: StoredDocument = {
				workspace: row.workspace_id,
				snapshot: row.snapshot === null ? null : bytes(row.snapshot),
				updates,
				lastSeq: Number(row.last_seq)
			};
			if (updates.length !== document.lastSeq - Number(row.snapshot_seq)) {
				throw new Error(`document ${id}: expected updates ${Number(row.snapshot_seq) + 1}..${document.lastSeq}, found ${updates.length}`);
			}
			return document;
		},

		async documentWorkspace(id) {
			if (!isDocumentId(id)) return null;
			const [row] = await sql.query<{ workspace_id: string }>('SELECT workspace_id FROM documents WHERE id = $1', [id]);
			return row?.workspace_id ?? null;
		},

		async appendUpdates(batch) {
			const byDocument = groupByDocument(batch);
			for (const id of byDocument.keys()) if (!isDocumentId(id)) throw new UnknownDocumentError(id);
			if (byDocument.size === 0) return new Map();
			return sql.transaction(async (tx) => {
				const lastSeqs = new Map<string, number>();
				// Rows are locked in id order, so two instances appending to overlapping
				// sets of documents cannot deadlock.
				for (const id of [...byDocument.keys()].sort()) {
					const updates = byDocument.get(id) ?? [];
					const [row] = await tx.query<{ last_seq: number }>(
						'UPDATE documents SET last_seq = last_seq + $2, updated_at = now() WHERE id = $1 RETURNING last_seq',
						[id, updates.length]
					);
					if (!row) throw new UnknownDocumentError(id);
					const lastSeq = Number(row.last_seq);
					await insertUpdates(tx, id, lastSeq - updates.length + 1, updates);
					lastSeqs.set(id, lastSeq);
				}
				// Bindings made while the database was away, before the entries that name them.
				const bindings = new Map<string, { documentId: string; client: number; person: { id: string; name: string } }>();
				for (const item of batch) for (const b of item.bindings ?? []) bindings.set(`${item.documentId}:${b.client}`, { documentId: item.documentId, ...b });
				for (const { documentId, client, person } of bindings.values()) await bindClients(tx, documentId, [client], person);
				// The entries describing these updates, in the same transaction: both or neither.
				await stageAudit(
					tx,
					batch.flatMap((item) => item.audit ?? [])
				);
				return lastSeqs;
			});
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
				await tx.query('UPDATE documents SET snapshot = $2, snapshot_seq = $3 WHERE id = $1', [id, snapshot, upToSeq]);
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

		async upsertProjection(row) {
			await writeProjection(sql, row);
		},

		async getProjection(id) {
			if (!isDocumentId(id)) return null;
			const [row] = await sql.query<ProjectionRow>(`SELECT ${PROJECTION_COLUMNS}, private FROM records WHERE id = $1`, [id]);
			return row ? toRecordRow(row) : null;
		},

		async listRecords(query) {
			return listRecords(sql, query);
		},

		async countDocuments(workspace) {
			const [row] =
				workspace === undefined
					? await sql.query<{ count: number }>('SELECT count(*) AS count FROM documents')
					: await sql.query<{ count: number }>('SELECT count(*) AS count FROM documents WHERE workspace_id = $1', [workspace]);
			return Number(row.count);
		},

		async loadBindings(documentId) {
			return isDocumentId(documentId) ? loadBindings(sql, documentId) : new Map();
		},

		async lookupBindings(documentId, clients) {
			return isDocumentId(documentId) ? lookupBindings(sql, documentId, clients) : new Map();
		},

		async bindClients(documentId, clients, person) {
			if (!isDocumentId(documentId)) throw new UnknownDocumentError(documentId);
			return bindClients(sql, documentId, clients, person);
		},

		close: () => sql.close()
	};
}

type Queryable = Pick<SqlTx, 'query'>;

async function ensureWorkspace(db: Queryable, id: string, name: string): Promise<void> {
	await db.query('INSERT INTO workspaces (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, name]);
}

/** Keeps each document's updates in the order they came, documents in first-seen order. */
function groupByDocument(batch: readonly AppendedUpdate[]): Map<string, Uint8Array[]> {
	const groups = new Map<string, Uint8Array[]>();
	for (const { documentId, update } of batch) {
		const group = groups.get(documentId);
		if (group) group.push(update);
		else groups.set(documentId, [update]);
	}
	return groups;
}

async function insertUpdates(tx: SqlTx, id: string, firstSeq: number, updates: readonly Uint8Array[]): Promise<void> {
	for (let start = 0; start < updates.length; start += INSERT_CHUNK) {
		const chunk = updates.slice(start, start + INSERT_CHUNK);
		const params: unknown[] = [id];
		const rows = chunk.map((update, i) => {
			params.push(firstSeq + start + i, update);
			return `($1, $${params.length - 1}::bigint, $${params.length}::bytea)`;
		});
		await tx.query(`INSERT INTO document_updates (document_id, seq, update) VALUES ${rows.join(', ')}`, params);
	}
}

async function writeProjection(db: Queryable, row: RecordRow): Promise<void> {
	if (!isDocumentId(row.id)) throw new UnknownDocumentError(row.id);
	await db.query(
		`INSERT INTO records (${PROJECTION_COLUMNS})
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::text[], $14, $15::timestamptz, $16::timestamptz)
		 ON CONFLICT (id) DO UPDATE SET
		   workspace_id = EXCLUDED.workspace_id, name = EXCLUDED.name, company = EXCLUDED.company,
		   email = EXCLUDED.email, phone = EXCLUDED.phone, stage = EXCLUDED.stage, owner = EXCLUDED.owner,
		   value = EXCLUDED.value, currency = EXCLUDED.currency, country = EXCLUDED.country, city = EXCLUDED.city,
		   tags = EXCLUDED.tags, archived = EXCLUDED.archived, created_at = EXCLUDED.created_at,
		   updated_at = EXCLUDED.updated_at`,
		[
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
			row.updatedAt
		]
	);
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
	const filter = where.join(' AND ');

	const column = ORDER_BY[query.sort ?? 'updatedAt'];
	if (column === undefined) throw new Error(`cannot sort by ${JSON.stringify(query.sort)}`);
	const direction = (query.descending ?? query.sort === undefined) ? 'DESC' : 'ASC';
	const limit = Math.max(0, Math.trunc(query.limit));
	const offset = Math.max(0, Math.trunc(query.offset));

	const [count] = await sql.query<{ total: number }>(`SELECT count(*) AS total FROM records WHERE ${filter}`, params);
	const rows = await sql.query<ProjectionRow>(
		`SELECT ${PROJECTION_COLUMNS}, private FROM records WHERE ${filter}
		 ORDER BY ${column} ${direction} NULLS LAST, id ASC
		 LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
		[...params, limit, offset]
	);
	return { rows: rows.map(toRecordRow), total: Number(count.total) };
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

const isoTime = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

/** node-postgres gives Buffers; hand out plain Uint8Array views so both engines return the same type. */
function bytes(value: Uint8Array): Uint8Array {
	return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}
