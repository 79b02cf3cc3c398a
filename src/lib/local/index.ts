/**
 * The local copy of the signed-in person's workspace, opened once per page and shared
 * by the sync client, the background workspace sync and the pages' loads. IndexedDB
 * when the browser has it; in memory otherwise (nothing survives the page then).
 */
import * as Y from 'yjs';
import { readRecord, isRecordDoc, newDoc } from '../model/record.ts';
import { projectRecord } from '../model/projection.ts';
import { clearLocalCopiesOnSignOut, indexedDbAvailable, openIndexedDbStore, type SignOutClearing } from './indexeddb.ts';
export type { SignOutClearing } from './indexeddb.ts';
import { memoryStore } from './memory.ts';
import { scopeOf, type LocalRow, type LocalStore } from './types.ts';

export { scopeOf, type LocalRow, type LocalStore } from './types.ts';
export { queryLocalRows, type LocalListQuery } from './list.ts';

/** Opening IndexedDB can hang behind another tab's upgrade; past this, work from memory. */
const OPEN_TIMEOUT_MS = 5_000;

const stores = new Map<string, Promise<LocalStore>>();

export function localStoreFor(workspace: string, userId: string): Promise<LocalStore> {
	const scope = scopeOf(workspace, userId);
	let store = stores.get(scope);
	if (!store) {
		store = openWithFallback(scope);
		stores.set(scope, store);
	}
	return store;
}

async function openWithFallback(scope: string): Promise<LocalStore> {
	if (!indexedDbAvailable()) return memoryStore(scope);
	try {
		return await Promise.race([
			openIndexedDbStore(scope),
			new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), OPEN_TIMEOUT_MS))
		]);
	} catch (error) {
		console.warn('[accord local] IndexedDB could not be opened; the local copy lasts only as long as this page', error);
		return memoryStore(scope);
	}
}

/** A record as kept locally, or null when there is no local copy (or it is not a record). */
export async function localRecord(store: LocalStore, id: string) {
	const stored = await store.load(id);
	if (!stored.state) return null;
	const doc = newDoc();
	try {
		Y.applyUpdate(doc, stored.state);
		if (!isRecordDoc(doc)) return null;
		return { record: readRecord(doc, id), createdLocally: stored.createdLocally, pending: stored.pending.length };
	} finally {
		doc.destroy();
	}
}

/**
 * The list row of a record document, keeping what only the server knows (`private`) from
 * the previous row. Its time is when its content last changed as this device saw it: a
 * row whose content did not change keeps its time (and so its place in a list sorted by
 * it), rather than every row reading "just now" after a sync that changed nothing; a new
 * row starts at the record's creation time, the best this device knows until the server
 * lists it.
 */
export function rowOfDoc(id: string, doc: Y.Doc, previous: LocalRow | null, now = new Date().toISOString()): LocalRow | null {
	if (!isRecordDoc(doc)) return null;
	const record = readRecord(doc, id);
	const row = projectRecord(record, previous?.updatedAt ?? (record.meta.createdAt || now));
	const kept = previous?.private !== undefined ? { ...row, private: previous.private } : row;
	if (previous && sameRowContent(kept, previous)) return previous;
	return previous ? { ...kept, updatedAt: now } : kept;
}

/** Whether two rows of one record say the same, their times aside. */
export function sameRowContent(a: LocalRow, b: LocalRow): boolean {
	return rowContent(a) === rowContent(b);
}

/**
 * A row without its time, as text with its keys in one order. The custom values are
 * written apart: a replacer list of keys applies at every depth, so the row's own keys
 * alone would have written `custom` as `{}`, and a change of a custom field only (a card
 * moved on a custom pipeline) was taken for no change.
 */
function rowContent(row: LocalRow): string {
	const { updatedAt: _, custom, ...rest } = row;
	return `${JSON.stringify(rest, Object.keys(rest).sort())}\u0000${custom ? JSON.stringify(custom, Object.keys(custom).sort()) : ''}`;
}

let hydrated = false;

/** Called once a page has mounted in the browser: later loads run client-side and may answer from the local copy first. */
export function markHydrated(): void {
	hydrated = true;
}

/** False while the server-rendered page is being hydrated (loads must then return what the server rendered). */
export function isHydrated(): boolean {
	return hydrated;
}

/** The search index saved from the local copies (src/lib/search/search.worker.ts); rebuilt from the copy at the next sign-in. */
const SAVED_SEARCH_DB = 'accord-search';

/**
 * Signing out clears this device's copy of the workspace once nothing is pending (see
 * clearLocalCopiesOnSignOut), and the saved search index with it. Without IndexedDB
 * there is nothing kept to clear.
 */
export async function clearAfterSignOut(): Promise<SignOutClearing> {
	if (!indexedDbAvailable()) return { clearedScopes: 0, pendingKept: 0 };
	const result = await clearLocalCopiesOnSignOut();
	if (result.pendingKept === 0) {
		await new Promise<void>((resolve) => {
			const deletion = indexedDB.deleteDatabase(SAVED_SEARCH_DB);
			deletion.onsuccess = deletion.onerror = () => resolve();
			// A tab still open holds it: it goes once that tab closes; the copy itself is already gone.
			deletion.onblocked = () => resolve();
		});
	}
	return result;
}
