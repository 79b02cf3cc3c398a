/**
 * The list's search in the URL (`/records?q=…`) and on this device. The list's other
 * state (filters, sort, page) is read and written by $lib/records/list.ts; `q` is kept
 * beside it here, so every link of the page carries the search the person typed.
 */
import { MAX_QUERY_LENGTH } from '$lib/search/query.ts';

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
