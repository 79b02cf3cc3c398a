/**
 * Matching an import's rows on another system's id: a column of the file (a Salesforce
 * or ERP customer number) is mapped to one of the workspace's fields, so the id is
 * kept on the record, and on the next import of that system's file each row finds the
 * record holding the same value in that field. The values are read from the list row's
 * `list_fields` (every field's value, written with the row: server/store/list-columns.ts),
 * one query per batch of rows, with the list's own visibility rule: records the
 * importer may not see never match, archived records neither (as for the other keys).
 */
import type { Sql } from '../store/types.ts';

export interface ExternalIdViewer {
	id: string;
	admin: boolean;
}

/** The records of the workspace holding each value in `field` (value → record id, the most recently changed when several do). */
export type ExternalIdLookup = (workspace: string, field: string, values: readonly string[], viewer: ExternalIdViewer) => Promise<Map<string, string>>;

/** Fields an external id may be kept in: the workspace's own (`x_…`) fields, which no built-in meaning claims. */
export const EXTERNAL_ID_FIELD = /^x_[a-z][a-z0-9_]{0,39}$/;

export function createExternalIdLookup(sql: Pick<Sql, 'query'>): ExternalIdLookup {
	return async (workspace, field, values, viewer) => {
		const found = new Map<string, string>();
		if (values.length === 0 || !EXTERNAL_ID_FIELD.test(field)) return found;
		const params: unknown[] = [workspace, field, [...new Set(values)]];
		let visible = '';
		if (!viewer.admin) {
			params.push(viewer.id);
			visible = ` AND (NOT private OR owner = $${params.length})`;
		}
		const rows = await sql.query<{ id: string; value: string }>(
			`SELECT id::text AS id, list_fields ->> $2::text AS value FROM records
			  WHERE workspace_id = $1 AND NOT archived AND list_fields ->> $2::text = ANY($3::text[])${visible}
			  ORDER BY updated_at DESC, id`,
			params
		);
		for (const row of rows) if (!found.has(row.value)) found.set(row.value, row.id);
		return found;
	};
}
