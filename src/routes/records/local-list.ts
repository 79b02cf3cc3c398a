/**
 * The record list computed from this device's rows when the server cannot be reached,
 * ordered as the server orders it (any column; text by the same collation keys, so
 * Chinese by pinyin; numbers by value; missing values last; ties by id) and filtered by
 * the same conditions (dates, custom fields, idleness: matched against each candidate's
 * local record with match.ts).
 *
 * At 100,000 records the rows are read from IndexedDB once per store, not on every page
 * view: the store's own writers (`putRows`, `forget`) are wrapped to keep the cached
 * array current, and each order asked for is sorted once and kept until a row changes.
 * A page view then costs a slice.
 */
import { collationKey, compareKeys } from '$lib/records/collation.ts';
import type { ListSort } from '$lib/records/sort.ts';
import type { LocalRow, LocalStore } from '$lib/local/index.ts';

export interface LocalListOptions {
	stage?: string | null;
	owner?: string | null;
	includeArchived?: boolean;
	sort: ListSort;
	descending: boolean;
	limit: number;
	offset: number;
}

interface Cache {
	rows: Map<string, LocalRow>;
	/** Sorted ids by `sort:dir`, dropped whenever a row changes. */
	orders: Map<string, string[]>;
}

const caches = new WeakMap<LocalStore, Promise<Cache>>();

/** The store's rows, read once and kept current through its writers. */
export function localRowCache(store: LocalStore): Promise<Cache> {
	let cached = caches.get(store);
	if (cached) return cached;
	cached = store.rows().then((rows) => {
		const cache: Cache = { rows: new Map(rows.map((row) => [row.id, row])), orders: new Map() };
		const putRows = store.putRows.bind(store);
		const forget = store.forget.bind(store);
		store.putRows = async (changed) => {
			await putRows(changed);
			for (const row of changed) cache.rows.set(row.id, { ...row });
			if (changed.length > 0) cache.orders.clear();
		};
		store.forget = async (id) => {
			await forget(id);
			if (cache.rows.delete(id)) cache.orders.clear();
		};
		return cache;
	});
	cached.catch(() => caches.delete(store));
	caches.set(store, cached);
	return cached;
}

/** Row columns that hold a field's value (the rest are read from `custom`, or missing on this device). */
const ROW_FIELDS = new Set(['name', 'company', 'email', 'phone', 'stage', 'owner', 'value', 'currency', 'country', 'city', 'updatedAt', 'createdAt']);

function valueOf(row: LocalRow, sort: ListSort): string | number | boolean | null {
	if (ROW_FIELDS.has(sort)) {
		const value = (row as unknown as Record<string, unknown>)[sort];
		return typeof value === 'string' || typeof value === 'number' ? value : null;
	}
	return row.custom?.[sort] ?? null;
}

/** Sorts ids as the server's ORDER BY does (see sortSql in server/store/list-columns.ts). */
function sortedIds(cache: Cache, sort: ListSort, descending: boolean): string[] {
	const name = `${sort}:${descending ? 'desc' : 'asc'}`;
	const known = cache.orders.get(name);
	if (known) return known;
	const times = sort === 'updatedAt' || sort === 'createdAt';
	const entries = [...cache.rows.values()].map((row) => {
		const value = valueOf(row, sort);
		const number = typeof value === 'number' ? value : times && typeof value === 'string' ? Date.parse(value) : null;
		const key = number === null && value !== null && value !== '' ? collationKey(String(value)) : null;
		return { id: row.id, number, key };
	});
	const direction = descending ? -1 : 1;
	const nullsLast = (a: unknown, b: unknown): number | null => (a === null && b === null ? null : a === null ? 1 : b === null ? -1 : null);
	entries.sort((a, b) => {
		const n = nullsLast(a.number, b.number);
		if (n !== null) {
			if (n !== 0) return n;
		} else if (a.number !== b.number) return (a.number! < b.number! ? -1 : 1) * direction;
		const k = nullsLast(a.key, b.key);
		if (k !== null) {
			if (k !== 0) return k;
		} else if (a.key !== b.key) return compareKeys(a.key!, b.key!) * direction;
		return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
	});
	const ids = entries.map((entry) => entry.id);
	cache.orders.set(name, ids);
	return ids;
}

/**
 * One page of the local list. `matching`, when given, is the set of ids a search found
 * (else every row is a candidate); the page's rows and the total are counted after the
 * list's own filters (stage, owner, archived).
 */
export async function localListPage(store: LocalStore, options: LocalListOptions, matching?: ReadonlySet<string>): Promise<{ rows: LocalRow[]; total: number }> {
	const cache = await localRowCache(store);
	const keep = (row: LocalRow | undefined): row is LocalRow =>
		row !== undefined &&
		(options.includeArchived || !row.archived) &&
		(!options.stage || row.stage === options.stage) &&
		(!options.owner || row.owner === options.owner) &&
		(!matching || matching.has(row.id));
	const rows: LocalRow[] = [];
	let total = 0;
	const end = options.offset + options.limit;
	for (const id of sortedIds(cache, options.sort, options.descending)) {
		const row = cache.rows.get(id);
		if (!keep(row)) continue;
		if (total >= options.offset && total < end) rows.push(row);
		total++;
	}
	return { rows, total };
}

/** Every row this device keeps (from the cache): the candidates a local search reads. */
export async function localRows(store: LocalStore): Promise<LocalRow[]> {
	return [...(await localRowCache(store)).rows.values()];
}
