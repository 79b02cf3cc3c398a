/**
 * Fields defined by the workspace, against a real server: an admin adds a field (admin
 * API, or the definitions document itself over /sync) and an open /sync client has it at
 * once; nobody else can change the definitions; the REST API and the live path accept
 * values for the new field and refuse invalid ones naming it; a record written with
 * format v1's untyped `x_` values opens with nothing lost and its keys become fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { SyncClient, type SocketLike } from '../../src/lib/sync/client.ts';
import { fieldsDocumentId, readCatalog, writeDefinition } from '../../src/lib/model/fields.ts';
import { fieldsOf, newId, readRecord, writeNewRecord, type CustomerRecord } from '../../src/lib/model/record.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import type { FieldDefinition } from '../../src/lib/model/schema.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir, wsUrl } from '../support/server.ts';

type Role = 'admin' | 'editor' | 'viewer';
type ErrorBody = { message: string; code?: string; errors?: Record<string, string> };

let server: RunningServer;
let data: { dir: string; remove(): void };
let documentId: string;
const clients: SyncClient[] = [];

function api(path: string, role: Role, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	if (init.body !== undefined) headers.set('content-type', 'application/json');
	return apiFetch(`${server.url}${path}`, { ...init, headers }, role);
}

async function expectJson<T>(response: Response, status: number): Promise<T> {
	const text = await response.text();
	expect(response.status, `HTTP ${response.status}: ${text}`).toBe(status);
	return JSON.parse(text) as T;
}

const listFields = async (role: Role = 'viewer') => (await expectJson<{ document: string; fields: FieldDefinition[] }>(await api('/api/fields', role), 200)).fields;

function syncClient(role: Role): SyncClient {
	const client = new SyncClient({
		url: wsUrl(server, '/sync', role),
		WebSocket: WebSocket as unknown as new (url: string) => SocketLike,
		minReconnectDelay: 50,
		maxReconnectDelay: 200
	});
	clients.push(client);
	return client;
}

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir });
	documentId = fieldsDocumentId(server.accord.services.defaultWorkspace);
});

afterAll(async () => {
	for (const client of clients) client.destroy();
	await server?.close();
	data?.remove();
});

describe('field definitions', () => {
	it('lists the built-in fields to everyone in the workspace, with the definitions document id', async () => {
		const body = await expectJson<{ document: string; fields: FieldDefinition[] }>(await api('/api/fields', 'viewer'), 200);
		expect(body.document).toBe(documentId);
		expect(body.fields.map((f) => f.key)).toContain('stage');
		expect(body.fields.find((f) => f.key === 'stage')).toMatchObject({ type: 'select', builtin: true });
	});

	it('a field an admin adds reaches an open /sync client at once, and the API lists it', async () => {
		const editorTab = syncClient('editor');
		const handle = editorTab.open(documentId);
		expect(await handle.whenSynced).toBe(true);
		expect(readCatalog(handle.doc).get('x_source')).toBeUndefined();

		const created = await expectJson<FieldDefinition>(
			await api('/api/fields', 'admin', {
				method: 'POST',
				body: JSON.stringify({
					label: { en: 'Source', zh: '来源' },
					type: 'select',
					options: [{ label: { en: 'Trade show', zh: '展会' }, colour: 'blue' }, { label: { en: 'Referral', zh: '推荐' } }]
				})
			}),
			201
		);
		expect(created).toMatchObject({ key: 'x_source', type: 'select', options: [{ key: 'trade_show', colour: 'blue' }, { key: 'referral' }] });
		await eventually(() => readCatalog(handle.doc).get('x_source') !== undefined, 'the open client to have the new field');
		expect(readCatalog(handle.doc).get('x_source')?.label).toEqual({ en: 'Source', zh: '来源' });
		expect((await listFields()).some((f) => f.key === 'x_source')).toBe(true);
		handle.release();
	});

	it('an editor or a viewer cannot change the definitions: 403 on the API, refused on /sync, nothing changed', async () => {
		const before = await listFields();
		for (const role of ['editor', 'viewer'] as const) {
			const refused = await expectJson<ErrorBody>(
				await api('/api/fields', role, { method: 'POST', body: JSON.stringify({ label: 'Sneaky', type: 'text' }) }),
				403
			);
			expect(refused.message).toContain('admin');
			await expectJson<ErrorBody>(await api('/api/fields/x_source', role, { method: 'PATCH', body: JSON.stringify({ retired: true }) }), 403);
		}
		// Straight into the document, as a modified tab would.
		const tab = syncClient('editor');
		const handle = tab.open(documentId);
		expect(await handle.whenSynced).toBe(true);
		const refused = new Promise<string>((resolve) => handle.on('error', (error) => resolve(`${error.code}: ${error.reason}`)));
		writeDefinition(handle.doc, { key: 'x_sneaky', label: { en: 'Sneaky', zh: '' }, type: 'text', options: [], retired: false, order: 99, builtin: false });
		expect(await refused).toMatch(/^read-only: Only admins can change the workspace's fields/);
		handle.release();
		expect(await listFields()).toEqual(before);
	});

	it("an admin's invalid change over /sync is not kept, and the admin is told why", async () => {
		const tab = syncClient('admin');
		const handle = tab.open(documentId);
		expect(await handle.whenSynced).toBe(true);
		const notKept = new Promise<string>((resolve) => handle.on('notKept', (refusal) => resolve(refusal.reason)));
		const source = readCatalog(handle.doc).get('x_source')!;
		// A field's type never changes: its values were stored as that type.
		writeDefinition(handle.doc, { ...source, type: 'number' });
		expect(await notKept).toContain('type cannot change');
		await eventually(() => readCatalog(handle.doc).get('x_source')?.type === 'select', 'the repair to come back');
		expect((await listFields()).find((f) => f.key === 'x_source')?.type).toBe('select');
		handle.release();
	});

	it('POST and PATCH of a record accept the new field and refuse an invalid value for it, naming the field', async () => {
		const id = await createRecord(server, { name: 'Field Co', x_source: 'Trade show' });
		const record = await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'editor'), 200);
		expect(record.fields.x_source).toBe('trade_show');
		// The server's list row carries it too, for the list's column chooser.
		await eventually(async () => {
			const page = await expectJson<{ rows: Array<{ id: string; custom?: Record<string, unknown> }> }>(await api('/api/records?limit=200', 'editor'), 200);
			return page.rows.find((row) => row.id === id)?.custom?.x_source === 'trade_show';
		}, 'the list row to carry the custom value');

		const badPost = await expectJson<ErrorBody>(await api('/api/records', 'editor', { method: 'POST', body: JSON.stringify({ fields: { name: 'Bad Co', x_source: 'Billboard' } }) }), 400);
		expect(badPost.errors?.x_source).toContain('x_source');

		const patched = await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { x_source: 'referral' } }) }), 200);
		expect(patched.fields.x_source).toBe('referral');
		const badPatch = await expectJson<ErrorBody>(
			await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { x_source: 'Billboard', email: 'nope' } }) }),
			400
		);
		expect(Object.keys(badPatch.errors ?? {}).sort()).toEqual(['email', 'x_source']);
		expect(badPatch.errors?.x_source).toContain('x_source');
	});

	it('the live path checks values against the current definitions: a field added a moment ago is accepted, an invalid value is not kept', async () => {
		await expectJson(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ label: 'Score', type: 'rating' }) }), 201);
		const id = await createRecord(server, { name: 'Live Co' });
		const tab = syncClient('editor');
		const handle = tab.open(id);
		expect(await handle.whenSynced).toBe(true);
		fieldsOf(handle.doc).set('x_score', '４');
		await eventually(() => fieldsOf(handle.doc).get('x_score') === 4, 'the rating to come back in its normal form');
		const notKept = new Promise<string>((resolve) => handle.on('notKept', (refusal) => resolve(refusal.reason)));
		fieldsOf(handle.doc).set('x_score', 9);
		expect(await notKept).toContain('x_score');
		await eventually(() => fieldsOf(handle.doc).get('x_score') === 4, 'the previous rating to be put back');
		handle.release();
		const stored = await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'editor'), 200);
		expect(stored.fields.x_score).toBe(4);
	});

	it('refuses a clashing key and an empty label with a clear reason, changing nothing', async () => {
		const before = await listFields();
		const clash = await expectJson<ErrorBody>(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ key: 'x_source', label: 'Again', type: 'text' }) }), 409);
		expect(clash).toMatchObject({ code: 'key-taken' });
		expect(clash.message).toContain('x_source');
		const empty = await expectJson<ErrorBody>(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ label: { en: ' ', zh: '' }, type: 'text', key: 'x_blank' }) }), 400);
		expect(empty.code).toBe('label-empty');
		const rename = await expectJson<ErrorBody>(await api('/api/fields/x_source', 'admin', { method: 'PATCH', body: JSON.stringify({ label: { en: '', zh: '' } }) }), 400);
		expect(rename.code).toBe('label-empty');
		const rekey = await expectJson<ErrorBody>(await api('/api/fields/x_source', 'admin', { method: 'PATCH', body: JSON.stringify({ key: 'x_other' }) }), 400);
		expect(rekey.message).toContain('key');
		expect(await listFields()).toEqual(before);
	});

	it('renames, retires and restores; an option retired while in use keeps its values and can no longer be chosen', async () => {
		const id = await createRecord(server, { name: 'Retire Co', x_source: 'referral' });
		const current = (await listFields()).find((f) => f.key === 'x_source')!;
		const renamed = await expectJson<FieldDefinition>(
			await api('/api/fields/x_source', 'admin', {
				method: 'PATCH',
				body: JSON.stringify({ label: { en: 'Lead source', zh: '线索来源' }, options: current.options.map((o) => ({ ...o, retired: o.key === 'referral' })) })
			}),
			200
		);
		expect(renamed).toMatchObject({ key: 'x_source', label: { en: 'Lead source', zh: '线索来源' } });
		expect((await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'viewer'), 200)).fields.x_source).toBe('referral');
		const retiredChoice = await expectJson<ErrorBody>(await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { x_source: 'referral' } }) }), 400);
		expect(retiredChoice.errors?.x_source).toContain('retired');

		await expectJson(await api('/api/fields/x_source', 'admin', { method: 'PATCH', body: JSON.stringify({ retired: true }) }), 200);
		expect((await listFields()).find((f) => f.key === 'x_source')?.retired).toBe(true);
		expect((await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'viewer'), 200)).fields.x_source).toBe('referral');
		await expectJson(await api('/api/fields/x_source', 'admin', { method: 'PATCH', body: JSON.stringify({ retired: false }) }), 200);
		expect((await listFields()).find((f) => f.key === 'x_source')?.retired).toBe(false);
	});

	it('a record written before definitions, with x_ values, opens with nothing lost, and its keys become fields', async () => {
		// Written as format v1 wrote it (no definitions anywhere), straight into the store.
		const id = newId();
		const doc = new Y.Doc();
		const fields = { name: 'Legacy Co', x_region: 'North China', x_seats: 25, x_vip: true };
		writeNewRecord(doc, { fields, workspace: server.accord.services.defaultWorkspace, createdBy: 'import' });
		await server.accord.database.documents.createDocument(id, server.accord.services.defaultWorkspace, Y.encodeStateAsUpdate(doc), projectRecord(readRecord(doc, id), new Date().toISOString()));
		doc.destroy();

		const opened = await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'viewer'), 200);
		expect(opened.fields).toEqual(fields);
		await eventually(async () => {
			const keys = new Set((await listFields()).map((f) => f.key));
			return ['x_region', 'x_seats', 'x_vip'].every((key) => keys.has(key));
		}, 'the x_ keys to be defined');
		const defined = await listFields();
		expect(defined.filter((f) => f.key === 'x_region' || f.key === 'x_seats' || f.key === 'x_vip').map((f) => [f.key, f.type])).toEqual([
			['x_region', 'text'],
			['x_seats', 'number'],
			['x_vip', 'yesno']
		]);
		// And they stay writable as what they were.
		const patched = await expectJson<CustomerRecord>(
			await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { x_region: ' East   China ', x_seats: '３０' } }) }),
			200
		);
		expect(patched.fields).toMatchObject({ x_region: 'East China', x_seats: 30, x_vip: true });
	});

	it('refuses a key that clashes with another only in case or width, built-ins included, changing nothing', async () => {
		const before = await listFields();
		const builtin = await expectJson<ErrorBody>(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ key: 'Email', label: 'Mail', type: 'text' }) }), 409);
		expect(builtin.code).toBe('key-taken');
		expect(builtin.message).toContain('built-in field "email"');
		const custom = await expectJson<ErrorBody>(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ key: 'X_SOURCE', label: 'Source', type: 'text' }) }), 409);
		expect(custom.message).toContain('"x_source"');
		expect(await listFields()).toEqual(before);
	});

	it('a person field (and the owner) names a member of the workspace, on the API and the live path', async () => {
		await expectJson(await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ key: 'x_manager', label: { en: 'Account manager', zh: '客户经理' }, type: 'person' }) }), 201);
		const bad = await expectJson<ErrorBody>(
			await api('/api/records', 'editor', { method: 'POST', body: JSON.stringify({ fields: { name: 'Person Co', owner: 'mallory', x_manager: 'eve' } }) }),
			400
		);
		expect(Object.keys(bad.errors ?? {}).sort()).toEqual(['owner', 'x_manager']);
		expect(bad.errors?.owner).toContain('member');
		const id = await createRecord(server, { name: 'Person Co', owner: 'alice', x_manager: 'wang.fang' });
		const badPatch = await expectJson<ErrorBody>(await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { x_manager: 'mallory' } }) }), 400);
		expect(badPatch.errors?.x_manager).toContain('mallory');
		expect((await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'editor', { method: 'PATCH', body: JSON.stringify({ fields: { owner: 'bob' } }) }), 200)).fields.owner).toBe('bob');

		const tab = syncClient('editor');
		const handle = tab.open(id);
		expect(await handle.whenSynced).toBe(true);
		const notKept = new Promise<string>((resolve) => handle.on('notKept', (refusal) => resolve(refusal.reason)));
		fieldsOf(handle.doc).set('owner', 'mallory');
		expect(await notKept).toContain('owner');
		await eventually(() => fieldsOf(handle.doc).get('owner') === 'bob', 'the owner to be put back');
		handle.release();
		expect((await expectJson<CustomerRecord>(await api(`/api/records/${id}`, 'viewer'), 200)).fields).toMatchObject({ owner: 'bob', x_manager: 'wang.fang' });
	});

	it("records an admin's every change to a field and its options in the audit log, as theirs", async () => {
		const added = await expectJson<FieldDefinition>(
			await api('/api/fields', 'admin', { method: 'POST', body: JSON.stringify({ key: 'x_tier', label: { en: 'Tier', zh: '等级' }, type: 'select', options: ['Gold', 'Silver'] }) }),
			201
		);
		await expectJson(await api('/api/fields/x_tier', 'admin', { method: 'PATCH', body: JSON.stringify({ label: { en: 'Customer tier', zh: '客户等级' }, order: 1.5, askOnCreate: true }) }), 200);
		const options = added.options.map((o) => ({ ...o, retired: o.key === 'silver', colour: o.key === 'gold' ? 'yellow' : o.colour }));
		await expectJson(await api('/api/fields/x_tier', 'admin', { method: 'PATCH', body: JSON.stringify({ options: [...options, { label: 'Bronze' }] }) }), 200);
		await expectJson(await api('/api/fields/x_tier', 'admin', { method: 'PATCH', body: JSON.stringify({ retired: true }) }), 200);

		type Page = { entries: Array<{ path: string; op: string; before: unknown; after: unknown; actor: { id: string; name: string }; recordId: string | null }> };
		let entries: Page['entries'] = [];
		await eventually(async () => {
			entries = (await expectJson<Page>(await api('/api/audit?field=definitions&limit=200', 'admin'), 200)).entries.filter((e) => e.path.startsWith('definitions.x_tier'));
			return entries.some((e) => e.path === 'definitions.x_tier.retired');
		}, 'the changes to reach the audit log');
		const byPath = new Map(entries.map((e) => [e.path, e]));
		expect(byPath.get('definitions.x_tier')).toMatchObject({ op: 'add', after: { label: { en: 'Tier', zh: '等级' }, type: 'select' } });
		expect(byPath.get('definitions.x_tier.label')).toMatchObject({ op: 'set', before: { en: 'Tier', zh: '等级' }, after: { en: 'Customer tier', zh: '客户等级' } });
		expect(byPath.get('definitions.x_tier.order')).toMatchObject({ op: 'set', after: 1.5 });
		expect(byPath.get('definitions.x_tier.askOnCreate')).toMatchObject({ op: 'set', before: false, after: true });
		expect(byPath.get('definitions.x_tier.options[silver].retired')).toMatchObject({ op: 'set', before: false, after: true });
		expect(byPath.get('definitions.x_tier.options[gold].colour')).toMatchObject({ op: 'set', after: 'yellow' });
		expect(byPath.get('definitions.x_tier.options[bronze]')).toMatchObject({ op: 'add', after: { label: { en: 'Bronze', zh: '' } } });
		expect(byPath.get('definitions.x_tier.retired')).toMatchObject({ op: 'set', before: false, after: true });
		const admins = new Set(entries.map((e) => e.actor.id));
		expect(admins.size).toBe(1);
		expect([...admins][0]).toMatch(/^token:/);
		expect(entries.every((e) => e.recordId === documentId)).toBe(true);
		// Nobody else's change to the definitions (a refused one) is recorded as made.
		expect((await api('/api/fields/x_tier', 'editor', { method: 'PATCH', body: JSON.stringify({ retired: false }) })).status).toBe(403);
	});

	it('the definitions document is no record: not listed, not readable or writable as one', async () => {
		await expectJson(await api(`/api/records/${documentId}`, 'admin'), 404);
		await expectJson(await api(`/api/records/${documentId}`, 'admin', { method: 'PATCH', body: JSON.stringify({ fields: { name: 'x' } }) }), 404);
		const page = await expectJson<{ rows: Array<{ id: string }> }>(await api('/api/records?limit=200', 'admin'), 200);
		expect(page.rows.some((row) => row.id === documentId)).toBe(false);
	});
});
