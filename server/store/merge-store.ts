/**
 * The merges table (migration 10): what each merge named and every record's plain JSON
 * before and after it, so an admin can undo it. Written with the merge's own audit
 * entries in one transaction (work the audit adds: `also`), so a merge is never recorded without its entries nor the
 * other way round (an undo's entry is staged once it is applied); an undo is claimed by a conditional update, so two admins (or two
 * instances) cannot both undo one merge.
 */
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import type { AlsoInTransaction, Sql } from './types.ts';

/** A record as GET /api/records/:id shows it, without `private` (which no merge changes). */
export type PlainRecord = CustomerRecord;

export interface MergeRow {
	id: string;
	workspace: string;
	survivor: string;
	merged: string[];
	before: Record<string, PlainRecord>;
	/** Null while the merge is being applied (or if applying it failed part way). */
	after: Record<string, PlainRecord> | null;
	mergedBy: AuditPerson;
	mergedAt: string;
	undoneBy: string | null;
	undoneAt: string | null;
}

interface Row {
	id: string;
	workspace_id: string;
	survivor_id: string;
	merged_ids: string[];
	before: string;
	after: string | null;
	merged_by: string;
	merged_by_name: string;
	merged_at: Date | string;
	undone_by: string | null;
	undone_at: Date | string | null;
}

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

function fromRow(row: Row): MergeRow {
	return {
		id: row.id,
		workspace: row.workspace_id,
		survivor: row.survivor_id,
		merged: row.merged_ids,
		before: JSON.parse(row.before) as Record<string, PlainRecord>,
		after: row.after === null ? null : (JSON.parse(row.after) as Record<string, PlainRecord>),
		mergedBy: { id: row.merged_by, name: row.merged_by_name },
		mergedAt: iso(row.merged_at),
		undoneBy: row.undone_by,
		undoneAt: row.undone_at === null ? null : iso(row.undone_at)
	};
}

export function createMergeStore(sql: Sql) {
	return {
		/** Records a merge about to be applied, with `also` (its audit entries) in the same transaction. */
		async begin(merge: { id: string; workspace: string; survivor: string; merged: string[]; before: Record<string, PlainRecord>; by: AuditPerson }, also?: AlsoInTransaction): Promise<void> {
			await sql.transaction(async (tx) => {
				await tx.query(
					`INSERT INTO record_merges (id, workspace_id, survivor_id, merged_ids, before, merged_by, merged_by_name)
					 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
					[merge.id, merge.workspace, merge.survivor, merge.merged, JSON.stringify(merge.before), merge.by.id, merge.by.name]
				);
				await also?.(tx);
			});
		},

		/** What every record was once the merge was applied (an undo checks against it). */
		async applied(id: string, after: Record<string, PlainRecord>): Promise<void> {
			await sql.query('UPDATE record_merges SET after = $2 WHERE id = $1', [id, JSON.stringify(after)]);
		},

		async get(workspace: string, id: string): Promise<MergeRow | null> {
			const [row] = await sql.query<Row>('SELECT * FROM record_merges WHERE id = $1 AND workspace_id = $2', [id, workspace]);
			return row ? fromRow(row) : null;
		},

		/** Claims the undo: false when it was already undone (by anyone, on any instance). */
		async claimUndo(id: string, by: AuditPerson): Promise<boolean> {
			const rows = await sql.query('UPDATE record_merges SET undone_by = $2, undone_at = now() WHERE id = $1 AND undone_at IS NULL RETURNING id', [id, by.id]);
			return rows.length > 0;
		},

		/** Gives a claimed undo back when applying it failed before anything changed. */
		async releaseUndo(id: string): Promise<void> {
			await sql.query('UPDATE record_merges SET undone_by = NULL, undone_at = NULL WHERE id = $1', [id]);
		}
	};
}

export type MergeStore = ReturnType<typeof createMergeStore>;
