/**
 * A record's projection: the flat row that lists, filters and charts read, derived
 * from the document after each change. The server keeps one per record in `records`.
 */
import type { CustomerRecord } from './record.ts';

export interface RecordRow {
	id: string;
	workspace: string;
	name: string;
	company: string | null;
	email: string | null;
	phone: string | null;
	stage: string | null;
	owner: string | null;
	value: number | null;
	currency: string | null;
	country: string | null;
	city: string | null;
	tags: string[];
	archived: boolean;
	/** Known on rows read from the store: private to the owner (and admins). Not part of the document. */
	private?: boolean;
	/**
	 * The values of the workspace's own (`x_`) fields, for the list's column chooser; absent
	 * when the record has none. Rows made on a device carry them, and so do the server's list rows
	 * (read from the row's `list_fields`, server/store/sql-store.ts).
	 */
	custom?: Record<string, string | number | boolean>;
	createdAt: string;
	updatedAt: string;
}

/**
 * The record each row was projected from, for the server's store to make the record's
 * search tokens when it writes the row (server/store/sql-store.ts). Beside the row, not
 * in it: rows travel to browsers and into IndexedDB, and the browser would otherwise
 * tokenize every record it projects and load the pinyin dictionary on every page.
 * A copy of a row (`{...row}`) has no source.
 */
const sources = new WeakMap<RecordRow, CustomerRecord>();

export function projectedFrom(row: RecordRow): CustomerRecord | undefined {
	return sources.get(row);
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export function projectRecord(record: CustomerRecord, updatedAt: string): RecordRow {
	const f = record.fields;
	const row: RecordRow = {
		id: record.id,
		workspace: record.meta.workspace,
		name: text(f.name) ?? '',
		company: text(f.company),
		email: text(f.email),
		phone: text(f.phone),
		stage: text(f.stage),
		owner: text(f.owner),
		value: typeof f.value === 'number' ? f.value : null,
		currency: text(f.currency),
		country: text(f.country),
		city: text(f.city),
		tags: record.tags,
		archived: record.meta.archived,
		createdAt: record.meta.createdAt,
		updatedAt
	};
	const custom = Object.entries(f).filter(([key, value]) => key.startsWith('x_') && value !== null);
	if (custom.length > 0) row.custom = Object.fromEntries(custom) as Record<string, string | number | boolean>;
	sources.set(row, record);
	return row;
}

export const SORTABLE_COLUMNS = ['name', 'company', 'stage', 'owner', 'value', 'updatedAt'] as const;
export type SortColumn = (typeof SORTABLE_COLUMNS)[number];
