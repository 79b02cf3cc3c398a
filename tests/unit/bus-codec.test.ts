/**
 * The pipeline's own bus messages (server/sync/bus-codec.ts): a carried update and a
 * `stored` notice read back as they were written, and anything else (cut short, padded,
 * out of bounds, random bytes, a length reaching past the message into the buffer behind
 * it) is refused with null, never thrown; and a carried update that does not read back
 * changes nothing in the room and throws to the bus handler, which drops it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { MessageType } from '../../src/lib/protocol/index.ts';
import { fieldsOf, writeNewRecord } from '../../src/lib/model/record.ts';
import type { AuditDraft } from '../../server/audit/types.ts';
import {
	BusMessageType,
	MAX_STORED_IDS,
	busMessageType,
	decodeCarriedUpdate,
	decodeStored,
	encodeCarriedUpdate,
	encodeStored,
	type CarriedUpdate
} from '../../server/sync/bus-codec.ts';
import { receiveFromBus } from '../../server/sync/messages.ts';
import { Room } from '../../server/sync/room.ts';
import { UpdatePipeline } from '../../server/sync/pipeline.ts';
import { UpdateWriter } from '../../server/sync/update-writer.ts';
import { MemoryBus, MemoryHub } from '../../server/bus/memory.ts';
import { createLogger } from '../../server/log.ts';

const ORIGIN = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const RECORD = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';

function drafts(): AuditDraft[] {
	return [
		{
			at: '2026-12-07T16:00:00.000Z',
			actor: { id: 'token:1', name: 'Zoë Ångström 🚀' },
			source: 'ui',
			relayedBy: null,
			path: 'fields.company',
			op: 'set',
			before: null,
			after: 'Acme "Ltd"',
			conflict: null,
			workspace: 'demo',
			recordId: RECORD
		},
		{
			at: '2026-12-07T16:00:01.000Z',
			actor: { client: 4294967295 },
			source: 'merge',
			relayedBy: { id: 'bob', name: 'Bob' },
			path: 'contacts[c1]',
			op: 'conflict',
			before: { name: 'A', tags: ['x', 1, true, null], nested: { n: -1.5 } },
			after: [],
			conflict: { winner: { person: { client: 7 }, value: 'won' }, loser: { person: { id: 'alice', name: 'Alice' }, value: 42 } },
			workspace: 'demo',
			recordId: null,
			firstAt: '2026-12-07T15:59:58.000Z',
			changes: 3
		}
	];
}

function carried(): CarriedUpdate {
	return {
		origin: ORIGIN,
		id: 2 ** 40,
		update: new Uint8Array([1, 2, 3, 250, 0, 7]),
		bindings: [
			{ client: 12345, person: { id: 'token:1', name: 'Zoë' } },
			{ client: 0, person: { id: '', name: '' } }
		],
		drafts: drafts()
	};
}

/** The message at the start of a larger buffer, as node-redis hands over a slice of its own. */
function inLargerBuffer(message: Uint8Array, padding = 4096): Uint8Array {
	const buffer = new Uint8Array(message.byteLength + padding).fill(65);
	buffer.set(message, 0);
	return buffer.subarray(0, message.byteLength);
}

