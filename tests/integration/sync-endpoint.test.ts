/**
 * The multiplexed endpoint `/sync`, spoken frame by frame: several documents on one
 * socket, durable acknowledgements, refusals that keep the socket, workspace presence
 * and record-changed notices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import WebSocket from 'ws';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { MessageType, decodeRefused, encodeFrame, readFrameHeader, workspaceChannel } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';

interface Received {
	documentName: string;
	type: number;
	decoder: decoding.Decoder;
}

/** A test client of /sync: keeps a Y.Doc per document and records what arrives. */
class SyncSocket {
	readonly socket: WebSocket;
	readonly docs = new Map<string, Y.Doc>();
	readonly received: Array<{ documentName: string; type: number; detail: unknown }> = [];
	closed: { code: number; reason: string } | null = null;

	constructor(url: string) {
		this.socket = new WebSocket(url);
		this.socket.binaryType = 'nodebuffer';
		this.socket.on('message', (data: Buffer) => this.onMessage(new Uint8Array(data)));
		this.socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
	}

	opened(): Promise<void> {
		return new Promise((resolve, reject) => {
			this.socket.once('open', () => resolve());
			this.socket.once('error', reject);
		});
	}

	open(name: string): Y.Doc {
		const doc = new Y.Doc();
		this.docs.set(name, doc);
		doc.on('update', (update: Uint8Array, origin: unknown) => {
			if (origin === this) return;
			this.send(encodeFrame(name, MessageType.sync, (e) => syncProtocol.writeUpdate(e, update)));
		});
		this.send(encodeFrame(name, MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, doc)));
		return doc;
	}

	send(frame: Uint8Array): void {
		this.socket.send(frame);
	}

	count(documentName: string, type: number): number {
		return this.received.filter((m) => m.documentName === documentName && m.type === type).length;
	}

	last(documentName: string, type: number): unknown {
		return this.received.filter((m) => m.documentName === documentName && m.type === type).at(-1)?.detail;
	}

	private onMessage(bytes: Uint8Array): void {
		const decoder = decoding.createDecoder(bytes);
		const { documentName, type } = readFrameHeader(decoder, true) as Received;
		let detail: unknown = null;
		const doc = this.docs.get(documentName!);
		if (type === MessageType.sync && doc) {
			const reply = encoding.createEncoder();
			encoding.writeVarString(reply, documentName!);
			encoding.writeVarUint(reply, MessageType.sync);
			detail = syncProtocol.readSyncMessage(decoder, reply, doc, this);
			if (detail === syncProtocol.messageYjsSyncStep1) this.send(encoding.toUint8Array(reply));
		} else if (type === MessageType.refused) {
			detail = decodeRefused(decoder);
		} else if (type === MessageType.saved) {
			detail = decoding.readVarUint(decoder);
		} else if (type === MessageType.recordChanged) {
			detail = decoding.readVarString(decoder);
		} else if (type === MessageType.awareness) {
			detail = decoding.readVarUint8Array(decoder);
		}
		this.received.push({ documentName: documentName!, type, detail });
	}
}

