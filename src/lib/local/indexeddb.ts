/**
 * The local copy in IndexedDB: one database, `accord`, for every record the person may
 * see (not one database per document, which does not scale to thousands of records).
 *
 *   docs        [scope, id] → { snapshot, count, createdLocally }   compacted state of a document
 *   updates     seq (auto)  → { scope, id, update }                 updates appended since the snapshot
 *   pending     key (auto)  → { scope, id, update, at }             local changes the server has not stored yet
 *   rows        [scope, id] → RecordRow                             list rows, for the list when offline
 *   workspaces  scope       → { position, caughtUpAt }              catch-up position per person and workspace
 *
 * Appending is one small `add`; once a document has COMPACT_AFTER appended updates they
 * are replaced, in the same transaction, by one snapshot (`Y.encodeStateAsUpdate` of
 * everything stored), so the copy does not grow on every open or keystroke. A pending
 * change is written with its update in one transaction and removed only when the
 * server's `saved` acknowledgement covers it.
 *
 * Writes are batched: changes arriving while a write is under way (typing) go together
 * in the next transaction, one update row per document (merged) and one pending row
 * per change, so the store keeps up with keystrokes and little is in flight when the
 * page goes away.
 */
import * as Y from 'yjs';
import { openDatabase, request, transact } from './idb.ts';
import { COMPACT_AFTER, isEmptyUpdate, type LocalDocState, type LocalRow, type LocalStore } from './types.ts';
import { newDoc } from '../model/record.ts';

export const DATABASE_NAME = 'accord';
const VERSION = 1;

const DOCS = 'docs';
const UPDATES = 'updates';
const PENDING = 'pending';
const ROWS = 'rows';
const WORKSPACES = 'workspaces';
const BY_DOC = 'byDoc';
const BY_SCOPE = 'byScope';

interface DocEntry {
	scope: string;
	id: string;
	snapshot: Uint8Array | null;
	/** Updates appended since the snapshot. */
	count: number;
	createdLocally: boolean;
}

interface UpdateEntry {
	seq?: number;
	scope: string;
	id: string;
	update: Uint8Array;
}

interface PendingEntry {
	key?: number;
	scope: string;
	id: string;
	update: Uint8Array;
	at: string;
}

interface WorkspaceEntry {
	scope: string;
	position: string | null;
	caughtUpAt: string | null;
}

type RowEntry = LocalRow & { scope: string };

function upgrade(db: IDBDatabase, oldVersion: number): void {
	if (oldVersion < 1) {
		db.createObjectStore(DOCS, { keyPath: ['scope', 'id'] });
		db.createObjectStore(UPDATES, { keyPath: 'seq', autoIncrement: true }).createIndex(BY_DOC, ['scope', 'id']);
		const pending = db.createObjectStore(PENDING, { keyPath: 'key', autoIncrement: true });
		pending.createIndex(BY_DOC, ['scope', 'id']);
		pending.createIndex(BY_SCOPE, 'scope');
		db.createObjectStore(ROWS, { keyPath: ['scope', 'id'] }).createIndex(BY_SCOPE, 'scope');
		db.createObjectStore(WORKSPACES, { keyPath: 'scope' });
	}
}

let shared: Promise<IDBDatabase> | null = null;

/** The one `accord` database of this page (opened once). */
function database(): Promise<IDBDatabase> {
	if (!shared) {
		shared = openDatabase(DATABASE_NAME, VERSION, upgrade);
		shared.catch(() => (shared = null));
	}
	return shared;
}

export function indexedDbAvailable(): boolean {
	return typeof indexedDB !== 'undefined';
}

