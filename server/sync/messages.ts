/**
 * Message dispatch: reads a y-websocket message a connection or the bus sent for one
 * document and hands it to what deals with it: a sync step 1 is answered with what the
 * peer lacks, a sync step 2 or update enters the update pipeline (pipeline.ts), presence
 * goes to the room's awareness. The bus also carries the pipeline's own messages
 * (bus-codec.ts): an update published before its commit, applied here, and `stored`
 * notices; what follows from them (holding, taking over) is the caller's (rooms.ts).
 * Decoding lives here, apart from the document's state (room.ts), as Hocuspocus keeps
 * its MessageReceiver apart from its Document.
 */
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';
import { readRecordNotice, type RecordNotice } from './record-notice.ts';
import type { UpdatePipeline } from './pipeline.ts';
import { BusMessageType, decodeCarriedUpdate, decodeStored, type CarriedUpdate, type StoredNotice } from './bus-codec.ts';
import type { Membership, Peer, Room, SystemOrigin } from './room.ts';

/**
 * One message from `peer`, the decoder positioned after its type. Returns a promise when
 * the message waits for client ids to be bound first (see UpdatePipeline.receive). A
 * malformed message throws: the connection closes itself, nothing else.
 */
export function receiveMessage(
	pipeline: UpdatePipeline,
	room: Room,
	peer: Peer,
	membership: Membership,
	type: number,
	decoder: decoding.Decoder
): void | Promise<void> {
	switch (type) {
		case MessageType.sync: {
			if (!room.persistent) return;
			// Dispatched here rather than by syncProtocol.readSyncMessage, which logs and
			// swallows a malformed update: ours must reach the connection and close it.
			const syncType = decoding.readVarUint(decoder);
			if (syncType === syncProtocol.messageYjsSyncStep1) {
				const stateVector = decoding.readVarUint8Array(decoder);
				peer.send(room.frame(peer, encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeSyncStep2(e, room.doc, stateVector))));
				return;
			}
			if (syncType === syncProtocol.messageYjsSyncStep2 || syncType === syncProtocol.messageYjsUpdate) {
				return pipeline.receive(room, peer, membership, syncType, decoding.readVarUint8Array(decoder));
			}
			throw new Error(`unknown sync message type ${syncType}`);
		}
		case MessageType.awareness:
			room.receivePresence(peer, membership, decoding.readVarUint8Array(decoder));
			return;
		case MessageType.queryAwareness:
			room.answerPresenceQuery(peer, membership);
			return;
		default:
			throw new Error(`message type ${type} is not accepted here`);
	}
}

/** What a bus message asks of the instance beyond the room: a record notice, an update to hold until it is stored, or updates now stored. */
export type BusReceipt = { notice: RecordNotice } | { carried: CarriedUpdate } | { stored: StoredNotice };

/**
 * A message from another instance: a y-websocket message, or one of the pipeline's own
 * (bus-codec.ts). A carried update is applied here (it is read whole first); holding it
 * until it is stored is the caller's. A message that does not read back throws.
 */
export function receiveFromBus(room: Room, message: Uint8Array): BusReceipt | undefined {
	const decoder = decoding.createDecoder(message);
	const type = decoding.readVarUint(decoder);
	if (type === BusMessageType.carriedUpdate) {
		if (!room.persistent) return undefined;
		const carried = decodeCarriedUpdate(message);
		if (!carried) throw new Error('a carried update that does not read back');
		Y.applyUpdate(room.doc, carried.update, 'bus' satisfies SystemOrigin);
		return { carried };
	}
	if (type === BusMessageType.stored) {
		const stored = decodeStored(message);
		if (!stored) throw new Error('a stored notice that does not read back');
		return { stored };
	}
	if (type === MessageType.sync && room.persistent) {
		// Only updates travel on the bus (stored already: after a resume, or too large to carry).
		if (decoding.readVarUint(decoder) === syncProtocol.messageYjsUpdate) {
			Y.applyUpdate(room.doc, decoding.readVarUint8Array(decoder), 'bus' satisfies SystemOrigin);
		}
	} else if (type === MessageType.awareness) {
		awarenessProtocol.applyAwarenessUpdate(room.awareness, decoding.readVarUint8Array(decoder), 'bus');
	} else if (type === MessageType.recordChanged && !room.persistent) {
		// Only to those who may see the record (see record-notice.ts); clients get the plain id.
		const notice = readRecordNotice(decoder);
		room.broadcast(notice.frame, undefined, notice.audience);
		return { notice };
	}
	return undefined;
}
