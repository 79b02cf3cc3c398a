/**
 * The steps of an update's life (server/sync/pipeline.ts), each on its own, without a
 * server: real Yjs documents, the real shape guard, the real update writer over an
 * in-memory store, the in-process bus, and connections that keep what they are sent.
 * Each step can be understood, and broken, alone; the last tests run the steps together
 * through a room, in the order the pipeline promises.
 */
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType, encodeFrame, encodeSaved } from '../../src/lib/protocol/index.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { fieldsOf, metaOf, writeNewRecord } from '../../src/lib/model/record.ts';
import { fieldsDocumentId } from '../../src/lib/model/fields.ts';
import { viewsDocumentId } from '../../src/lib/views/views.ts';
import { createLogger } from '../../server/log.ts';
import { MemoryBus, MemoryHub } from '../../server/bus/memory.ts';
import { UpdateWriter } from '../../server/sync/update-writer.ts';
import { UpdatePipeline } from '../../server/sync/pipeline.ts';
import { Room } from '../../server/sync/room.ts';
import { refusalToWrite, isEmptyUpdate } from '../../server/sync/steps/authorise.ts';
import { Attribution, forgedRefusal, type BindingPort } from '../../server/sync/steps/attribute.ts';
import { applyChecked, guardFor, notKept } from '../../server/sync/steps/check-and-apply.ts';
import { HeldEntries, ServerWrite, auditDrafts, entriesOf, senderOf } from '../../server/sync/steps/audit-entries.ts';
import { broadcastUpdate, updateMessage } from '../../server/sync/steps/broadcast.ts';
import { acknowledge } from '../../server/sync/steps/acknowledge.ts';
import { documentTopic, publish } from '../../server/sync/steps/publish.ts';
import { PROJECTION_DELAY_MS, PROJECTION_MIN_INTERVAL_MS, RowSchedule, changesListRow } from '../../server/sync/steps/project.ts';
import { GatedUpdates, TestPeer } from '../support/update-steps.ts';

const ID = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';
const alice: AuditPerson = { id: 'alice', name: 'Alice' };
const bob: AuditPerson = { id: 'bob', name: 'Bob' };
const log = createLogger('silent');

/** `client_bindings` in memory: the first person to bind an id keeps it. `reachable: false` is a database that fails. */
class MemoryBindings implements BindingPort {
	readonly rows = new Map<string, AuditPerson>();
	reachable = true;
	/** While set, binding waits for it (a database that does not answer). */
	hold: Promise<void> | null = null;
	readonly deferrals: number[][] = [];

	async bind(documentId: string, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>> {
		if (this.hold) await this.hold;
		if (!this.reachable) throw new Error('connection refused');
		for (const client of clients) if (!this.rows.has(`${documentId}:${client}`)) this.rows.set(`${documentId}:${client}`, person);
		return this.lookup(documentId, clients);
	}
	async lookup(documentId: string, clients: readonly number[]): Promise<Map<number, AuditPerson>> {
		const found = new Map<number, AuditPerson>();
		for (const client of clients) {
			const person = this.rows.get(`${documentId}:${client}`);
			if (person) found.set(client, person);
		}
		return found;
	}
	deferred(_documentId: string, clients: readonly number[]): void {
		this.deferrals.push([...clients]);
	}
	lookupFailed(): void {}
}

/** A Yjs client with its own client id, holding the record as stored. */
function clientOf(doc: Y.Doc, clientID: number): Y.Doc {
	const client = new Y.Doc();
	client.clientID = clientID;
	Y.applyUpdate(client, Y.encodeStateAsUpdate(doc));
	return client;
}

/** What `client` has that `doc` lacks. */
const missing = (client: Y.Doc, doc: Y.Doc): Uint8Array => Y.encodeStateAsUpdate(client, Y.encodeStateVector(doc));

function seededRecord(): Uint8Array {
	const seed = new Y.Doc();
	writeNewRecord(seed, { fields: { name: 'Acme', country: 'CN' }, tags: [], contacts: [], workspace: 'demo', createdBy: 'alice' });
	return Y.encodeStateAsUpdate(seed);
}

/** A y-websocket sync message of type `syncType` (update or step 2), as a connection hands it to its room: positioned after its type. */
function syncMessage(update: Uint8Array, syncType: number = syncProtocol.messageYjsUpdate): { type: number; decoder: decoding.Decoder } {
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, MessageType.sync);
	encoding.writeVarUint(encoder, syncType);
	encoding.writeVarUint8Array(encoder, update);
	const decoder = decoding.createDecoder(encoding.toUint8Array(encoder));
	return { type: decoding.readVarUint(decoder), decoder };
}

