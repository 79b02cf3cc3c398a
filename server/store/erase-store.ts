/**
 * Data-subject erasure in SQL (PGlite and Postgres alike): everything the database holds
 * of some records, removed in ONE transaction, so an erasure is whole or not at all.
 *
 * Where a record's data lives, and what happens to it:
 *   - documents (snapshot), document_updates (the Yjs log), records (the list row with its
 *     search tokens and duplicate keys), record_hidings, client_bindings and the analytics
 *     tables: deleted (the last ones by their foreign keys' ON DELETE CASCADE on documents);
 *   - audit_log and audit_pending: their values become tombstones, by the work the
 *     audit adds to the transaction (server/audit/erasure.ts), which also stages the
 *     erasure's own entry;
 *   - record_merges: every merge naming the record is deleted (it holds the record's plain
 *     JSON before and after; such a merge can no longer be undone);
 *   - import_job_records: an import's note of the record (with its JSON before an update);
 *   - erased_records: the id, when and by whom, so browsers are told to drop their copies
 *     (catch-up `removed`) and the id is never created again (a trigger on documents).
 * Nothing here knows about rooms or sockets: server/erase.ts does that around it.
 */
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import type { Sql, SqlTx } from './types.ts';

/** What an erasure found: the records erased, and the ids given that name no record of the workspace. */
export interface ErasedRecords {
	erased: string[];
	missing: string[];
}

/** An id the workspace once had and erased, and when (for catch-up). */
export interface ErasedId {
	id: string;
	erasedAt: string;
}

/** One erasure, as the work added to its transaction sees it. */
export interface Erasure {
	workspace: string;
	/** The records erased (canonical ids). */
	erased: readonly string[];
	/** When (ISO), as `erased_records` has it. */
	at: string;
	by: AuditPerson;
	source: AuditSource;
}

/** More work for an erasure's transaction, run after its own statements: both or neither (the audit's: server/audit/erasure.ts). */
export type AlsoOnErasure = (tx: SqlTx, erasure: Erasure) => Promise<void>;

export function createEraseStore(sql: Sql, also?: AlsoOnErasure) {
	return {
		/**
		 * Erases these records (canonical ids) of `workspace`, recording who did it and how.
		 * When any id is no record of the workspace (never was, another workspace's, the field
		 * definitions document, erased already), nothing is erased and those are `missing`.
		 */
		async erase(workspace: string, ids: readonly string[], by: AuditPerson, source: AuditSource, at = new Date()): Promise<ErasedRecords> {
			if (ids.length === 0) return { erased: [], missing: [] };
			return sql.transaction(async (tx) => {
				// Locked first: a writer appending to one of them waits, then finds it gone.
				const found = await tx.query<{ id: string }>(
					`SELECT d.id::text AS id FROM documents AS d JOIN records AS r ON r.id = d.id
					  WHERE d.id = ANY($1::uuid[]) AND d.workspace_id = $2 ORDER BY d.id FOR UPDATE OF d`,
					[[...ids], workspace]
				);
				const erased = found.map((row) => row.id.toLowerCase());
				const missing = ids.filter((id) => !erased.includes(id));
				// All or nothing: one id that names no record erases none of the others.
				if (missing.length > 0 || erased.length === 0) return { erased: [], missing };
				const when = at.toISOString();
				await tx.query(
					`INSERT INTO erased_records (record_id, workspace_id, erased_at, erased_by)
					 SELECT id, $2, $3::timestamptz, $4 FROM unnest($1::uuid[]) AS id`,
					[erased, workspace, when, by.id]
				);
				await tx.query('DELETE FROM record_merges WHERE survivor_id = ANY($1::uuid[]) OR merged_ids && $1::uuid[]', [erased]);
				// An import job's note of the record (and its JSON before the import changed it): that job's undo leaves it alone.
				await tx.query('DELETE FROM import_job_records WHERE record_id = ANY($1::uuid[])', [erased]);
				// Cascades to document_updates, records (and record_hidings), client_bindings and the analytics rows.
				await tx.query('DELETE FROM documents WHERE id = ANY($1::uuid[])', [erased]);
				await also?.(tx, { workspace, erased, at: when, by, source });
				return { erased, missing };
			});
		},

		/** Records of the workspace erased after `since` (ISO; every one when null), oldest first. */
		async erasedSince(workspace: string, since: string | null): Promise<ErasedId[]> {
			const rows = await sql.query<{ id: string; erased_at: Date | string }>(
				`SELECT record_id::text AS id, erased_at FROM erased_records
				  WHERE workspace_id = $1 AND ($2::timestamptz IS NULL OR erased_at > $2::timestamptz) ORDER BY erased_at`,
				[workspace, since]
			);
			return rows.map((row) => ({ id: row.id.toLowerCase(), erasedAt: (row.erased_at instanceof Date ? row.erased_at : new Date(row.erased_at)).toISOString() }));
		},

		/** Whether this id was erased (in any workspace). */
		async wasErased(id: string): Promise<boolean> {
			const rows = await sql.query('SELECT 1 FROM erased_records WHERE record_id = $1::uuid', [id]);
			return rows.length > 0;
		}
	};
}

export type EraseStore = ReturnType<typeof createEraseStore>;
