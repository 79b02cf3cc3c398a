/**
 * What the record list needs from a record beyond its row's built-in columns, written
 * with the row (migration 14) so the list can filter and sort on any field in SQL:
 *
 * - `list_fields`: every field's value (custom `x_` fields and dates included), as JSON;
 * - `list_sort`: each text value's collation key (src/lib/records/collation.ts), so
 *   Chinese sorts by pinyin as `Intl.Collator('zh')` orders it, with `COLLATE "C"`;
 * - `last_activity_at`: the newest activity's time, or the creation when none (`idle>30`).
 *
 * And the SQL of the query conditions and sorts that read them (every value a
 * parameter; field keys too). The browser evaluates the same conditions with
 * `matchesCondition` (src/lib/search/match.ts); tests/integration/list-filters.test.ts
 * checks both find the same ids on PGlite and Postgres.
 */
import * as Y from 'yjs';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { isRecordDoc, readRecord, newDoc } from '../../src/lib/model/record.ts';
import { collationKey } from '../../src/lib/records/collation.ts';
import { idleCutoff, type ComparisonOp, type FieldCondition } from '../../src/lib/search/query.ts';
import { lastActivityOf } from '../../src/lib/search/match.ts';
import { isBuiltinSort, readListSort, type ListSort } from '../../src/lib/records/sort.ts';
import type { Sql } from './types.ts';
import type { RecordRow } from '../../src/lib/model/projection.ts';

/** Which rules made a row's list columns (0: none yet); a change to them re-makes rows at start by this. */
export const LIST_COLUMNS_VERSION = 1;

export interface ListColumns {
	fields: Record<string, string | number | boolean>;
	sort: Record<string, string>;
	lastActivityAt: string | null;
}

/** A record's list columns (see the top of this file). */
export function listColumnsOf(record: CustomerRecord): ListColumns {
	const fields: Record<string, string | number | boolean> = {};
	const sort: Record<string, string> = {};
	for (const [key, value] of Object.entries(record.fields)) {
		if (value === null || value === undefined || value === '') continue;
		if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
		fields[key] = value;
		if (typeof value !== 'number') sort[key] = collationKey(String(value));
	}
	const last = lastActivityOf(record);
	return { fields, sort, lastActivityAt: last === null ? null : new Date(last).toISOString() };
}

/** The row's own text columns: what a row written without its record can still be sorted by. */
const ROW_TEXT_COLUMNS = ['name', 'company', 'email', 'phone', 'stage', 'owner', 'country', 'city'] as const;

/**
 * What a row alone gives (a row written without the record it was projected from, such as
 * a copy): its own columns' values and sort keys, and its custom values. The backfill
 * still re-makes them from the document at the next start (the caller keeps version 0).
 */
export function listColumnsOfRow(row: RecordRow): ListColumns {
	const fields: Record<string, string | number | boolean> = { ...(row.custom ?? {}) };
	const sort: Record<string, string> = {};
	for (const key of ROW_TEXT_COLUMNS) {
		const value = row[key];
		if (typeof value === 'string' && value !== '') fields[key] = value;
	}
	if (row.value !== null) fields.value = row.value;
	for (const [key, value] of Object.entries(fields)) if (typeof value !== 'number') sort[key] = collationKey(String(value));
	return { fields, sort, lastActivityAt: null };
}

/** Whitelist of comparison operators spliced into SQL. */
const OPERATOR: Record<ComparisonOp, string> = { '=': '=', '>': '>', '>=': '>=', '<': '<', '<=': '<=' };
/** `idle` cut-offs: the operator on last_activity_at that `isIdle` applies (idle > N days ⇔ last < cut-off). */
const IDLE_OPERATOR: Record<ComparisonOp, string> = { '>': '<', '>=': '<=', '=': '<=', '<': '>', '<=': '>=' };

/**
 * The conditions of a query as SQL over the row (list_fields, created_at, updated_at,
 * last_activity_at), appending their values to `params`. `now` is the moment `idle` is
 * measured to, in milliseconds.
 */
