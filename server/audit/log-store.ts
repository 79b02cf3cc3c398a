/**
 * The audit log in SQL (PGlite and Postgres alike) after staging (staging.ts): sealing
 * into the hash chain, reading, verifying and what anchors need; and the audit store
 * over one connection.
 *
 *   2. sealed, once its window has closed: moved into `audit_log` with the next `seq`
 *      of its workspace and hash = sha256(prev_hash + canonical content), the chain's
 *      end kept in `audit_heads` and locked while appending (safe across instances).
 * `audit_log` rows never change (a trigger refuses UPDATE and DELETE; erasure is the one
 * exception, erasure.ts); `verify` recomputes the chain and names the first entry that does not fit.
 */
import type { AuditEntry, AuditPage, AuditPerson, AuditValue } from '../../src/lib/model/audit.ts';
import { fieldFilter } from '../../src/lib/model/audit.ts';
import { GENESIS_HASH, entryHash, entryHashV2, newValuesSalt, valuesHash, type SealedContent } from './hash.ts';
import type { AuditDraft } from './types.ts';
import type { Queryable } from './bindings.ts';
import { COALESCE_MAX_MS, COALESCE_WINDOW_MS, ROWS_PER_INSERT, iso, json, stageAudit, type PendingRow } from './staging.ts';
import type { Sql } from '../store/types.ts';
import { openAuditValue, storedAuditJson } from '../crypto/data-key.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/* ------------------------------------------------------------------ sealing */

const SEAL_BATCH = 500;

interface LogRow extends PendingRow {
	seq: number;
	staged_id: number | null;
	prev_hash: string;
	hash: string;
	/** Version 2 entries (migration 12); the salt is gone once the values are erased. */
	values_salt?: string | null;
	values_hash?: string | null;
	erased_at?: Date | string | null;
}

/**
 * The hash an entry should have, from its columns: version 1 over the values themselves,
 * version 2 over their salted hash. An erased version 2 entry is checked through the
 * values hash it keeps; an erased version 1 entry (sealed before migration 12) has
 * nothing left to check its values against, so its stored hash is taken as it is and
 * only its place in the chain is checked. Null: the values do not match their hash.
 */
function expectedHash(prevHash: string, row: LogRow): string | null {
	const content = sealedContent(row);
	if (!row.values_hash) return row.erased_at ? row.hash : entryHash(prevHash, content);
	if (!row.erased_at && (!row.values_salt || valuesHash(row.values_salt, content) !== row.values_hash)) return null;
	return entryHashV2(prevHash, content, row.values_hash);
}

/** A row with its values as written: sealed ones opened (what the chain's hashes and readers see). */
function opened<R extends Pick<PendingRow, 'before' | 'after' | 'conflict'>>(row: R): R {
	return { ...row, before: openAuditValue(row.before), after: openAuditValue(row.after), conflict: openAuditValue(row.conflict) };
}

function sealedContent(row: Omit<PendingRow, 'id'> & { seq: number; staged_id: number | null }): SealedContent {
	return {
		workspace: row.workspace_id,
		seq: Number(row.seq),
		recordId: row.record_id,
		at: iso(row.at),
		firstAt: iso(row.first_at),
		changes: Number(row.changes),
		actorId: row.actor_id,
		actorName: row.actor_name,
		source: row.source,
		relayedBy: row.relayed_by ?? null,
		path: row.path,
		op: row.op,
		before: row.before ?? null,
		after: row.after ?? null,
		conflict: row.conflict ?? null,
		stagedId: row.staged_id === null ? null : Number(row.staged_id)
	};
}

/**
 * Seals staged entries into the hash chain: those whose coalescing window has closed
 * by `now`, or all of them. Several instances may seal at once: each takes the rows
 * nobody else holds, and the chain's end is locked per workspace. Returns how many.
 */
