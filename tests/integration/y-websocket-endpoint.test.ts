/**
 * The plain y-websocket endpoint `/y/<recordId>`, exercised with the stock
 * `y-websocket` client: convergence, awareness, refusals, bad input, restarts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { fieldsOf, notesOf, readRecord } from '../../src/lib/model/record.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';
import { tempPostgresUrl } from '../support/databases.ts';
import { providersSynced, syncClient, yWebsocketClient, type YWebsocketClient } from '../support/sync-client.ts';

const providers: WebsocketProvider[] = [];

function connect(server: RunningServer, id: string): YWebsocketClient {
	const made = yWebsocketClient(server, 'editor', id);
	providers.push(made.provider);
	return made;
}

/** Opens a raw socket (it sends what no client would), and resolves with how the server closed it. */
function closeOf(url: string, send: (socket: WebSocket) => void): Promise<{ code: number; reason: string }> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url);
		socket.on('open', () => send(socket));
		socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
		socket.on('error', (error) => {
			if (!('code' in error)) reject(error);
		});
	});
}

/** The record as JSON with sorted keys: two replicas may hold map entries in different orders. */
function canonical(doc: Y.Doc, id: string): string {
	return JSON.stringify(readRecord(doc, id), (_key, value: unknown) =>
		value && typeof value === 'object' && !Array.isArray(value)
			? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
			: value
	);
}

afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
});

describe('stock y-websocket clients on /y/<id>', () => {
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

	it('receive the record created through the API', async () => {
		const id = await createRecord(server, { name: 'Zhang Wei', company: '华信科技' });
		const { doc, provider } = connect(server, id);
		await providersSynced(provider);
		expect(fieldsOf(doc).get('name')).toBe('Zhang Wei');
		expect(fieldsOf(doc).get('company')).toBe('华信科技');
	});

	it('converge on concurrent edits of different fields and of the same field', async () => {
		const id = await createRecord(server, { name: 'Acme' });
		const a = connect(server, id);
		const b = connect(server, id);
		await Promise.all([providersSynced(a.provider), providersSynced(b.provider)]);

		a.doc.transact(() => fieldsOf(a.doc).set('company', 'Acme Ltd'));
		b.doc.transact(() => fieldsOf(b.doc).set('city', 'Shanghai'));
		fieldsOf(a.doc).set('stage', 'proposal');
		fieldsOf(b.doc).set('stage', 'negotiation');
		notesOf(a.doc).insert(0, 'from a. ');
		notesOf(b.doc).insert(0, 'from b. ');

		await eventually(
			() => canonical(a.doc, id) === canonical(b.doc, id) && fieldsOf(a.doc).get('city') === 'Shanghai',
			'both clients to hold the same record'
		);
		const merged = readRecord(a.doc, id);
		expect(merged.fields.company).toBe('Acme Ltd');
		expect(merged.fields.city).toBe('Shanghai');
		expect(['proposal', 'negotiation']).toContain(merged.fields.stage);
		expect(merged.notes).toContain('from a. ');
		expect(merged.notes).toContain('from b. ');

		// The server holds the merged state too, as the API shows.
		await eventually(async () => {
			const response = await apiFetch(`${server.url}/api/records/${id}`);
			const body = (await response.json()) as { fields: Record<string, unknown> };
			return body.fields.city === 'Shanghai' && body.fields.stage === merged.fields.stage;
		}, 'the API to show the merged record');
	});

	it('relay awareness to the other client', async () => {
		const id = await createRecord(server, { name: 'Presence Co' });
		const a = connect(server, id);
		const b = connect(server, id);
		await Promise.all([providersSynced(a.provider), providersSynced(b.provider)]);
		a.provider.awareness.setLocalStateField('user', { name: 'Alice', color: '#d9480f' });
		a.provider.awareness.setLocalStateField('field', 'fields.company');
		await eventually(
			() => [...b.provider.awareness.getStates().values()].some((s) => s.field === 'fields.company'),
			"the first client's presence to reach the other client"
		);
		// The server stamps presence with who the connection is (here the editor API token), not who it claims to be.
		const state = [...b.provider.awareness.getStates().values()].find((s) => s.field === 'fields.company');
		expect(state?.user).toMatchObject({ name: 'test editor', color: '#d9480f' });
		expect(state?.user.id).toMatch(/^token:/);
	});

	it('refuses an unknown record id with 4404 and creates nothing', async () => {
		const unknown = crypto.randomUUID();
		const client = syncClient(server, 'editor', { path: `/y/${unknown}` });
		await eventually(() => client.closed !== null, 'the socket to be closed');
		const closed = client.closed!;
		expect(closed.code).toBe(4404);
		expect(closed.reason).toContain('no record');
		expect(await server.accord.database.documents.loadDocument(unknown)).toBeNull();
		const response = await apiFetch(`${server.url}/api/records/${unknown}`);
		expect(response.status).toBe(404);
	});

	it('refuses a path that is not a record id before upgrading', async () => {
		const client = syncClient(server, 'editor', { path: '/y/not-a-record' });
		const outcome = String(await client.upgradeStatus().catch(() => 'error'));
		client.disconnect();
		expect(outcome).toBe('404');
	});

	it('closes only the socket that sent a malformed message, and loses nothing', async () => {
		const id = await createRecord(server, { name: 'Robust Ltd' });
		const a = connect(server, id);
		await providersSynced(a.provider);
		fieldsOf(a.doc).set('company', 'Robust Holdings');

		// A sync update whose payload is not a Yjs update.
		const malformed = await closeOf(wsUrl(server, `/y/${id}`), (s) => s.send(Buffer.from([0, 2, 5, 255, 255, 255, 255, 255])));
		expect(malformed.code).toBe(1007);
		expect(malformed.reason).toMatch(/Malformed message/);

		const text = await closeOf(wsUrl(server, `/y/${id}`), (s) => s.send('hello'));
		expect(text.code).toBe(1007);

		const tooBig = await closeOf(wsUrl(server, `/y/${id}`), (s) => s.send(Buffer.alloc(2 * 1024 * 1024)));
		expect(tooBig.code).toBe(1009);

		// The first client is still served and everything written is still there.
		fieldsOf(a.doc).set('city', 'Hangzhou');
		const b = connect(server, id);
		await providersSynced(b.provider);
		await eventually(() => fieldsOf(b.doc).get('city') === 'Hangzhou', 'the later edit to reach a new client');
		expect(fieldsOf(b.doc).get('company')).toBe('Robust Holdings');
		const health = (await (await apiFetch(`${server.url}/healthz`)).json()) as { status: string };
		expect(health.status).toBe('ok');
	});
});

