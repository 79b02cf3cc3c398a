/**
 * A small typed layer over IndexedDB: requests and transactions as promises. Requests
 * made in a transaction's promise chain keep it active (their callbacks resolve within
 * the same task), so `transact(db, stores, mode, async (tx) => { … await get(…) … })`
 * runs as one atomic transaction, resolving once it has committed.
 */

export function request<T>(req: IDBRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		req.onsuccess = () => resolve(req.result);
		req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
	});
}

export function openDatabase(name: string, version: number, upgrade: (db: IDBDatabase, oldVersion: number, tx: IDBTransaction) => void): Promise<IDBDatabase> {
	return new Promise((resolve, reject) => {
		const req = indexedDB.open(name, version);
		req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion, req.transaction!);
		req.onsuccess = () => {
			const db = req.result;
			// Another tab wants a newer version: step aside rather than block it.
			db.onversionchange = () => db.close();
			resolve(db);
		};
		req.onerror = () => reject(req.error ?? new Error(`IndexedDB database ${name} could not be opened`));
		req.onblocked = () => reject(new Error(`IndexedDB database ${name} is held open by an older tab`));
	});
}

/**
 * Runs `fn` in one transaction; resolves with its result once the transaction has
 * committed. Durability is `relaxed`: committed to the operating system (surviving a
 * closed tab or a crashed browser), without waiting for the disk to flush, which
 * `strict` does at every commit and which made a queue of keystrokes lag far behind.
 */
export function transact<T>(db: IDBDatabase, stores: string[], mode: IDBTransactionMode, fn: (tx: IDBTransaction) => Promise<T>): Promise<T> {
	const tx = db.transaction(stores, mode, { durability: 'relaxed' });
	const done = new Promise<void>((resolve, reject) => {
		tx.oncomplete = () => resolve();
		tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
		tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
	});
	// Observed below on success; on failure `fn`'s own error is the one reported.
	done.catch(() => {});
	let result: T;
	return fn(tx)
		.then(
			(value) => {
				result = value;
				// Everything is requested: commit now rather than when the event loop comes round.
				try {
					tx.commit();
				} catch {
					/* committing already */
				}
			},
			(error: unknown) => {
				try {
					tx.abort();
				} catch {
					/* already finished */
				}
				throw error;
			}
		)
		.then(() => done)
		.then(() => result);
}
