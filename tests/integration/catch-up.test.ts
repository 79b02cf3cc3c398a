/**
 * Offline work and catch-up, below the browser: the real SyncClient (over `ws`) with an
 * in-memory local store and the background WorkspaceSync, against a real server.
 *
 * - `catchUp` / `changedSince` on the wire: everything the first time, then only what
 *   changed since the position; private records of others come back as `removed`.
 * - A client that was away catches up on the records changed meanwhile, and only those.
 * - Changes made while disconnected stay pending (in the local store) and reach the
 *   server on reconnect, also from a new client that only has the store (a reload).
 * - A record created while disconnected is created on the server on first sync, from
 *   the client's own state; viewers and invalid records are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { fieldsOf, newId, readRecord, setField, writeNewRecord } from '../../src/lib/model/record.ts';
import { MessageType, encodeCatchUp, encodeCreate, type ChangedSince } from '../../src/lib/protocol/index.ts';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import { WorkspaceSync } from '../../src/lib/sync/workspace-sync.ts';
import { memoryStore } from '../../src/lib/local/memory.ts';
import { COMPACT_AFTER } from '../../src/lib/local/types.ts';
import { rowOfDoc } from '../../src/lib/local/index.ts';
import { createCatchUp, decodePosition } from '../../server/sync/catch-up.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { syncClient } from '../support/sync-client.ts';

interface Token {
	actorId: string;
	token: string;
}

describe('offline work and catch-up', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let workspace: string;
	let editor: Token;
	let viewer: Token;
	let admin: Token;
	const ids: string[] = [];
	const clients: SyncClient[] = [];

	const syncUrl = (token: Token) => `${server.url.replace(/^http/, 'ws')}/sync?token=${encodeURIComponent(token.token)}`;

	async function makeToken(role: 'admin' | 'editor' | 'viewer'): Promise<Token> {
		const created = await server.accord.database.auth.createApiToken({ workspace, name: `catch-up ${role}`, role, createdBy: 'test' });
		return { actorId: `token:${created.id}`, token: created.token };
	}

	function clientFor(token: Token, local = memoryStore()): { client: SyncClient; local: ReturnType<typeof memoryStore> } {
		const client = new SyncClient({
			url: syncUrl(token),
			WebSocket: WebSocket as unknown as new (url: string) => SocketLike,
			autoConnect: false,
			minReconnectDelay: 50,
			maxReconnectDelay: 200,
			local
		});
		clients.push(client);
		return { client, local };
	}

	async function recordOnServer(id: string): Promise<{ fields: Record<string, unknown>; notes: string } | null> {
		const response = await apiFetch(`${server.url}/api/records/${id}`);
		return response.ok ? ((await response.json()) as { fields: Record<string, unknown>; notes: string }) : null;
	}

	async function catchUpOnWire(token: Token, position: string | null): Promise<ChangedSince> {
		const client = syncClient(server, token);
		await client.ready;
		client.send(encodeCatchUp(workspace, position));
		const answer = await client.next(`workspace:${workspace}`, MessageType.changedSince);
		client.disconnect();
		return answer;
	}

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		workspace = server.accord.services.defaultWorkspace;
		[editor, viewer, admin] = await Promise.all([makeToken('editor'), makeToken('viewer'), makeToken('admin')]);
		for (let i = 0; i < 6; i++) ids.push(await createRecord(server, { name: `Catch-up ${i}`, company: `Company ${i}`, owner: 'alice' }));
	});

	afterAll(async () => {
		for (const client of clients) client.destroy();
		await server?.close();
		data?.remove();
	});

	it('answers a first catch-up with every record, and private records of others as removed', async () => {
		const hidden = await createRecord(server, { name: 'Hidden deal', owner: 'alice' });
		const made = await apiFetch(
			`${server.url}/api/records/${hidden}/private`,
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private: true }) },
			'admin'
		);
		expect(made.status).toBe(200);

		const answer = await catchUpOnWire(editor, null);
		expect(new Set(answer.records)).toEqual(new Set(ids));
		expect(answer.removed).toEqual([hidden]);
		expect(decodePosition(answer.position)).not.toBeNull();

		// An admin sees it, so it is theirs to sync.
		const forAdmin = await catchUpOnWire(admin, null);
		expect(forAdmin.records).toContain(hidden);
		expect(forAdmin.removed).toEqual([]);
	});

	it('sends only the records changed since the position', async () => {
		// Exactly, without the overlap the server allows for clocks: the store query itself.
		const catchUp = createCatchUp(server.accord.database.documents, { overlapMs: 0, pageSize: 2 });
		const actor = { id: editor.actorId, name: 'catch-up editor', workspace, role: 'editor' as const };
		const first = await catchUp(actor, null);
		expect(first.records.length).toBe(ids.length);
		await new Promise((resolve) => setTimeout(resolve, 20));

		const changed = ids[2];
		const archived = await apiFetch(`${server.url}/api/records/${changed}/archive`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ archived: true })
		});
		expect(archived.status).toBe(200);
		let later: ChangedSince | null = null;
		await eventually(async () => {
			later = await catchUp(actor, first.position);
			return later.records.includes(changed);
		}, 'the archived record to count as changed');
		expect(later!.records).toEqual([changed]);
		expect(decodePosition(later!.position)!).toBeGreaterThan(decodePosition(first.position)!);

		// Nothing changed since: nothing to send (and the position stays).
		const again = await catchUp(actor, later!.position);
		expect(again.records).toEqual([]);
		expect(again.position).toBe(later!.position);
	});

	it('syncs the whole workspace into the local store, then catches up on what changed while away', async () => {
		const { client, local } = clientFor(editor);
		const background = new WorkspaceSync({ client, local, workspace, rowOf: rowOfDoc, noticeDelayMs: 50, rowDelayMs: 20 });
		background.start();
		client.connect();
		await eventually(async () => (await local.position()) !== null, 'the first catch-up to complete', 20_000);
		for (const id of ids) expect((await local.load(id)).state).not.toBeNull();
		await eventually(async () => (await local.rows()).length >= ids.length, 'list rows for every record');
		const firstPosition = await local.position();

		// Away: someone else changes one record.
		client.disconnect();
		const changed = ids[4];
		const other = clientFor(admin).client;
		other.connect();
		const handle = other.open(changed);
		await handle.whenSynced;
		setField(handle.doc, 'company', 'Changed while away');
		await eventually(() => handle.pending === 0, 'the change to be stored');
		handle.release();
		await eventually(async () => (await local.position()) !== null && (await recordOnServer(changed))?.fields.company === 'Changed while away', 'stored');
		// The projection's time (what positions are) follows the change a moment later, up to about
		// a second under load (its pace, projection-pace.test.ts): a fixed 300 ms wait once let the
		// reconnect's catch-up answer with the old position, and no other answer came.
		await eventually(async () => (await catchUpOnWire(editor, firstPosition)).position !== firstPosition, "the server's position to move past the first");

		const syncedBefore = background.synced;
		client.connect();
		await eventually(() => background.lastAnswer !== null && (background.lastAnswer.position !== firstPosition), 'a new catch-up answer', 20_000);
		await background.idle();
		// The answer holds the changed record (and, within the server's clock overlap, recent ones), not the whole workspace by necessity.
		expect(background.lastAnswer!.records).toContain(changed);
		expect(background.synced - syncedBefore).toBe(background.lastAnswer!.records.length);
		const stored = await local.load(changed);
		const doc = new Y.Doc();
		Y.applyUpdate(doc, stored.state!);
		expect(fieldsOf(doc).get('company')).toBe('Changed while away');
		await eventually(async () => (await local.row(changed))?.company === 'Changed while away', 'the list row to follow');
		background.stop();
		client.destroy();
	});

	it('keeps changes made while disconnected and sends them on reconnect', async () => {
		const { client, local } = clientFor(editor);
		client.connect();
		const id = ids[0];
		const handle = client.open(id);
		await handle.whenSynced;
		client.disconnect();

		setField(handle.doc, 'city', 'Hangzhou');
		handle.doc.getText('notes').insert(0, 'Written offline. ');
		expect(handle.pending).toBe(2);
		expect(client.pending).toBe(2);
		await eventually(async () => (await local.pendingDocs()).get(id) === 2, 'two pending changes in the local store');

		client.connect();
		await eventually(() => handle.pending === 0, 'the server to store the offline changes');
		expect((await local.pendingDocs()).size).toBe(0);
		const record = await recordOnServer(id);
		expect(record?.fields.city).toBe('Hangzhou');
		expect(record?.notes).toContain('Written offline.');
		handle.release();
		client.destroy();
	});

	it("writes the list row of a record whose document this device holds up to date but whose row it lacks (a page left before the row was written)", async () => {
		const local = memoryStore();
		const first = clientFor(editor, local).client;
		const background = new WorkspaceSync({ client: first, local, workspace, rowOf: rowOfDoc, noticeDelayMs: 50, rowDelayMs: 20 });
		background.start();
		first.connect();
		await eventually(async () => (await local.position()) !== null, 'the first catch-up to complete', 20_000);
		await background.idle();
		const everyRecord = background.lastAnswer!.records.length;
		await eventually(async () => (await local.rows()).length === everyRecord, 'a row for every record');
		background.stop();
		first.destroy();

		// Created elsewhere; this device then gets its document (a page opened it) but not its row:
		// the row is written a moment after a document changes, and the page was left before that.
		const late = await createRecord(server, { name: 'Row Left Behind', company: 'Late Co', owner: 'alice' });
		const page = clientFor(editor, local).client;
		page.connect();
		const handle = page.open(late);
		await handle.whenSynced;
		handle.release();
		await eventually(async () => (await local.load(late)).state !== null, 'the document kept on this device');
		page.destroy();
		expect(await local.row(late)).toBeNull();

		// The next start catches up on it: its document is already current, so nothing changes in it, and the row must still be written.
		const next = clientFor(editor, local).client;
		const repaired: string[] = [];
		const again = new WorkspaceSync({ client: next, local, workspace, rowOf: rowOfDoc, noticeDelayMs: 50, rowDelayMs: 20, onRowRepaired: (row) => repaired.push(row.id) });
		again.start();
		next.connect();
		await eventually(() => again.lastAnswer !== null, 'the catch-up answer', 20_000);
		expect(again.lastAnswer!.records).toContain(late);
		await again.idle();
		await eventually(async () => (await local.row(late))?.name === 'Row Left Behind', 'the list row written by the catch-up');
		// Said to the pages that show rows (the board), once; records whose rows were right are left alone.
		expect(repaired).toEqual([late]);
		again.stop();
		next.destroy();
	});

	it('writes the rows that are due at once when asked (the page is being left), not after their pause', async () => {
		const { client, local } = clientFor(editor);
		const background = new WorkspaceSync({ client, local, workspace, rowOf: rowOfDoc, rowDelayMs: 60_000 });
		background.start();
		client.connect();
		const id = await createRecord(server, { name: 'Due When Leaving', owner: 'alice' });
		const handle = client.open(id);
		await handle.whenSynced;
		// Due in a minute; the stored row (none) is read meanwhile.
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(await local.row(id)).toBeNull();
		await background.flushRows();
		expect((await local.row(id))?.name).toBe('Due When Leaving');
		handle.release();
		background.stop();
		client.destroy();
	});

	it('sends pending changes from the local store after a restart, merged with changes made meanwhile', async () => {
		const local = memoryStore();
		const id = ids[1];
		// A first "page": edits while the server cannot be reached, then it is gone.
		{
			const { client } = clientFor(editor, local);
			client.connect();
			const handle = client.open(id);
			await handle.whenSynced;
			client.disconnect();
			setField(handle.doc, 'title', 'Chief buyer');
			await eventually(async () => (await local.pendingDocs()).get(id) === 1, 'the change stored locally');
			client.destroy();
		}
		// Meanwhile someone else edits another field of the same record.
		const other = clientFor(admin).client;
		other.connect();
		const theirs = other.open(id);
		await theirs.whenSynced;
		setField(theirs.doc, 'phone', '+8613800138000');
		await eventually(() => theirs.pending === 0, 'their change stored');

		// A new "page" with only the store: the background sync finds the pending change and sends it.
		const { client } = clientFor(editor, local);
		const background = new WorkspaceSync({ client, local, workspace });
		background.start();
		expect(client.pending).toBe(0);
		await eventually(() => client.pending === 1, 'the pending change to be counted before connecting');
		client.connect();
		await eventually(async () => (await local.pendingDocs()).size === 0 && client.pending === 0, 'the pending change to be stored by the server', 20_000);
		const record = await recordOnServer(id);
		expect(record?.fields.title).toBe('Chief buyer');
		expect(record?.fields.phone).toBe('+8613800138000');
		await eventually(() => readRecord(theirs.doc, id).fields.title === 'Chief buyer', 'the other client to converge');
		theirs.release();
		background.stop();
	});

	it('creates a record made while disconnected on first sync, from the client’s own state', async () => {
		const { client, local } = clientFor(editor);
		const id = newId();
		const handle = client.create(id, (doc) =>
			writeNewRecord(doc, { fields: { name: '离线客户', company: 'Offline Ltd', stage: 'lead' }, tags: ['offline'], notes: 'Met at the fair.', workspace, createdBy: editor.actorId })
		);
		expect(handle.ready).toBe(true);
		expect(handle.createdLocally).toBe(true);
		await eventually(async () => (await local.load(id)).createdLocally, 'the creation stored locally');
		setField(handle.doc, 'city', '苏州');
		expect(await recordOnServer(id)).toBeNull();

		client.connect();
		await handle.whenSynced;
		await eventually(() => handle.pending === 0, 'the new record stored');
		expect(handle.createdLocally).toBe(false);
		expect((await local.load(id)).createdLocally).toBe(false);
		const record = await recordOnServer(id);
		expect(record?.fields).toMatchObject({ name: '离线客户', company: 'Offline Ltd', city: '苏州' });
		// Not duplicated by the merge: the server took the client's items.
		expect(record?.notes).toBe('Met at the fair.');
		const listed = (await (await apiFetch(`${server.url}/api/records?limit=100`)).json()) as { rows: { id: string }[] };
		expect(listed.rows.map((r) => r.id)).toContain(id);
		handle.release();
		client.destroy();
	});

	it('refuses a created record from a viewer, or one that is not a valid record of the workspace', async () => {
		async function tryCreate(token: Token, write: (doc: Y.Doc) => void): Promise<{ code: string; reason: string }> {
			const client = syncClient(server, token);
			await client.ready;
			const id = newId();
			const doc = new Y.Doc();
			write(doc);
			// The record's whole state first, then its sync step 1 (as a client that created it offline).
			client.send(encodeCreate(id, Y.encodeStateAsUpdate(doc)));
			client.open(id, doc);
			const refusal = await client.next(id, MessageType.refused);
			client.disconnect();
			expect(await recordOnServer(id)).toBeNull();
			return refusal;
		}
		const valid = (by: Token) => (doc: Y.Doc) => writeNewRecord(doc, { fields: { name: 'Nope' }, workspace, createdBy: by.actorId });
		expect((await tryCreate(viewer, valid(viewer))).code).toBe('read-only');
		expect((await tryCreate(editor, (doc) => writeNewRecord(doc, { fields: { name: 'Elsewhere' }, workspace: 'other', createdBy: editor.actorId }))).code).toBe('invalid');
		expect((await tryCreate(editor, (doc) => writeNewRecord(doc, { fields: { company: 'No name' }, workspace, createdBy: editor.actorId }))).code).toBe('invalid');
		expect((await tryCreate(editor, valid(admin))).code).toBe('invalid');
		expect((await tryCreate(editor, (doc) => doc.getMap('x').set('a', 1))).code).toBe('invalid');
	});

	it('compacts the local copy instead of growing it on every change', async () => {
		const local = memoryStore();
		const { client } = clientFor(editor, local);
		const handle = client.open(ids[3]);
		await handle.whenLoaded;
		for (let i = 0; i < COMPACT_AFTER + 5; i++) setField(handle.doc, 'x_counter', i);
		await eventually(async () => (await local.pendingDocs()).get(ids[3]) === COMPACT_AFTER + 5, 'every change stored');
		expect(local.compactions).toBeGreaterThan(0);
		const stored = await local.load(ids[3]);
		const doc = new Y.Doc();
		Y.applyUpdate(doc, stored.state!);
		expect(fieldsOf(doc).get('x_counter')).toBe(COMPACT_AFTER + 4);
		handle.release();
		client.destroy();
	});
});
