/**
 * The search worker: an index of the records kept on this device (the IndexedDB local
 * copy), so search answers offline and without work on the page's thread. It opens the
 * person's local copy itself, loads the index it saved last time (its own database,
 * `accord-search`), brings it up to date with the rows (re-reading only records whose row
 * changed), and indexes the rest in small batches, answering searches in between. While
 * the page runs, the page forwards every record change it sees (local-search.ts), so an
 * edit is searchable as soon as it reaches this tab. The index logic lives in
 * index-engine.ts (tested in Node); this file is the plumbing.
 *
 * A saved index answers as soon as it is loaded (ready: it covered the local copy when it
 * was saved; rows changed since are re-read in the background, and the page checks hits
 * against the rows meanwhile). Only a new base is saved (after a merge), never on every
 * edit: edits since are found by their stamps at the next start.
 */
/// <reference lib="webworker" />
import type { CustomerRecord } from '../model/record.ts';
import type { FieldDefinition } from '../model/schema.ts';
import { indexedDbAvailable, openIndexedDbStore } from '../local/indexeddb.ts';
import { localRecord } from '../local/index.ts';
import type { LocalRow, LocalStore } from '../local/types.ts';
import { openDatabase, request, transact } from '../local/idb.ts';
import { joinSaved, RecordSearchIndex, searchText, splitSaved, type SavedIndexHead, type SearchHit } from './index-engine.ts';
import { SEARCH_VERSION } from './tokenize.ts';

export type WorkerRequest =
	| { type: 'open'; scope: string }
	| { type: 'put'; record: CustomerRecord }
	/** Compare with the local rows again (records dropped from the copy, rows changed elsewhere). */
	| { type: 'refresh' }
	/** `fields`: the workspace's field definitions, so a field named by its label (预算>100) reads as on the server. */
	| { type: 'search'; seq: number; text: string; limit: number; allIds: boolean; includeArchived: boolean; fields?: FieldDefinition[] };

export interface IndexStatus {
	/** Every record of the local copy (as its rows list them) is indexed. */
	ready: boolean;
	indexed: number;
	rows: number;
	/** The worker cannot index (no IndexedDB, or it failed): search elsewhere. */
	failed: boolean;
}

export type WorkerAnswer =
	| { type: 'status'; status: IndexStatus }
	| { type: 'result'; seq: number; ok: true; total: number; hits: SearchHit[]; ids?: string[]; status: IndexStatus }
	| { type: 'result'; seq: number; ok: false; message: string; status: IndexStatus };

const scope = self as unknown as DedicatedWorkerGlobalScope;
/** Records indexed between two looks at the message queue while building. */
const BATCH = 100;
/** A change is saved to IndexedDB after this pause (typing sends many). */
const SAVE_AFTER_MS = 3_000;
const SAVED_DB = 'accord-search';
const SAVED_STORE = 'indexes';

let index = new RecordSearchIndex();
let store: LocalStore | null = null;
let storeScope: string | null = null;
const status: IndexStatus = { ready: false, indexed: 0, rows: 0, failed: false };
/** Records the page has sent since opening: newer than what the local copy had when the build read it. */
const fromPage = new Set<string>();
let saveTimer: ReturnType<typeof setTimeout> | null = null;
/** The index's base version last saved (or loaded): a base is written once. */
let savedVersion = -1;
let refreshing: Promise<void> | null = null;

const post = (answer: WorkerAnswer) => scope.postMessage(answer);
const current = (): IndexStatus => ({ ...status, indexed: index.size });
const announce = () => post({ type: 'status', status: current() });

/** What says a row (and so its record) changed since it was indexed: its time, and whether it is archived. */
const stampOf = (row: LocalRow): string => `${row.updatedAt}|${row.archived ? 1 : 0}`;

function savedDb(): Promise<IDBDatabase> {
	return openDatabase(SAVED_DB, 1, (db) => {
		if (!db.objectStoreNames.contains(SAVED_STORE)) db.createObjectStore(SAVED_STORE);
	});
}

/**
 * The saved index is a head under the local copy's key and its parts under keys of their
 * own (splitSaved: one value of 170 MB is refused), which sort in order after it.
 */
const partKey = (key: string, n: number) => `${key}\u0000${String(n).padStart(6, '0')}`;
const partRange = (key: string) => IDBKeyRange.bound(`${key}\u0000`, `${key}\u0001`, false, true);

async function loadSaved(key: string): Promise<RecordSearchIndex | null> {
	try {
		const db = await savedDb();
		const [head, parts] = await transact(db, [SAVED_STORE], 'readonly', async (tx) => {
			const store = tx.objectStore(SAVED_STORE);
			return Promise.all([request(store.get(key)) as Promise<SavedIndexHead | undefined>, request(store.getAll(partRange(key)))]);
		});
		db.close();
		const saved = joinSaved(head, parts);
		return saved ? RecordSearchIndex.load(saved, SEARCH_VERSION) : null;
	} catch {
		return null;
	}
}

