/**
 * The record list computed from local rows, the way the server's store computes it
 * (same filters, same orders, NULLS LAST, ties by id), for the list when offline.
 */
import type { SortColumn } from '../model/projection.ts';
import type { LocalRow } from './types.ts';

export interface LocalListQuery {
	stage?: string | null;
	owner?: string | null;
	includeArchived?: boolean;
	sort: SortColumn;
	descending: boolean;
	limit: number;
	offset: number;
}

function sortKey(row: LocalRow, column: SortColumn): string | number | null {
	switch (column) {
		case 'name':
			return row.name.toLowerCase();
		case 'company':
			return row.company?.toLowerCase() ?? null;
		case 'value':
			return row.value;
		default:
			return row[column] ?? null;
	}
}

export function queryLocalRows(rows: readonly LocalRow[], query: LocalListQuery): { rows: LocalRow[]; total: number } {
	const matching = rows.filter(
		(row) =>
			(query.includeArchived || !row.archived) &&
			(!query.stage || row.stage === query.stage) &&
			(!query.owner || row.owner === query.owner)
	);
	const direction = query.descending ? -1 : 1;
	matching.sort((a, b) => {
		const x = sortKey(a, query.sort);
		const y = sortKey(b, query.sort);
		if (x === null || y === null) {
			if (x !== y) return x === null ? 1 : -1;
		} else if (x !== y) {
			return (x < y ? -1 : 1) * direction;
		}
		return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
	});
	return { rows: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
}