/** Opens the local copy of one scope (`scopeOf(workspace, userId)`). */
export async function openIndexedDbStore(scope: string): Promise<LocalStore> {
	const db = await database();
	const docKey = (id: string) => [scope, id];

	/** Everything stored for a document, merged and garbage-collected into one update. */
	function compacted(snapshot: Uint8Array | null, updates: readonly Uint8Array[]): Uint8Array {
		const doc = newDoc();
		if (snapshot) Y.applyUpdate(doc, snapshot);
		for (const update of updates) Y.applyUpdate(doc, update);
		const state = Y.encodeStateAsUpdate(doc);
		doc.destroy();
		return state;
	}

	/** Appends an update to a document's stored state (compacting when due), inside `tx`. */
	async function append(tx: IDBTransaction, id: string, update: Uint8Array): Promise<void> {
		const docs = tx.objectStore(DOCS);
		const updates = tx.objectStore(UPDATES);
		const entry = ((await request(docs.get(docKey(id)))) as DocEntry | undefined) ?? { scope, id, snapshot: null, count: 0, createdLocally: false };
		if (entry.count + 1 < COMPACT_AFTER) {
			await request(updates.add({ scope, id, update } satisfies UpdateEntry));
			await request(docs.put({ ...entry, count: entry.count + 1 }));
			return;
		}
		const stored = (await request(updates.index(BY_DOC).getAll(docKey(id)))) as UpdateEntry[];
		const snapshot = compacted(entry.snapshot, [...stored.map((u) => u.update), update]);
		for (const old of stored) await request(updates.delete(old.seq!));
		await request(docs.put({ ...entry, snapshot, count: 0 }));
	}

	interface Write {
		id: string;
		update: Uint8Array;
		/** A change made here (stored as pending too), or one from the server. */
		local: boolean;
		resolve(key: number | null): void;
		reject(error: unknown): void;
	}
	let queue: Write[] = [];
	let writing = false;

	function write(id: string, update: Uint8Array, local: boolean): Promise<number | null> {
		return new Promise((resolve, reject) => {
			queue.push({ id, update, local, resolve, reject });
			if (!writing) void flush();
		});
	}

	/** Writes what is queued, in one transaction per round, until nothing is. */
	async function flush(): Promise<void> {
		writing = true;
		while (queue.length > 0) {
			const batch = queue;
			queue = [];
			try {
				const keys = await transact(db, [DOCS, UPDATES, PENDING], 'readwrite', async (tx) => {
					const pending = tx.objectStore(PENDING);
					const at = new Date().toISOString();
					const keys: (number | null)[] = [];
					for (const item of batch) {
						keys.push(item.local ? ((await request(pending.add({ scope, id: item.id, update: item.update, at } satisfies PendingEntry))) as number) : null);
					}
					const byDoc = new Map<string, Uint8Array[]>();
					for (const item of batch) byDoc.set(item.id, [...(byDoc.get(item.id) ?? []), item.update]);
					for (const [id, updates] of byDoc) await append(tx, id, updates.length === 1 ? updates[0] : Y.mergeUpdates(updates));
					return keys;
				});
				batch.forEach((item, i) => item.resolve(keys[i]));
			} catch (error) {
				for (const item of batch) item.reject(error);
			}
		}
		writing = false;
	}

	async function deleteAll(store: IDBObjectStore, index: string, key: IDBValidKey): Promise<void> {
		const keys = await request(store.index(index).getAllKeys(key));
		for (const k of keys) await request(store.delete(k));
	}

	return {
		scope,

		load(id) {
			return transact(db, [DOCS, UPDATES, PENDING], 'readonly', async (tx): Promise<LocalDocState> => {
				const entry = (await request(tx.objectStore(DOCS).get(docKey(id)))) as DocEntry | undefined;
				const updates = (await request(tx.objectStore(UPDATES).index(BY_DOC).getAll(docKey(id)))) as UpdateEntry[];
				const pending = (await request(tx.objectStore(PENDING).index(BY_DOC).getAll(docKey(id)))) as PendingEntry[];
				const parts = [...(entry?.snapshot ? [entry.snapshot] : []), ...updates.map((u) => u.update), ...pending.map((p) => p.update)];
				return {
					state: parts.length === 0 ? null : parts.length === 1 ? parts[0] : Y.mergeUpdates(parts),
					pending: pending.map((p) => p.key!),
					createdLocally: entry?.createdLocally ?? false
				};
			});
		},

		async storeRemote(id, update) {
			if (isEmptyUpdate(update)) return;
			await write(id, update, false);
		},

		async storeLocal(id, update) {
			return (await write(id, update, true))!;
		},

		async acknowledge(id, keys) {
			if (keys.length === 0) return;
			await transact(db, [PENDING], 'readwrite', async (tx) => {
				const store = tx.objectStore(PENDING);
				for (const key of keys) await request(store.delete(key));
			});
		},

		async setCreatedLocally(id, created) {
			await transact(db, [DOCS], 'readwrite', async (tx) => {
				const docs = tx.objectStore(DOCS);
				const entry = ((await request(docs.get(docKey(id)))) as DocEntry | undefined) ?? { scope, id, snapshot: null, count: 0, createdLocally: false };
				if (entry.createdLocally !== created) await request(docs.put({ ...entry, createdLocally: created }));
			});
		},

		async forget(id) {
			await transact(db, [DOCS, UPDATES, PENDING, ROWS], 'readwrite', async (tx) => {
				await request(tx.objectStore(DOCS).delete(docKey(id)));
				await deleteAll(tx.objectStore(UPDATES), BY_DOC, docKey(id));
				await deleteAll(tx.objectStore(PENDING), BY_DOC, docKey(id));
				await request(tx.objectStore(ROWS).delete(docKey(id)));
			});
		},

		pendingDocs() {
			return transact(db, [PENDING], 'readonly', async (tx) => {
				const entries = (await request(tx.objectStore(PENDING).index(BY_SCOPE).getAll(scope))) as PendingEntry[];
				const out = new Map<string, number>();
				for (const entry of entries) out.set(entry.id, (out.get(entry.id) ?? 0) + 1);
				return out;
			});
		},

		position() {
			return transact(db, [WORKSPACES], 'readonly', async (tx) => {
				const entry = (await request(tx.objectStore(WORKSPACES).get(scope))) as WorkspaceEntry | undefined;
				return entry?.position ?? null;
			});
		},

		async setPosition(position) {
			await transact(db, [WORKSPACES], 'readwrite', async (tx) => {
				await request(tx.objectStore(WORKSPACES).put({ scope, position, caughtUpAt: new Date().toISOString() } satisfies WorkspaceEntry));
			});
		},

		async putRows(rows) {
			if (rows.length === 0) return;
			await transact(db, [ROWS], 'readwrite', async (tx) => {
				const store = tx.objectStore(ROWS);
				// Every put requested, and the commit, before the first answer: a page being left
				// (WorkspaceSync.flushRows) runs no more tasks, so rows requested one after another were lost.
				const written = rows.map((row) => request(store.put({ ...row, scope } satisfies RowEntry)));
				tx.commit();
				await Promise.all(written);
			});
		},

		rows() {
			return transact(db, [ROWS], 'readonly', async (tx) => {
				const entries = (await request(tx.objectStore(ROWS).index(BY_SCOPE).getAll(scope))) as RowEntry[];
				return entries.map(({ scope: _scope, ...row }) => row);
			});
		},

		row(id) {
			return transact(db, [ROWS], 'readonly', async (tx) => {
				const entry = (await request(tx.objectStore(ROWS).get(docKey(id)))) as RowEntry | undefined;
				if (!entry) return null;
				const { scope: _scope, ...row } = entry;
				return row;
			});
		},

		close() {
			/* the database is shared by every scope of this page and stays open */
		}
	};
}