describe('step 1, authorise', () => {
	const record = { viewsDocument: false, definitionsDocument: false };
	it('refuses viewers anywhere, everyone on the views document, and all but admins on the field definitions', () => {
		expect(refusalToWrite({ canWrite: true, actor: { role: 'editor' } }, record)).toBeNull();
		expect(refusalToWrite({ canWrite: false, actor: { role: 'viewer' } }, record)).toMatch(/your role is viewer/);
		expect(refusalToWrite({ canWrite: true, actor: { role: 'admin' } }, { viewsDocument: true, definitionsDocument: false })).toMatch(/views API/);
		const definitions = { viewsDocument: false, definitionsDocument: true };
		expect(refusalToWrite({ canWrite: true, actor: { role: 'editor' } }, definitions)).toBe("Only admins can change the workspace's fields; your role is editor.");
		expect(refusalToWrite({ canWrite: true, actor: { role: 'admin' } }, definitions)).toBeNull();
	});

	it('tells an empty update (nothing new) from one with content', () => {
		const doc = new Y.Doc();
		expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc))).toBe(true);
		fieldsOf(doc).set('name', 'Acme');
		expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc))).toBe(false);
		expect(isEmptyUpdate(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc)))).toBe(true);
	});
});

describe('step 2, attribute', () => {
	function setup(timeoutMs?: number) {
		const doc = new Y.Doc();
		Y.applyUpdate(doc, seededRecord());
		const store = new MemoryBindings();
		return { doc, store, attribution: new Attribution(ID, doc, store, timeoutMs) };
	}

	it('finds the client ids an update brings new items under, and binds those nobody has to the sender', async () => {
		const { doc, store, attribution } = setup();
		const a = clientOf(doc, 101);
		fieldsOf(a).set('name', 'Acme Ltd');
		const update = missing(a, doc);
		expect(attribution.newClients(update)).toEqual([101]);
		expect(attribution.unbound([101])).toEqual([101]);
		await attribution.bind([101], alice);
		expect(attribution.bindings.get(101)).toEqual(alice);
		expect(store.rows.get(`${ID}:101`)).toEqual(alice);
		expect(attribution.unbound([101])).toEqual([]);
		Y.applyUpdate(doc, update);
		expect(attribution.newClients(update)).toEqual([]);
	});

	it("names the ids bound to someone else, which a live update is refused for, and an id already bound keeps its owner", async () => {
		const { attribution } = setup();
		await attribution.bind([101], alice);
		await attribution.bind([101, 202], bob);
		expect(attribution.bindings.get(101)).toEqual(alice);
		expect(attribution.bindings.get(202)).toEqual(bob);
		expect(attribution.foreign([101, 202], 'bob')).toEqual([101]);
		expect(attribution.foreign([202], 'bob')).toEqual([]);
		expect(forgedRefusal(101)).toMatch(/client id 101, which belongs to someone else/);
	});

	it('attributes items claimed for the sender of a catch-up to the sender only while it is applied', async () => {
		const { attribution } = setup();
		await attribution.bind([101], alice);
		attribution.claimForSender([101], bob);
		expect(attribution.authorOf(101)).toEqual(bob);
		attribution.settled();
		expect(attribution.authorOf(101)).toEqual(alice);
		expect(attribution.authorOf(999)).toEqual({ client: 999 });
	});

	it('binds in memory when the database fails or does not answer in time, and carries the binding until it is stored', async () => {
		const { store, attribution } = setup(20);
		store.reachable = false;
		await attribution.bind([101], alice);
		expect(store.deferrals).toEqual([[101]]);
		expect(attribution.bindings.get(101)).toEqual(alice);
		const pending = attribution.unstoredBindings();
		expect(pending).toEqual([{ client: 101, person: alice }]);
		expect(attribution.unstoredBindings()).toEqual(pending);
		attribution.stored(pending);
		expect(attribution.unstoredBindings()).toEqual([]);

		store.reachable = true;
		let answer = () => {};
		store.hold = new Promise((resolve) => (answer = resolve));
		await attribution.bind([202], bob);
		expect(store.deferrals).toEqual([[101], [202]]);
		expect(attribution.unstoredBindings()).toEqual([{ client: 202, person: bob }]);
		answer();
	});

	it('looks up the ids an update from the bus wrote under, for the entries that follow', async () => {
		const { doc, store, attribution } = setup();
		store.rows.set(`${ID}:303`, bob);
		const other = clientOf(doc, 303);
		fieldsOf(other).set('name', 'Bob & Co');
		doc.on('afterTransaction', (tr: Y.Transaction) => attribution.learnFrom(tr));
		Y.applyUpdate(doc, missing(other, doc), 'bus');
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(attribution.bindings.get(303)).toEqual(bob);
	});

	it("gives the server a client id of its own per person to write with, bound to them, and reuses it while nobody else wrote under it", async () => {
		const { doc, attribution } = setup();
		const client = await attribution.serverClientFor(alice);
		expect(attribution.bindings.get(client)).toEqual(alice);
		expect(client).not.toBe(doc.clientID);
		expect(await attribution.serverClientFor(alice)).toBe(client);
		expect(await attribution.serverClientFor(bob)).not.toBe(client);
	});
});

