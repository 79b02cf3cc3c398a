/**
 * Message dispatch (server/sync/messages.ts) on its own, without a server: a sync step 1
 * is answered with what the peer lacks, an update enters the update pipeline, a message
 * that cannot be read throws (its connection closes itself), and an update from another
 * instance is applied and broadcast here but not stored or published again, while the
 * authors of its items are looked up. Real Yjs documents, the real writer over an
 * in-memory store, the in-process bus.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType } from '../../src/lib/protocol/index.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { fieldsOf, writeNewRecord } from '../../src/lib/model/record.ts';
import { createLogger } from '../../server/log.ts';
import { MemoryBus, MemoryHub } from '../../server/bus/memory.ts';
import type { AttributedUpdate } from '../../server/audit/attributed-store.ts';
import { UpdateWriter } from '../../server/sync/update-writer.ts';
import { UpdatePipeline } from '../../server/sync/pipeline.ts';
import { Room } from '../../server/sync/room.ts';
import { receiveFromBus } from '../../server/sync/messages.ts';
import { documentTopic, publish } from '../../server/sync/steps/publish.ts';
import { TestPeer } from '../support/update-steps.ts';

const ID = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';
const alice: AuditPerson = { id: 'alice', name: 'Alice' };
const bob: AuditPerson = { id: 'bob', name: 'Bob' };

async function setup() {
	const hub = new MemoryHub();
	const bus = new MemoryBus(hub);
	const elsewhere = new MemoryBus(hub);
	const published: Uint8Array[] = [];
	await elsewhere.subscribe(documentTopic(ID), (message) => published.push(message));
	const stored: AttributedUpdate[] = [];
	const writer = new UpdateWriter({ appendUpdates: async (batch) => (stored.push(...batch), new Map(batch.map((b) => [b.documentId, stored.length]))) }, 0, createLogger('silent'));
	const known = new Map<number, AuditPerson>([[303, bob]]);
	const pipeline = new UpdatePipeline({
		writer,
		bus,
		bindings: {
			bind: async (_id, clients, person) => new Map(clients.map((c) => [c, known.get(c) ?? (known.set(c, person), person)])),
			lookup: async (_id, clients) => new Map(clients.flatMap((c) => (known.has(c) ? [[c, known.get(c)!] as const] : []))),
			deferred: () => {},
			lookupFailed: () => {}
		},
		log: createLogger('silent'),
		audited: true,
		project: () => {},
		stored: () => {}
	});
	const room = new Room(ID, 'demo', true, pipeline, (r, message) => publish(bus, r.name, message));
	const seed = new Y.Doc();
	writeNewRecord(seed, { fields: { name: 'Acme' }, tags: [], contacts: [], workspace: 'demo', createdBy: 'alice' });
	room.load([Y.encodeStateAsUpdate(seed)]);
	const peer = new TestPeer(alice);
	room.join(peer);
	peer.sent.length = 0;
	const settle = async () => {
		await writer.flushed(ID);
		for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
	};
	return { room, peer, stored, published, settle };
}

/** A message as its connection hands it over: positioned after its type. */
function message(write: (encoder: encoding.Encoder) => void): { type: number; decoder: decoding.Decoder } {
	const encoder = encoding.createEncoder();
	write(encoder);
	const decoder = decoding.createDecoder(encoding.toUint8Array(encoder));
	return { type: decoding.readVarUint(decoder), decoder };
}

describe('message dispatch', () => {
	it('answers a sync step 1 with what the peer lacks', async () => {
		const { room, peer } = await setup();
		const empty = new Y.Doc();
		const { type, decoder } = message((e) => {
			encoding.writeVarUint(e, MessageType.sync);
			syncProtocol.writeSyncStep1(e, empty);
		});
		await room.receive(peer, type, decoder);
		expect(peer.sent).toHaveLength(1);
		const reply = decoding.createDecoder(peer.sent[0]);
		expect(decoding.readVarUint(reply)).toBe(MessageType.sync);
		expect(decoding.readVarUint(reply)).toBe(syncProtocol.messageYjsSyncStep2);
		Y.applyUpdate(empty, decoding.readVarUint8Array(reply));
		expect(fieldsOf(empty).get('name')).toBe('Acme');
	});

	it('throws on what it cannot read: an unknown sync message, an unknown type, a cut-off update', async () => {
		const { room, peer } = await setup();
		const unknownSync = message((e) => {
			encoding.writeVarUint(e, MessageType.sync);
			encoding.writeVarUint(e, 9);
		});
		expect(() => room.receive(peer, unknownSync.type, unknownSync.decoder)).toThrow(/unknown sync message type 9/);
		const unknownType = message((e) => encoding.writeVarUint(e, 77));
		expect(() => room.receive(peer, unknownType.type, unknownType.decoder)).toThrow(/message type 77 is not accepted/);
		const cut = message((e) => {
			encoding.writeVarUint(e, MessageType.sync);
			encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
			encoding.writeVarUint(e, 40);
		});
		expect(() => room.receive(peer, cut.type, cut.decoder)).toThrow();
		expect(() => room.receive(new TestPeer(bob), unknownType.type, unknownType.decoder)).toThrow(/has not joined/);
	});

	it('applies an update from the bus and broadcasts it, stores and publishes nothing, and looks up who wrote it', async () => {
		const { room, peer, stored, published, settle } = await setup();
		const other = new Y.Doc();
		other.clientID = 303;
		Y.applyUpdate(other, Y.encodeStateAsUpdate(room.doc));
		fieldsOf(other).set('name', 'From elsewhere');
		const encoder = encoding.createEncoder();
		encoding.writeVarUint(encoder, MessageType.sync);
		syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(other, Y.encodeStateVector(room.doc)));
		expect(receiveFromBus(room, encoding.toUint8Array(encoder))).toBeUndefined();
		await settle();
		expect(fieldsOf(room.doc).get('name')).toBe('From elsewhere');
		expect(peer.sent).toHaveLength(1);
		expect(stored).toEqual([]);
		expect(published).toEqual([]);
		expect(room.bindings.get(303)).toEqual(bob);
	});
});