export async function sealAudit(sql: Sql, options: { all?: boolean; now?: number } = {}): Promise<number> {
	const now = options.now ?? Date.now();
	let total = 0;
	for (;;) {
		const sealed = await sql.transaction(async (tx) => {
			const rows = await tx.query<PendingRow>(
				`SELECT id, workspace_id, record_id, first_at, at, changes, actor_id, actor_name, source, relayed_by, path, op, before, after, conflict
				   FROM audit_pending
				  WHERE $1::boolean OR coalesce_key IS NULL OR at < $2::timestamptz OR first_at < $3::timestamptz
				  ORDER BY id LIMIT ${SEAL_BATCH} FOR UPDATE SKIP LOCKED`,
				[options.all === true, new Date(now - COALESCE_WINDOW_MS).toISOString(), new Date(now - COALESCE_MAX_MS).toISOString()]
			);
			if (rows.length === 0) return 0;
			const byWorkspace = new Map<string, PendingRow[]>();
			for (const row of rows) {
				const list = byWorkspace.get(row.workspace_id);
				if (list) list.push(row);
				else byWorkspace.set(row.workspace_id, [row]);
			}
			for (const workspace of [...byWorkspace.keys()].sort()) {
				await appendToChain(tx, workspace, byWorkspace.get(workspace)!);
			}
			await tx.query('DELETE FROM audit_pending WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
			return rows.length;
		});
		total += sealed;
		if (sealed < SEAL_BATCH) return total;
	}
}

async function appendToChain(tx: Queryable, workspace: string, rows: readonly PendingRow[]): Promise<void> {
	await tx.query('INSERT INTO audit_heads (workspace_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (workspace_id) DO NOTHING', [workspace, GENESIS_HASH]);
	const [head] = await tx.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_heads WHERE workspace_id = $1 FOR UPDATE', [workspace]);
	let seq = Number(head.seq);
	let prevHash = head.hash;
	for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
		const params: unknown[] = [];
		const values = rows.slice(start, start + ROWS_PER_INSERT).map((row) => {
			seq++;
			const content = sealedContent({ ...opened(row), seq, staged_id: Number(row.id) });
			// Version 2: the values under their own salted hash, so an erasure can remove them (hash.ts).
			const salt = newValuesSalt();
			const digest = valuesHash(salt, content);
			const hash = entryHashV2(prevHash, content, digest);
			params.push(
				content.workspace,
				content.seq,
				content.recordId,
				content.at,
				content.firstAt,
				content.changes,
				content.actorId,
				content.actorName,
				content.source,
				json(content.relayedBy),
				content.path,
				content.op,
				storedAuditJson(content.before, content.path),
				storedAuditJson(content.after, content.path),
				storedAuditJson(content.conflict, content.path),
				content.stagedId,
				prevHash,
				hash,
				salt,
				digest
			);
			prevHash = hash;
			const n = params.length - 20;
			const p = (i: number) => `$${n + i}`;
			return `(${p(1)}, ${p(2)}::bigint, ${p(3)}::uuid, ${p(4)}::timestamptz, ${p(5)}::timestamptz, ${p(6)}::integer, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}::jsonb, ${p(11)}, ${p(12)}, ${p(13)}::jsonb, ${p(14)}::jsonb, ${p(15)}::jsonb, ${p(16)}::bigint, ${p(17)}, ${p(18)}, ${p(19)}, ${p(20)})`;
		});
		await tx.query(
			`INSERT INTO audit_log (workspace_id, seq, record_id, at, first_at, changes, actor_id, actor_name, source, relayed_by, path, op, before, after, conflict, staged_id, prev_hash, hash, values_salt, values_hash)
			 VALUES ${values.join(', ')}`,
			params
		);
	}
	await tx.query('UPDATE audit_heads SET seq = $2, hash = $3 WHERE workspace_id = $1', [workspace, seq, prevHash]);
}

/* ------------------------------------------------------------------ reading */

export interface AuditFilter {
	workspace: string;
	recordId?: string;
	/** A `field` filter as the API takes it (see fieldFilter). */
	field?: string;
	person?: string;
	op?: string;
	source?: string;
	from?: string;
	to?: string;
	limit: number;
	offset: number;
}

const ENTRY_COLUMNS =
	'workspace_id, record_id, at, first_at, changes, actor_id, actor_name, source, relayed_by, path, op, before, after, conflict';

interface EntryRow extends PendingRow {
	kind: 'l' | 'p';
	seq: number | null;
	hash: string | null;
}