describe('step 3, check and apply', () => {
	it('applies through the guard of a record, repairing what is not kept, and plainly where there is no guard', () => {
		const doc = new Y.Doc();
		const guard = guardFor(doc, { persistent: true, definitionsDocument: false }, () => undefined);
		expect(guard).not.toBeNull();
		Y.applyUpdate(doc, seededRecord());
		const client = clientOf(doc, 101);
		metaOf(client).set('archived', 'yes');
		fieldsOf(client).set('name', 'Acme Ltd');
		const repairs = applyChecked(doc, guard, missing(client, doc), 'peer');
		expect(repairs).not.toEqual([]);
		expect(metaOf(doc).get('archived')).not.toBe('yes');
		expect(fieldsOf(doc).get('name')).toBe('Acme Ltd');
		const told = notKept([...repairs, ...repairs]);
		expect(told.problems).toHaveLength(new Set(repairs.map((p) => JSON.stringify(p))).size);
		expect(told.reason).toMatch(/^Part of this change was not kept: /);

		const channel = new Y.Doc();
		expect(guardFor(channel, { persistent: false, definitionsDocument: false }, () => undefined)).toBeNull();
		const writer = new Y.Doc();
		writer.getMap('anything').set('x', 1);
		expect(applyChecked(channel, null, Y.encodeStateAsUpdate(writer), 'peer')).toEqual([]);
		expect(channel.getMap('anything').get('x')).toBe(1);
	});
});

