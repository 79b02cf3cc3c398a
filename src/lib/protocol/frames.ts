/**
 * Accord's wire protocol, the frames: one explicit encoder and decoder per message that
 * carries a payload, and the frame header both endpoints read first (see `messages.ts`
 * for the layout). Browser and server build and read frames only through these, so a
 * change to a payload is made once, here.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { readProblems, type ShapeProblem } from '../model/shape-problems.ts';
import { MessageType, workspaceChannel, type MessageTypeCode } from './messages.ts';

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
