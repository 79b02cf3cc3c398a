/**
 * Step 5 of an update's life (see ../pipeline.ts): the update, as Yjs emitted it for the
 * transaction (so repaired, if the guard repaired it), goes to this instance's other
 * connections on the document, framed once for all of them (see ../outbox.ts). The same
 * message is later published to the other instances (step 8).
 */
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType } from '../../../src/lib/protocol/index.ts';

/** The y-websocket sync message carrying `update` (the bytes of `encodeFrame(null, sync, writeUpdate)`, without a closure per update). */
export function updateMessage(update: Uint8Array): Uint8Array {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MessageType.sync);
	encoding.writeVarUint(encoder, syncProtocol.messageYjsUpdate);
	encoding.writeVarUint8Array(encoder, update);
	return encoding.toUint8Array(encoder);
}

/** What broadcasting needs of the document's room. */
export interface Audience {
	broadcast(message: Uint8Array, except?: unknown): void;
}

/**
 * Sends the update to everyone on the document but its sender (`origin`), who has it; a
 * repaired update goes back to its sender too: it holds what was not kept, and must converge.
 */
export function broadcastUpdate(audience: Audience, message: Uint8Array, origin: unknown, repaired: boolean): void {
	audience.broadcast(message, repaired ? undefined : origin);
}