describe('step 4, audit entries', () => {
	it('knows who sent a transaction: a server write, a connection of the document, nobody for the bus', () => {
		const peer = new TestPeer(alice, 'editor', false, 'api');
		const connections = new Map([[peer, 0]]);
		expect(senderOf(new ServerWrite(bob, 'restore'), connections)).toEqual({ actor: bob, source: 'restore' });
		expect(senderOf(peer, connections)).toEqual({ actor: alice, source: 'api' });
		expect(senderOf(new TestPeer(bob), connections)).toBeNull();
		expect(senderOf('bus', connections)).toBeNull();
	});

	it("computes a transaction's entries with its items' bound authors (not the sender), holds them until its update, and gives them their record", () => {
		const doc = new Y.Doc();
		Y.applyUpdate(doc, seededRecord());
		const held = new HeldEntries();
		const failures: string[] = [];
		doc.on('afterTransaction', (tr: Y.Transaction) => {
			held.hold(tr, entriesOf(tr, { actor: bob, source: 'ui' }, (client) => (client === 101 ? alice : { client }), null, ID, (id) => failures.push(id)));
		});
		const taken: ReturnType<HeldEntries['take']>[] = [];
		doc.on('update', (_update: Uint8Array, _origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => taken.push(held.take(tr)));
		const client = clientOf(doc, 101);
		fieldsOf(client).set('name', 'Acme Ltd');
		Y.applyUpdate(doc, missing(client, doc));
		expect(failures).toEqual([]);
		expect(taken).toHaveLength(1);
		expect(taken[0].map((d) => [d.path, d.op, d.before, d.after, d.actor])).toEqual([['fields.name', 'set', 'Acme', 'Acme Ltd', alice]]);
		const drafts = auditDrafts(taken[0], 'demo', ID);
		expect(drafts[0]).toMatchObject({ workspace: 'demo', recordId: ID, path: 'fields.name' });
		// Taken once: a later transaction without entries gets none of these.
		expect(held.take({} as Y.Transaction)).toEqual([]);
	});

	it('records an unspecified edit, and reports, when computing the entries fails', () => {
		const doc = new Y.Doc();
		const failures: string[] = [];
		let drafts: ReturnType<typeof entriesOf> = [];
		doc.on('afterTransaction', (tr: Y.Transaction) => {
			drafts = entriesOf(
				tr,
				{ actor: alice, source: 'ui' },
				() => {
					throw new Error('no author');
				},
				null,
				ID,
				(id) => failures.push(id)
			);
		});
		const client = clientOf(doc, 101);
		fieldsOf(client).set('name', 'Acme');
		Y.applyUpdate(doc, Y.encodeStateAsUpdate(client));
		expect(failures).toEqual([ID]);
		expect(drafts).toMatchObject([{ path: 'record', op: 'edit', actor: alice }]);
	});
});

describe('step 5, broadcast', () => {
	it('frames the update as y-websocket does, and sends it to all but its sender unless it was repaired', () => {
		const update = Y.encodeStateAsUpdate(clientOf(new Y.Doc(), 1));
		expect(updateMessage(update)).toEqual(encodeFrame(null, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update)));
		const calls: unknown[] = [];
		const audience = { broadcast: (_message: Uint8Array, except?: unknown) => calls.push(except) };
		broadcastUpdate(audience, updateMessage(update), 'sender', false);
		broadcastUpdate(audience, updateMessage(update), 'sender', true);
		expect(calls).toEqual(['sender', undefined]);
	});
});

describe('step 7, project', () => {
	it("makes a record's row stale for a change made here, never for the bus, the field definitions, views or channels", () => {
		const record = { persistent: true, definitionsDocument: false, viewsDocument: false };
		expect(changesListRow(record, true)).toBe(true);
		expect(changesListRow(record, false)).toBe(false);
		expect(changesListRow({ ...record, definitionsDocument: true }, true)).toBe(false);
		expect(changesListRow({ ...record, viewsDocument: true }, true)).toBe(false);
		expect(changesListRow({ ...record, persistent: false }, true)).toBe(false);
	});

	it('re-makes a row once for the changes of a short spell, then at most once per interval; at once when settled; never once stopped', async () => {
		vi.useFakeTimers();
		try {
			let remade = 0;
			const rows = new RowSchedule(async () => void remade++);
			rows.schedule();
			rows.schedule();
			await vi.advanceTimersByTimeAsync(PROJECTION_DELAY_MS);
			expect(remade).toBe(1);
			// Edited again at once: not before the interval since the last re-make has passed.
			rows.schedule();
			await vi.advanceTimersByTimeAsync(PROJECTION_DELAY_MS);
			expect(remade).toBe(1);
			await vi.advanceTimersByTimeAsync(PROJECTION_MIN_INTERVAL_MS - PROJECTION_DELAY_MS);
			expect(remade).toBe(2);
			// Settled (an unload, an answer that must be true of the list): what is pending begins now.
			rows.schedule();
			rows.beginPending();
			await rows.done;
			expect(remade).toBe(3);
			rows.schedule();
			rows.stop();
			await vi.advanceTimersByTimeAsync(10 * PROJECTION_MIN_INTERVAL_MS);
			expect(remade).toBe(3);
		} finally {
			vi.useRealTimers();
		}
	});
});

describe('step 8, publish', () => {
	it("sends to the other instances on the document's topic", async () => {
		const hub = new MemoryHub();
		const here = new MemoryBus(hub);
		const there = new MemoryBus(hub);
		const got: Uint8Array[] = [];
		await there.subscribe(documentTopic(ID), (message) => got.push(message));
		publish(here, ID, new Uint8Array([1, 2, 3]));
		await Promise.resolve();
		expect(got).toEqual([new Uint8Array([1, 2, 3])]);
	});
});

