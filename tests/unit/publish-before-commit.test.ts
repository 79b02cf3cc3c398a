/**
 * Step 8 before the commit (server/sync/pipeline.ts with `carry`, steps/publish.ts) and
 * the receiving side's hold (server/sync/unconfirmed.ts), without a server: real Yjs
 * documents, the real writer over an in-memory store whose commits wait for the test,
 * the in-process bus. The origin publishes an update, with its audit entries and key,
 * before it is stored, and that it is stored once it is, one notice per document and
 * commit; `saved` still waits for the commit. A receiver holds others' updates until
 * their notice, and hands those that got none in time (or past its bounds, oldest
 * first) to be stored in their origin's place. Timers are vitest's, not the clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType, encodeSaved } from '../../src/lib/protocol/index.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { fieldsOf, writeNewRecord } from '../../src/lib/model/record.ts';
import { createLogger } from '../../server/log.ts';
import { MemoryBus, MemoryHub } from '../../server/bus/memory.ts';
import { UpdateWriter } from '../../server/sync/update-writer.ts';
import { UpdatePipeline } from '../../server/sync/pipeline.ts';
import { Room } from '../../server/sync/room.ts';
import { StoredNotices, documentTopic, publish } from '../../server/sync/steps/publish.ts';
import { BusMessageType, busMessageType, decodeCarriedUpdate, decodeStored, type CarriedUpdate } from '../../server/sync/bus-codec.ts';
import { Unconfirmed } from '../../server/sync/unconfirmed.ts';
import { GatedUpdates, TestPeer } from '../support/update-steps.ts';

const ID = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';
const ORIGIN = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const alice: AuditPerson = { id: 'alice', name: 'Alice' };
const log = createLogger('silent');

function syncMessage(update: Uint8Array): { type: number; decoder: decoding.Decoder } {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MessageType.sync);
	encoding.writeVarUint(encoder, syncProtocol.messageYjsUpdate);
	encoding.writeVarUint8Array(encoder, update);
	const decoder = decoding.createDecoder(encoding.toUint8Array(encoder));
	return { type: decoding.readVarUint(decoder), decoder };
}

async function setup() {
	const hub = new MemoryHub();
	const bus = new MemoryBus(hub);
	const elsewhere = new MemoryBus(hub);
	const published: Uint8Array[] = [];
	await elsewhere.subscribe(documentTopic(ID), (message) => published.push(message));
	const updates = new GatedUpdates();
	const writer = new UpdateWriter(updates, 0, log);
	const rows = new Map<string, AuditPerson>();
	const storedSeqs: number[] = [];
	const pipeline = new UpdatePipeline({
		writer,
		bus,
		carry: { origin: ORIGIN, notices: new StoredNotices(bus) },
		bindings: {
			bind: async (documentId, clients, person) => {
				for (const client of clients) if (!rows.has(`${documentId}:${client}`)) rows.set(`${documentId}:${client}`, person);
				return new Map(clients.map((client) => [client, rows.get(`${documentId}:${client}`)!]));
			},
			lookup: async () => new Map(),
			deferred: () => {},
			lookupFailed: () => {}
		},
		log,
		audited: true,
		project: () => {},
		stored: (_room, seq) => storedSeqs.push(seq)
	});
	const room = new Room(ID, 'demo', true, pipeline, (r, message) => publish(bus, r.name, message));
	const seed = new Y.Doc();
	writeNewRecord(seed, { fields: { name: 'Acme' }, tags: [], contacts: [], workspace: 'demo', createdBy: 'alice' });
	room.load([Y.encodeStateAsUpdate(seed)]);
	const writerPeer = new TestPeer(alice, 'editor', true);
	const watcher = new TestPeer({ id: 'bob', name: 'Bob' });
	room.join(writerPeer);
	room.join(watcher);
	writerPeer.sent.length = 0;
	watcher.sent.length = 0;
	const client = new Y.Doc();
	client.clientID = 101;
	Y.applyUpdate(client, Y.encodeStateAsUpdate(room.doc));
	const edit = async (name: string) => {
		const before = Y.encodeStateVector(room.doc);
		fieldsOf(client).set('name', name);
		const { type, decoder } = syncMessage(Y.encodeStateAsUpdate(client, before));
		await room.receive(writerPeer, type, decoder);
	};
	const settle = async () => {
		await writer.flushed(ID);
		for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
	};
	return { updates, published, writerPeer, watcher, edit, settle, storedSeqs };
}

describe('step 8 before the commit', () => {
	it('publishes the update with its entries and key before it is stored, that it is stored once it is, and says `saved` only then', async () => {
		const { updates, published, writerPeer, watcher, edit, settle } = await setup();
		updates.close();
		await edit('Acme Ltd');
		await new Promise((resolve) => setTimeout(resolve, 5));
		expect(updates.stored).toEqual([]);
		expect(writerPeer.sent).toEqual([]);
		expect(published).toHaveLength(1);
		const carried = decodeCarriedUpdate(published[0])!;
		expect(carried).toMatchObject({ origin: ORIGIN, id: 1, bindings: [] });
		expect(carried.drafts.map((d) => [d.path, d.after, d.actor, d.recordId])).toEqual([['fields.name', 'Acme Ltd', alice, ID]]);
		// The update the other instances get is the one this instance's watchers got.
		const inBroadcast = decoding.createDecoder(watcher.sent[0]);
		decoding.readVarUint(inBroadcast);
		decoding.readVarUint(inBroadcast);
		expect(carried.update).toEqual(decoding.readVarUint8Array(inBroadcast));

		updates.release();
		await settle();
		expect(updates.stored.map((item) => item.key)).toEqual([{ origin: ORIGIN, id: 1, takenOver: false }]);
		expect(published.map(busMessageType)).toEqual([BusMessageType.carriedUpdate, BusMessageType.stored]);
		expect(decodeStored(published[1])).toEqual({ origin: ORIGIN, byTaker: false, ids: [1] });
		expect(writerPeer.sent).toEqual([encodeSaved(ID, 1)]);
	});

	it('says in one notice per document and commit which updates it stored', async () => {
		const { updates, published, edit, settle } = await setup();
		updates.close();
		await edit('One');
		await edit('Two');
		await edit('Three');
		expect(published.map((m) => decodeCarriedUpdate(m)?.id)).toEqual([1, 2, 3]);
		updates.release();
		await settle();
		expect(published.slice(3).map(decodeStored)).toEqual([{ origin: ORIGIN, byTaker: false, ids: [1, 2, 3] }]);
	});

	it('an update another instance stored first is acknowledged and announced as stored, but not counted as stored here', async () => {
		const { updates, published, writerPeer, edit, settle, storedSeqs } = await setup();
		updates.elsewhere.add(1);
		await edit('Taken over');
		await settle();
		expect(updates.stored).toEqual([]);
		expect(decodeStored(published[1])).toEqual({ origin: ORIGIN, byTaker: false, ids: [1] });
		expect(writerPeer.sent).toEqual([encodeSaved(ID, 1)]);
		expect(storedSeqs).toEqual([]);
	});
});

describe('holding updates of other instances until they are stored', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	const OTHER = '11111111-2222-4333-8444-555555555555';
	const carried = (id: number, bytes = 10, origin = ORIGIN): CarriedUpdate => ({ origin, id, update: new Uint8Array(bytes), bindings: [], drafts: [] });

	function holder(options: { maxUpdates?: number; maxBytes?: number } = {}) {
		const takenOver: string[] = [];
		const unconfirmed = new Unconfirmed({ afterMs: 1_000, ...options, takeOver: (documentId, update) => takenOver.push(`${documentId}#${update.id}`) });
		return { unconfirmed, takenOver };
	}

	it('lets go of what its origin confirms, every earlier update of it included, and of what a taker names', () => {
		vi.useFakeTimers();
		const { unconfirmed, takenOver } = holder();
		for (const id of [1, 2, 3, 4, 5]) unconfirmed.hold('a', carried(id));
		unconfirmed.hold('b', carried(1, 10, OTHER));
		unconfirmed.hold('a', carried(2)); // the same update again (the load's buffer and the subscription): held once
		expect(unconfirmed.size).toBe(6);
		// A taker stored 4 and the other origin's 1: just those.
		unconfirmed.confirm(ORIGIN, [4], true);
		unconfirmed.confirm(OTHER, [1], true);
		expect(unconfirmed.size).toBe(4);
		// The origin stored 3 (of another document, perhaps): 1 to 3 too.
		unconfirmed.confirm(ORIGIN, [3], false);
		expect(unconfirmed.size).toBe(1);
		vi.advanceTimersByTime(5_000);
		expect(takenOver).toEqual(['a#5']);
		expect(unconfirmed.takenOver).toBe(1);
	});

	it('takes over an update once it has waited and its origin has been silent as long, oldest first', () => {
		vi.useFakeTimers();
		const { unconfirmed, takenOver } = holder();
		unconfirmed.hold('a', carried(100));
		unconfirmed.hold('x', carried(1, 10, OTHER));
		vi.advanceTimersByTime(600);
		unconfirmed.hold('b', carried(101));
		vi.advanceTimersByTime(600);
		// Update 100 has waited 1.2 s, but its origin was heard 0.6 s ago (update 101): still alive.
		expect(takenOver).toEqual(['x#1']);
		// The origin keeps saying it stored older updates (its commits lag, they have not stopped): its updates stay.
		for (let id = 50; id < 60; id++) {
			vi.advanceTimersByTime(300);
			unconfirmed.confirm(ORIGIN, [id], false);
		}
		// A taker's notice is not the origin speaking.
		unconfirmed.confirm(ORIGIN, [7], true);
		vi.advanceTimersByTime(999);
		expect(takenOver).toEqual(['x#1']);
		// Silent for long enough: both go, in the order they came.
		vi.advanceTimersByTime(400);
		expect(takenOver).toEqual(['x#1', 'a#100', 'b#101']);
		expect(unconfirmed.size).toBe(0);
	});

	it('takes nothing over in a sweep that runs late: this instance was busy, and what the origin said may wait unread', () => {
		vi.useFakeTimers();
		const { unconfirmed, takenOver } = holder();
		unconfirmed.hold('a', carried(1));
		vi.advanceTimersByTime(200);
		// The event loop is blocked for 3 s: the clock moves, no timer runs.
		vi.setSystemTime(Date.now() + 3_000);
		vi.advanceTimersByTime(200);
		expect(takenOver).toEqual([]);
		// The origin's update that waited in the socket is read now: it is alive.
		unconfirmed.hold('a', carried(2));
		vi.advanceTimersByTime(800);
		expect(takenOver).toEqual([]);
		// Then it falls silent for real.
		vi.advanceTimersByTime(400);
		expect(takenOver).toEqual(['a#1', 'a#2']);
	});

	it('past its bound of updates or bytes, hands over the oldest at once rather than drop anything', () => {
		vi.useFakeTimers();
		const byCount = holder({ maxUpdates: 2 });
		for (let id = 1; id <= 4; id++) byCount.unconfirmed.hold('a', carried(id));
		expect(byCount.takenOver).toEqual(['a#1', 'a#2']);
		expect(byCount.unconfirmed.size).toBe(2);

		const byBytes = holder({ maxBytes: 1_000 });
		byBytes.unconfirmed.hold('a', carried(1, 600));
		byBytes.unconfirmed.hold('a', carried(2, 300));
		expect(byBytes.takenOver).toEqual([]);
		byBytes.unconfirmed.hold('a', carried(3, 300));
		expect(byBytes.takenOver).toEqual(['a#1']);
		byBytes.unconfirmed.confirm(ORIGIN, [3], false);
		byBytes.unconfirmed.hold('a', carried(4, 900));
		expect(byBytes.takenOver).toEqual(['a#1']);
	});

	it("says when what it holds of a document is let go, for `saved` to wait for (nothing to wait for when it holds none)", async () => {
		vi.useFakeTimers();
		const { unconfirmed, takenOver } = holder();
		expect(unconfirmed.settled('a')).toBeUndefined();
		unconfirmed.hold('a', carried(1));
		unconfirmed.hold('a', carried(2));
		unconfirmed.hold('b', carried(3));
		let settled = false;
		void unconfirmed.settled('a')!.then(() => (settled = true));
		unconfirmed.hold('a', carried(4)); // came after: not waited for
		unconfirmed.confirm(ORIGIN, [1], false);
		await Promise.resolve();
		expect(settled).toBe(false);
		vi.advanceTimersByTime(1_000); // 2 is taken over: handed to the writer, whose write the caller waits for next
		expect(takenOver).toEqual(['a#2', 'b#3', 'a#4']);
		await vi.runAllTimersAsync();
		expect(settled).toBe(true);
		expect(unconfirmed.settled('a')).toBeUndefined();
	});

	it('hands over everything it holds when the instance stops', () => {
		vi.useFakeTimers();
		const { unconfirmed, takenOver } = holder();
		unconfirmed.hold('a', carried(1));
		unconfirmed.hold('b', carried(2));
		unconfirmed.drain();
		expect(takenOver).toEqual(['a#1', 'b#2']);
		vi.advanceTimersByTime(5_000);
		expect(takenOver).toEqual(['a#1', 'b#2']);
	});
});
