/**
 * The record list's state in the URL: filters, sort and page, read on the server and
 * written by the page's links, so a list view can be bookmarked and shared.
 */
import { STAGES } from '$lib/model/schema.ts';
import { defaultSortDirection, readListSort, type ListSort } from './sort.ts';

export const PAGE_SIZE = 25;

/** Fields the "New record" form asks for (the rest are filled in on the record page). */
export const NEW_RECORD_FIELDS = ['name', 'company', 'email', 'phone', 'stage', 'owner', 'value', 'currency', 'country'] as const;

export type SortDirection = 'asc' | 'desc';

export interface ListQuery {
	stage: string | null;
	owner: string | null;
	/** Any field's key, or a time (src/lib/records/sort.ts). */
	sort: ListSort;
	dir: SortDirection;
	page: number;
	archived: boolean;
	/** The saved view the list was opened from (its query, sort and columns), if any. */
	view: string | null;
}

export const DEFAULT_SORT: ListSort = 'updatedAt';

/**
 * A count as shown: `10000+` when the server stopped counting there (a broad search's
 * count is capped, server/store/sql-store.ts), so the person is never told an exact
 * number that is not one.
 */
export function shownTotal(total: number, capped: boolean | undefined): string | number {
	return capped ? `${total}+` : total;
}

/** Newest first for times, largest first for money, A→Z otherwise. */
export function defaultDirection(sort: ListSort): SortDirection {
	return defaultSortDirection(sort);
}

const VIEW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function readListQuery(params: URLSearchParams): ListQuery {
	const stage = params.get('stage');
	const owner = params.get('owner');
	const sortParam = params.get('sort');
	const sort = readListSort(sortParam) ?? DEFAULT_SORT;
	const dirParam = params.get('dir');
	const dir: SortDirection = dirParam === 'asc' || dirParam === 'desc' ? dirParam : defaultDirection(sort);
	const page = Math.max(1, Math.min(100_000, Number.parseInt(params.get('page') ?? '1', 10) || 1));
	return {
		stage: stage && (STAGES as readonly string[]).includes(stage) ? stage : null,
		owner: owner ? owner.slice(0, 100) : null,
		sort,
		dir,
		page,
		archived: params.get('archived') === '1',
		view: VIEW_ID.test(params.get('view') ?? '') ? params.get('view')!.toLowerCase() : null
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
	if (next.view) params.set('view', next.view);
	const search = params.toString();
	return search ? `/records?${search}` : '/records';
}

/** The link of a column header: sort by it, or flip the direction if it is the sort already. */
export function sortHref(query: ListQuery, column: ListSort): string {
	const dir = query.sort === column ? (query.dir === 'asc' ? 'desc' : 'asc') : defaultDirection(column);
	return listHref(query, { sort: column, dir, page: 1 });
}
