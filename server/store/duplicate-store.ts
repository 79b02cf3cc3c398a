/**
 * Duplicate candidates from the stored blocking keys (`records.duplicate_keys`,
 * migration 9), written by the projection with each row: one record's candidates
 * through the GIN index, the workspace's clusters by grouping rows by key. Never all
 * pairs. Private records of others are left out here, in SQL, for anyone but their
 * owner and admins: a candidate they may not see is never read out of the database.
 */
import * as Y from 'yjs';
import { DUPLICATE_KEYS_VERSION, duplicateKeys } from '../../src/lib/model/duplicates.ts';
import { isRecordDoc, readRecord, newDoc } from '../../src/lib/model/record.ts';
import type { Sql, StoredDocument } from './types.ts';

/** Who is asking: private records of others are invisible unless they are an admin. */
export interface DuplicateViewer {
	id: string;
	admin: boolean;
}

export interface KeyedRow {
	id: string;
	name: string;
	company: string | null;
	keys: string[];
}

export interface DuplicateGroups {
	/** The records of each key that more than one visible record shares (and no more than `maxGroup`). */
	groups: KeyedRow[][];
	/** Keys shared by more than `maxGroup` records: too common to say anything (left out). */
	skippedKeys: number;
	/** Records looked at. */
	scanned: number;
}

/** `AND (NOT private OR owner = $n)` for someone who is not an admin. */
function visibleTo(viewer: DuplicateViewer, params: unknown[]): string {
	if (viewer.admin) return '';
	params.push(viewer.id);
	return ` AND (NOT private OR owner = $${params.length})`;
}

/** Records of the workspace, not archived, sharing any of `keys`; at most `limit`. */
export async function duplicateCandidates(
	sql: Pick<Sql, 'query'>,
	workspace: string,
	keys: readonly string[],
	options: { exclude?: string; viewer: DuplicateViewer; limit: number }
): Promise<KeyedRow[]> {
	if (keys.length === 0) return [];
	const params: unknown[] = [workspace, keys, options.exclude ?? null, Math.max(0, Math.trunc(options.limit))];
	const visible = visibleTo(options.viewer, params);
	// Matched through the GIN index first, then ordered: left to itself, the planner may
	// walk the (workspace, updated_at) index for the LIMIT instead and test every row.
	const rows = await sql.query<{ id: string; name: string; company: string | null; duplicate_keys: string[] }>(
		`WITH matched AS MATERIALIZED (
		   SELECT id, name, company, duplicate_keys, updated_at FROM records
		    WHERE duplicate_keys && $2::text[] AND workspace_id = $1 AND NOT archived
		      AND ($3::uuid IS NULL OR id <> $3::uuid)${visible}
		 )
		 SELECT id::text AS id, name, company, duplicate_keys FROM matched ORDER BY updated_at DESC, id LIMIT $4`,
		params
	);
	return rows.map((row) => ({ id: row.id, name: row.name, company: row.company, keys: row.duplicate_keys ?? [] }));
}

/** A stored record's keys, or null when there is no such record. */
export async function storedDuplicateKeys(sql: Pick<Sql, 'query'>, id: string): Promise<string[] | null> {
	const [row] = await sql.query<{ duplicate_keys: string[] }>('SELECT duplicate_keys FROM records WHERE id = $1', [id]);
	return row ? (row.duplicate_keys ?? []) : null;
}

/**
 * Every key that two or more visible, unarchived records of the workspace share, with
 * those records. One pass over the rows, grouped by key in the database.
 */
export async function duplicateGroups(sql: Pick<Sql, 'query'>, workspace: string, viewer: DuplicateViewer, maxGroup: number): Promise<DuplicateGroups> {
	const params: unknown[] = [workspace, maxGroup];
	const visible = visibleTo(viewer, params);
	const countParams: unknown[] = [workspace];
	const [counted] = await sql.query<{ n: number | string }>(
		`SELECT count(*) AS n FROM records WHERE workspace_id = $1 AND NOT archived${visibleTo(viewer, countParams)}`,
		countParams
	);
	const shared = await sql.query<{ ids: string[] | null }>(
		`WITH visible AS (
		   SELECT id, duplicate_keys FROM records WHERE workspace_id = $1 AND NOT archived${visible}
		 )
		 SELECT CASE WHEN count(*) <= $2 THEN array_agg(v.id::text) END AS ids
		   FROM visible AS v, unnest(v.duplicate_keys) AS k
		  GROUP BY k HAVING count(*) > 1`,
		params
	);
	let skippedKeys = 0;
	const idGroups: string[][] = [];
	for (const row of shared) {
		if (row.ids) idGroups.push(row.ids);
		else skippedKeys++;
	}
	const ids = [...new Set(idGroups.flat())];
	const byId = new Map<string, KeyedRow>();
	for (let start = 0; start < ids.length; start += 10_000) {
		const rows = await sql.query<{ id: string; name: string; company: string | null; duplicate_keys: string[] }>(
			'SELECT id::text AS id, name, company, duplicate_keys FROM records WHERE id = ANY($1::uuid[])',
			[ids.slice(start, start + 10_000)]
		);
		for (const row of rows) byId.set(row.id, { id: row.id, name: row.name, company: row.company, keys: row.duplicate_keys ?? [] });
	}
	const groups = idGroups.map((group) => group.flatMap((id) => byId.get(id) ?? []));
	const scanned = Number(counted.n);
	return { groups, skippedKeys, scanned };
}

/** Records keyed per statement by the backfill. */
const BACKFILL_BATCH = 200;

/**
 * Gives rows without current keys (duplicate_version below DUPLICATE_KEYS_VERSION)
 * their keys, from their documents, a batch at a time; as backfillSearchTokens does for
 * search tokens. A row projected meanwhile is left as it is (its keys are newer).
 */
export async function backfillDuplicateKeys(
	sql: Sql,
	readDocuments: (ids: string[]) => Promise<Map<string, StoredDocument | Error>>,
	stop: () => boolean = () => false
): Promise<number> {
	let keyed = 0;
	while (!stop()) {
		const stale = await sql.query<{ id: string }>('SELECT id::text AS id FROM records WHERE duplicate_version < $1 ORDER BY id LIMIT $2', [
			DUPLICATE_KEYS_VERSION,
			BACKFILL_BATCH
		]);
		if (stale.length === 0) break;
		const documents = await readDocuments(stale.map((row) => row.id));
		const entries = stale.map(({ id }) => {
			const stored = documents.get(id.toLowerCase());
			// A document that cannot be read is marked all the same (with no keys), or the loop would never end.
			let keys: string[] = [];
			if (stored && !(stored instanceof Error)) {
				const doc = newDoc();
				try {
					if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
					for (const update of stored.updates) Y.applyUpdate(doc, update);
					if (isRecordDoc(doc)) keys = duplicateKeys(readRecord(doc, id).fields);
				} catch {
					// Left without keys; the next projection of the record gives it some.
				} finally {
					doc.destroy();
				}
			}
			return { id, keys };
		});
		await sql.query(
			`UPDATE records AS r
			    SET duplicate_keys = ARRAY(SELECT jsonb_array_elements_text(v.keys)), duplicate_version = $2
			   FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, keys jsonb)
			  WHERE r.id = v.id AND r.duplicate_version < $2`,
			[JSON.stringify(entries), DUPLICATE_KEYS_VERSION]
		);
		keyed += entries.length;
	}
	return keyed;
}
