/**
 * The update pipeline's own messages between instances (steps/publish.ts), beside the
 * y-websocket messages the bus also carries (presence, record notices, a document's whole
 * state after a resume). An update is published before its commit, so the message carries
 * what another instance needs to store it in the origin's place: the update, who it is
 * (origin instance and number: the store's UpdateKey), its audit entries and the client
 * id bindings not stored yet. Once stored, a short `stored` message names the updates.
 *
 *   carried update  64, format 1, origin (16 bytes), id, update, bindings, audit drafts
 *   stored          65, format 1, origin (16 bytes), by a taker (0 or 1), ids
 *
 * Encoding and decoding only, no state (what is done with them: ../sync/rooms.ts and
 * unconfirmed.ts). The bus is not a client, but whoever reaches Redis can publish on it:
 * decoding checks every field and bounds every length and count, and refuses (null) what
 * does not read back whole, without throwing. Values (a field's before and after) travel
 * as JSON text, which reads back only as JSON values.
 */
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { AUDIT_OPS, AUDIT_SOURCES, type AuditPerson, type AuditValue } from '../../src/lib/model/audit.ts';
import type { AuditDraft, DraftConflict, PersonRef } from '../audit/types.ts';
import type { PendingBinding } from './steps/attribute.ts';

/** Message types of the bus only; y-websocket's (src/lib/protocol, 0-10) never reach these. */
export const BusMessageType = { carriedUpdate: 64, stored: 65 } as const;

const FORMAT = 1;
/** A carried update larger than this is not carried: the origin publishes the plain update once stored, as before. */
export const MAX_CARRIED_BYTES = 16 * 1024 * 1024;
/** Ids one `stored` message names at most (the writer's batch is 500); more go in further messages. */
export const MAX_STORED_IDS = 10_000;
const MAX_BINDINGS = 10_000;
const MAX_DRAFTS = 100_000;
const ORIGIN_BYTES = 16;

/** An update as another instance stores it when its origin does not confirm it in time. */
export interface CarriedUpdate {
	/** The origin instance (a uuid). */
	origin: string;
	/** Its number among the origin's updates. */
	id: number;
	update: Uint8Array;
	bindings: readonly PendingBinding[];
	drafts: readonly AuditDraft[];
}

/** Updates of `origin` now stored: by it, or (`byTaker`) by an instance that took them over. */
export interface StoredNotice {
	origin: string;
	byTaker: boolean;
	ids: number[];
}

/** The message type of a bus message (its first number), or -1 when there is none. */
export function busMessageType(message: Uint8Array): number {
	try {
		return decoding.readVarUint(decoding.createDecoder(message));
	} catch {
		return -1;
	}
}

export function encodeCarriedUpdate(carried: CarriedUpdate): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, BusMessageType.carriedUpdate);
	encoding.writeVarUint(e, FORMAT);
	encoding.writeUint8Array(e, uuidBytes(carried.origin));
	encoding.writeVarUint(e, carried.id);
	encoding.writeVarUint8Array(e, carried.update);
	encoding.writeVarUint(e, carried.bindings.length);
	for (const binding of carried.bindings) {
		encoding.writeVarUint(e, binding.client);
		writePerson(e, binding.person);
	}
	encoding.writeVarUint(e, carried.drafts.length);
	for (const draft of carried.drafts) writeDraft(e, draft);
	return encoding.toUint8Array(e);
}

/** The carried update in `message`, or null when it is not one that reads back whole. */
export function decodeCarriedUpdate(message: Uint8Array): CarriedUpdate | null {
	if (message.byteLength > MAX_CARRIED_BYTES) return null;
	try {
		const d = decoding.createDecoder(message);
		if (decoding.readVarUint(d) !== BusMessageType.carriedUpdate || decoding.readVarUint(d) !== FORMAT) return null;
		const origin = readOrigin(d);
		const id = readId(d);
		const update = readBytes(d);
		const bindings: PendingBinding[] = [];
		for (let i = 0, n = readCount(d, MAX_BINDINGS); i < n; i++) bindings.push({ client: readClient(d), person: readPerson(d) });
		const drafts: AuditDraft[] = [];
		for (let i = 0, n = readCount(d, MAX_DRAFTS); i < n; i++) drafts.push(readDraft(d));
		if (decoding.hasContent(d)) return null;
		return { origin, id, update, bindings, drafts };
	} catch {
		return null;
	}
}