describe('the multiplexed /sync endpoint', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const sockets: SyncSocket[] = [];

	async function connect(): Promise<SyncSocket> {
		const socket = new SyncSocket(wsUrl(server, '/sync'));
		sockets.push(socket);
		await socket.opened();
		return socket;
	}

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		for (const socket of sockets) socket.socket.close();
		await server.close();
		data.remove();
	});

	it('syncs several records over one socket and acknowledges each update once stored', async () => {
		const first = await createRecord(server, { name: 'First Co' });
		const second = await createRecord(server, { name: '第二公司' });
		const client = await connect();
		const a = client.open(first);
		const b = client.open(second);
		await eventually(() => fieldsOf(a).get('name') === 'First Co' && fieldsOf(b).get('name') === '第二公司', 'both records to sync');

		fieldsOf(a).set('city', 'Beijing');
		fieldsOf(a).set('stage', 'won');
		// step 2 + two updates were sent on the first document.
		await eventually(() => client.last(first, MessageType.saved) === 3, 'three messages to be acknowledged as stored');
		const stored = await server.accord.database.documents.loadDocument(first);
		const check = new Y.Doc();
		for (const update of stored!.snapshot ? [stored!.snapshot, ...stored!.updates] : stored!.updates) Y.applyUpdate(check, update);
		expect(fieldsOf(check).get('city')).toBe('Beijing');
		expect(fieldsOf(check).get('stage')).toBe('won');
	});

	it('refuses an unknown document but keeps the socket for the others', async () => {
		const known = await createRecord(server, { name: 'Known Ltd' });
		const client = await connect();
		const unknown = crypto.randomUUID();
		client.open(unknown);
		client.open('workspace:not-a-workspace');
		const doc = client.open(known);
		await eventually(() => client.count(unknown, MessageType.refused) === 1, 'the unknown record to be refused');
		expect(client.last(unknown, MessageType.refused)).toMatchObject({ code: 'not-found' });
		await eventually(() => client.count('workspace:not-a-workspace', MessageType.refused) === 1, 'the unknown workspace to be refused');
		await eventually(() => fieldsOf(doc).get('name') === 'Known Ltd', 'the known record to sync on the same socket');
		expect(client.closed).toBeNull();
		expect(await server.accord.database.documents.loadDocument(unknown)).toBeNull();
	});

	it('relays edits between two sockets on the same record', async () => {
		const id = await createRecord(server, { name: 'Shared Inc' });
		const one = await connect();
		const two = await connect();
		const a = one.open(id);
		const b = two.open(id);
		await eventually(() => fieldsOf(a).size > 0 && fieldsOf(b).size > 0, 'both to sync');
		fieldsOf(a).set('company', 'Shared Holdings');
		await eventually(() => fieldsOf(b).get('company') === 'Shared Holdings', 'the edit to reach the other socket');
	});

	it('carries presence and record-changed notices on the workspace channel', async () => {
		const channel = workspaceChannel(server.accord.services.defaultWorkspace);
		const watcher = await connect();
		const editor = await connect();
		watcher.send(encodeFrame(channel, MessageType.queryAwareness));
		const awareness = new awarenessProtocol.Awareness(new Y.Doc());
		awareness.setLocalState({ user: { id: 'alice', name: 'Alice Chen', color: '#d9480f', colorLight: '#d9480f33' }, viewing: null });
		editor.send(
			encodeFrame(channel, MessageType.awareness, (e) =>
				encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID]))
			)
		);
		await eventually(() => watcher.count(channel, MessageType.awareness) > 0, "the editor's presence to reach the watcher");
		const received = new awarenessProtocol.Awareness(new Y.Doc());
		awarenessProtocol.applyAwarenessUpdate(received, watcher.last(channel, MessageType.awareness) as Uint8Array, null);
		// Claimed to be Alice; relayed as who the socket signed in as (the editor API token).
		expect(received.getStates().get(awareness.clientID)).toMatchObject({ user: { name: 'test editor', color: '#d9480f' } });

		const id = await createRecord(server, { name: 'Fresh Lead' });
		await eventually(() => watcher.received.some((m) => m.type === MessageType.recordChanged && m.detail === id), 'a notice of the new record');
		const doc = editor.open(id);
		await eventually(() => fieldsOf(doc).size > 0, 'the record to sync');
		watcher.received.length = 0;
		fieldsOf(doc).set('stage', 'qualified');
		await eventually(() => watcher.received.some((m) => m.type === MessageType.recordChanged && m.detail === id), 'a notice of the edit');
	});

	it('closes a socket that sends a malformed frame, and only that one', async () => {
		const id = await createRecord(server, { name: 'Steady Co' });
		const good = await connect();
		const doc = good.open(id);
		await eventually(() => fieldsOf(doc).size > 0, 'the record to sync');
		const bad = await connect();
		bad.send(encodeFrame(id, MessageType.sync, (e) => {
			encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
			encoding.writeVarUint8Array(e, new Uint8Array([1, 2, 3, 200, 200]));
		}));
		await eventually(() => bad.closed !== null, 'the bad socket to be closed');
		expect(bad.closed).toMatchObject({ code: 1007 });
		expect(bad.closed!.reason).toMatch(/Malformed message/);
		fieldsOf(doc).set('city', 'Chengdu');
		await eventually(() => good.last(id, MessageType.saved) !== undefined && (good.last(id, MessageType.saved) as number) >= 2, 'the good socket to keep working');
		expect(good.closed).toBeNull();
	});
});
