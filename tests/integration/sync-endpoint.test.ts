/**
 * The multiplexed endpoint `/sync`, spoken frame by frame: several documents on one
 * socket, durable acknowledgements, refusals that keep the socket, workspace presence
 * and record-changed notices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as awarenessProtocol from 'y-protocols/awareness';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { MessageType, encodeFrame, workspaceChannel } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { syncClient, type SyncTestClient } from '../support/sync-client.ts';

describe('the multiplexed /sync endpoint', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const clients: SyncTestClient[] = [];

	async function connect(): Promise<SyncTestClient> {
		const client = syncClient(server, 'editor');
		clients.push(client);
		await client.ready;
		return client;
	}

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		for (const client of clients) client.disconnect();
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
		await eventually(() => client.of(unknown, MessageType.refused).length === 1, 'the unknown record to be refused');
		expect(client.last(unknown, MessageType.refused)).toMatchObject({ code: 'not-found' });
		await eventually(() => client.of('workspace:not-a-workspace', MessageType.refused).length === 1, 'the unknown workspace to be refused');
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
		watcher.queryAwareness(channel);
		const awareness = new awarenessProtocol.Awareness(new Y.Doc());
		awareness.setLocalState({ user: { id: 'alice', name: 'Alice Chen', color: '#d9480f', colorLight: '#d9480f33' }, viewing: null });
		editor.send(
			encodeFrame(channel, MessageType.awareness, (e) =>
				encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID]))
			)
		);
		await eventually(() => watcher.of(channel, MessageType.awareness).length > 0, "the editor's presence to reach the watcher");
		const received = new awarenessProtocol.Awareness(new Y.Doc());
		awarenessProtocol.applyAwarenessUpdate(received, watcher.last(channel, MessageType.awareness)!, null);
		// Claimed to be Alice; relayed as who the socket signed in as (the editor API token).
		expect(received.getStates().get(awareness.clientID)).toMatchObject({ user: { name: 'test editor', color: '#d9480f' } });

		const id = await createRecord(server, { name: 'Fresh Lead' });
		await eventually(() => watcher.notices().includes(id), 'a notice of the new record');
		const doc = editor.open(id);
		await eventually(() => fieldsOf(doc).size > 0, 'the record to sync');
		watcher.frames.length = 0;
		fieldsOf(doc).set('stage', 'qualified');
		await eventually(() => watcher.notices().includes(id), 'a notice of the edit');
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
		await eventually(() => (good.last(id, MessageType.saved) ?? 0) >= 2, 'the good socket to keep working');
		expect(good.closed).toBeNull();
	});
});