function toEntry(row: EntryRow): AuditEntry {
	const sealed = row.kind === 'l';
	return {
		id: sealed ? String(row.id) : `p${row.id}`,
		seq: row.seq === null ? null : Number(row.seq),
		sealed,
		workspace: row.workspace_id,
		recordId: row.record_id,
		at: iso(row.at),
		firstAt: iso(row.first_at),
		changes: Number(row.changes),
		actor: { id: row.actor_id, name: row.actor_name },
		source: row.source as AuditEntry['source'],
		relayedBy: (row.relayed_by as AuditPerson | null) ?? null,
		path: row.path,
		op: row.op as AuditEntry['op'],
		before: openAuditValue(row.before) ?? null,
		after: openAuditValue(row.after) ?? null,
		conflict: (openAuditValue(row.conflict) as unknown as AuditEntry['conflict']) ?? null,
		hash: row.hash
	};
}

function whereOf(filter: AuditFilter): { where: string; params: unknown[] } {
	const params: unknown[] = [filter.workspace];
	const where = ['workspace_id = $1'];
	const add = (sql: (n: string) => string, value: unknown) => {
		params.push(value);
		where.push(sql(`$${params.length}`));
	};
	if (filter.recordId !== undefined) {
		if (!UUID.test(filter.recordId)) where.push('false');
		else add((n) => `record_id = ${n}::uuid`, filter.recordId);
	}
	if (filter.field) {
		const { exact, prefixes } = fieldFilter(filter.field);
		params.push(exact);
		const parts = [`path = $${params.length}`];
		for (const prefix of prefixes) {
			params.push(prefix);
			parts.push(`starts_with(path, $${params.length})`);
		}
		where.push(`(${parts.join(' OR ')})`);
	}
	if (filter.person) add((n) => `actor_id = ${n}`, filter.person);
	if (filter.op) add((n) => `op = ${n}`, filter.op);
	if (filter.source) add((n) => `source = ${n}`, filter.source);
	if (filter.from) add((n) => `at >= ${n}::timestamptz`, filter.from);
	if (filter.to) add((n) => `at < ${n}::timestamptz`, filter.to);
	return { where: where.join(' AND '), params };
}

