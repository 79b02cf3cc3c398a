/**
 * The audit log as the API hands it out: who changed what, where, from what to what,
 * when, and how the change arrived. Shared by the server (which writes and serves it)
 * and the browser (timeline, field history, admin audit page).
 *
 * Paths name the place in the document format, as field diffs do: `fields.company`,
 * `tags`, `contacts[<id>]`, `contacts[<id>].email`, `activities[<id>].done`, `notes`,
 * `meta.archived`; plus `record` (created), `private` (visibility, not in the document) and
 * `merge` (a record merge or its undo, naming every record of it); and, in the field
 * definitions document, `definitions.<key>` (a field added), `….label`, `….order`, `….retired`,
 * `….options[<option>]` and its `.label`, `.colour`, `.retired` (an admin's change to a field).
 * Items of contacts and activities are named by their `id`, which stays put when
 * others are added or removed, where an index would not.
 */

/**
 * How a change reached the server. `merge`: relayed by someone else (a sync catch-up
 * carrying another person's edits: a merge of documents, not of records).
 * `record-merge` / `record-unmerge`: records merged into one, and a merge undone
 * (server/merge.ts); named apart from `merge`, which already meant the relay.
 */
export const AUDIT_SOURCES = ['ui', 'api', 'import', 'restore', 'merge', 'record-merge', 'record-unmerge'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

/**
 * `set`/`unset` a scalar; `add`/`remove` a tag or an item; `edit` the notes (summarised);
 * `create` a record; `conflict`: two people changed one value concurrently and one
 * value silently replaced the other; `export`: everything about the record was handed out
 * on a data-subject request (path `record`, no values: server/subject.ts); `erase`: the
 * record was erased on a data-subject request (path `record`, no values: server/erase.ts).
 */
export const AUDIT_OPS = ['create', 'set', 'unset', 'add', 'remove', 'edit', 'conflict', 'export', 'erase'] as const;
export type AuditOp = (typeof AUDIT_OPS)[number];

export interface AuditPerson {
	/** User id, or `token:<id>` for an API token. */
	id: string;
	name: string;
}

export type AuditValue = null | boolean | number | string | AuditValue[] | { [key: string]: AuditValue };

/** What an `edit` of the notes carries in `after`: a summary, not the keystrokes. */
export interface NotesSummary {
	inserted: number;
	deleted: number;
	/** The inserted text, at most 80 characters of it. */
	excerpt: string;
	/** The deleted text, at most 80 characters of it. */
	removed: string;
}

/** For `op: 'conflict'`: `loser`'s value was replaced by `winner`'s without its author having seen it. */
export interface AuditConflict {
	winner: { person: AuditPerson; value: AuditValue };
	loser: { person: AuditPerson; value: AuditValue };
}

export interface AuditEntry {
	/** `"1042"` once sealed into the hash chain; `"p17"` while still open for coalescing (see `sealed`). */
	id: string;
	/** Position in the workspace's hash chain; null until sealed. */
	seq: number | null;
	/** False while the entry may still absorb further changes by the same person to the same place. */
	sealed: boolean;
	workspace: string;
	recordId: string | null;
	/** When the last change it covers happened (ISO time). */
	at: string;
	/** When the first change it covers happened. */
	firstAt: string;
	/** How many changes were coalesced into it. */
	changes: number;
	actor: AuditPerson;
	source: AuditSource;
	/** For `merge`: who relayed the author's change to the server. */
	relayedBy: AuditPerson | null;
	path: string;
	op: AuditOp;
	/** The value before (for `conflict`: the value that was lost). */
	before: AuditValue;
	/** The value after (for `conflict`: the value that stands; for `edit` of notes: a NotesSummary). */
	after: AuditValue;
	conflict: AuditConflict | null;
	/** SHA-256 of the previous entry's hash and this entry's content; null until sealed. */
	hash: string | null;
}

export interface AuditPage {
	entries: AuditEntry[];
	total: number;
}

/** Top-level places a `field` filter may name as a whole. */
const WHOLE_PLACES = new Set(['fields', 'tags', 'contacts', 'activities', 'notes', 'meta', 'record', 'private', 'merge', 'definitions']);

/**
 * Which paths a `field` filter matches: `company` → `fields.company`; `contacts` →
 * every contact change; `contacts[<id>]` → that contact and its fields; a full path → itself.
 */
export function fieldFilter(field: string): { exact: string; prefixes: string[] } {
	const name = field.trim();
	if (WHOLE_PLACES.has(name)) return { exact: name, prefixes: [`${name}.`, `${name}[`] };
	if (name.includes('.') || name.includes('[')) return { exact: name, prefixes: [`${name}.`] };
	return { exact: `fields.${name}`, prefixes: [] };
}

export const MAX_AUDIT_PAGE = 500;

export interface AuditParams {
	field?: string;
	person?: string;
	op?: string;
	record?: string;
	source?: string;
	from?: string;
	to?: string;
	limit: number;
	offset: number;
}

/** Reads the filters of `GET /api/records/:id/history` and `GET /api/audit` from a query string. */
export function parseAuditParams(params: URLSearchParams): { ok: true; query: AuditParams } | { ok: false; message: string } {
	const limit = Number(params.get('limit') ?? 50);
	const offset = Number(params.get('offset') ?? 0);
	if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) return { ok: false, message: `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}.` };
	if (!Number.isInteger(offset) || offset < 0) return { ok: false, message: 'offset must be a whole number of zero or more.' };
	const text = (name: string) => params.get(name)?.trim() || undefined;
	const op = text('op');
	if (op && !(AUDIT_OPS as readonly string[]).includes(op)) return { ok: false, message: `op must be one of ${AUDIT_OPS.join(', ')}.` };
	const source = text('source');
	if (source && !(AUDIT_SOURCES as readonly string[]).includes(source)) return { ok: false, message: `source must be one of ${AUDIT_SOURCES.join(', ')}.` };
	const time = (name: string): string | undefined | null => {
		const value = text(name);
		if (value === undefined) return undefined;
		const ms = Date.parse(value);
		return Number.isNaN(ms) ? null : new Date(ms).toISOString();
	};
	const from = time('from');
	const to = time('to');
	if (from === null || to === null) return { ok: false, message: 'from and to must be ISO times, such as 2025-03-01 or 2025-03-01T09:00:00Z.' };
	return {
		ok: true,
		query: { field: text('field'), person: text('person'), op, record: text('record'), source, from, to, limit, offset }
	};
}
