/**
 * The list's search in the URL (`/records?q=…`) and on this device. The list's other
 * state (filters, sort, page) is read and written by $lib/records/list.ts; `q` is kept
 * beside it here, so every link of the page carries the search the person typed.
 */
import { MAX_QUERY_LENGTH, matches, type SearchQuery } from '$lib/search/index.ts';
import { localRecord, type LocalRow, type LocalStore } from '$lib/local/index.ts';

/** The search text of the list's URL, bounded as the parser bounds it. */
export function readSearchText(params: URLSearchParams): string {
	return (params.get('q') ?? '').slice(0, MAX_QUERY_LENGTH);
}

/** `href` (a list URL made by listHref) with the search added; a blank search is left out. */
export function withSearch(href: string, q: string): string {
	if (q.trim() === '') return href;
	const url = new URL(href, 'http://list.invalid');
	url.searchParams.set('q', q);
	return `${url.pathname}${url.search}`;
}

/**
 * The rows of records kept on this device that match `search`, offline: each record is
 * read from its local document and matched with the same rules the server applies. A
 * row whose document is not on this device cannot be searched and is left out.
 */
export async function matchingLocalRows(store: LocalStore, rows: readonly LocalRow[], search: SearchQuery): Promise<LocalRow[]> {
	const found: LocalRow[] = [];
	for (const row of rows) {
		const local = await localRecord(store, row.id).catch(() => null);
		if (local && matches(search, local.record)) found.push(row);
	}
	return found;
}
