/**
 * The audit log in SQL (PGlite and Postgres alike), and the bindings of Yjs client ids
 * to the people who write with them.
 *
 * An entry's life:
 *   1. staged in `audit_pending`, in the very transaction that stores its update, so
 *      neither is ever stored without the other. A change by the same person, to the
 *      same place, by the same way, within COALESCE_WINDOW_MS of the last one (and
 *      COALESCE_MAX_MS of the first) is merged into the staged entry instead: first
 *      `before`, last `after`, notes counts summed.
 *   2. sealed, once its window has closed: moved into `audit_log` with the next `seq`
 *      of its workspace and hash = sha256(prev_hash + canonical content), the chain's
 *      end kept in `audit_heads` and locked while appending (safe across instances).
 * `audit_log` rows never change (a trigger refuses UPDATE and DELETE); `verify`
 * recomputes the chain and names the first entry that does not fit.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditPage, AuditPerson, AuditValue, NotesSummary } from '../../src/lib/model/audit.ts';
import { fieldFilter } from '../../src/lib/model/audit.ts';
import { GENESIS_HASH, clip, entryHash, entryHashV2, newValuesSalt, valuesHash, type SealedContent } from '../audit/hash.ts';
import { NOTES_EXCERPT_CHARS } from '../audit/changes.ts';
import { isPerson, type AuditDraft, type PersonRef, type ResolvedDraft } from '../audit/types.ts';
import type { Sql, SqlTx } from './types.ts';
// Values are sealed on the way in and opened on the way out (encryption at rest); hashes cover the plain values.
import { openAuditValue, storedAuditJson } from '../crypto/data-key.ts';

export const COALESCE_WINDOW_MS = 5_000;
export const COALESCE_MAX_MS = 60_000;

type Queryable = Pick<SqlTx, 'query'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COALESCING_OPS = new Set(['set', 'unset', 'edit']);
const ROWS_PER_INSERT = 500;

/* ------------------------------------------------------------------ bindings */

/** Every binding of each of these documents (ids in lower case); a document without any is absent. */
export async function loadBindings(db: Queryable, documentIds: readonly string[]): Promise<Map<string, Map<number, AuditPerson>>> {
	const rows = await db.query<{ document_id: string; client_id: number; user_id: string; user_name: string }>(
		'SELECT document_id, client_id, user_id, user_name FROM client_bindings WHERE document_id = ANY($1::uuid[])',
		[[...documentIds]]
	);
	const byDocument = new Map<string, Map<number, AuditPerson>>();
	for (const row of rows) {
		const id = row.document_id.toLowerCase();
		let bindings = byDocument.get(id);
		if (!bindings) byDocument.set(id, (bindings = new Map()));
		bindings.set(Number(row.client_id), { id: row.user_id, name: row.user_name });
	}
	return byDocument;
}

export async function lookupBindings(db: Queryable, documentId: string, clients: readonly number[]): Promise<Map<number, AuditPerson>> {
	if (clients.length === 0) return new Map();
	const rows = await db.query<{ client_id: number; user_id: string; user_name: string }>(
		'SELECT client_id, user_id, user_name FROM client_bindings WHERE document_id = $1 AND client_id = ANY($2::bigint[])',
		[documentId, [...clients]]
	);
	return new Map(rows.map((row) => [Number(row.client_id), { id: row.user_id, name: row.user_name }]));
}