function scheduleSave(): void {
	if (saveTimer || !storeScope) return;
	saveTimer = setTimeout(() => {
		saveTimer = null;
		void save();
	}, SAVE_AFTER_MS);
}

async function save(): Promise<void> {
	const key = storeScope;
	if (!key || !status.ready || index.version === savedVersion) return;
	try {
		const version = index.version;
		const { head, parts } = splitSaved(index.save(SEARCH_VERSION));
		const db = await savedDb();
		// One transaction: the head and its parts are replaced together, or not at all.
		await transact(db, [SAVED_STORE], 'readwrite', async (tx) => {
			const store = tx.objectStore(SAVED_STORE);
			store.delete(partRange(key));
			parts.forEach((part, n) => store.put(part, partKey(key, n)));
			await request(store.put(head, key));
		});
		db.close();
		savedVersion = version;
	} catch (error) {
		// Not saved: the next start indexes again from the local copy.
		console.warn('[accord search] the index could not be saved', error);
	}
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Brings the index in line with the local rows: new and changed records read and indexed, dropped ones removed. */
async function reconcile(): Promise<void> {
	if (!store) return;
	const local = store;
	const rows = await local.rows();
	status.rows = rows.length;
	const present = new Set(rows.map((row) => row.id));
	for (const id of index.ids()) if (!present.has(id)) index.remove(id);
	let done = 0;
	for (const row of rows) {
		if (fromPage.has(row.id)) {
			// Indexed from the page, newer than the row may be; the row's time is still what `updated` compares.
			index.setUpdatedAt(row.id, row.updatedAt);
			continue;
		}
		if (index.stampOf(row.id) === stampOf(row)) continue;
		const found = await localRecord(local, row.id).catch(() => null);
		// The page may have sent a newer version while this one was read.
		if (found && !fromPage.has(row.id)) index.put(found.record, stampOf(row), row.updatedAt);
		if (++done % BATCH === 0) {
			announce();
			await pause();
		}
	}
	// A large batch of new records is merged into the base now (searches over a big delta are slower).
	index.settle();
	status.ready = true;
	announce();
	if (done > 0) scheduleSave();
}

function refresh(): Promise<void> {
	if (!refreshing) {
		refreshing = reconcile()
			.catch((error: unknown) => {
				console.warn('[accord search] indexing the local copy failed', error);
				status.failed = !status.ready;
			})
			.finally(() => {
				refreshing = null;
				announce();
			});
	}
	return refreshing;
}

async function open(key: string): Promise<void> {
	if (storeScope === key) return;
	storeScope = key;
	if (!indexedDbAvailable()) {
		status.failed = true;
		announce();
		return;
	}
	try {
		store = await openIndexedDbStore(key);
	} catch {
		status.failed = true;
		announce();
		return;
	}
	const saved = await loadSaved(key);
	if (saved) {
		index = saved;
		savedVersion = saved.version;
		status.ready = true;
		// Records the page sent while the saved index was read are newer than it.
		for (const { record, changed } of early?.values() ?? []) index.put(record, '', changed);
	}
	early = null;
	announce();
	await refresh();
}

/** Records sent by the page before the saved index is loaded (then null), and when: they are put again into the loaded one. */
let early: Map<string, { record: CustomerRecord; changed: string }> | null = new Map();

function search(message: Extract<WorkerRequest, { type: 'search' }>): void {
	const result = searchText(index, message.text, { limit: message.limit, allIds: message.allIds, includeArchived: message.includeArchived, fields: message.fields });
	if (!result.ok) {
		post({ type: 'result', seq: message.seq, ok: false, message: result.message, status: current() });
		return;
	}
	post({ type: 'result', seq: message.seq, ok: true, total: result.total, hits: result.hits, ids: result.ids, status: current() });
}

scope.onmessage = (event: MessageEvent<WorkerRequest>) => {
	const message = event.data;
	try {
		switch (message.type) {
			case 'open':
				void open(message.scope);
				break;
			case 'put': {
				// Its list row takes this moment too (rowOfDoc), until the next refresh reads the row's own time.
				const changed = new Date().toISOString();
				fromPage.add(message.record.id);
				early?.set(message.record.id, { record: message.record, changed });
				index.put(message.record, '', changed);
				scheduleSave();
				break;
			}
			case 'refresh':
				void refresh().then(() => scheduleSave());
				break;
			case 'search':
				search(message);
				break;
		}
	} catch (error) {
		if (message.type === 'search') post({ type: 'result', seq: message.seq, ok: false, message: error instanceof Error ? error.message : String(error), status: current() });
		else console.warn('[accord search]', error);
	}
};