/** What signing out removed from this device, and what it kept because the server does not have it yet. */
export interface SignOutClearing {
	/** People-in-workspaces whose copy was removed. */
	clearedScopes: number;
	/** Local changes the server has not stored yet: their people's copies are kept, so the changes are sent at their next sign-in. */
	pendingKept: number;
}

/**
 * Removes the local copy of every person on this device who has nothing pending (a copy
 * with changes the server has not stored yet is kept whole, or the changes would be
 * lost), and the search index saved from the copies. Run on the signed-out page: after
 * signing out, what this browser holds of the workspace is only what was not yet sent.
 * Works with other tabs open (entries are deleted; the database itself stays).
 */
export async function clearLocalCopiesOnSignOut(): Promise<SignOutClearing> {
	const db = await openDatabase(DATABASE_NAME, VERSION, upgrade);
	try {
		return await transact(db, [DOCS, UPDATES, PENDING, ROWS, WORKSPACES], 'readwrite', async (tx) => {
			const pending = (await request(tx.objectStore(PENDING).getAll())) as PendingEntry[];
			const kept = new Set(pending.map((entry) => entry.scope));
			const cleared = new Set<string>();
			const scopeOfEntry: Record<string, (value: unknown) => string> = {
				[DOCS]: (value) => (value as DocEntry).scope,
				[UPDATES]: (value) => (value as UpdateEntry).scope,
				[ROWS]: (value) => (value as RowEntry).scope,
				[WORKSPACES]: (value) => (value as WorkspaceEntry).scope
			};
			for (const [store, scopeOf] of Object.entries(scopeOfEntry)) {
				await new Promise<void>((resolve, reject) => {
					const cursorRequest = tx.objectStore(store).openCursor();
					cursorRequest.onerror = () => reject(cursorRequest.error ?? new Error('IndexedDB cursor failed'));
					cursorRequest.onsuccess = () => {
						const cursor = cursorRequest.result;
						if (!cursor) return resolve();
						const scope = scopeOf(cursor.value);
						if (!kept.has(scope)) {
							cleared.add(scope);
							cursor.delete();
						}
						cursor.continue();
					};
				});
			}
			return { clearedScopes: cleared.size, pendingKept: pending.length };
		});
	} finally {
		db.close();
	}
}
