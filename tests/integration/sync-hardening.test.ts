/**
 * Holes an attack on a running server found in the sync endpoints, each through the real
 * entry point (a real server, real sockets, the stock y-websocket client where a person
 * would use one): presence that speaks for someone else or grows without bound, one
 * record under two spellings of its id, updates that break a record's shape, and
 * authorship forged through a sync step 2.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import type { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { addItem, contactsOf, fieldsOf, metaOf } from '../../src/lib/model/record.ts';
import { MessageType, encodeFrame, type RefusedMessage } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { DEFAULT_SYNC_LIMITS } from '../../server/sync/limits.ts';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import type { Role } from '../../src/lib/access.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';
import { awarenessFrame } from '../support/frames.ts';
import { signInWithFetch } from '../support/sessions.ts';
import { providersSynced, syncClient, yWebsocketClient, type SocketCredentials, type SyncTestClient, type YWebsocketClient } from '../support/sync-client.ts';

const providers: WebsocketProvider[] = [];
const clients: SyncTestClient[] = [];
const sockets: WebSocket[] = [];

afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
	for (const client of clients.splice(0)) client.disconnect();
	for (const socket of sockets.splice(0)) socket.terminate();
});

describe('sync endpoints under attack', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
	});
	afterAll(async () => {
		await server.close();
		data.remove();
	});

	function connect(id: string, role: Role = 'editor', doc = new Y.Doc()): YWebsocketClient {
		const made = yWebsocketClient(server, role, id, { doc });
		providers.push(made.provider);
		return made;
	}

	function client(credentials: SocketCredentials, options: { path?: string; headers?: Record<string, string> } = {}): SyncTestClient {
		const made = syncClient(server, credentials, options);
		clients.push(made);
		return made;
	}

	/** A raw socket that keeps every message it receives: for frames no client sends (presence for others, floods, a forged step 2). */
	async function raw(path: string, role: Role = 'editor'): Promise<{ socket: WebSocket; received: Uint8Array[] }> {
		const socket = new WebSocket(wsUrl(server, path, role));
		sockets.push(socket);
		const received: Uint8Array[] = [];
		socket.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
		await new Promise<void>((resolve, reject) => {
			socket.once('open', () => resolve());
			socket.once('error', reject);
		});
		return { socket, received };
	}

	async function history(id: string, field: string): Promise<AuditEntry[]> {
		const response = await apiFetch(`${server.url}/api/records/${id}/history?field=${field}`, {}, 'admin');
		return ((await response.json()) as AuditPage).entries;
	}

	describe('presence', () => {
		it("cannot remove another person's presence by setting it to null", async () => {
			const id = await createRecord(server, { name: 'Presence Co' });
			const alice = connect(id, 'editor');
			const watcher = connect(id, 'admin');
			await Promise.all([providersSynced(alice.provider), providersSynced(watcher.provider)]);
			alice.provider.awareness.setLocalStateField('field', 'name');
			const aliceClient = alice.doc.clientID;
			await eventually(() => watcher.provider.awareness.getStates().has(aliceClient), "the watcher to see Alice's presence");
			const clock = alice.provider.awareness.meta.get(aliceClient)!.clock;

			// Alice's own client would put her state back at once; the watcher must never see it go.
			let vanished = false;
			watcher.provider.awareness.on('change', ({ removed }: { removed: number[] }) => {
				if (removed.includes(aliceClient)) vanished = true;
			});
			const carol = await raw(`/y/${id}`, 'viewer');
			carol.socket.send(awarenessFrame([{ client: aliceClient, clock: clock + 5, state: null }]));
			// Carol's own presence is relayed, so once the watcher sees it, her earlier message was handled.
			carol.socket.send(awarenessFrame([{ client: 424242, clock: 1, state: { field: null } }]));
			await eventually(() => watcher.provider.awareness.getStates().has(424242), "the watcher to see Carol's presence");
			expect(watcher.provider.awareness.getStates().get(aliceClient)).toMatchObject({ field: 'name' });
			expect(vanished).toBe(false);
		});

		it('keeps at most a few presence states per connection, and none over the size limit', async () => {
			const id = await createRecord(server, { name: 'Crowd Co' });
			const watcher = connect(id, 'admin');
			await providersSynced(watcher.provider);
			const mallory = await raw(`/y/${id}`, 'viewer');
			const many = Array.from({ length: 200 }, (_, i) => ({ client: 1_000 + i, clock: 1, state: { n: i } }));
			mallory.socket.send(awarenessFrame(many));
			mallory.socket.send(awarenessFrame([{ client: 5_000, clock: 1, state: { blob: 'x'.repeat(512 * 1024) } }]));
			await eventually(() => watcher.provider.awareness.getStates().has(1_000), 'the first states to arrive');
			// A later, small state from another connection: once it arrives, Mallory's messages were handled.
			const other = await raw(`/y/${id}`, 'viewer');
			other.socket.send(awarenessFrame([{ client: 6_000, clock: 1, state: { ok: true } }]));
			await eventually(() => watcher.provider.awareness.getStates().has(6_000), 'the later state to arrive');
			const fromMallory = [...watcher.provider.awareness.getStates().keys()].filter((client) => client >= 1_000 && client <= 5_000);
			expect(fromMallory.length).toBe(4);
			expect(watcher.provider.awareness.getStates().has(5_000)).toBe(false);
		});

		it('answers a flood of presence queries once per interval', async () => {
			const id = await createRecord(server, { name: 'Query Co' });
			const alice = connect(id, 'editor');
			await providersSynced(alice.provider);
			alice.provider.awareness.setLocalStateField('field', 'company');
			const mallory = await raw(`/y/${id}`, 'viewer');
			await eventually(() => mallory.received.some((m) => m[0] === MessageType.awareness), 'the presence sent on joining');
			await new Promise((resolve) => setTimeout(resolve, 1_100));
			const before = mallory.received.filter((m) => m[0] === MessageType.awareness).length;
			for (let i = 0; i < 500; i++) mallory.socket.send(new Uint8Array([MessageType.queryAwareness]));
			await new Promise((resolve) => setTimeout(resolve, 1_500));
			const answers = mallory.received.filter((m) => m[0] === MessageType.awareness).length - before;
			expect(answers).toBeGreaterThanOrEqual(1);
			expect(answers).toBeLessThanOrEqual(3);
		});
	});

	describe('record ids', () => {
		it('joins /y/<ID> and /y/<id> in one room, and serves the API under either spelling', async () => {
			const id = await createRecord(server, { name: 'Case Co' });
			const lower = connect(id);
			const upper = connect(id.toUpperCase());
			await Promise.all([providersSynced(lower.provider), providersSynced(upper.provider)]);
			fieldsOf(upper.doc).set('city', 'Ningbo');
			await eventually(() => fieldsOf(lower.doc).get('city') === 'Ningbo', 'an edit under the upper-case id to reach the lower-case socket');
			fieldsOf(lower.doc).set('company', 'Case Holdings');
			await eventually(() => fieldsOf(upper.doc).get('company') === 'Case Holdings', 'and back');
			const response = await apiFetch(`${server.url}/api/records/${id.toUpperCase()}`);
			expect(response.status).toBe(200);
			expect(((await response.json()) as { id: string; fields: Record<string, unknown> }).fields).toMatchObject({ city: 'Ningbo', company: 'Case Holdings' });
		});

		it('loses no stored edit when the rooms unload and compact', async () => {
			const id = await createRecord(server, { name: 'Compact Co' });
			const lower = connect(id);
			const upper = connect(id.toUpperCase());
			await Promise.all([providersSynced(lower.provider), providersSynced(upper.provider)]);
			fieldsOf(lower.doc).set('industry', 'Logistics');
			fieldsOf(upper.doc).set('city', 'Xiamen');
			await eventually(async () => (await history(id, 'fields.city')).length > 0 && (await history(id, 'fields.industry')).length > 0, 'both edits to be stored');
			lower.provider.destroy();
			upper.provider.destroy();
			await eventually(() => server.accord.rooms.loadedCount === 0, 'the room to unload (and compact)');
			const response = await apiFetch(`${server.url}/api/records/${id}`);
			expect(((await response.json()) as { fields: Record<string, unknown> }).fields).toMatchObject({ industry: 'Logistics', city: 'Xiamen' });
		});

		it('closes every socket of a record made private, whatever spelling it was opened under', async () => {
			const id = await createRecord(server, { name: 'Private Co' });
			const lower = client('editor', { path: `/y/${id}` });
			const upper = client('editor', { path: `/y/${id.toUpperCase()}` });
			await eventually(() => lower.frames.length > 0 && upper.frames.length > 0, 'both sockets to be synced');
			const response = await apiFetch(`${server.url}/api/records/${id}/private`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"private":true}' }, 'admin');
			expect(response.status).toBe(200);
			await eventually(() => lower.closed !== null && upper.closed !== null, 'both sockets to be closed');
			const [a, b] = [lower.closed!, upper.closed!];
			expect(a.code).toBe(4404);
			expect(b.code).toBe(4404);
		});

		it("closes the former owner's socket when a private record is given to someone else by editing its owner", async () => {
			// The owner is a member (an owner must be one), signed in as people are.
			const bob = await signInWithFetch(server, 'bob');
			const id = await createRecord(server, { name: 'Handed Over Co', owner: 'bob' }, {}, 'admin');
			const made = await apiFetch(`${server.url}/api/records/${id}/private`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"private":true}' }, 'admin');
			expect(made.status).toBe(200);
			const owner = client({ cookie: bob.cookie }, { path: `/y/${id}`, headers: { origin: server.url } });
			await eventually(() => owner.frames.length > 0, "the owner's socket to be synced");
			const handed = await apiFetch(`${server.url}/api/records/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fields: { owner: 'alice' } }) }, 'admin');
			expect(handed.status).toBe(200);
			await eventually(() => owner.closed !== null, "the owner's socket to be closed");
			expect(owner.closed!.code).toBe(4404);
			expect((await apiFetch(`${server.url}/api/records/${id}`)).status).toBe(404);
		});

		it('refuses a record named in upper case on /sync, saying which spelling to use', async () => {
			const id = await createRecord(server, { name: 'Multiplexed Co' });
			const upper = client('editor');
			upper.open(id.toUpperCase());
			await eventually(() => upper.frames.length > 0, 'an answer');
			expect(upper.frames[0].type).toBe(MessageType.refused);
			expect(upper.of(id.toUpperCase(), MessageType.refused)[0].detail.reason).toContain(id);
		});
	});

	describe("a record's shape", () => {
		it('survives a string pushed into contacts and a changed workspace, and every replica converges', async () => {
			const id = await createRecord(server, { name: 'Shape Co', company: 'Shape Ltd' });
			const mallory = connect(id, 'editor');
			const bystander = connect(id, 'admin');
			await Promise.all([providersSynced(mallory.provider), providersSynced(bystander.provider)]);
			addItem(contactsOf(bystander.doc), { name: 'Han Mei' });
			await eventually(() => contactsOf(mallory.doc).length === 1, 'a contact to reach the writer');
			const denied: string[] = [];
			mallory.provider.ws?.addEventListener('message', (event: { data: unknown }) => {
				const bytes = new Uint8Array(event.data as ArrayBuffer);
				if (bytes[0] === MessageType.auth) denied.push(new TextDecoder().decode(bytes));
			});
			let sawBroken = false;
			bystander.doc.on('afterTransaction', () => {
				if (metaOf(bystander.doc).get('workspace') !== 'demo' || contactsOf(bystander.doc).toArray().some((c) => !(c instanceof Y.Map))) sawBroken = true;
			});
			mallory.doc.transact(() => {
				contactsOf(mallory.doc).push(['not a contact' as unknown as Y.Map<Scalar>]);
				metaOf(mallory.doc).set('workspace', 'another-workspace');
				fieldsOf(mallory.doc).set('email', 'not an email');
			});
			await eventually(() => denied.length > 0, 'the writer to be told');
			expect(denied.join(' ')).toMatch(/meta\.workspace is set by the server/);
			await eventually(() => metaOf(mallory.doc).get('workspace') === 'demo', "the writer's copy to converge");
			expect(contactsOf(mallory.doc).toArray().every((c) => c instanceof Y.Map)).toBe(true);
			expect(fieldsOf(mallory.doc).has('email')).toBe(false);
			expect(sawBroken).toBe(false);

			const record = await apiFetch(`${server.url}/api/records/${id}`);
			expect(record.status).toBe(200);
			expect(((await record.json()) as { contacts: Array<{ name: string }> }).contacts.map((c) => c.name)).toEqual(['Han Mei']);
			await eventually(async () => {
				const list = (await (await apiFetch(`${server.url}/api/records?limit=200`, {}, 'admin')).json()) as { rows: Array<{ id: string }> };
				return list.rows.some((row) => row.id === id);
			}, 'the record to stay in the list');
		});
	});

	it("tells a /sync tab what was not kept, and the tab keeps syncing its later changes", async () => {
		const id = await createRecord(server, { name: 'Notice Co', country: 'CN' });
		const client = new SyncClient({ url: wsUrl(server, '/sync', 'editor'), WebSocket: WebSocket as unknown as new (url: string) => SocketLike, minReconnectDelay: 50, maxReconnectDelay: 200 });
		try {
			const handle = client.open(id);
			expect(await handle.whenSynced).toBe(true);
			const notices: RefusedMessage[] = [];
			handle.on('notKept', (refusal) => notices.push(refusal));
			fieldsOf(handle.doc).set('country', 'XX');
			await eventually(() => notices.length > 0, 'the notice');
			expect(notices[0].reason).toMatch(/country/);
			// Also as data, so a Chinese page says it in Chinese (the wording: tests/unit/not-kept.test.ts).
			expect(notices[0].problems).toEqual([expect.objectContaining({ kind: 'field', field: 'country', code: 'country', raw: 'XX' })]);
			await eventually(() => fieldsOf(handle.doc).get('country') === 'CN', "the tab's copy to converge");
			expect(handle.error).toBeNull();
			fieldsOf(handle.doc).set('city', 'Kunming');
			await eventually(() => handle.pending === 0, 'the later change to be saved');
			const stored = (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { fields: Record<string, unknown> };
			expect(stored.fields).toMatchObject({ country: 'CN', city: 'Kunming' });
		} finally {
			client.destroy();
		}
	});

	describe('authorship', () => {
		it("attributes items under another person's client id that arrive in a sync step 2 to the sender", async () => {
			const id = await createRecord(server, { name: 'Forged Co' });
			const alice = connect(id, 'admin');
			await providersSynced(alice.provider);
			fieldsOf(alice.doc).set('city', 'Harbin'); // Alice's client id is now bound to her
			await eventually(async () => (await history(id, 'fields.city')).length > 0, "Alice's edit to be stored");
			alice.provider.destroy(); // her copy would otherwise receive items under its own client id, and change it

			// Mallory writes under Alice's client id and sends it as a sync step 2.
			const forged = new Y.Doc();
			Y.applyUpdate(forged, Y.encodeStateAsUpdate(alice.doc));
			forged.clientID = alice.doc.clientID;
			const before = Y.encodeStateVector(forged);
			fieldsOf(forged).set('company', 'Written by Mallory');
			const update = Y.encodeStateAsUpdate(forged, before);
			const mallory = await raw(`/y/${id}`, 'editor');
			mallory.socket.send(
				encodeFrame(null, MessageType.sync, (e) => {
					encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2);
					encoding.writeVarUint8Array(e, update);
				})
			);
			await eventually(async () => (await history(id, 'fields.company')).length > 0, 'the change to be stored');
			const [entry] = await history(id, 'fields.company');
			expect(entry.after).toBe('Written by Mallory');
			// The API tokens of the test server are people of their own: "test admin" is Alice here, "test editor" Mallory.
			expect((await history(id, 'fields.city'))[0].actor.name).toBe('test admin');
			expect(entry.actor.name).toBe('test editor');
			expect(entry.relayedBy).toBeNull();
		});
	});
});

describe('a client that stops reading', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	const LIMIT = 256 * 1024;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, limits: { ...DEFAULT_SYNC_LIMITS, maxOutgoingBytes: LIMIT } });
	});
	afterAll(async () => {
		await server.close();
		data.remove();
	});

	it('is disconnected once what waits for it passes the limit, while the others are served', async () => {
		const id = await createRecord(server, { name: 'Backpressure Co' });
		// Raw sockets: one must stop reading at the TCP level, which no client does.
		const open = async (role: Role): Promise<WebSocket> => {
			const socket = new WebSocket(wsUrl(server, `/y/${id}`, role));
			sockets.push(socket);
			socket.on('error', () => {});
			await new Promise<void>((resolve) => socket.once('open', () => resolve()));
			return socket;
		};
		const writer = await open('editor');
		const stalled = await open('viewer');
		(stalled as unknown as { _socket: { pause(): void } })._socket.pause();
		const connections = async () => (await server.accord.services.health()).connections;
		expect(await connections()).toBe(2);

		// Far more than the limit plus what the kernel's socket buffers hold, written into the notes.
		const doc = new Y.Doc();
		doc.on('update', (update: Uint8Array) =>
			writer.send(
				encodeFrame(null, MessageType.sync, (e) => {
					encoding.writeVarUint(e, syncProtocol.messageYjsUpdate);
					encoding.writeVarUint8Array(e, update);
				})
			)
		);
		for (let i = 0; i < 300 && (await connections()) === 2; i++) {
			doc.getText('notes').insert(0, `${i} ${'x'.repeat(60_000)}\n`);
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		await eventually(async () => (await connections()) === 1, 'the stalled client to be disconnected');
		expect(writer.readyState).toBe(WebSocket.OPEN);
	});
});