export function encodeStored(notice: StoredNotice): Uint8Array {
	const e = encoding.createEncoder();
	encoding.writeVarUint(e, BusMessageType.stored);
	encoding.writeVarUint(e, FORMAT);
	encoding.writeUint8Array(e, uuidBytes(notice.origin));
	encoding.writeUint8(e, notice.byTaker ? 1 : 0);
	encoding.writeVarUint(e, notice.ids.length);
	for (const id of notice.ids) encoding.writeVarUint(e, id);
	return encoding.toUint8Array(e);
}

/** The `stored` notice in `message`, or null when it is not one that reads back whole. */
export function decodeStored(message: Uint8Array): StoredNotice | null {
	try {
		const d = decoding.createDecoder(message);
		if (decoding.readVarUint(d) !== BusMessageType.stored || decoding.readVarUint(d) !== FORMAT) return null;
		const origin = readOrigin(d);
		const byTaker = readFlag(d);
		const ids: number[] = [];
		for (let i = 0, n = readCount(d, MAX_STORED_IDS); i < n; i++) ids.push(readId(d));
		if (decoding.hasContent(d) || ids.length === 0) return null;
		return { origin, byTaker, ids };
	} catch {
		return null;
	}
}

/** Origins as bytes, by their spelling: an instance encodes its own on every update (a profile of the team load showed the parsing at 3% of the server's time). */
const originBytes = new Map<string, Uint8Array>();
const MAX_CACHED_ORIGINS = 64;

