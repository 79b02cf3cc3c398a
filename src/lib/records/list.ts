/**
 * The record list's state in the URL: filters, sort and page, read on the server and
 * written by the page's links, so a list view can be bookmarked and shared.
 */
import { STAGES } from '$lib/model/schema.ts';
import { SORTABLE_COLUMNS, type SortColumn } from '$lib/model/projection.ts';

export const PAGE_SIZE = 25;

/** Fields the "New record" form asks for (the rest are filled in on the record page). */
export const NEW_RECORD_FIELDS = ['name', 'company', 'email', 'phone', 'stage', 'owner', 'value', 'currency', 'country'] as const;

export type SortDirection = 'asc' | 'desc';

export interface ListQuery {
	stage: string | null;
	owner: string | null;
	sort: SortColumn;
	dir: SortDirection;
	page: number;
	archived: boolean;
}

export const DEFAULT_SORT: SortColumn = 'updatedAt';

/** Newest first for times, largest first for money, A→Z otherwise. */
export function defaultDirection(sort: SortColumn): SortDirection {
	return sort === 'updatedAt' || sort === 'value' ? 'desc' : 'asc';
}

export function readListQuery(params: URLSearchParams): ListQuery {
	const stage = params.get('stage');
	const owner = params.get('owner');
	const sortParam = params.get('sort');
	const sort = (SORTABLE_COLUMNS as readonly string[]).includes(sortParam ?? '') ? (sortParam as SortColumn) : DEFAULT_SORT;
	const dirParam = params.get('dir');
	const dir: SortDirection = dirParam === 'asc' || dirParam === 'desc' ? dirParam : defaultDirection(sort);
	const page = Math.max(1, Math.min(100_000, Number.parseInt(params.get('page') ?? '1', 10) || 1));
	return {
		stage: stage && (STAGES as readonly string[]).includes(stage) ? stage : null,
		owner: owner ? owner.slice(0, 100) : null,
		sort,
		dir,
		page,
		archived: params.get('archived') === '1'
	};
}

/** The list URL for `query` changed by `changes`; defaults are left out. */
export function listHref(query: ListQuery, changes: Partial<ListQuery> = {}): string {
	const next = { ...query, ...changes };
	const params = new URLSearchParams();
	if (next.stage) params.set('stage', next.stage);
	if (next.owner) params.set('owner', next.owner);
	if (next.sort !== DEFAULT_SORT || next.dir !== defaultDirection(next.sort)) {
		params.set('sort', next.sort);
		params.set('dir', next.dir);
	}
	if (next.archived) params.set('archived', '1');
	if (next.page > 1) params.set('page', String(next.page));
	const search = params.toString();
	return search ? `/records?${search}` : '/records';
}

/** The link of a column header: sort by it, or flip the direction if it is the sort already. */
export function sortHref(query: ListQuery, column: SortColumn): string {
	const dir = query.sort === column ? (query.dir === 'asc' ? 'desc' : 'asc') : defaultDirection(column);
	return listHref(query, { sort: column, dir, page: 1 });
}
