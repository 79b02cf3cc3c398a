/**
 * Accord's wire protocol. Two endpoints speak it:
 *
 *   /y/<recordId>  the plain y-websocket protocol for one document:
 *                  varUint(messageType) · payload
 *   /sync          many documents over one socket, each frame tagged with its document:
 *                  varString(documentName) · varUint(messageType) · payload
 *
 * Message types 0–3 are y-websocket's own (sync, awareness, auth, query-awareness);
 * 4 and up are Accord's and are only sent on /sync.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { readProblems, type ShapeProblem } from '../model/shape-problems.ts';

export const MessageType = {
	sync: 0,
	awareness: 1,
	auth: 2,
	queryAwareness: 3,
	/** server → client: this document is refused (`code`, `reason`); the socket stays open. */
	refused: 4,
	/** server → client: `count` updates sent by this connection on this document are now stored durably. */
	saved: 5,
	/** server → client, on a workspace channel: the projection of record `id` changed. */
	recordChanged: 6,
	/** client → server: stop syncing this document on this socket. */
	close: 7,
	/**
	 * client → server, on the workspace channel: which records changed since `position`
	 * (the opaque string of an earlier `changedSince`, or empty for "everything")?
	 */
	catchUp: 8,
	/**
	 * server → client, on the workspace channel, answering `catchUp`: the records (ids)
	 * changed since the position that this person may see, those they may no longer see
	 * (`removed`), and the position to ask from next time.
	 */
	changedSince: 9,
	/**
	 * client → server, on a record, before its sync step 1: the record's whole state, for
	 * a record created on the client (offline). The server creates it if it does not exist
	 * yet and the sender may (an editor; valid `meta` and fields), then syncs it as usual.
	 */
	create: 10
} as const;

export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** WebSocket close codes the server uses, with the reason sent alongside. */
export const CloseCode = {
	normal: 1000,
	goingAway: 1001,
	invalidPayload: 1007,
	policy: 1008,
	tooBig: 1009,
	internal: 1011,
	unauthorised: 4401,
	forbidden: 4403,
	notFound: 4404
} as const;

/** Largest frame a client may send; anything larger closes its socket with 1009. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Document names on /sync: a record id, or the presence channel of a workspace. */
export const WORKSPACE_CHANNEL_PREFIX = 'workspace:';

export function workspaceChannel(workspace: string): string {
	return WORKSPACE_CHANNEL_PREFIX + workspace;
}

export function isWorkspaceChannel(name: string): boolean {
	return name.startsWith(WORKSPACE_CHANNEL_PREFIX);
}

export interface RefusedMessage {
	code: string;
	/** In English: what a client that reads no more than this shows. */
	reason: string;
	/** For `not-kept`: what was not kept, as data the browser words in its person's language. */
	problems?: readonly ShapeProblem[];
}

export function encodeFrame(documentName: string | null, type: MessageTypeCode, writePayload?: (encoder: encoding.Encoder) => void): Uint8Array {
	const encoder = encoding.createEncoder();
	if (documentName !== null) encoding.writeVarString(encoder, documentName);
	encoding.writeVarUint(encoder, type);
	writePayload?.(encoder);
	return encoding.toUint8Array(encoder);
}

export function encodeRefused(documentName: string, refusal: RefusedMessage): Uint8Array {
	return encodeFrame(documentName, MessageType.refused, (e) => {
		encoding.writeVarString(e, refusal.code);
		encoding.writeVarString(e, refusal.reason);
		// Appended, so a client that reads only code and reason is not disturbed by it.
		if (refusal.problems && refusal.problems.length > 0) encoding.writeVarString(e, JSON.stringify(refusal.problems));
	});
}

export function decodeRefused(decoder: decoding.Decoder): RefusedMessage {
	const code = decoding.readVarString(decoder);
	const reason = decoding.readVarString(decoder);
	if (!decoding.hasContent(decoder)) return { code, reason };
	const problems = readProblems(decoding.readVarString(decoder));
	return problems.length > 0 ? { code, reason, problems } : { code, reason };
}

export function encodeSaved(documentName: string, count: number): Uint8Array {
	return encodeFrame(documentName, MessageType.saved, (e) => encoding.writeVarUint(e, count));
}

export function encodeRecordChanged(workspace: string, recordId: string): Uint8Array {
	return encodeFrame(workspaceChannel(workspace), MessageType.recordChanged, (e) => encoding.writeVarString(e, recordId));
}

export function encodeClose(documentName: string): Uint8Array {
	return encodeFrame(documentName, MessageType.close);
}

/** The answer to a `catchUp` request. */
export interface ChangedSince {
	/** Records changed since the position that the person may see: sync these. */
	records: string[];
	/** Records the person may no longer see: drop the local copies. */
	removed: string[];
	/** Where to catch up from next time (opaque). */
	position: string;
}

export function encodeCatchUp(workspace: string, position: string | null): Uint8Array {
	return encodeFrame(workspaceChannel(workspace), MessageType.catchUp, (e) => encoding.writeVarString(e, position ?? ''));
}

/** Reads a `catchUp` payload: the position, or null for "from the beginning". */
export function decodeCatchUp(decoder: decoding.Decoder): string | null {
	const position = decoding.readVarString(decoder);
	return position === '' ? null : position;
}

export function encodeChangedSince(workspace: string, answer: ChangedSince): Uint8Array {
	return encodeFrame(workspaceChannel(workspace), MessageType.changedSince, (e) => {
		encoding.writeVarUint(e, answer.records.length);
		for (const id of answer.records) encoding.writeVarString(e, id);
		encoding.writeVarUint(e, answer.removed.length);
		for (const id of answer.removed) encoding.writeVarString(e, id);
		encoding.writeVarString(e, answer.position);
	});
}

export function decodeChangedSince(decoder: decoding.Decoder): ChangedSince {
	const readIds = () => {
		const count = decoding.readVarUint(decoder);
		const ids: string[] = [];
		for (let i = 0; i < count; i++) ids.push(decoding.readVarString(decoder));
		return ids;
	};
	const records = readIds();
	const removed = readIds();
	return { records, removed, position: decoding.readVarString(decoder) };
}

export function encodeCreate(documentName: string, state: Uint8Array): Uint8Array {
	return encodeFrame(documentName, MessageType.create, (e) => encoding.writeVarUint8Array(e, state));
}

/** Reads a frame's header; the decoder is left at the start of the payload. */
export function readFrameHeader(decoder: decoding.Decoder, multiplexed: boolean): { documentName: string | null; type: number } {
	const documentName = multiplexed ? decoding.readVarString(decoder) : null;
	const type = decoding.readVarUint(decoder);
	return { documentName, type };
}

/** Presence carried in awareness states, on records and on workspace channels alike. */
export interface PresenceUser {
	id: string;
	name: string;
	color: string;
	colorLight: string;
}

export interface PresenceState {
	user: PresenceUser;
	/** On a record: the field that has focus (`fields.company`, `notes`, …). */
	field?: string | null;
	/** On a workspace channel: the record open in this tab. */
	viewing?: string | null;
}
