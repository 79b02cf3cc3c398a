/**
 * Step 8 of an update's life (see ../pipeline.ts): the other instances get the update on
 * the bus, only once it is stored, so no other instance ever holds a change its origin
 * may still lose (a client reconnecting there would not send it again), and one that
 * opens the document meanwhile (subscribing before it loads) finds it either in the
 * database or on the bus. Presence goes the same way, without waiting for storage.
 */
import type { Bus } from '../../bus/types.ts';

/** The bus topic of a document or workspace channel. */
export function documentTopic(name: string): string {
	return `doc:${name}`;
}

/** Publishes a y-websocket message of document `name` to the other instances. */
export function publish(bus: Pick<Bus, 'publish'>, name: string, message: Uint8Array): void {
	bus.publish(documentTopic(name), message);
}