describe.each([
	{ engine: 'pglite' as const, available: true },
	{ engine: 'postgres' as const, available: Boolean(process.env.DATABASE_URL) }
])('a restarted server ($engine)', ({ engine, available }) => {
	it.skipIf(!available)('serves everything written before the restart', async () => {
		const data = tempDataDir();
		const database = engine === 'postgres' ? await tempPostgresUrl() : null;
		const config = { dataDir: data.dir, databaseUrl: database?.url, compactAfter: 5 }; // PGlite when databaseUrl is undefined
		try {
			let server = await startTestServer(config);
			expect(((await (await apiFetch(`${server.url}/healthz`)).json()) as { store: string }).store).toBe(engine);
			const id = await createRecord(server, { name: 'Durable Inc' }, { tags: ['vip'] });
			const a = connect(server, id);
			await providersSynced(a.provider);
			for (let i = 0; i < 12; i++) fieldsOf(a.doc).set('value', 1000 + i); // crosses the compaction threshold
			notesOf(a.doc).insert(0, '持久化 test');
			await eventually(async () => {
				const stored = await server.accord.database.documents.loadDocument(id);
				if (!stored) return false;
				const doc = new Y.Doc();
				for (const u of stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates) Y.applyUpdate(doc, u);
				return fieldsOf(doc).get('value') === 1011 && notesOf(doc).toString() === '持久化 test';
			}, 'the edits to be stored');
			// Twelve edits with compaction after five: the log was folded into a snapshot.
			// Compaction runs after the commit that crosses the threshold, so it is waited for, not raced.
			await eventually(async () => (await server.accord.database.documents.pendingUpdateCount(id)) < 12, 'the log to be compacted');
			a.provider.destroy();
			await eventually(() => server.accord.rooms.loadedCount === 0, 'the idle document to be unloaded');
			await server.close();

			server = await startTestServer(config);
			const b = connect(server, id);
			await providersSynced(b.provider);
			const record = readRecord(b.doc, id);
			expect(record.fields).toMatchObject({ name: 'Durable Inc', value: 1011 });
			expect(record.tags).toEqual(['vip']);
			expect(record.notes).toBe('持久化 test');
			const list = (await (await apiFetch(`${server.url}/api/records`)).json()) as { rows: Array<{ id: string; value: number }> };
			expect(list.rows.find((row) => row.id === id)?.value).toBe(1011);
			await server.close();
		} finally {
			await database?.drop();
			data.remove();
		}
	});
});
