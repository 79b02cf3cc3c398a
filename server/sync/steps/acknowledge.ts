/**
 * Step 9 of an update's life (see ../pipeline.ts): the sender learns its change is safe.
 * Every sync message carrying content from a connection is counted; on `/sync` (the
 * app's multiplexed socket) the count is sent back as `saved` once everything persisted
 * for the document so far is stored, never before, so a client drops its pending copy
 * only of what the database holds. Plain y-websocket clients have no such message.
 */
import { encodeSaved } from '../../../src/lib/protocol/index.ts';

/** What acknowledging needs of the connection. */
export interface Acknowledged {
	readonly multiplexed: boolean;
	send(bytes: Uint8Array): void;
}

/** What acknowledging keeps per connection and document. */
export interface Received {
	/** Sync messages carrying content received from this connection; acknowledged with `saved`. */
	received: number;
}

/** What acknowledging needs of the document. */
export interface AcknowledgingDocument {
	readonly name: string;
	/** The connection is still on the document (one that left is not answered). */
	has(connection: Acknowledged): boolean;
}

/** Counts the message and, for `/sync`, says `saved` with that count once `stored` resolves. */
export function acknowledge(
	document: AcknowledgingDocument,
	connection: Acknowledged,
	membership: Received,
	stored: (documentId: string) => Promise<void>
): void {
	const count = ++membership.received;
	if (!connection.multiplexed) return;
	void stored(document.name).then(() => {
		if (document.has(connection)) connection.send(encodeSaved(document.name, count));
	});
}
