/**
 * A private record does not exist for anyone but its owner and admins, on the workspace
 * channel too: through real servers and real /sync sockets, nobody else gets its
 * `recordChanged` notices (on the instance where it changed, nor on another one through
 * Redis), and a catch-up lists it under `removed` only for people who could see it at
 * some point since their position — never for people it was private to all along, and
 * never again merely because it changed.
 *
 * The cross-instance part needs DATABASE_URL and REDIS_URL (two server processes sharing
 * Postgres and Redis, as in multi-instance.test.ts) and is skipped without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { MessageType, encodeCatchUp, workspaceChannel, type ChangedSince } from '../../src/lib/protocol/index.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { ServerProcess, apiJson, createRecordVia, createTokenWithCli } from '../support/processes.ts';
import { providersSynced, syncClient, yWebsocketClient, type SocketServer, type SyncTestClient } from '../support/sync-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The catch-up overlap of the one-instance server below (ACCORD_CATCH_UP_OVERLAP_MS):
 * shorter than the product's half minute, which allows for clocks of different instances
 * and would only make the catch-up test wait; one process has one clock.
 */
const TEST_OVERLAP_MS = 3_000;

/** A /sync client that joined a workspace channel, where `recordChanged` notices and catch-up answers arrive. */
async function channelListener(name: string, server: SocketServer, token: string, workspace: string): Promise<SyncTestClient> {
	const listener = syncClient(server, { token }, { name });
	await listener.ready;
	// Any y-websocket message on the channel joins it.
	listener.queryAwareness(workspaceChannel(workspace));
	return listener;
}

function heard(listener: SyncTestClient, id: string): boolean {
	return listener.notices().includes(id);
}

/** Asks for the records changed since `position` on the listener's channel, and waits for the answer. */
function catchUp(listener: SyncTestClient, workspace: string, position: string | null): Promise<ChangedSince> {
	listener.send(encodeCatchUp(workspace, position));
	return listener.next(workspaceChannel(workspace), MessageType.changedSince);
}

/**
 * Makes a shared record (with `create`) until every listener has heard of it: proves they
 * are all on the channel, and that whatever was announced before has reached them
 * (notices on one channel arrive in the order they were sent).
 */
async function barrier(listeners: SyncTestClient[], create: (name: string) => Promise<string>): Promise<string> {
	for (let attempt = 0; attempt < 10; attempt++) {
		const id = await create(`Barrier ${attempt} ${Date.now()}`);
		try {
			await eventually(() => listeners.every((l) => heard(l, id)), 'every listener to hear of a shared record', 3_000);
			return id;
		} catch {
			/* someone had not joined yet: once more */
		}
	}
	throw new Error(`not every listener heard of a shared record: ${listeners.map((l) => `${l.name}: ${l.notices().length}`).join(', ')}`);
}

