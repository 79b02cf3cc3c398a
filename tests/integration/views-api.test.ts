/**
 * Saved views through the API on the real server (PGlite, or Postgres with DATABASE_URL):
 * who may save, share, change and delete what; private views stay their owner's; a shared
 * view's change is in the live views document at once; bad bodies are a 400 naming the
 * problem; the views document is never a record (not listed, not readable or writable as
 * one, refused on the sync path); and a view works as a segment (its count and export).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import type { Role } from '../../src/lib/access.ts';
import { viewsDocumentId, readSharedViews, type SavedView } from '../../src/lib/views/views.ts';

describe('saved views API', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let secondEditor: string;

	const call = async (path: string, init: RequestInit = {}, role: Role = 'editor', token?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
		const headers = new Headers(init.headers);
		if (init.body) headers.set('content-type', 'application/json');
		if (token) headers.set('authorization', `Bearer ${token}`);
		const response = await apiFetch(`${server.url}${path}`, { ...init, headers }, role);
		const text = await response.text();
		return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
	};
	const post = (body: unknown, role: Role = 'editor', token?: string) => call('/api/views', { method: 'POST', body: JSON.stringify(body) }, role, token);
	const patch = (id: string, body: unknown, role: Role = 'editor', token?: string) => call(`/api/views/${id}`, { method: 'PATCH', body: JSON.stringify(body) }, role, token);
	const list = async (role: Role = 'editor', token?: string) => ((await call('/api/views', {}, role, token)).body.views as SavedView[]).map((view) => view.name);

	beforeAll(async () => {
		data = tempDataDir('accord-views-');
		server = await startTestServer({ dataDir: data.dir });
		const { auth } = server.accord.database;
		secondEditor = (await auth.createApiToken({ workspace: server.accord.services.defaultWorkspace, name: 'second editor', role: 'editor', createdBy: 'test' })).token;
		await createRecord(server, { name: '张伟', city: '深圳', stage: 'won', value: 250000 }, { tags: ['vip'] });
		await createRecord(server, { name: '王芳', city: '深圳', stage: 'lead', value: 1000 });
		await createRecord(server, { name: 'Acme', city: 'Paris', stage: 'won', value: 9000 });
	});

	afterAll(async () => {
		await server?.close();
		data?.remove();
	});

	it('lets anyone save a private view that only they see', async () => {
		const made = await post({ name: 'My Shenzhen', query: 'city:深圳', columns: ['company', 'x_region'] }, 'viewer');
		expect(made.status, JSON.stringify(made.body)).toBe(201);
		expect(made.body).toMatchObject({ name: 'My Shenzhen', query: 'city:深圳', shared: false, sort: 'updatedAt', dir: 'desc', columns: ['company', 'x_region'] });
		expect(await list('viewer')).toContain('My Shenzhen');
		expect(await list('editor')).not.toContain('My Shenzhen');
		expect((await call(`/api/views/${made.body.id}`, {}, 'admin')).status).toBe(404);
		expect((await patch(String(made.body.id), { name: 'Mine' }, 'admin')).status).toBe(404);
		expect((await patch(String(made.body.id), { name: 'Mine now' }, 'viewer')).status).toBe(200);
	});

	it('lets editors share a view; viewers may not', async () => {
		expect((await post({ name: 'Shared by a viewer', query: '', shared: true }, 'viewer')).status).toBe(403);
		const shared = await post({ name: 'Won in Shenzhen', query: 'stage:won city:深圳', sort: 'name', dir: 'asc', shared: true });
		expect(shared.status).toBe(201);
		for (const role of ['viewer', 'admin', 'editor'] as const) expect(await list(role)).toContain('Won in Shenzhen');
		expect(await list('editor', secondEditor)).toContain('Won in Shenzhen');
	});

	it('lets only the owner change a shared view, and an admin delete it; the document follows at once', async () => {
		const made = await post({ name: 'Big deals', query: 'value>100000', shared: true });
		const id = String(made.body.id);
		expect((await patch(id, { query: 'value>5000' }, 'viewer')).status).toBe(403);
		const other = await patch(id, { name: 'Taken over' }, 'editor', secondEditor);
		expect(other.status).toBe(403);
		expect(String(other.body.message)).toContain('Only');
		expect((await patch(id, { name: 'Taken over' }, 'admin')).status).toBe(403);
		expect((await patch(id, { query: 'value>5000', columns: ['value'] })).status).toBe(200);
		// The live document holds the change already (everyone's list reads it from there).
		const room = await server.accord.rooms.acquire(viewsDocumentId(server.accord.services.defaultWorkspace));
		expect(room).not.toBeNull();
		const inDocument = readSharedViews(room!.doc).find((view) => view.id === id);
		server.accord.rooms.release(room!);
		expect(inDocument).toMatchObject({ query: 'value>5000', columns: ['value'], shared: true });
		expect((await call(`/api/views/${id}`, { method: 'DELETE' }, 'editor', secondEditor)).status).toBe(403);
		expect((await call(`/api/views/${id}`, { method: 'DELETE' }, 'admin')).status).toBe(200);
		expect(await list()).not.toContain('Taken over');
	});

	it('moves a view between private and shared without a copy left behind', async () => {
		const made = await post({ name: 'Draft', query: 'tag:vip' });
		const id = String(made.body.id);
		expect((await list('viewer'))).not.toContain('Draft');
		expect((await patch(id, { shared: true })).status).toBe(200);
		expect(await list('viewer')).toContain('Draft');
		expect((await patch(id, { shared: false })).status).toBe(200);
		expect(await list('viewer')).not.toContain('Draft');
		expect((await list()).filter((name) => name === 'Draft')).toHaveLength(1);
	});

	it('answers a bad body with a 400 that names the problem', async () => {
		const cases: [unknown, string][] = [
			[[], 'Send an object'],
			[{ query: 'x' }, 'name'],
			[{ name: 'x', query: 'colour:red' }, 'no field'],
			[{ name: 'x', query: 'created>soon' }, 'needs a date'],
			[{ name: 'x', sort: 'drop table' }, 'sort'],
			[{ name: 'x', columns: ['a b'] }, 'columns'],
			[{ name: 'x'.repeat(81) }, 'at most 80'],
			[{ name: 'x', shared: 'yes' }, 'shared']
		];
		for (const [body, words] of cases) {
			const answer = await post(body);
			expect(answer.status, JSON.stringify(body)).toBe(400);
			expect(String(answer.body.message)).toContain(words);
		}
		expect((await call('/api/views/not-an-id')).status).toBe(404);
		expect((await patch('00000000-0000-4000-8000-000000000000', { name: 'x' })).status).toBe(404);
	});

	it('keeps the views document out of the records', async () => {
		const id = viewsDocumentId(server.accord.services.defaultWorkspace);
		const records = await call('/api/records?limit=500');
		expect((records.body.rows as { id: string }[]).map((row) => row.id)).not.toContain(id);
		expect(records.body.total).toBe(3);
		expect((await call(`/api/records/${id}`)).status).toBe(404);
		expect((await call(`/api/records/${id}`, { method: 'PATCH', body: JSON.stringify({ fields: { name: 'x' } }) })).status).toBe(404);
	});

	it('serves a view as a segment: its count and its export', async () => {
		const made = await post({ name: 'Won', query: 'stage:won', columns: ['city', 'value'], shared: true });
		const q = encodeURIComponent(String(made.body.query));
		const count = await call(`/api/records?limit=1&q=${q}`);
		expect(count.body.total).toBe(2);
		const exported = await apiFetch(`${server.url}/api/export?format=json&q=${q}`);
		expect(exported.status).toBe(200);
		const rows = JSON.parse(await exported.text()) as unknown[];
		expect(rows).toHaveLength(2);
	});

	it('refuses anyone\'s update to the views document on the sync path', async () => {
		const id = viewsDocumentId(server.accord.services.defaultWorkspace);
		const room = await server.accord.rooms.acquire(id);
		expect(room?.viewsDocument).toBe(true);
		const before = readSharedViews(room!.doc).length;
		const forged = new Y.Doc();
		Y.applyUpdate(forged, Y.encodeStateAsUpdate(room!.doc));
		forged.getMap('views').set('00000000-0000-4000-8000-000000000001', { id: '00000000-0000-4000-8000-000000000001', name: 'forged', shared: true });
		const refused: string[] = [];
		const peer = { actor: { id: 'token:x', name: 'x', role: 'admin', workspace: 'demo' }, canWrite: true, send() {}, refuseWrite: (_room: unknown, reason: string) => refused.push(reason) };
		room!.join(peer as never);
		const encoder = (await import('lib0/encoding')).createEncoder();
		const encoding = await import('lib0/encoding');
		const syncProtocol = await import('y-protocols/sync');
		syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(forged, Y.encodeStateVector(room!.doc)));
		const decoding = await import('lib0/decoding');
		const decoder = decoding.createDecoder(encoding.toUint8Array(encoder));
		await room!.receive(peer as never, 0, decoder);
		room!.leave(peer as never);
		expect(refused).toHaveLength(1);
		expect(readSharedViews(room!.doc)).toHaveLength(before);
		server.accord.rooms.release(room!);
	});
});