/** Entries newest first, sealed and staged alike. */
export async function queryAudit(db: Queryable, filter: AuditFilter): Promise<AuditPage> {
	const { where, params } = whereOf(filter);
	const union = `SELECT 'l' AS kind, id, seq, hash, ${ENTRY_COLUMNS} FROM audit_log WHERE ${where}
	               UNION ALL
	               SELECT 'p' AS kind, id, NULL::bigint AS seq, NULL::text AS hash, ${ENTRY_COLUMNS} FROM audit_pending WHERE ${where}`;
	const [count] = await db.query<{ total: number }>(`SELECT count(*) AS total FROM (${union}) AS e`, params);
	const rows = await db.query<EntryRow>(
		`SELECT * FROM (${union}) AS e ORDER BY at DESC, kind DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
		[...params, Math.max(0, Math.trunc(filter.limit)), Math.max(0, Math.trunc(filter.offset))]
	);
	return { entries: rows.map(toEntry), total: Number(count.total) };
}

/**
 * Conflicts at one place of any record of a workspace (a board's grouping field: two
 * people moved one card at once), newest first, since `from`, that no one has settled:
 * a conflict is settled once a value was restored at its place after it, as on the
 * record page. Conflicts are rare: the partial index of migration 19 finds the sealed
 * ones without reading the rest of the log (the staged ones are few).
 */
export async function queryConflicts(db: Queryable, filter: { workspace: string; path: string; from: string; limit: number }): Promise<AuditEntry[]> {
	const params = [filter.workspace, filter.path, filter.from, Math.max(0, Math.trunc(filter.limit))];
	const conflicts = (table: string) => `SELECT ${table === 'audit_log' ? `'l' AS kind, id, seq, hash` : `'p' AS kind, id, NULL::bigint AS seq, NULL::text AS hash`}, ${ENTRY_COLUMNS}
		FROM ${table} WHERE workspace_id = $1 AND op = 'conflict' AND path = $2 AND at >= $3::timestamptz`;
	const restoredAfter = (table: string) => `EXISTS (SELECT 1 FROM ${table} r WHERE r.record_id = e.record_id AND r.path = e.path AND r.source = 'restore' AND r.at >= e.at)`;
	const rows = await db.query<EntryRow>(
		`SELECT * FROM (${conflicts('audit_log')} UNION ALL ${conflicts('audit_pending')}) AS e
		 WHERE NOT ${restoredAfter('audit_log')} AND NOT ${restoredAfter('audit_pending')}
		 ORDER BY at DESC, kind DESC, id DESC LIMIT $4`,
		params
	);
	return rows.map(toEntry);
}

/** One entry by its API id: `"1042"` (sealed), or `"p17"` (staged, or sealed since: found by where it was staged). */
export async function findEntry(db: Queryable, workspace: string, entryId: string): Promise<AuditEntry | null> {
	const staged = /^p(\d{1,18})$/.exec(entryId);
	const sealed = /^(\d{1,18})$/.exec(entryId);
	if (!staged && !sealed) return null;
	const id = Number((staged ?? sealed)![1]);
	if (staged) {
		const [row] = await db.query<EntryRow>(
			`SELECT 'p' AS kind, id, NULL::bigint AS seq, NULL::text AS hash, ${ENTRY_COLUMNS} FROM audit_pending WHERE workspace_id = $1 AND id = $2`,
			[workspace, id]
		);
		if (row) return toEntry(row);
	}
	const [row] = await db.query<EntryRow>(
		`SELECT 'l' AS kind, id, seq, hash, ${ENTRY_COLUMNS} FROM audit_log WHERE workspace_id = $1 AND ${staged ? 'staged_id' : 'id'} = $2`,
		[workspace, id]
	);
	return row ? toEntry(row) : null;
}

/* ------------------------------------------------------------------ verifying */

export interface VerifyResult {
	workspace: string;
	entries: number;
	/** The chain's last hash: record it elsewhere to detect a rewrite of the whole chain later. */
	headHash: string;
	/** Staged entries not sealed yet (not covered by the chain). */
	pending: number;
	problem: { seq: number; id: number | null; reason: string } | null;
}

const VERIFY_PAGE = 1_000;

/** Recomputes every hash of the workspace's chain, in order; stops at the first entry that does not fit. */
export async function verifyAudit(db: Queryable, workspace: string): Promise<VerifyResult> {
	const [head] = await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_heads WHERE workspace_id = $1', [workspace]);
	const [pending] = await db.query<{ n: number }>('SELECT count(*) AS n FROM audit_pending WHERE workspace_id = $1', [workspace]);
	const result: VerifyResult = { workspace, entries: 0, headHash: GENESIS_HASH, pending: Number(pending.n), problem: null };
	let prevHash = GENESIS_HASH;
	let seq = 0;
	for (;;) {
		const rows = await db.query<LogRow>(
			`SELECT id, seq, staged_id, prev_hash, hash, values_salt, values_hash, erased_at, ${ENTRY_COLUMNS} FROM audit_log WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT ${VERIFY_PAGE}`,
			[workspace, seq]
		);
		for (const row of rows) {
			const expected = seq + 1;
			const id = Number(row.id);
			if (Number(row.seq) !== expected) {
				result.problem = { seq: expected, id: null, reason: `entry ${expected} is missing (the next entry is ${Number(row.seq)}, id ${id}): a row was removed` };
				return result;
			}
			if (row.prev_hash !== prevHash) {
				result.problem = { seq: expected, id, reason: `its prev_hash does not match the hash of entry ${expected - 1}: the chain was rewritten or an entry removed` };
				return result;
			}
			const hash = expectedHash(prevHash, opened(row));
			if (hash === null) {
				result.problem = { seq: expected, id, reason: 'its content does not match its hash: the row was altered (its values no longer match their own hash)' };
				return result;
			}
			if (hash !== row.hash) {
				result.problem = { seq: expected, id, reason: 'its content does not match its hash: the row was altered' };
				return result;
			}
			prevHash = row.hash;
			seq = expected;
			result.entries++;
		}
		if (rows.length < VERIFY_PAGE) break;
	}
	result.headHash = prevHash;
	if (head) {
		if (Number(head.seq) > seq) {
			result.problem = { seq: seq + 1, id: null, reason: `entries ${seq + 1}..${Number(head.seq)} are missing: rows were removed from the end of the log` };
		} else if (Number(head.seq) !== seq || head.hash !== prevHash) {
			result.problem = { seq, id: null, reason: 'the chain does not end where audit_heads says it does: the log or its head was altered' };
		}
	} else if (seq > 0) {
		result.problem = { seq, id: null, reason: 'the workspace has entries but no chain head: audit_heads was altered' };
	}
	return result;
}

export async function auditWorkspaces(db: Queryable): Promise<string[]> {
	const rows = await db.query<{ workspace_id: string }>(
		'SELECT workspace_id FROM audit_heads UNION SELECT DISTINCT workspace_id FROM audit_log ORDER BY workspace_id'
	);
	return rows.map((row) => row.workspace_id);
}

/* ------------------------------------------------------------------ anchoring */

/** The end of a workspace's chain, as `audit_heads` has it. */
export interface ChainHead {
	workspace: string;
	seq: number;
	hash: string;
}

/** Every workspace's chain end that has at least one entry: what anchors record. */
export async function auditHeads(db: Queryable): Promise<ChainHead[]> {
	const rows = await db.query<{ workspace_id: string; seq: number; hash: string }>('SELECT workspace_id, seq, hash FROM audit_heads WHERE seq > 0 ORDER BY workspace_id');
	return rows.map((row) => ({ workspace: row.workspace_id, seq: Number(row.seq), hash: row.hash }));
}

/** This database's identity (migration 7), named by the anchors taken from it. */
export async function auditIdentity(db: Queryable): Promise<string> {
	const [row] = await db.query<{ id: string }>('SELECT id FROM audit_identity');
	if (!row) throw new Error('audit_identity is empty: this database has no identity for its audit anchors');
	return row.id;
}

/**
 * The hashes the log holds now at these seqs of a workspace (a seq it lacks is absent),
 * and its last seq: what anchors are checked against, many per query.
 */
export async function entryHashes(db: Queryable, workspace: string, seqs: readonly number[]): Promise<{ hashes: Map<number, string>; lastSeq: number }> {
	const rows = seqs.length === 0 ? [] : await db.query<{ seq: number; hash: string }>(
		'SELECT seq, hash FROM audit_log WHERE workspace_id = $1 AND seq = ANY($2::bigint[])',
		[workspace, [...seqs]]
	);
	const [last] = await db.query<{ seq: number | null }>('SELECT max(seq) AS seq FROM audit_log WHERE workspace_id = $1', [workspace]);
	return { hashes: new Map(rows.map((row) => [Number(row.seq), row.hash])), lastSeq: Number(last?.seq ?? 0) };
}

/* ------------------------------------------------------------------ the store */

export function createAuditStore(sql: Sql) {
	return {
		stage: (drafts: readonly AuditDraft[]) => sql.transaction((tx) => stageAudit(tx, drafts)),
		seal: (options?: { all?: boolean; now?: number }) => sealAudit(sql, options),
		query: (filter: AuditFilter) => queryAudit(sql, filter),
		conflicts: (filter: { workspace: string; path: string; from: string; limit: number }) => queryConflicts(sql, filter),
		find: (workspace: string, entryId: string) => findEntry(sql, workspace, entryId),
		verify: (workspace: string) => verifyAudit(sql, workspace),
		workspaces: () => auditWorkspaces(sql),
		heads: () => auditHeads(sql),
		identity: () => auditIdentity(sql),
		entryHashes: (workspace: string, seqs: readonly number[]) => entryHashes(sql, workspace, seqs),

		/** Makes a record private or shared, with its audit entry, in one transaction. */
		setPrivate: (id: string, value: boolean, drafts: readonly AuditDraft[]) =>
			sql.transaction(async (tx) => {
				await tx.query('UPDATE records SET private = $2, updated_at = now() WHERE id = $1', [id, value]);
				await stageAudit(tx, drafts);
			})
	};
}

export type AuditStore = ReturnType<typeof createAuditStore>;
