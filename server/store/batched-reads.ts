/**
 * Reads by id that are asked for within one event-loop turn go out as one statement: a
 * client opening many records at once (a new tab's first sync, a catch-up re-syncing
 * what changed) costs a few statements instead of a few per record. On PGlite every
 * statement is a trip to the database thread, and these per-record statements were most
 * of a warm re-sync's time.
 */

/** Answers for the ids asked: a value, or an Error for an id whose row cannot be used. Absent ids answer null. */
export type BatchRead<V> = (ids: string[]) => Promise<Map<string, V | Error>>;

/** `read` gets the ids in lower case (Postgres spells uuids so) and answers under those spellings. */
export function batchedReads<V>(read: BatchRead<V>): (id: string) => Promise<V | null> {
	type Waiter = { resolve(value: V | null): void; reject(error: unknown): void };
	let waiting = new Map<string, Waiter[]>();

	async function answer(batch: Map<string, Waiter[]>): Promise<void> {
		try {
			const found = await read([...batch.keys()]);
			for (const [id, waiters] of batch) {
				const value = found.get(id);
				for (const waiter of waiters) {
					if (value instanceof Error) waiter.reject(value);
					else waiter.resolve(value ?? null);
				}
			}
		} catch (error) {
			for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
		}
	}

	return (id) =>
		new Promise((resolve, reject) => {
			if (waiting.size === 0) {
				setImmediate(() => {
					const batch = waiting;
					waiting = new Map();
					void answer(batch);
				});
			}
			const key = id.toLowerCase();
			const waiters = waiting.get(key);
			if (waiters) waiters.push({ resolve, reject });
			else waiting.set(key, [{ resolve, reject }]);
		});
}