/** A uuid (as crypto.randomUUID spells it) as its 16 bytes. */
function uuidBytes(uuid: string): Uint8Array {
	const cached = originBytes.get(uuid);
	if (cached) return cached;
	const hex = uuid.replace(/-/g, '');
	if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a uuid: ${JSON.stringify(uuid)}`);
	const bytes = new Uint8Array(ORIGIN_BYTES);
	for (let i = 0; i < ORIGIN_BYTES; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
	if (originBytes.size >= MAX_CACHED_ORIGINS) originBytes.clear();
	originBytes.set(uuid, bytes);
	return bytes;
}

function readOrigin(d: decoding.Decoder): string {
	const hex = Array.from(readFixed(d, ORIGIN_BYTES), (byte) => byte.toString(16).padStart(2, '0')).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A count of items that follow, each at least a byte: never more than the bytes left, nor `max`. */
function readCount(d: decoding.Decoder, max: number): number {
	const n = decoding.readVarUint(d);
	if (n > max || n > d.arr.byteLength - d.pos) throw new RangeError('count out of bounds');
	return n;
}

function readId(d: decoding.Decoder): number {
	const id = decoding.readVarUint(d);
	if (id < 1 || !Number.isSafeInteger(id)) throw new RangeError('update id out of bounds');
	return id;
}

/** Yjs client ids are unsigned 32-bit numbers. */
function readClient(d: decoding.Decoder): number {
	const client = decoding.readVarUint(d);
	if (client > 0xffffffff) throw new RangeError('client id out of bounds');
	return client;
}

function readBytes(d: decoding.Decoder): Uint8Array {
	// Copied: what is held must not keep the message's buffer (node-redis') alive.
	return readBytesView(d).slice();
}

/** A length-prefixed run of bytes, within the message (lib0 would read past its end into the buffer behind it). */
function readBytesView(d: decoding.Decoder): Uint8Array {
	return readFixed(d, decoding.readVarUint(d));
}

function readFixed(d: decoding.Decoder, length: number): Uint8Array {
	if (length > d.arr.byteLength - d.pos) throw new RangeError('length out of bounds');
	return decoding.readUint8Array(d, length);
}

function readByte(d: decoding.Decoder): number {
	if (d.pos >= d.arr.byteLength) throw new RangeError('unexpected end of message');
	return decoding.readUint8(d);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readString(d: decoding.Decoder): string {
	return utf8.decode(readBytesView(d));
}

function writeOptionalString(e: encoding.Encoder, value: string | null | undefined): void {
	encoding.writeUint8(e, value == null ? 0 : 1);
	if (value != null) encoding.writeVarString(e, value);
}

function readOptionalString(d: decoding.Decoder): string | null {
	return readFlag(d) ? readString(d) : null;
}

function readFlag(d: decoding.Decoder): boolean {
	const flag = readByte(d);
	if (flag > 1) throw new RangeError('flag out of bounds');
	return flag === 1;
}

function writePerson(e: encoding.Encoder, person: AuditPerson): void {
	encoding.writeVarString(e, person.id);
	encoding.writeVarString(e, person.name);
}

function readPerson(d: decoding.Decoder): AuditPerson {
	return { id: readString(d), name: readString(d) };
}

/** A person, or a client id whose binding the store looks up. */
function writePersonRef(e: encoding.Encoder, ref: PersonRef): void {
	if ('id' in ref) {
		encoding.writeUint8(e, 0);
		writePerson(e, ref);
	} else {
		encoding.writeUint8(e, 1);
		encoding.writeVarUint(e, ref.client);
	}
}

function readPersonRef(d: decoding.Decoder): PersonRef {
	return readFlag(d) ? { client: readClient(d) } : readPerson(d);
}

function writeValue(e: encoding.Encoder, value: AuditValue): void {
	encoding.writeVarString(e, JSON.stringify(value) ?? 'null');
}

function readValue(d: decoding.Decoder): AuditValue {
	return JSON.parse(readString(d)) as AuditValue;
}

function writeDraft(e: encoding.Encoder, draft: AuditDraft): void {
	encoding.writeVarString(e, draft.at);
	writePersonRef(e, draft.actor);
	encoding.writeVarUint(e, AUDIT_SOURCES.indexOf(draft.source));
	encoding.writeUint8(e, draft.relayedBy ? 1 : 0);
	if (draft.relayedBy) writePersonRef(e, draft.relayedBy);
	encoding.writeVarString(e, draft.path);
	encoding.writeVarUint(e, AUDIT_OPS.indexOf(draft.op));
	writeValue(e, draft.before);
	writeValue(e, draft.after);
	encoding.writeUint8(e, draft.conflict ? 1 : 0);
	if (draft.conflict) {
		for (const side of [draft.conflict.winner, draft.conflict.loser]) {
			writePersonRef(e, side.person);
			writeValue(e, side.value);
		}
	}
	encoding.writeVarString(e, draft.workspace);
	writeOptionalString(e, draft.recordId);
	writeOptionalString(e, draft.firstAt);
	encoding.writeUint8(e, draft.changes === undefined ? 0 : 1);
	if (draft.changes !== undefined) encoding.writeVarUint(e, draft.changes);
}

function readDraft(d: decoding.Decoder): AuditDraft {
	const at = readString(d);
	const actor = readPersonRef(d);
	const source = AUDIT_SOURCES[decoding.readVarUint(d)];
	if (source === undefined) throw new RangeError('unknown audit source');
	const relayedBy = readFlag(d) ? readPersonRef(d) : null;
	const path = readString(d);
	const op = AUDIT_OPS[decoding.readVarUint(d)];
	if (op === undefined) throw new RangeError('unknown audit op');
	const before = readValue(d);
	const after = readValue(d);
	let conflict: DraftConflict | null = null;
	if (readFlag(d)) {
		const winner = { person: readPersonRef(d), value: readValue(d) };
		const loser = { person: readPersonRef(d), value: readValue(d) };
		conflict = { winner, loser };
	}
	const workspace = readString(d);
	const recordId = readOptionalString(d);
	const draft: AuditDraft = { at, actor, source, relayedBy, path, op, before, after, conflict, workspace, recordId };
	const firstAt = readOptionalString(d);
	if (firstAt !== null) draft.firstAt = firstAt;
	if (readFlag(d)) draft.changes = decoding.readVarUint(d);
	return draft;
}