export function conditionSql(conditions: readonly FieldCondition[], params: unknown[], now: number): string[] {
	const param = (value: unknown): string => {
		params.push(value);
		return `$${params.length}`;
	};
	return conditions.map((condition) => {
		switch (condition.kind) {
			case 'idle':
				return `last_activity_at ${IDLE_OPERATOR[condition.op]} ${param(new Date(idleCutoff(condition.days, now)).toISOString())}::timestamptz`;
			case 'number': {
				const key = param(condition.field);
				// CASE, not AND: SQL does not promise to test the type before casting.
				return `(CASE WHEN jsonb_typeof(list_fields -> ${key}::text) = 'number' THEN (list_fields ->> ${key}::text)::numeric END) ${OPERATOR[condition.op]} ${param(condition.value)}::numeric`;
			}
			case 'date': {
				const parts: string[] = [];
				if (condition.field === 'created' || condition.field === 'updated') {
					const column = condition.field === 'created' ? 'created_at' : 'updated_at';
					if (condition.from !== undefined) parts.push(`${column} >= ${param(`${condition.from}T00:00:00Z`)}::timestamptz`);
					if (condition.before !== undefined) parts.push(`${column} < ${param(`${condition.before}T00:00:00Z`)}::timestamptz`);
				} else {
					// Stored dates are YYYY-MM-DD (or an ISO time): compared as text, byte by byte, as match.ts does.
					const value = `(list_fields ->> ${param(condition.field)}::text)`;
					parts.push(`${value} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'`);
					if (condition.from !== undefined) parts.push(`${value} COLLATE "C" >= ${param(condition.from)}::text`);
					if (condition.before !== undefined) parts.push(`${value} COLLATE "C" < ${param(condition.before)}::text`);
				}
				return parts.length === 0 ? 'true' : `(${parts.join(' AND ')})`;
			}
		}
	});
}

/** Built-in sorts whose column is on the row; the rest are read from list_fields and list_sort. */
const ROW_COLUMN: Partial<Record<ListSort, string>> = { value: 'value', updatedAt: 'updated_at', createdAt: 'created_at' };
/** Row columns that never hold NULL (migration 1): ordered as they are, as their indexes are. */
const NOT_NULL_COLUMNS = new Set(['updated_at', 'created_at']);

/**
 * The ORDER BY terms of a sort: a time or the value by its column; any other field by its
 * number when it holds one, else by its collation key; missing values last either way.
 */
export function sortSql(sort: ListSort, descending: boolean, params: unknown[]): string {
	// The key travels as a parameter, but a sort the list does not offer is a caller's mistake: said, not run.
	if (readListSort(sort) === undefined) throw new Error(`cannot sort by ${JSON.stringify(sort.slice(0, 60))}`);
	const direction = descending ? 'DESC' : 'ASC';
	const column = ROW_COLUMN[sort];
	// The times are NOT NULL: no NULLS LAST, which would make the order differ from the
	// (workspace_id, updated_at DESC, id) index's and force a sort of every match.
	if (column && NOT_NULL_COLUMNS.has(column)) return `${column} ${direction}`;
	if (column) return `${column} ${direction} NULLS LAST`;
	params.push(sort);
	const key = `$${params.length}::text`;
	const keyed = `(list_sort ->> ${key}) COLLATE "C" ${direction} NULLS LAST`;
	// Built-in text fields never hold numbers: their index (migration 14) serves the key alone.
	if (isBuiltinSort(sort)) return keyed;
	return `(CASE WHEN jsonb_typeof(list_fields -> ${key}) = 'number' THEN (list_fields ->> ${key})::numeric END) ${direction} NULLS LAST, ${keyed}`;
}

/** Records given list columns per statement by the backfill. */
const BACKFILL_BATCH = 200;

/**
 * Gives rows without current list columns (list_version below LIST_COLUMNS_VERSION)
 * theirs, from their documents, a batch at a time; a row projected meanwhile is left as
 * it is. Stops between batches once `stop()` says so.
 */
export async function backfillListColumns(
	sql: Sql,
	readDocuments: (ids: string[]) => Promise<Map<string, { snapshot: Uint8Array | null; updates: Uint8Array[] } | Error>>,
	stop: () => boolean = () => false
): Promise<number> {
	let done = 0;
	while (!stop()) {
		const stale = await sql.query<{ id: string }>('SELECT id::text AS id FROM records WHERE list_version < $1 ORDER BY id LIMIT $2', [LIST_COLUMNS_VERSION, BACKFILL_BATCH]);
		if (stale.length === 0) break;
		const documents = await readDocuments(stale.map((row) => row.id));
		const entries = stale.map(({ id }) => {
			const stored = documents.get(id.toLowerCase());
			let columns: ListColumns = { fields: {}, sort: {}, lastActivityAt: null };
			if (stored && !(stored instanceof Error)) {
				const doc = newDoc();
				try {
					if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
					for (const update of stored.updates) Y.applyUpdate(doc, update);
					if (isRecordDoc(doc)) columns = listColumnsOf(readRecord(doc, id));
				} catch {
					// Left empty; the record's next projection writes them.
				} finally {
					doc.destroy();
				}
			}
			return { id, fields: columns.fields, sort: columns.sort, last: columns.lastActivityAt };
		});
		await sql.query(
			`UPDATE records AS r
			    SET list_fields = v.fields, list_sort = v.sort,
			        last_activity_at = coalesce(v.last::timestamptz, r.created_at), list_version = $2
			   FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, fields jsonb, sort jsonb, last text)
			  WHERE r.id = v.id AND r.list_version < $2`,
			[JSON.stringify(entries), LIST_COLUMNS_VERSION]
		);
		done += entries.length;
	}
	return done;
}
