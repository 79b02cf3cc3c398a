/**
 * One document's sync state (src/lib/sync/document.ts) on its own, without a server or
 * a socket: real Y.Docs on both ends, the real protocol encoders, the in-memory local
 * copy, and a wire that keeps the frames the document sends. The test plays the server
 * by answering with the frames the server would send (step 1 and 2, `saved`, `refused`).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { MessageType, encodeFrame, encodeRefused, encodeSaved, readFrameHeader } from '../../src/lib/protocol/index.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { memoryStore } from '../../src/lib/local/memory.ts';
import type { LocalDocs } from '../../src/lib/local/types.ts';
import { SyncDocument, holdOutgoing, type DocumentWire } from '../../src/lib/sync/document.ts';

const ID = '7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A connection that keeps every frame sent on it, open or not (a document must not send while it is closed). */
class Wire implements DocumentWire {
	open = true;
	readonly frames: Uint8Array[] = [];
	isOpen(): boolean {
		return this.open;
	}
	send(frame: Uint8Array): void {
		this.frames.push(frame);
	}
	/** The frames sent so far, read, and forgotten. */
	take(): Frame[] {
		return this.frames.splice(0).map(readFrame);
	}
}

interface Frame {
	name: string;
	type: number;
	/** For sync frames: step1, step2 or update; for `create`: the state. */
	sync?: 'step1' | 'step2' | 'update';
	payload: Uint8Array;
}

const SYNC_KINDS = ['step1', 'step2', 'update'] as const;

function readFrame(bytes: Uint8Array): Frame {
	const decoder = decoding.createDecoder(bytes);
	const { documentName, type } = readFrameHeader(decoder, true);
	if (type === MessageType.sync) {
		const sync = SYNC_KINDS[decoding.readVarUint(decoder)];
		return { name: documentName ?? '', type, sync, payload: decoding.readVarUint8Array(decoder) };
	}
	if (type === MessageType.create) return { name: documentName ?? '', type, payload: decoding.readVarUint8Array(decoder) };
	return { name: documentName ?? '', type, payload: decoding.readTailAsUint8Array(decoder) };
}

/** Hands a frame to the document as the client does: header read, payload left for the document. */
function deliver(document: SyncDocument, frame: Uint8Array): void {
	const decoder = decoding.createDecoder(frame);
	const { type } = readFrameHeader(decoder, true);
	document.receive(type, decoder);
}

/** The server's side of one document: its own Y.Doc, answering as the server does. */
class Server {
	readonly doc = new Y.Doc();
	step1(): Uint8Array {
		return encodeFrame(ID, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, this.doc));
	}
	/** Answers a client's step 1 with everything the client lacks. */
	step2(clientStep1: Frame): Uint8Array {
		return encodeFrame(ID, MessageType.sync, (e) => syncProtocol.writeSyncStep2(e, this.doc, clientStep1.payload));
	}
	/** Applies an update or a step 2 the client sent. */
	apply(frame: Frame): void {
		Y.applyUpdate(this.doc, frame.payload);
	}
}

function setUp(local: LocalDocs | null = null, wire = new Wire()) {
	const document = new SyncDocument({ name: ID, wire, local: Promise.resolve(local) });
	const handle = document.handle();
	return { document, handle, wire, fields: fieldsOf(document.doc) };
}

/** Opens and syncs a document with an empty server: step 1 out, step 2 in. */
async function synced(local: LocalDocs | null = null) {
	const parts = setUp(local);
	await parts.document.load();
	const server = new Server();
	const [step1] = parts.wire.take();
	deliver(parts.document, server.step2(step1));
	expect(parts.handle.syncedNow).toBe(true);
	return { ...parts, server };
}

