/**
 * Frames a stock client would never send, built by hand for tests of what the server
 * does with them: presence under any client id, clock and state (another person's id, a
 * megabyte of JSON, hundreds of ids at once).
 */
import * as encoding from 'lib0/encoding';
import { MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';

/** A y-websocket awareness message (plain, for `/y/<id>`) carrying exactly these states. */
export function awarenessFrame(entries: ReadonlyArray<{ client: number; clock: number; state: unknown }>): Uint8Array {
	const update = encoding.createEncoder();
	encoding.writeVarUint(update, entries.length);
	for (const { client, clock, state } of entries) {
		encoding.writeVarUint(update, client);
		encoding.writeVarUint(update, clock);
		encoding.writeVarString(update, JSON.stringify(state));
	}
	return encodeFrame(null, MessageType.awareness, (e) => encoding.writeVarUint8Array(e, encoding.toUint8Array(update)));
}
