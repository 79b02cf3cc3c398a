/**
 * The record list: from the server's API when it answers, from the local copy (the
 * rows kept in IndexedDB) when it does not — offline, or before it answers on a
 * client-side navigation, in which case the server's rows replace the local ones as soon
 * as they arrive (`later`). Server rendering always asks the API.
 */
import { signInAgain } from '$lib/sync/sign-in-again.ts';
import { browser } from '$app/environment';
import { error, redirect } from '@sveltejs/kit';
import { STAGES } from '$lib/model/schema.ts';
import type { RecordRow } from '$lib/model/projection.ts';
import { listHref, readListQuery, PAGE_SIZE, type ListQuery } from '$lib/records/list.ts';
import { parseQuery, type SearchQuery } from '$lib/search/query.ts';
import { localSearchFor, type LocalSearch } from '$lib/search/local-search.ts';
import { readSearchText, withSearch } from './search.ts';
import { translate } from '$lib/i18n/index.ts';
import { isHydrated, localStoreFor, type LocalRow, type LocalStore } from '$lib/local/index.ts';
import { localListPage, localRows } from './local-list.ts';
import type { FieldDefinition } from '$lib/model/schema.ts';
import type { PageLoad } from './$types';

export interface ListPage {
	rows: RecordRow[];
	total: number;
	/** The server stopped counting at `total`: at least that many match. */
	totalCapped?: boolean;
	/** The server could not read the search (`q`): why, in its words. */
	searchError?: string;
	/** From the local copy while its first catch-up has not finished: records are still arriving. */
	filling?: boolean;
}

/** On a client-side navigation, how long the server may take before the local rows are shown instead. */
const LOCAL_FIRST_AFTER_MS = 150;

function apiUrl(query: ListQuery, q: string): string {
	const params = new URLSearchParams({ sort: query.sort, dir: query.dir, limit: String(PAGE_SIZE), offset: String((query.page - 1) * PAGE_SIZE) });
	if (q.trim()) params.set('q', q);
	if (query.stage) params.set('stage', query.stage);
	if (query.owner) params.set('owner', query.owner);
	if (query.archived) params.set('archived', '1');
	return `/api/records?${params}`;
}

/** The server's page of rows; null when the server cannot be reached. */
async function fetchPage(fetcher: typeof fetch, query: ListQuery, q: string): Promise<ListPage | null> {
	let response: Response;
	try {
		response = await fetcher(apiUrl(query, q), { headers: { accept: 'application/json' } });
	} catch {
		return null;
	}
	if (response.status === 401 && browser) {
		// The session ended: sign in again, and come back here.
		signInAgain();
		return new Promise(() => {});
	}
	// A service worker answers 503 for an API it cannot reach.
	if (response.status >= 502) return null;
	// A search the server cannot read is the person's to correct, on the list itself.
	if (response.status === 400 && q.trim()) {
		const body = (await response.json().catch(() => ({}))) as { message?: unknown };
		return { rows: [], total: 0, searchError: typeof body.message === 'string' ? body.message.replace(/^q: /, '') : `HTTP ${response.status}` };
	}
	if (!response.ok) error(response.status, { message: `The list could not be loaded (HTTP ${response.status}).` });
	return (await response.json()) as ListPage;
}

/**
 * The rows matching a search, on this device: from the search worker's index when it
 * covers the whole local copy (quick at any size), else by reading and matching every
 * local record (complete, slower). Online, the list asks the server instead.
 */
async function matchingRows(local: LocalStore, all: LocalRow[], search: SearchQuery, q: string, worker: LocalSearch | null, fields: readonly FieldDefinition[] | undefined): Promise<LocalRow[]> {
	if (worker?.status.ready) {
		const answer = await worker.search(q, { limit: 0, allIds: true, includeArchived: true, fields });
		if (answer.ok && answer.ids) {
			const ids = new Set(answer.ids);
			const found = all.filter((row) => ids.has(row.id));
			// The index decides the conditions too (match.ts's conditionHolds), but `updated` by the time it was
			// given, which can trail the row's: a condition is checked again against the rows it found.
			if (search.conditions.length === 0) return found;
			return (await import('./local-search.ts')).matchingLocalRows(local, found, search);
		}
	}
	return (await import('./local-search.ts')).matchingLocalRows(local, all, search);
}

async function localPage(local: LocalStore, query: ListQuery, q: string, worker: LocalSearch | null, fields: readonly FieldDefinition[] | undefined): Promise<ListPage> {
	const parsed = parseQuery(q, { fields });
	if (!parsed.ok) return { rows: [], total: 0, searchError: parsed.message };
	const position = await local.position();
	// Rows read once per store and kept current (local-list.ts): a page view sorts or slices, it does not read 100,000 rows.
	const matching = q.trim() ? new Set((await matchingRows(local, await localRows(local), parsed.query, q, worker, fields)).map((row) => row.id)) : undefined;
	const page = await localListPage(local, {
		stage: query.stage,
		owner: query.owner,
		includeArchived: query.archived,
		sort: query.sort,
		descending: query.dir === 'desc',
		limit: PAGE_SIZE,
		offset: (query.page - 1) * PAGE_SIZE
	}, matching);
	return { ...page, filling: position === null };
}

export const load = (async ({ fetch, url, depends, parent }) => {
	depends('accord:records');
	const query = readListQuery(url.searchParams);
	const q = readSearchText(url.searchParams);
	const { person, workspace, locale, fields } = await parent();
	const base = { query, q, stages: [...STAGES] };
	const remote = fetchPage(fetch, query, q);
	const local = browser && person ? localStoreFor(workspace, person.id) : null;
	const worker = browser && person && q.trim() ? localSearchFor(workspace, person.id) : null;
	// The server's rows are kept locally too, so the list is there offline.
	const keep = <T extends ListPage | null>(page: T): T => {
		if (page && local) void local.then((store) => store.putRows(page.rows)).catch(() => {});
		return page;
	};

	const shown = (page: ListPage, source: 'server' | 'local', later: Promise<ListPage | null> | null) => {
		// A page past the end (an old link, records removed meanwhile) goes to the last page.
		if (page.rows.length === 0 && page.total > 0 && query.page > 1) {
			redirect(307, withSearch(listHref(query, { page: Math.max(1, Math.ceil(page.total / PAGE_SIZE)) }), q));
		}
		return { ...base, rows: page.rows, total: page.total, totalCapped: page.totalCapped === true, searchError: page.searchError ?? null, filling: page.filling ?? false, source, later };
	};

	if (local && isHydrated()) {
		const first = await Promise.race([remote, new Promise<undefined>((resolve) => setTimeout(resolve, LOCAL_FIRST_AFTER_MS))]);
		if (first) return shown(keep(first), 'server', null);
		const fromLocal = await localPage(await local, query, q, worker, fields).catch(() => null);
		if (fromLocal && (first === null || fromLocal.total > 0)) return shown(fromLocal, 'local', first === null ? null : remote.then(keep));
	}
	const page = keep(await remote);
	if (page) return shown(page, 'server', null);
	if (local) {
		const fromLocal = await localPage(await local, query, q, worker, fields).catch(() => null);
		if (fromLocal) return shown(fromLocal, 'local', null);
	}
	error(503, { message: translate(locale, 'error.network'), code: 'offline' });
}) satisfies PageLoad;
