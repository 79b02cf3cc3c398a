/**
 * Bundled by offline-local-store.test.ts (esbuild) and run in a page: the IndexedDB
 * store, Yjs, and a raw look at what a document takes in the database.
 */
import * as Y from 'yjs';
import { openIndexedDbStore } from '../../src/lib/local/indexeddb.ts';
import { COMPACT_AFTER } from '../../src/lib/local/types.ts';

/** The stored snapshot's size and the number of updates appended after it, for one document. */
function inspect(scope: string, id: string): Promise<{ snapshot: number; updates: number }> {
	return new Promise((resolve, reject) => {
		const open = indexedDB.open('accord');
		open.onerror = () => reject(open.error);
		open.onsuccess = () => {
			const db = open.result;
			const tx = db.transaction(['docs', 'updates'], 'readonly');
			const doc = tx.objectStore('docs').get([scope, id]);
			const updates = tx.objectStore('updates').index('byDoc').count([scope, id]);
			tx.oncomplete = () => {
				db.close();
				resolve({ snapshot: (doc.result as { snapshot: Uint8Array | null } | undefined)?.snapshot?.byteLength ?? 0, updates: updates.result });
			};
		};
	});
}

const exported = { Y, openIndexedDbStore, COMPACT_AFTER, inspect };
export type LocalStoreTestApi = typeof exported;
(window as unknown as { accordLocal: LocalStoreTestApi }).accordLocal = exported;