describe('step 9, acknowledge', () => {
	it('counts every message and says `saved` with the count on /sync only once stored, and not to one who left', async () => {
		let store = () => {};
		const stored = new Promise<void>((resolve) => (store = resolve));
		const present = new Set<TestPeer>();
		const document = { name: ID, has: (peer: TestPeer) => present.has(peer) };
		const plain = new TestPeer(alice);
		const multiplexed = new TestPeer(alice, 'editor', true);
		const gone = new TestPeer(bob, 'editor', true);
		present.add(plain).add(multiplexed);
		const membership = { received: 0 };
		acknowledge(document, plain, { received: 0 }, () => stored);
		acknowledge(document, multiplexed, membership, () => stored);
		acknowledge(document, multiplexed, membership, () => stored);
		acknowledge(document, gone, { received: 0 }, () => stored);
		expect(membership.received).toBe(2);
		expect(multiplexed.sent).toEqual([]);
		store();
		await stored;
		await Promise.resolve();
		expect(multiplexed.sent).toEqual([encodeSaved(ID, 1), encodeSaved(ID, 2)]);
		expect(plain.sent).toEqual([]);
		expect(gone.sent).toEqual([]);
	});
});

describe('the steps together, through a room', () => {
	async function setup(name = ID) {
		const hub = new MemoryHub();
		const bus = new MemoryBus(hub);
		const elsewhere = new MemoryBus(hub);
		const published: Uint8Array[] = [];
		await elsewhere.subscribe(documentTopic(name), (message) => published.push(message));
		const updates = new GatedUpdates();
		const writer = new UpdateWriter(updates, 0, log);
		const bindings = new MemoryBindings();
		const projected: string[] = [];
		const pipeline = new UpdatePipeline({
			writer,
			bus,
			bindings,
			log,
			audited: true,
			project: (room) => projected.push(room.name),
			stored: () => {}
		});
		const room = new Room(name, 'demo', true, pipeline, (r, message) => publish(bus, r.name, message));
		room.load([seededRecord()]);
		const writerPeer = new TestPeer(alice, 'editor', true);
		const watcher = new TestPeer(bob);
		room.join(writerPeer);
		room.join(watcher);
		writerPeer.sent.length = 0;
		watcher.sent.length = 0;
		const settle = async () => {
			await writer.flushed(name);
			for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
		};
		return { room, updates, writer, bindings, projected, published, writerPeer, watcher, settle };
	}

	it('applies, broadcasts, persists with its entries and schedules the row at once; publishes and acknowledges only once stored', async () => {
		const { room, updates, projected, published, writerPeer, watcher, settle } = await setup();
		updates.close();
		const client = clientOf(room.doc, 101);
		fieldsOf(client).set('name', 'Acme Ltd');
		const { type, decoder } = syncMessage(missing(client, room.doc));
		await room.receive(writerPeer, type, decoder);
		expect(fieldsOf(room.doc).get('name')).toBe('Acme Ltd');
		expect(room.bindings.get(101)).toEqual(alice);
		expect(watcher.sent).toHaveLength(1);
		expect(projected).toEqual([ID]);
		await new Promise((resolve) => setTimeout(resolve, 5));
		expect(updates.stored).toEqual([]);
		expect(published).toEqual([]);
		expect(writerPeer.sent).toEqual([]);

		updates.release();
		await settle();
		expect(updates.stored).toHaveLength(1);
		expect(updates.stored[0].audit?.map((d) => [d.path, d.after, d.actor, d.recordId])).toEqual([['fields.name', 'Acme Ltd', alice, ID]]);
		expect(published).toEqual([watcher.sent[0]]);
		expect(writerPeer.sent).toEqual([encodeSaved(ID, 1)]);
		expect(writerPeer.refusals).toEqual([]);
	});

	it('refuses a live update under a client id bound to someone else: nothing applied, stored or acknowledged', async () => {
		const { room, updates, bindings, writerPeer, watcher, settle } = await setup();
		bindings.rows.set(`${ID}:202`, bob);
		room.bindings.set(202, bob);
		const forger = clientOf(room.doc, 202);
		fieldsOf(forger).set('name', 'Forged');
		const { type, decoder } = syncMessage(missing(forger, room.doc));
		await room.receive(writerPeer, type, decoder);
		await settle();
		expect(writerPeer.refusals).toEqual([{ reason: forgedRefusal(202), code: 'forged-client-id', problems: undefined }]);
		expect(fieldsOf(room.doc).get('name')).toBe('Acme');
		expect(watcher.sent).toEqual([]);
		expect(updates.stored).toEqual([]);
		expect(writerPeer.sent).toEqual([]);
	});

	it("keeps a catch-up's items under someone else's id, attributed to its sender", async () => {
		const { room, updates, writerPeer, settle } = await setup();
		room.bindings.set(202, bob);
		const relayed = clientOf(room.doc, 202);
		fieldsOf(relayed).set('name', 'Relayed');
		const { type, decoder } = syncMessage(missing(relayed, room.doc), syncProtocol.messageYjsSyncStep2);
		await room.receive(writerPeer, type, decoder);
		await settle();
		expect(writerPeer.refusals).toEqual([]);
		expect(fieldsOf(room.doc).get('name')).toBe('Relayed');
		expect(updates.stored[0].audit?.map((d) => d.actor)).toEqual([alice]);
		expect(writerPeer.sent).toEqual([encodeSaved(ID, 1)]);
	});

	it("refuses a viewer's change but acknowledges their empty catch-up", async () => {
		const { room, updates, settle } = await setup();
		const viewer = new TestPeer(bob, 'viewer', true);
		room.join(viewer);
		viewer.sent.length = 0;
		const client = clientOf(room.doc, 303);
		fieldsOf(client).set('name', 'Viewed');
		const change = syncMessage(missing(client, room.doc));
		await room.receive(viewer, change.type, change.decoder);
		const empty = syncMessage(Y.encodeStateAsUpdate(room.doc, Y.encodeStateVector(room.doc)), syncProtocol.messageYjsSyncStep2);
		await room.receive(viewer, empty.type, empty.decoder);
		await settle();
		expect(viewer.refusals.map((r) => r.code)).toEqual(['read-only']);
		expect(fieldsOf(room.doc).get('name')).toBe('Acme');
		expect(updates.stored).toEqual([]);
		expect(viewer.sent).toEqual([encodeSaved(ID, 1)]);
	});

	it('stores what the guard kept, tells the writer what it did not, and sends the repair back to the writer too', async () => {
		const { room, updates, writerPeer, watcher, settle } = await setup();
		const client = clientOf(room.doc, 101);
		metaOf(client).set('archived', 'yes');
		fieldsOf(client).set('name', 'Acme Ltd');
		const { type, decoder } = syncMessage(missing(client, room.doc));
		await room.receive(writerPeer, type, decoder);
		await settle();
		expect(writerPeer.refusals.map((r) => r.code)).toEqual(['not-kept']);
		expect(fieldsOf(room.doc).get('name')).toBe('Acme Ltd');
		expect(updates.stored).toHaveLength(1);
		expect(watcher.sent).toHaveLength(1);
		// The repaired update, then `saved`.
		expect(writerPeer.sent).toHaveLength(2);
		expect(writerPeer.sent[1]).toEqual(encodeSaved(ID, 1));
	});

	it("writes the server's own changes under a client id bound to the person, through steps 4 to 8", async () => {
		const { room, updates, published, watcher, settle } = await setup();
		await room.transact({ actor: bob, source: 'api' }, (doc) => fieldsOf(doc).set('name', 'By the API'));
		await settle();
		expect(watcher.sent).toHaveLength(1);
		expect(updates.stored[0].audit?.map((d) => [d.actor, d.source])).toEqual([[bob, 'api']]);
		expect(published).toHaveLength(1);
	});

	it('refuses everyone on the views document and non-admins on the field definitions', async () => {
		for (const [name, role, refused] of [
			[viewsDocumentId('demo'), 'admin', true],
			[fieldsDocumentId('demo'), 'editor', true]
		] as const) {
			const { room } = await setup(name);
			expect(room.viewsDocument || room.definitionsDocument).toBe(true);
			const peer = new TestPeer(alice, role);
			room.join(peer);
			const client = clientOf(room.doc, 404);
			client.getMap('anything').set('x', 1);
			const { type, decoder } = syncMessage(missing(client, room.doc));
			await room.receive(peer, type, decoder);
			expect(peer.refusals.length > 0).toBe(refused);
			room.destroy();
		}
	});
});
