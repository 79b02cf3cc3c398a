/**
 * The local copy kept in memory: the same contract as the IndexedDB store, for tests in
 * Node and for browsers where IndexedDB cannot be opened (private modes). Nothing
 * survives the page; pending changes still wait for the server's acknowledgement.
 */
import * as Y from 'yjs';
import { COMPACT_AFTER, isEmptyUpdate, type LocalRow, type LocalStore } from './types.ts';
import { newDoc } from '../model/record.ts';

interface Doc {
	updates: Uint8Array[];
	pending: Map<number, Uint8Array>;
	createdLocally: boolean;
}

export function memoryStore(scope = 'memory'): LocalStore & { compactions: number } {
	const docs = new Map<string, Doc>();
	const rows = new Map<string, LocalRow>();
	let position: string | null = null;
	let nextKey = 1;
	let compactions = 0;

	const docOf = (id: string): Doc => {
		let doc = docs.get(id);
		if (!doc) docs.set(id, (doc = { updates: [], pending: new Map(), createdLocally: false }));
		return doc;
	};
	const append = (id: string, update: Uint8Array) => {
		const doc = docOf(id);
		doc.updates.push(update);
		if (doc.updates.length >= COMPACT_AFTER) {
			const merged = newDoc();
			for (const u of doc.updates) Y.applyUpdate(merged, u);
			doc.updates = [Y.encodeStateAsUpdate(merged)];
			merged.destroy();
			compactions++;
		}
	};

	return {
		scope,
		get compactions() {
			return compactions;
		},
		async load(id) {
			const doc = docs.get(id);
			const parts = doc ? [...doc.updates, ...doc.pending.values()] : [];
			return {
				state: parts.length === 0 ? null : Y.mergeUpdates(parts),
				pending: doc ? [...doc.pending.keys()] : [],
				createdLocally: doc?.createdLocally ?? false
			};
		},
		async storeRemote(id, update) {
			if (!isEmptyUpdate(update)) append(id, update);
		},
		async storeLocal(id, update) {
			const key = nextKey++;
			docOf(id).pending.set(key, update);
			append(id, update);
			return key;
		},
		async acknowledge(id, keys) {
			const doc = docs.get(id);
			for (const key of keys) doc?.pending.delete(key);
		},
		async setCreatedLocally(id, created) {
			docOf(id).createdLocally = created;
		},
		async forget(id) {
			docs.delete(id);
			rows.delete(id);
		},
		async pendingDocs() {
			const out = new Map<string, number>();
			for (const [id, doc] of docs) if (doc.pending.size > 0) out.set(id, doc.pending.size);
			return out;
		},
		async position() {
			return position;
		},
		async setPosition(next) {
			position = next;
		},
		async putRows(next) {
			for (const row of next) rows.set(row.id, row);
		},
		async rows() {
			return [...rows.values()];
		},
		async row(id) {
			return rows.get(id) ?? null;
		},
		close() {}
	};
}
