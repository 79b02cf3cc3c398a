/**
 * What the record list can be sorted by: any field of the workspace (built-in or its own
 * `x_` fields) and the row's times. Read here once for the API, the list page and saved
 * views; the server's SQL for each is in server/store/list-columns.ts (`sortSql`).
 */
import { FIELDS } from '../model/schema.ts';

/** The built-in fields and the row's times. */
export const BUILTIN_SORTS = [...FIELDS.map((field) => field.key), 'updatedAt', 'createdAt'] as const;
export type ListSort = string;

const CUSTOM_KEY = /^x_[a-z][a-z0-9_]{0,39}$/;

export function isBuiltinSort(sort: string): boolean {
	return (BUILTIN_SORTS as readonly string[]).includes(sort);
}

/** The sort named by `text` (a built-in key or an `x_` key), or undefined when there is none by that name. */
export function readListSort(text: string | null | undefined): ListSort | undefined {
	if (!text) return undefined;
	if (isBuiltinSort(text)) return text;
	return CUSTOM_KEY.test(text) ? text : undefined;
}

/** Newest first for times, largest first for money, A→Z otherwise. */
export function defaultSortDirection(sort: ListSort): 'asc' | 'desc' {
	return sort === 'updatedAt' || sort === 'createdAt' || sort === 'value' ? 'desc' : 'asc';
}