describe('a synced document', () => {
	it('loads the local copy into its Y.Doc before it sends step 1', async () => {
		const local = memoryStore();
		const earlier = new Y.Doc();
		fieldsOf(earlier).set('company', 'Acme');
		await local.storeRemote(ID, Y.encodeStateAsUpdate(earlier));
		const { document, handle, wire, fields } = setUp(local);

		const loading = document.load();
		// The socket opens while the copy is still loading: nothing is asked yet.
		document.connected();
		expect(wire.frames).toEqual([]);
		expect(handle.ready).toBe(false);

		await loading;
		expect(fields.get('company')).toBe('Acme');
		expect(handle.ready).toBe(true);
		const frames = wire.take();
		expect(frames.map((f) => f.sync)).toEqual(['step1']);
		// Step 1's state vector already covers the local copy, so the server sends only the rest.
		expect(frames[0].payload).toEqual(Y.encodeStateVector(earlier));
		// A second open on the same connection asks nothing more.
		document.connected();
		expect(wire.frames).toEqual([]);
	});

	it('counts pending changes per place and clears them by the cumulative saved count, message by message', async () => {
		const local = memoryStore();
		const { document, handle, wire, fields } = await synced(local);
		const counts: number[] = [];
		handle.on('pending', (count) => counts.push(count));

		fields.set('company', 'H');
		fields.set('company', 'Harbour'); // the same place again: still one change
		fields.set('phone', '555');
		fields.set('email', 'a@harbour.test');
		expect(handle.pending).toBe(3);
		expect(wire.take().map((f) => f.sync)).toEqual(['update', 'update', 'update', 'update']);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect((await local.pendingDocs()).get(ID)).toBe(4);

		// Messages 1 and 2 (both `company`) stored: the place is no longer pending.
		deliver(document, encodeSaved(ID, 2));
		expect(handle.pending).toBe(2);
		// A count the client already had covers nothing new.
		deliver(document, encodeSaved(ID, 1));
		deliver(document, encodeSaved(ID, 2));
		expect(handle.pending).toBe(2);
		// One count covers every message up to it.
		deliver(document, encodeSaved(ID, 4));
		expect(handle.pending).toBe(0);
		expect(counts).toEqual([1, 1, 2, 3, 2, 0]);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect((await local.pendingDocs()).has(ID)).toBe(false);
	});

	it('sends changes made while away in one step 2, which one saved count clears, on a connection that counts from 1 again', async () => {
		const { document, handle, wire, fields, server } = await synced();
		fields.set('company', 'Before');
		const [update] = wire.take();
		server.apply(update);

		wire.open = false;
		document.disconnected();
		fields.set('company', 'Away');
		fields.set('phone', '555');
		expect(wire.frames).toEqual([]);
		// Three changes over two places: `company` (twice) and `phone`.
		expect(handle.pending).toBe(2);
		expect(handle.syncedNow).toBe(false);

		wire.open = true;
		document.connected();
		const [step1] = wire.take();
		deliver(document, server.step2(step1));
		deliver(document, server.step1());
		const [step2] = wire.take();
		expect(step2.sync).toBe('step2');
		server.apply(step2);
		expect(fieldsOf(server.doc).toJSON()).toEqual({ company: 'Away', phone: '555' });
		expect(handle.pending).toBe(2);
		// The first message of this connection: the step 2, carrying all three.
		deliver(document, encodeSaved(ID, 1));
		expect(handle.pending).toBe(0);
	});

	it('drops later changes once the server refuses one as read-only, and keeps taking others\u2019 changes', async () => {
		const local = memoryStore();
		const { document, handle, wire, fields, server } = await synced(local);
		const errors: string[] = [];
		handle.on('error', (refusal) => errors.push(refusal.code));
		fields.set('company', 'Mine');
		expect(wire.take()).toHaveLength(1);
		expect(handle.pending).toBe(1);

		deliver(document, encodeRefused(ID, { code: 'read-only', reason: 'You may only read this record.' }));
		expect(handle.error?.code).toBe('read-only');
		expect(handle.readOnly).toBe(true);
		expect(handle.pending).toBe(0);
		expect(errors).toEqual(['read-only']);

		fields.set('company', 'Mine again');
		expect(wire.frames).toEqual([]);
		expect(handle.pending).toBe(0);
		await new Promise((resolve) => setTimeout(resolve, 0));
		// Only the first change was kept as pending locally; the later one is not.
		expect((await local.pendingDocs()).get(ID)).toBe(1);

		deliver(document, encodeRefused(ID, { code: 'read-only', reason: 'Again.' }));
		expect(errors).toEqual(['read-only']);

		fieldsOf(server.doc).set('phone', '555');
		deliver(document, encodeFrame(ID, MessageType.sync, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(server.doc))));
		expect(fields.get('phone')).toBe('555');

		// After a reconnect: still read-only, and nothing of ours goes up in the exchange.
		document.disconnected();
		document.connected();
		const [step1] = wire.take();
		deliver(document, server.step1());
		expect(wire.frames).toEqual([]);
		deliver(document, server.step2(step1));
		expect(handle.error?.code).toBe('read-only');
	});

	it('announces a document created offline with a create frame before step 1, also after a reload', async () => {
		const local = memoryStore();
		const wire = new Wire();
		wire.open = false;
		const { document, handle } = setUp(local, wire);
		document.createLocally((doc) => fieldsOf(doc).set('company', 'New Co'));
		await document.load();
		expect(handle.createdLocally).toBe(true);
		expect(handle.ready).toBe(true);
		expect(handle.pending).toBe(1);
		expect(wire.frames).toEqual([]);
		await new Promise((resolve) => setTimeout(resolve, 0));

		// A reload: the same local copy, a new document.
		document.leave();
		document.close();
		const reloaded = setUp(local);
		await reloaded.document.load();
		expect(reloaded.handle.createdLocally).toBe(true);
		const frames = reloaded.wire.take();
		expect(frames.map((f) => [f.type, f.sync])).toEqual([
			[MessageType.create, undefined],
			[MessageType.sync, 'step1']
		]);
		const created = new Y.Doc();
		Y.applyUpdate(created, frames[0].payload);
		expect(fieldsOf(created).get('company')).toBe('New Co');

		// The server created it: its step 2 ends "created here".
		const server = new Server();
		server.apply({ ...frames[0] });
		deliver(reloaded.document, server.step2(frames[1]));
		expect(reloaded.handle.createdLocally).toBe(false);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect((await local.load(ID)).createdLocally).toBe(false);
		reloaded.document.disconnected();
		reloaded.document.connected();
		expect(reloaded.wire.take().map((f) => f.type)).toEqual([MessageType.sync]);
	});

	it('holds outgoing changes back while held, then sends them as one update', async () => {
		const { handle, wire, fields, document } = await synced();
		const release = holdOutgoing(document.doc);
		fields.set('company', 'p');
		fields.set('company', 'pin');
		expect(wire.frames).toEqual([]);
		expect(handle.pending).toBe(1);
		release();
		const frames = wire.take();
		expect(frames.map((f) => f.sync)).toEqual(['update']);
		const other = new Y.Doc();
		Y.applyUpdate(other, frames[0].payload);
		expect(fieldsOf(other).get('company')).toBe('pin');
		deliver(document, encodeSaved(ID, 1));
		expect(handle.pending).toBe(0);
	});
});