describe('the bus codec', () => {
	it('reads a carried update and a stored notice back as written', () => {
		const message = encodeCarriedUpdate(carried());
		expect(busMessageType(message)).toBe(BusMessageType.carriedUpdate);
		expect(decodeCarriedUpdate(message)).toEqual(carried());
		expect(decodeCarriedUpdate(inLargerBuffer(message))).toEqual(carried());
		const empty: CarriedUpdate = { origin: ORIGIN, id: 1, update: new Uint8Array(), bindings: [], drafts: [] };
		expect(decodeCarriedUpdate(encodeCarriedUpdate(empty))).toEqual(empty);

		const stored = { origin: ORIGIN, byTaker: false, ids: [1, 2, 500, Number.MAX_SAFE_INTEGER] };
		expect(decodeStored(encodeStored({ ...stored, byTaker: true }))).toEqual({ ...stored, byTaker: true });
		expect(busMessageType(encodeStored(stored))).toBe(BusMessageType.stored);
		expect(decodeStored(encodeStored(stored))).toEqual(stored);
	});

	it('uses message types no y-websocket message has', () => {
		expect(Object.values(MessageType)).not.toContain(BusMessageType.carriedUpdate);
		expect(Object.values(MessageType)).not.toContain(BusMessageType.stored);
	});

	it('refuses every message cut short, and one with bytes after its end', () => {
		const message = encodeCarriedUpdate(carried());
		for (let length = 0; length < message.byteLength; length++) {
			expect(decodeCarriedUpdate(message.subarray(0, length)), `cut at ${length}`).toBeNull();
			expect(decodeCarriedUpdate(inLargerBuffer(message.subarray(0, length))), `cut at ${length}, buffer behind`).toBeNull();
		}
		expect(decodeCarriedUpdate(new Uint8Array([...message, 0]))).toBeNull();
		const stored = encodeStored({ origin: ORIGIN, byTaker: true, ids: [3, 4] });
		for (let length = 0; length < stored.byteLength; length++) expect(decodeStored(inLargerBuffer(stored.subarray(0, length)))).toBeNull();
		expect(decodeStored(new Uint8Array([...stored, 1]))).toBeNull();
	});

	it('refuses what is out of bounds or not what it says', () => {
		const write = (fill: (e: encoding.Encoder) => void) => {
			const e = encoding.createEncoder();
			fill(e);
			return encoding.toUint8Array(e);
		};
		const head = (e: encoding.Encoder, type: number = BusMessageType.carriedUpdate, format = 1) => {
			encoding.writeVarUint(e, type);
			encoding.writeVarUint(e, format);
			encoding.writeUint8Array(e, new Uint8Array(16));
		};
		// Another type, another format.
		expect(decodeCarriedUpdate(encodeStored({ origin: ORIGIN, byTaker: false, ids: [1] }))).toBeNull();
		expect(decodeStored(encodeCarriedUpdate(carried()))).toBeNull();
		expect(decodeCarriedUpdate(write((e) => head(e, BusMessageType.carriedUpdate, 2)))).toBeNull();
		// Update number 0; a notice naming none.
		const notice = (flag: number, ...ids: number[]) => write((e) => (head(e, BusMessageType.stored), encoding.writeUint8(e, flag), encoding.writeVarUint(e, ids.length), ids.forEach((id) => encoding.writeVarUint(e, id))));
		expect(decodeStored(notice(1, 5))).toEqual({ origin: '00000000-0000-0000-0000-000000000000', byTaker: true, ids: [5] });
		expect(decodeStored(notice(2, 5))).toBeNull();
		expect(decodeStored(notice(0, 0))).toBeNull();
		expect(decodeStored(encodeStored({ origin: ORIGIN, byTaker: false, ids: [] }))).toBeNull();
		// A count far past the bytes there are: refused before anything is made for it.
		expect(decodeStored(write((e) => (head(e, BusMessageType.stored), encoding.writeUint8(e, 0), encoding.writeVarUint(e, MAX_STORED_IDS + 1))))).toBeNull();
		const countPastEnd = write((e) => {
			head(e);
			encoding.writeVarUint(e, 1);
			encoding.writeVarUint8Array(e, new Uint8Array(0));
			encoding.writeVarUint(e, 2 ** 31); // bindings
		});
		expect(decodeCarriedUpdate(inLargerBuffer(countPastEnd, 2 ** 16))).toBeNull();
		// A length reaching into the buffer behind the message.
		const lengthPastEnd = write((e) => {
			head(e);
			encoding.writeVarUint(e, 1);
			encoding.writeVarUint(e, 100); // update bytes, none of which follow
		});
		expect(decodeCarriedUpdate(inLargerBuffer(lengthPastEnd))).toBeNull();
		// A client id past 32 bits, a flag that is neither 0 nor 1, text that is not UTF-8, a value that is not JSON, an unknown source and op.
		const withBinding = (client: number, name: Uint8Array) =>
			write((e) => {
				head(e);
				encoding.writeVarUint(e, 1);
				encoding.writeVarUint8Array(e, new Uint8Array(0));
				encoding.writeVarUint(e, 1);
				encoding.writeVarUint(e, client);
				encoding.writeVarString(e, 'id');
				encoding.writeVarUint8Array(e, name);
				encoding.writeVarUint(e, 0);
			});
		expect(decodeCarriedUpdate(withBinding(7, new TextEncoder().encode('Ann')))?.bindings).toEqual([{ client: 7, person: { id: 'id', name: 'Ann' } }]);
		expect(decodeCarriedUpdate(withBinding(2 ** 32, new TextEncoder().encode('Ann')))).toBeNull();
		expect(decodeCarriedUpdate(withBinding(7, new Uint8Array([0xff, 0xfe])))).toBeNull();
		const message = encodeCarriedUpdate({ ...carried(), bindings: [], drafts: [drafts()[0]] });
		const at = message.indexOf(0x22); // the first '"': inside the JSON of `after`
		const notJson = message.slice();
		notJson[at] = 0x7b; // '{'
		expect(decodeCarriedUpdate(notJson)).toBeNull();
		const unknownSource = encodeCarriedUpdate({ ...carried(), drafts: [{ ...drafts()[0], source: 'telepathy' as never }] });
		expect(decodeCarriedUpdate(unknownSource)).toBeNull();
		const unknownOp = encodeCarriedUpdate({ ...carried(), drafts: [{ ...drafts()[0], op: 'transmute' as never }] });
		expect(decodeCarriedUpdate(unknownOp)).toBeNull();
	});

	it('never throws, whatever the bytes', () => {
		const valid = encodeCarriedUpdate(carried());
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(valid.length), fc.uint8Array({ minLength: 1, maxLength: 4 }), (random, at, patch) => {
				const altered = valid.slice();
				altered.set(patch.subarray(0, Math.max(0, altered.length - at)), at);
				for (const bytes of [random, altered, new Uint8Array([BusMessageType.carriedUpdate, 1, ...random]), new Uint8Array([BusMessageType.stored, 1, ...random])]) {
					const view = inLargerBuffer(bytes, 64);
					expect(() => decodeCarriedUpdate(view)).not.toThrow();
					expect(() => decodeStored(view)).not.toThrow();
					expect(() => busMessageType(view)).not.toThrow();
				}
			}),
			{ numRuns: 500 }
		);
	});

	it('a carried update that does not read back changes nothing in the room; one that does is applied', () => {
		const writer = new UpdateWriter({ appendUpdates: async () => new Map() }, 0, createLogger('silent'));
		const bindings = { bind: async () => new Map(), lookup: async () => new Map(), deferred: () => {}, lookupFailed: () => {} };
		const pipeline = new UpdatePipeline({ writer, bus: new MemoryBus(new MemoryHub()), bindings, log: createLogger('silent'), audited: true, project: () => {}, stored: () => {} });
		const room = new Room(RECORD, 'demo', true, pipeline, () => {});
		const seed = new Y.Doc();
		writeNewRecord(seed, { fields: { name: 'Acme' }, tags: [], contacts: [], workspace: 'demo', createdBy: 'alice' });
		room.load([Y.encodeStateAsUpdate(seed)]);
		const other = new Y.Doc();
		Y.applyUpdate(other, Y.encodeStateAsUpdate(room.doc));
		fieldsOf(other).set('name', 'From elsewhere');
		const update = Y.encodeStateAsUpdate(other, Y.encodeStateVector(room.doc));
		const message = encodeCarriedUpdate({ origin: ORIGIN, id: 1, update, bindings: [], drafts: [] });

		expect(() => receiveFromBus(room, message.subarray(0, message.length - 1))).toThrow(/does not read back/);
		expect(fieldsOf(room.doc).get('name')).toBe('Acme');
		expect(receiveFromBus(room, message)).toEqual({ carried: { origin: ORIGIN, id: 1, update, bindings: [], drafts: [] } });
		expect(fieldsOf(room.doc).get('name')).toBe('From elsewhere');
		room.destroy();
	});
});
