/**
 * `recordChanged` notices, addressed. A notice names a record, so sending it to someone
 * who may not see the record tells them a private record exists (and when it changes).
 * Every notice therefore travels with the record's visibility (private, owner) and goes
 * only to the workspace-channel peers who may see it (canSeeRecord), on this instance
 * and on the others.
 *
 * Two forms, one message type:
 *   - to clients: `varUint(recordChanged) · varString(recordId)`, as the protocol says
 *     (src/lib/protocol/); clients never see the visibility;
 *   - on the bus: the same, followed by `varUint(flags) · varString(owner)` (flags: 1 =
 *     private, 2 = has an owner, 4 = erased), so each instance filters for its own peers
 *     without a database read, and drops the room of a record erased elsewhere.
 * A bus notice without the visibility (from an instance that predates it) is sent to
 * admins only: a peer that misses a notice catches up on its next connection, while one
 * that gets a notice it should not have learns what it must not.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { canSeeRecord, type Actor, type RecordVisibility } from '../../src/lib/access.ts';
import { MessageType, encodeFrame } from '../../src/lib/protocol/index.ts';

const PRIVATE = 1;
const HAS_OWNER = 2;
/** The record was erased (server/erase.ts): every instance drops its room, and its peers are told it does not exist. */
const ERASED = 4;

export interface RecordNotice {
	recordId: string;
	/** What clients are sent (framed once for all of them). */
	frame: Uint8Array;
	/**
	 * Who may be sent it; undefined when everyone on the channel may (a shared record),
	 * so the common case costs no check per peer.
	 */
	audience: ((peer: { readonly actor: Pick<Actor, 'id' | 'role'> }) => boolean) | undefined;
	/** The record's visibility as the notice carries it; null from an instance that did not send it. */
	visibility: RecordVisibility | null;
	/** True when the record was erased: its room is dropped without writing anything back. */
	erased?: boolean;
}

function noticeOf(recordId: string, visibility: RecordVisibility | null): RecordNotice {
	const frame = encodeFrame(null, MessageType.recordChanged, (e) => encoding.writeVarString(e, recordId));
	if (visibility && !visibility.private) return { recordId, frame, audience: undefined, visibility };
	// Unknown visibility: as if private to nobody, so admins only.
	const shown = visibility ?? { private: true, owner: null };
	return { recordId, frame, audience: (peer) => canSeeRecord(peer.actor, shown), visibility };
}

/** The notice for peers of this instance, and the message that carries it to the others. */
export function recordNotice(recordId: string, visibility: RecordVisibility, erased = false): { notice: RecordNotice; bus: Uint8Array } {
	const bus = encodeFrame(null, MessageType.recordChanged, (e) => {
		encoding.writeVarString(e, recordId);
		encoding.writeVarUint(e, (visibility.private ? PRIVATE : 0) | (visibility.owner !== null ? HAS_OWNER : 0) | (erased ? ERASED : 0));
		encoding.writeVarString(e, visibility.owner ?? '');
	});
	return { notice: { ...noticeOf(recordId, visibility), erased }, bus };
}

/** Reads a bus notice; the decoder is positioned after the message type. */
export function readRecordNotice(decoder: decoding.Decoder): RecordNotice {
	const recordId = decoding.readVarString(decoder);
	if (!decoding.hasContent(decoder)) return noticeOf(recordId, null);
	const flags = decoding.readVarUint(decoder);
	const owner = decoding.readVarString(decoder);
	return { ...noticeOf(recordId, { private: (flags & PRIVATE) !== 0, owner: (flags & HAS_OWNER) !== 0 ? owner : null }), erased: (flags & ERASED) !== 0 };
}
