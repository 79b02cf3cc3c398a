/**
 * The thin SyncClient (src/lib/sync/client.ts), the wiring between the socket and the
 * documents, without a server: a fake socket the test drives, real Y.Docs, the real
 * protocol encoders. Checked: every open document asks to sync when the socket opens,
 * frames reach the document they name, the status sums the documents' state, pending
 * counts add up over documents, and a released document tells the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import * as syncProtocol from 'y-protocols/sync';
import { CloseCode, MessageType, encodeFrame, encodeSaved, readFrameHeader, workspaceChannel } from '../../src/lib/protocol/index.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { SyncClient, type ConnectionStatus } from '../../src/lib/sync/client.ts';
import { fakeSockets, type FakeSocket } from '../support/fake-socket.ts';

const A = '1a2b3c4d-0000-4000-8000-00000000000a';
const B = '1a2b3c4d-0000-4000-8000-00000000000b';

/** The document name and message type of each frame sent on `socket`, in order. */
function sentOn(socket: FakeSocket): string[] {
	return socket.sent.splice(0).map((bytes) => {
		const { documentName, type } = readFrameHeader(decoding.createDecoder(bytes), true);
		const kind = Object.entries(MessageType).find(([, code]) => code === type)?.[0] ?? String(type);
		return `${documentName} ${kind}`;
	});
}

/** The server's step 2 for a document it holds nothing of. */
function emptyStep2(name: string): Uint8Array {
	return encodeFrame(name, MessageType.sync, (e) => syncProtocol.writeSyncStep2(e, new Y.Doc()));
}

const clients: SyncClient[] = [];
afterEach(() => {
	for (const client of clients.splice(0)) client.destroy();
});

function setUp(options: { onSessionEnded?: (reason: string) => void } = {}) {
	const sockets = fakeSockets();
	const client = new SyncClient({ url: 'ws://test/sync', WebSocket: sockets.WebSocket, ...options });
	clients.push(client);
	const statuses: ConnectionStatus[] = [];
	client.onStatus(() => {
		if (statuses.at(-1) !== client.status) statuses.push(client.status);
	});
	return { client, statuses, ...sockets };
}

describe('the sync client', () => {
	it('asks for every open document when the socket opens, routes frames by name, and is online once all are in', async () => {
		const { client, statuses, sockets, last } = setUp();
		const a = client.open(A);
		const b = client.open(B);
		const channel = client.open(workspaceChannel('acme'));
		expect(sockets).toHaveLength(1);
		await Promise.all([a.whenLoaded, b.whenLoaded, channel.whenLoaded]);
		let connects = 0;
		client.onConnect(() => connects++);

		last().open();
		expect(sentOn(last())).toEqual([`${A} sync`, `${B} sync`, `workspace:acme queryAwareness`]);
		expect(connects).toBe(1);
		expect(client.status).toBe('syncing');

		last().receive(emptyStep2(A));
		expect(a.syncedNow).toBe(true);
		expect(b.syncedNow).toBe(false);
		expect(client.status).toBe('syncing');
		last().receive(emptyStep2('not-open-here'));
		last().receive(emptyStep2(B));
		expect(b.syncedNow).toBe(true);
		expect(statuses).toEqual(['connecting', 'syncing', 'online']);
	});

	it('counts pending changes over documents, resends them after a lost connection, and tells the server of a release', async () => {
		const { client, statuses, last } = setUp();
		const a = client.open(A);
		const b = client.open(B);
		await Promise.all([a.whenLoaded, b.whenLoaded]);
		last().open();
		last().receive(emptyStep2(A));
		last().receive(emptyStep2(B));
		sentOn(last());

		fieldsOf(a.doc).set('company', 'Acme');
		fieldsOf(b.doc).set('company', 'Beta');
		fieldsOf(b.doc).set('phone', '555');
		expect(client.pending).toBe(3);
		expect(client.pendingByDoc()).toEqual({ [A]: 1, [B]: 2 });
		expect(sentOn(last())).toEqual([`${A} sync`, `${B} sync`, `${B} sync`]);
		last().receive(encodeSaved(A, 1));
		expect(client.pendingByDoc()).toEqual({ [B]: 2 });

		client.disconnect();
		expect(client.status).toBe('offline');
		expect(b.syncedNow).toBe(false);
		client.connect();
		last().open();
		expect(sentOn(last())).toEqual([`${A} sync`, `${B} sync`]);
		expect(statuses.at(-1)).toBe('syncing');

		a.release();
		expect(sentOn(last())).toEqual([`${A} close`]);
		expect(client.pendingByDoc()).toEqual({ [B]: 2 });
	});

	it('stops for good when the server ends the session', async () => {
		const ended: string[] = [];
		const { client, sockets, last } = setUp({ onSessionEnded: (reason) => ended.push(reason) });
		const a = client.open(A);
		await a.whenLoaded;
		last().open();
		last().lose(CloseCode.unauthorised, 'Signed out.');
		expect(client.sessionEnded).toBe(true);
		expect(ended).toEqual(['Signed out.']);
		expect(client.status).toBe('offline');
		client.connect();
		client.open(B);
		expect(sockets).toHaveLength(1);
	});
});