/** Binds the client ids not bound yet to `person`; returns the binding of every one (theirs, or someone else's). */
export async function bindClients(db: Queryable, documentId: string, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>> {
	if (clients.length === 0) return new Map();
	await db.query(
		`INSERT INTO client_bindings (document_id, client_id, user_id, user_name)
		 SELECT $1, c, $3, $4 FROM unnest($2::bigint[]) AS c
		 ON CONFLICT (document_id, client_id) DO NOTHING`,
		[documentId, [...clients], person.id, person.name]
	);
	return lookupBindings(db, documentId, clients);
}

/** A binding to store with a batch of updates: made while the database did not answer. */
export interface PendingBinding {
	documentId: string;
	client: number;
	person: AuditPerson;
}

/** Stores the bindings not stored yet, all in one statement; an id already bound keeps its binding. */
export async function insertBindings(db: Queryable, bindings: readonly PendingBinding[]): Promise<void> {
	if (bindings.length === 0) return;
	await db.query(
		`INSERT INTO client_bindings (document_id, client_id, user_id, user_name)
		 SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[])
		 ON CONFLICT (document_id, client_id) DO NOTHING`,
		[bindings.map((b) => b.documentId), bindings.map((b) => b.client), bindings.map((b) => b.person.id), bindings.map((b) => b.person.name)]
	);
}

/** The bindings of many (document, client id) pairs in one query; a pair without one is absent. */
async function lookupPairs(db: Queryable, pairs: readonly { documentId: string; client: number }[]): Promise<(AuditPerson | undefined)[]> {
	const found: (AuditPerson | undefined)[] = new Array(pairs.length);
	if (pairs.length === 0) return found;
	// Matched back by position: the uuid comes back spelled as Postgres spells it.
	const rows = await db.query<{ i: number; user_id: string; user_name: string }>(
		`SELECT w.i, b.user_id, b.user_name
		   FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS w(document_id, client_id, i)
		   JOIN client_bindings AS b ON b.document_id = w.document_id AND b.client_id = w.client_id`,
		[pairs.map((p) => p.documentId), pairs.map((p) => p.client)]
	);
	for (const row of rows) found[Number(row.i) - 1] = { id: row.user_id, name: row.user_name };
	return found;
}

/* ------------------------------------------------------------------ staging */

/** Looks up the people behind client ids the computing instance did not have at hand. */
async function resolveDrafts(db: Queryable, drafts: readonly AuditDraft[]): Promise<ResolvedDraft[]> {
	const wanted = new Map<string, Set<number>>();
	const want = (recordId: string | null, ref: PersonRef | null | undefined) => {
		if (!ref || isPerson(ref) || !recordId) return;
		let set = wanted.get(recordId);
		if (!set) wanted.set(recordId, (set = new Set()));
		set.add(ref.client);
	};
	for (const d of drafts) {
		want(d.recordId, d.actor);
		want(d.recordId, d.relayedBy);
		want(d.recordId, d.conflict?.winner.person);
		want(d.recordId, d.conflict?.loser.person);
	}
	const pairs = [...wanted].flatMap(([documentId, clients]) => [...clients].map((client) => ({ documentId, client })));
	const people = await lookupPairs(db, pairs);
	const found = new Map<string, Map<number, AuditPerson>>();
	pairs.forEach(({ documentId, client }, i) => {
		const person = people[i];
		if (!person) return;
		let byClient = found.get(documentId);
		if (!byClient) found.set(documentId, (byClient = new Map()));
		byClient.set(client, person);
	});
	const person = (recordId: string | null, ref: PersonRef): AuditPerson =>
		isPerson(ref) ? ref : (found.get(recordId ?? '')?.get(ref.client) ?? { id: `client:${ref.client}`, name: `Unknown author (client ${ref.client})` });
	return drafts.map((d) => {
		const actor = person(d.recordId, d.actor);
		const relayedBy = d.relayedBy ? person(d.recordId, d.relayedBy) : null;
		return {
			...d,
			actor,
			// Relayed by the author themselves (known only now): not a merge after all.
			source: d.source === 'merge' && relayedBy?.id === actor.id ? 'ui' : d.source,
			relayedBy: relayedBy?.id === actor.id ? null : relayedBy,
			conflict: d.conflict
				? {
						winner: { person: person(d.recordId, d.conflict.winner.person), value: d.conflict.winner.value },
						loser: { person: person(d.recordId, d.conflict.loser.person), value: d.conflict.loser.value }
					}
				: null,
			firstAt: d.firstAt ?? d.at,
			changes: d.changes ?? 1
		};
	});
}

/** Hashed keys by their plain form: the same few places are edited over and over, and hashing each draft cost more than staging it. */
const hashedKeys = new Map<string, string>();
const HASHED_KEYS_KEPT = 10_000;

function coalesceKey(d: ResolvedDraft): string | null {
	if (d.conflict || !COALESCING_OPS.has(d.op) || !d.recordId) return null;
	const plain = JSON.stringify([d.workspace, d.recordId, d.path, d.actor.id, d.source, d.relayedBy?.id ?? null]);
	let key = hashedKeys.get(plain);
	if (key === undefined) {
		key = createHash('sha256').update(plain).digest('hex').slice(0, 40);
		if (hashedKeys.size >= HASHED_KEYS_KEPT) hashedKeys.clear();
		hashedKeys.set(plain, key);
	}
	return key;
}

const ms = (iso: string): number => Date.parse(iso);

/** Whether `next` may be merged into `prev` (the older one). */
export function withinWindow(prev: { firstAt: string; at: string }, next: { firstAt: string; at: string }): boolean {
	return ms(next.firstAt) - ms(prev.at) <= COALESCE_WINDOW_MS && ms(next.at) - ms(prev.firstAt) <= COALESCE_MAX_MS;
}

function asNotes(value: AuditValue): NotesSummary {
	const v = (value ?? {}) as Partial<NotesSummary>;
	return { inserted: Number(v.inserted ?? 0), deleted: Number(v.deleted ?? 0), excerpt: String(v.excerpt ?? ''), removed: String(v.removed ?? '') };
}

/** Merges a later change into an earlier one: first `before`, last `after`; notes summaries add up. */
export function mergeDrafts<T extends Pick<ResolvedDraft, 'op' | 'path' | 'before' | 'after' | 'firstAt' | 'at' | 'changes'>>(prev: T, next: T): T {
	let after: AuditValue;
	let op = next.op;
	if (next.op === 'edit' && prev.op === 'edit') {
		const a = asNotes(prev.after);
		const b = asNotes(next.after);
		after = {
			inserted: a.inserted + b.inserted,
			deleted: a.deleted + b.deleted,
			excerpt: clip(a.excerpt + b.excerpt, NOTES_EXCERPT_CHARS),
			removed: clip(a.removed + b.removed, NOTES_EXCERPT_CHARS)
		};
	} else {
		after = next.after;
		op = after === null ? 'unset' : 'set';
	}
	return { ...next, op, before: prev.before, after, firstAt: prev.firstAt, at: next.at, changes: prev.changes + next.changes };
}

/**
 * Text edits (the notes) fold across someone else's edits of the same text: their entry
 * is a count of what one person typed, not a "from → to" value another's edit would make
 * untrue, and two people writing at once would otherwise leave one entry per keystroke.
 */
const foldsAcrossOthers = (draft: Pick<ResolvedDraft, 'op'>): boolean => draft.op === 'edit';

const sameValue = (a: AuditValue, b: AuditValue): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * A folded run that ends where it began ("CN → US → CN", archived and restored): it
 * changed nothing, so it is not written, and an open entry it folded into is dropped.
 * Notes summaries count keystrokes, not values, and always stay.
 */
export function changesNothing(draft: Pick<ResolvedDraft, 'op' | 'before' | 'after'>): boolean {
	return (draft.op === 'set' || draft.op === 'unset') && sameValue(draft.before, draft.after);
}

const json = (value: AuditValue | undefined): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

const PENDING_COLUMNS =
	'workspace_id, record_id, first_at, at, changes, actor_id, actor_name, source, relayed_by, path, op, before, after, conflict, coalesce_key';

/** `(…), (…)` for new staged entries, their values pushed onto `params`. */
function pendingValues(rows: readonly { draft: ResolvedDraft; key: string | null }[], params: unknown[]): string {
	return rows
		.map(({ draft: d, key }) => {
			params.push(
				d.workspace,
				d.recordId,
				d.firstAt,
				d.at,
				d.changes,
				d.actor.id,
				d.actor.name,
				d.source,
				json(d.relayedBy as AuditValue),
				d.path,
				d.op,
				storedAuditJson(d.before, d.path),
				storedAuditJson(d.after, d.path),
				storedAuditJson(d.conflict, d.path),
				key
			);
			const n = params.length - 15;
			return `($${n + 1}, $${n + 2}::uuid, $${n + 3}::timestamptz, $${n + 4}::timestamptz, $${n + 5}::integer, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9}::jsonb, $${n + 10}, $${n + 11}, $${n + 12}::jsonb, $${n + 13}::jsonb, $${n + 14}::jsonb, $${n + 15})`;
		})
		.join(', ');
}

/** `(…), (…)` for open entries merged into, their values pushed onto `params`. */
function mergeValues(merges: readonly { id: number; merged: ResolvedDraft }[], params: unknown[]): string {
	return merges
		.map(({ id, merged }) => {
			params.push(id, merged.at, merged.changes, merged.op, storedAuditJson(merged.after, merged.path), merged.actor.name);
			const n = params.length - 6;
			return `($${n + 1}::bigint, $${n + 2}::timestamptz, $${n + 3}::integer, $${n + 4}::text, $${n + 5}::jsonb, $${n + 6}::text)`;
		})
		.join(', ');
}

/**
 * Updates the open entries merged into and inserts the new ones. Both go in one
 * statement (the UPDATE as a WITH part of the INSERT): they touch different rows, so
 * neither needs to see the other's effect, and a batch costs one round trip, not two.
 */
async function writePending(
	tx: Queryable,
	merges: readonly { id: number; merged: ResolvedDraft }[],
	plain: readonly { draft: ResolvedDraft; key: string | null }[],
	dropped: readonly number[]
): Promise<void> {
	// Rare (a run folded back to its start), so its own statement rather than a third part of the one below.
	if (dropped.length > 0) await tx.query('DELETE FROM audit_pending WHERE id = ANY($1::bigint[])', [[...dropped]]);
	for (let start = 0; start < Math.max(merges.length, plain.length); start += ROWS_PER_INSERT) {
		const params: unknown[] = [];
		const mergeChunk = merges.slice(start, start + ROWS_PER_INSERT);
		const plainChunk = plain.slice(start, start + ROWS_PER_INSERT);
		const update =
			mergeChunk.length > 0
				? `UPDATE audit_pending AS p SET at = v.at, changes = v.changes, op = v.op, after = v.after, actor_name = v.actor_name
				     FROM (VALUES ${mergeValues(mergeChunk, params)}) AS v(id, at, changes, op, after, actor_name) WHERE p.id = v.id`
				: null;
		const insert = plainChunk.length > 0 ? `INSERT INTO audit_pending (${PENDING_COLUMNS}) VALUES ${pendingValues(plainChunk, params)}` : null;
		await tx.query(update && insert ? `WITH merged AS (${update}) ${insert}` : (update ?? insert)!, params);
	}
}

interface PendingRow {
	id: number;
	workspace_id: string;
	record_id: string | null;
	first_at: Date | string;
	at: Date | string;
	changes: number;
	actor_id: string;
	actor_name: string;
	source: string;
	relayed_by: AuditValue;
	path: string;
	op: string;
	before: AuditValue;
	after: AuditValue;
	conflict: AuditValue;
}

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

/**
 * A time as JavaScript's toISOString spells it, formatted by the database: entry times
 * are written from such strings (milliseconds), so nothing is lost, and the hot staging
 * query skips parsing each time into a Date only to format it back.
 */
const ISO_UTC = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Stages the audit entries of updates being stored, inside the transaction storing them.
 * Entries that may coalesce are merged into the open staged entry of their key when
 * there is one (waiting for it if it is being sealed right now: it is then gone).
 */
export async function stageAudit(tx: Queryable, drafts: readonly AuditDraft[]): Promise<void> {
	if (drafts.length === 0) return;
	const resolved = await resolveDrafts(tx, drafts);
	const plain: { draft: ResolvedDraft; key: string | null }[] = [];
	// Merge within the batch first, so each key costs one lookup.
	const groups = new Map<string, ResolvedDraft[]>();
	// Who last changed each place in this batch: a run is broken when someone else changed it in between.
	const lastKeyAt = new Map<string, string | null>();
	for (const draft of resolved) {
		const key = coalesceKey(draft);
		const place = `${draft.recordId} ${draft.path}`;
		const interrupted = !foldsAcrossOthers(draft) && lastKeyAt.has(place) && lastKeyAt.get(place) !== key;
		lastKeyAt.set(place, key);
		if (key === null) {
			plain.push({ draft, key: null });
			continue;
		}
		const runs = groups.get(key);
		const last = runs?.[runs.length - 1];
		if (last && !interrupted && withinWindow(last, draft)) runs![runs!.length - 1] = mergeDrafts(last, draft);
		else if (runs) runs.push(draft);
		else groups.set(key, [draft]);
	}
	// The open staged entry of every key at once, locked in key order (so two instances
	// staging overlapping keys cannot deadlock); one waits for a key being sealed, then finds it gone.
	const keys = [...groups.keys()].sort();
	const open = new Map<string, PendingRow & { coalesce_key: string }>();
	if (keys.length > 0) {
		const rows = await tx.query<PendingRow & { coalesce_key: string }>(
			`SELECT id, coalesce_key, ${ISO_UTC('first_at')} AS first_at, ${ISO_UTC('at')} AS at, changes, op, path, before, after FROM audit_pending p
			  WHERE id IN (SELECT max(id) FROM audit_pending WHERE coalesce_key = ANY($1::text[]) GROUP BY coalesce_key)
			    -- Still open only while nobody else has changed the same place since (text
			    -- edits excepted: see foldsAcrossOthers).
			    AND (p.op = 'edit' OR (
			        NOT EXISTS (SELECT 1 FROM audit_pending o
			                     WHERE o.record_id = p.record_id AND o.path = p.path AND o.id > p.id
			                       AND o.coalesce_key IS DISTINCT FROM p.coalesce_key)
			    AND NOT EXISTS (SELECT 1 FROM audit_log l
			                     WHERE l.record_id = p.record_id AND l.path = p.path AND l.staged_id > p.id)))
			  ORDER BY coalesce_key FOR UPDATE OF p`,
			[keys]
		);
		for (const row of rows) open.set(row.coalesce_key, row);
	}
	const merges: { id: number; merged: ResolvedDraft }[] = [];
	const dropped: number[] = [];
	for (const key of keys) {
		const [first, ...rest] = groups.get(key)!;
		const row = open.get(key);
		const openDraft = row ? { op: row.op as ResolvedDraft['op'], path: row.path, before: openAuditValue(row.before), after: openAuditValue(row.after), firstAt: String(row.first_at), at: String(row.at), changes: Number(row.changes) } : null;
		if (row && openDraft && withinWindow(openDraft, first)) {
			const merged: ResolvedDraft = { ...first, ...mergeDrafts(openDraft, first) };
			if (changesNothing(merged)) dropped.push(Number(row.id));
			else merges.push({ id: Number(row.id), merged });
		} else if (!changesNothing(first)) plain.push({ draft: first, key });
		for (const draft of rest) if (!changesNothing(draft)) plain.push({ draft, key });
	}
	await writePending(tx, merges, plain, dropped);
}

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
