/**
 * Staging and folding of audit entries (PGlite and Postgres alike): an entry's first step.
 *
 *   1. staged in `audit_pending`, in the very transaction that stores its update, so
 *      neither is ever stored without the other (the store runs `stageAudit` as work
 *      "also in this transaction": server/audit/attributed-store.ts). A change by the same
 *      person, to the same place, by the same way, within COALESCE_WINDOW_MS of the last
 *      one (and COALESCE_MAX_MS of the first) is merged into the staged entry instead:
 *      first `before`, last `after`, notes counts summed.
 *   2. sealed later into the hash chain: log-store.ts.
 */
import { createHash } from 'node:crypto';
import type { AuditPerson, AuditValue, NotesSummary } from '../../src/lib/model/audit.ts';
import { clip } from './hash.ts';
import { NOTES_EXCERPT_CHARS } from './changes.ts';
import { isPerson, type AuditDraft, type PersonRef, type ResolvedDraft } from './types.ts';
import { lookupPairs, type Queryable } from './bindings.ts';
// Values are sealed on the way in and opened on the way out (encryption at rest); hashes cover the plain values.
import { openAuditValue, storedAuditJson } from '../crypto/data-key.ts';

export const COALESCE_WINDOW_MS = 5_000;
export const COALESCE_MAX_MS = 60_000;

const COALESCING_OPS = new Set(['set', 'unset', 'edit']);
/** Rows per multi-row statement, staging and sealing alike. */
export const ROWS_PER_INSERT = 500;

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

export const json = (value: AuditValue | undefined): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

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

/** A row of `audit_pending` (and, with more columns, of `audit_log`). */
export interface PendingRow {
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

export const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

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
