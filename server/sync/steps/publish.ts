/**
 * Step 8 of an update's life (see ../pipeline.ts): the other instances get the update on
 * the bus.
 *
 * With other instances (a Redis bus) it is published before the commit, as soon as it is
 * applied and its audit entries are computed, so crossing instances costs no commit: the
 * message carries what another instance needs to store it in this one's place (the
 * update, its origin and number, its entries, the bindings not stored yet: ../bus-codec.ts).
 * Once stored, a `stored` notice names it (one message per document and commit), and the
 * instances holding it let it go; one that hears nothing from the origin in time stores
 * it itself (../unconfirmed.ts), so a change another instance already shows is never
 * lost with its origin. An instance that opens the document meanwhile (subscribing before it loads)
 * finds it in the database, on the bus, or, published before it subscribed and stored
 * after it loaded, learns of it from the `stored` notice and reads the document again
 * (../rooms.ts).
 *
 * Without (one instance), or for an update too large to carry, the plain update is
 * published once stored, as y-websocket frames it. Presence goes the same way, without
 * waiting for storage.
 */
import type { Bus } from '../../bus/types.ts';
import { MAX_CARRIED_BYTES, MAX_STORED_IDS, encodeCarriedUpdate, encodeStored, type CarriedUpdate } from '../bus-codec.ts';

/** The bus topic of a document or workspace channel. */
export function documentTopic(name: string): string {
	return `doc:${name}`;
}

/** Publishes a y-websocket message of document `name` to the other instances. */
export function publish(bus: Pick<Bus, 'publish'>, name: string, message: Uint8Array): void {
	bus.publish(documentTopic(name), message);
}

/** Publishes an update before its commit, with what storing it elsewhere needs; false when it is too large to carry (nothing was published). */
export function publishCarried(bus: Pick<Bus, 'publish'>, name: string, carried: CarriedUpdate): boolean {
	const message = encodeCarriedUpdate(carried);
	if (message.byteLength > MAX_CARRIED_BYTES) return false;
	bus.publish(documentTopic(name), message);
	return true;
}

/**
 * `stored` notices, gathered per document and origin over one turn of the event loop (a
 * group commit resolves all its updates in one turn), then published one message each.
 */
export class StoredNotices {
	/** By document, then by origin and whether this instance took them over (`<origin>/<0|1>`). */
	private pending = new Map<string, Map<string, number[]>>();
	private scheduled = false;

	constructor(private readonly bus: Pick<Bus, 'publish'>) {}

	/** Update `id` of `origin`, of document `name`, is stored (`byTaker`: by this instance, taking it over). */
	stored(name: string, origin: string, id: number, byTaker = false): void {
		let origins = this.pending.get(name);
		if (!origins) this.pending.set(name, (origins = new Map()));
		const key = `${origin}/${byTaker ? 1 : 0}`;
		const ids = origins.get(key);
		if (ids) ids.push(id);
		else origins.set(key, [id]);
		if (this.scheduled) return;
		this.scheduled = true;
		queueMicrotask(this.flush);
	}

	private readonly flush = (): void => {
		const pending = this.pending;
		this.pending = new Map();
		this.scheduled = false;
		for (const [name, origins] of pending) {
			for (const [key, ids] of origins) {
				const origin = key.slice(0, -2);
				const byTaker = key.endsWith('/1');
				for (let i = 0; i < ids.length; i += MAX_STORED_IDS) publish(this.bus, name, encodeStored({ origin, byTaker, ids: ids.slice(i, i + MAX_STORED_IDS) }));
			}
		}
	};
}