describe('private records on one instance', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let workspace: string;
	const tokens = {} as Record<'admin' | 'editor' | 'viewer', { actorId: string; token: string }>;
	const listeners: SyncTestClient[] = [];
	/** Made private (by an admin) before the catch-up positions below: to editors and viewers, as if created private. */
	let privateAllAlong = '';
	/** Private to the editor (its owner) before the positions; given to someone else after. */
	let editorsOwn = '';
	/** Shared before the positions; made private after. */
	let madePrivateLater = '';
	let hiddenAt = 0;

	const post = (path: string, body: unknown, role: 'admin' | 'editor' = 'admin') =>
		apiFetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, role);

	async function makePrivate(id: string): Promise<void> {
		const response = await post(`/api/records/${id}/private`, { private: true });
		expect(response.status).toBe(200);
	}

	async function archive(id: string, archived = true): Promise<void> {
		const response = await post(`/api/records/${id}/archive`, { archived });
		expect(response.status).toBe(200);
	}

	async function listen(role: 'admin' | 'editor' | 'viewer'): Promise<SyncTestClient> {
		const listener = await channelListener(role, server, tokens[role].token, workspace);
		listeners.push(listener);
		return listener;
	}

	const overlapBefore = process.env.ACCORD_CATCH_UP_OVERLAP_MS;

	beforeAll(async () => {
		data = tempDataDir('accord-private-');
		// Read when the server starts (server/sync/catch-up.ts).
		process.env.ACCORD_CATCH_UP_OVERLAP_MS = String(TEST_OVERLAP_MS);
		server = await startTestServer({ dataDir: data.dir });
		workspace = server.accord.services.defaultWorkspace;
		for (const role of ['admin', 'editor', 'viewer'] as const) {
			const created = await server.accord.database.auth.createApiToken({ workspace, name: `private ${role}`, role, createdBy: 'test' });
			tokens[role] = { actorId: `token:${created.id}`, token: created.token };
		}
		// Hidden now, so that by the time the catch-up test takes its positions they lie
		// further back than the overlap the server allows for clocks (TEST_OVERLAP_MS).
		privateAllAlong = await createRecord(server, { name: 'Private all along', owner: 'alice' });
		await makePrivate(privateAllAlong);
		editorsOwn = await createRecord(server, { name: 'The editor’s own deal', owner: tokens.editor.actorId });
		await makePrivate(editorsOwn);
		hiddenAt = Date.now();
		madePrivateLater = await createRecord(server, { name: 'Shared for now', owner: 'alice' });
	});

	afterAll(async () => {
		for (const listener of listeners) listener.disconnect();
		await server?.close();
		data?.remove();
		if (overlapBefore === undefined) delete process.env.ACCORD_CATCH_UP_OVERLAP_MS;
		else process.env.ACCORD_CATCH_UP_OVERLAP_MS = overlapBefore;
	});

	it('sends recordChanged for a private record to admins only, not to editors or viewers on the workspace channel', async () => {
		const [admin, editor, viewer] = await Promise.all([listen('admin'), listen('editor'), listen('viewer')]);
		const shared = (name: string) => createRecord(server, { name, owner: 'alice' });
		await barrier([admin, editor, viewer], shared);

		// A record everyone sees at first: everyone hears of its changes.
		const secret = await createRecord(server, { name: 'Secret merger', owner: 'alice' });
		await eventually(() => [admin, editor, viewer].every((l) => heard(l, secret)), 'everyone to hear of a shared record');
		for (const l of [admin, editor, viewer]) l.frames.length = 0;

		// Made private, then changed: only admins (and its owner) may hear of it.
		await makePrivate(secret);
		hiddenAt = Date.now();
		await archive(secret);
		await eventually(() => admin.notices().filter((id) => id === secret).length >= 2, 'the admin to hear of both changes');
		await barrier([admin, editor, viewer], shared);
		expect(editor.notices()).not.toContain(secret);
		expect(viewer.notices()).not.toContain(secret);

		// The same for a record private all along, changed through the live document.
		const { doc, provider } = yWebsocketClient(server, tokens.admin, privateAllAlong);
		try {
			await providersSynced(provider);
			fieldsOf(doc).set('stage', 'negotiation');
			await eventually(() => heard(admin, privateAllAlong), 'the admin to hear of the edit');
		} finally {
			provider.destroy();
		}
		await barrier([admin, editor, viewer], shared);
		expect(editor.notices()).not.toContain(privateAllAlong);
		expect(viewer.notices()).not.toContain(privateAllAlong);
	});

	it('lists under removed only records the asker could see since their position and no longer can', async () => {
		// Positions taken once the hidings above lie further back than the server's overlap.
		const wait = hiddenAt + TEST_OVERLAP_MS + 1_000 - Date.now();
		if (wait > 0) await sleep(wait);
		// A position is the time of the newest change its holder may see: make one now.
		await createRecord(server, { name: 'Fresh', owner: 'alice' });
		const editor = await listen('editor');
		const viewer = await listen('viewer');
		const editorStart = await catchUp(editor, workspace, null);
		const viewerStart = await catchUp(viewer, workspace, null);
		expect(editorStart.records).toContain(editorsOwn);
		expect(editorStart.records).not.toContain(privateAllAlong);
		expect(viewerStart.records).not.toContain(editorsOwn);
		await sleep(50);

		// Since then: the record private all along merely changed; a shared one was made
		// private; the editor's own private record was given to someone else.
		await archive(privateAllAlong);
		await makePrivate(madePrivateLater);
		const { doc, provider } = yWebsocketClient(server, tokens.admin, editorsOwn);
		try {
			await providersSynced(provider);
			fieldsOf(doc).set('owner', 'alice');
			await eventually(async () => (await server.accord.database.documents.getProjection(editorsOwn))?.owner === 'alice', 'the new owner in the list row');
		} finally {
			provider.destroy();
		}

		const forEditor = await catchUp(editor, workspace, editorStart.position);
		expect(new Set(forEditor.removed)).toEqual(new Set([madePrivateLater, editorsOwn]));
		for (const answer of [forEditor]) {
			expect(answer.records).not.toContain(privateAllAlong);
			expect(answer.records).not.toContain(madePrivateLater);
		}
		const forViewer = await catchUp(viewer, workspace, viewerStart.position);
		// The viewer never saw the editor's own record: it does not exist for them, then or now.
		expect(forViewer.removed).toEqual([madePrivateLater]);
		expect(forViewer.records).not.toContain(privateAllAlong);

		// A private record changing does not even move the position of those it is hidden from.
		const position = forViewer.position;
		await archive(privateAllAlong, false);
		await eventually(async () => (await server.accord.database.documents.getProjection(privateAllAlong))?.archived === false, 'the change stored');
		const after = await catchUp(viewer, workspace, position);
		expect(after.position).toBe(position);
		expect(after.records).not.toContain(privateAllAlong);
		expect(after.removed).not.toContain(privateAllAlong);
	});
});

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

describe.skipIf(!DATABASE_URL || !REDIS_URL)('private records across two instances sharing Postgres and Redis', () => {
	let database: TempPostgres;
	let a: ServerProcess;
	let b: ServerProcess;
	const tokens = {} as Record<'admin' | 'editor' | 'viewer', string>;
	const listeners: SyncTestClient[] = [];

	beforeAll(async () => {
		database = (await tempPostgresUrl({ migrated: true }))!;
		const options = { databaseUrl: database.url, redisUrl: REDIS_URL, env: { ACCORD_IDLE_UNLOAD_MS: '300' } };
		// One after the other: the first one runs the migrations.
		a = await ServerProcess.start('accord-a', options);
		b = await ServerProcess.start('accord-b', options);
		for (const role of ['admin', 'editor', 'viewer'] as const) tokens[role] = await createTokenWithCli(database.url, role, `private ${role}`);
	});

	afterAll(async () => {
		for (const listener of listeners) listener.disconnect();
		await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
		await database?.drop();
	});

	it('a private record changed on one instance is announced on the other to admins only', async () => {
		const on = async (server: ServerProcess, role: 'admin' | 'editor' | 'viewer') => {
			const listener = await channelListener(`${role} on ${server.name}`, server.wsUrl, tokens[role], 'demo');
			listeners.push(listener);
			return listener;
		};
		const [admin, editor, viewer] = await Promise.all([on(b, 'admin'), on(b, 'editor'), on(b, 'viewer')]);
		// Changes are made on A: B learns of them through Redis only.
		const shared = (name: string) => createRecordVia(a, tokens.admin, { name, owner: 'alice' });
		await barrier([admin, editor, viewer], shared);

		const secret = await createRecordVia(a, tokens.admin, { name: 'Secret across instances', owner: 'alice' });
		await eventually(() => [admin, editor, viewer].every((l) => heard(l, secret)), 'everyone on B to hear of a shared record');
		for (const l of [admin, editor, viewer]) l.frames.length = 0;

		const made = await apiJson(`${a.url}/api/records/${secret}/private`, tokens.admin, { method: 'POST', body: JSON.stringify({ private: true }) });
		expect(made.status).toBe(200);
		const archived = await apiJson(`${a.url}/api/records/${secret}/archive`, tokens.admin, { method: 'POST', body: JSON.stringify({ archived: true }) });
		expect(archived.status).toBe(200);
		await eventually(() => admin.notices().filter((id) => id === secret).length >= 2, 'the admin on B to hear of both changes', 15_000);
		await barrier([admin, editor, viewer], shared);
		expect(editor.notices()).not.toContain(secret);
		expect(viewer.notices()).not.toContain(secret);
	});
});
