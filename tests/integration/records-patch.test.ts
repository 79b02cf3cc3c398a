/**
 * `PATCH /api/records/:id` (and the `405` of `DELETE`) against a real server: a change
 * goes through the live document (an open stock y-websocket client sees it), through
 * the record validator (every invalid part named, nothing changed), into the history
 * with source `api`; and the same access rules as every other record route.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { fieldsOf, notesOf, readRecord, tagsOf, type CustomerRecord } from '../../src/lib/model/record.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient, type YWebsocketClient } from '../support/sync-client.ts';

interface Person {
	id: string;
	name: string;
	token: string;
}

type ErrorBody = { message: string; errors?: Record<string, string> };

let server: RunningServer;
let data: { dir: string; remove(): void };
let editor: Person;
let viewer: Person;
let admin: Person;
const providers: WebsocketProvider[] = [];

async function person(name: string, role: 'editor' | 'admin' | 'viewer'): Promise<Person> {
	const { id, token } = await server.accord.database.auth.createApiToken({ workspace: server.accord.services.defaultWorkspace, name, role, createdBy: 'test' });
	return { id: `token:${id}`, name, token };
}

function api(path: string, who: Person, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set('authorization', `Bearer ${who.token}`);
	if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
	return fetch(`${server.url}${path}`, { ...init, headers });
}

const patch = (id: string, body: unknown, who: Person = editor): Promise<Response> =>
	api(`/api/records/${id}`, who, { method: 'PATCH', body: JSON.stringify(body) });

/** Reads a JSON response with the expected status (the body is in the failure message). */
async function expectJson<T>(response: Response, status: number): Promise<T> {
	const text = await response.text();
	expect(response.status, `HTTP ${response.status}: ${text}`).toBe(status);
	expect(response.headers.get('content-type') ?? '').toContain('application/json');
	return JSON.parse(text) as T;
}

async function getRecord(id: string, who: Person = editor): Promise<CustomerRecord & { private: boolean }> {
	return expectJson(await api(`/api/records/${id}`, who), 200);
}

async function history(id: string): Promise<AuditEntry[]> {
	return (await expectJson<AuditPage>(await api(`/api/records/${id}/history?limit=500`, admin), 200)).entries;
}

function connect(id: string, who: Person): YWebsocketClient {
	const made = yWebsocketClient(server, who, id);
	providers.push(made.provider);
	return made;
}

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir });
	editor = await person('Patch Editor', 'editor');
	viewer = await person('Patch Viewer', 'viewer');
	admin = await person('Patch Admin', 'admin');
});

afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
});

afterAll(async () => {
	await server?.close();
	data?.remove();
});

describe('PATCH /api/records/:id', () => {
	it('changes fields, tags and notes: 200 with the record, live on an open y-websocket client, in the history as api', async () => {
		const id = await createRecord(
			server,
			{ name: 'Zhang Wei', company: 'Huaxin', country: 'CN', city: 'Shenzhen', stage: 'lead' },
			{ tags: ['prospect', 'beijing'], notes: 'Met at the expo.' }
		);
		const client = connect(id, editor);
		await providersSynced(client.provider);

		const body = await expectJson<CustomerRecord & { private: boolean }>(
			await patch(id, {
				fields: {
					company: '  Huaxin   Technology ',
					phone: '１３８　００１３　８０００', // national, read in the record's country (CN), full-width
					value: '１２０，０００',
					email: ' Zhang.Wei@HuaXin.CN ',
					website: '测试.中国',
					stage: 'Qualified',
					city: null
				},
				tags: { add: [' VIP ', 'Key  Account'], remove: ['prospect'] },
				notes: 'Met at the expo.\nFollow up in March.'
			}),
			200
		);
		const expectedFields = {
			name: 'Zhang Wei',
			company: 'Huaxin Technology',
			country: 'CN',
			phone: '+8613800138000',
			value: 120000,
			email: 'zhang.wei@huaxin.cn',
			website: 'https://xn--0zwm56d.xn--fiqs8s',
			stage: 'qualified'
		};
		expect(body.id).toBe(id);
		expect(body.fields).toEqual(expectedFields);
		expect(body.tags).toEqual(['beijing', 'key account', 'vip']);
		expect(body.notes).toBe('Met at the expo.\nFollow up in March.');
		expect(body.private).toBe(false);

		// The open client saw it live, without reconnecting.
		await eventually(() => fieldsOf(client.doc).get('company') === 'Huaxin Technology' && notesOf(client.doc).toString().includes('March'), 'the client to see the change');
		const live = readRecord(client.doc, id);
		expect(live.fields).toEqual(expectedFields);
		expect([...tagsOf(client.doc).keys()].sort()).toEqual(['beijing', 'key account', 'vip']);

		// And a later GET (and the list row) shows the same.
		expect((await getRecord(id)).fields).toEqual(expectedFields);

		// Every change is in the history, by the editor's token, source api.
		let entries: AuditEntry[] = [];
		await eventually(async () => {
			entries = (await history(id)).filter((e) => e.op !== 'create');
			return ['fields.company', 'fields.phone', 'fields.city', 'tags', 'notes'].every((path) => entries.some((e) => e.path === path));
		}, 'the history to show the change');
		for (const entry of entries) {
			expect(entry.source).toBe('api');
			expect(entry.actor).toEqual({ id: editor.id, name: editor.name });
		}
		expect(entries.find((e) => e.path === 'fields.company')).toMatchObject({ op: 'set', before: 'Huaxin', after: 'Huaxin Technology' });
		expect(entries.find((e) => e.path === 'fields.city')).toMatchObject({ op: 'unset', before: 'Shenzhen' });
		expect(entries.find((e) => e.path === 'tags' && e.op === 'remove')).toMatchObject({ before: 'prospect' });
		expect(entries.filter((e) => e.path === 'tags' && e.op === 'add').map((e) => e.after).sort()).toEqual(['key account', 'vip']);
	});

	it('leaves what the body does not name as it is, and clears a field with null', async () => {
		const id = await createRecord(server, { name: 'Li Na', company: 'Eastwind', title: 'CFO' }, { tags: ['trade'], notes: 'Keep me.' });
		const body = await expectJson<CustomerRecord>(await patch(id, { fields: { title: null } }), 200);
		expect(body.fields).toEqual({ name: 'Li Na', company: 'Eastwind' });
		expect(body.tags).toEqual(['trade']);
		expect(body.notes).toBe('Keep me.');
		const notesOnly = await expectJson<CustomerRecord>(await patch(id, { notes: '' }), 200);
		expect(notesOnly.notes).toBe('');
		expect(notesOnly.fields).toEqual({ name: 'Li Na', company: 'Eastwind' });
	});

	it('answers an invalid body with 400 naming every invalid part, and changes nothing', async () => {
		const id = await createRecord(server, { name: 'Wang Fang', email: 'wang@example.com', country: 'CN' }, { tags: ['vip'], notes: 'Original.' });
		const client = connect(id, editor);
		await providersSynced(client.provider);
		const before = await getRecord(id);
		const entriesBefore = (await history(id)).length;

		const response = await patch(id, {
			fields: { company: 'Valid Co', email: 'not-an-email', country: 'XX', stage: 'closed', value: '-5', nickname: 'Fang', name: null },
			tags: { add: ['ok', '   '] },
			notes: 42,
			contacts: []
		});
		const body = await expectJson<ErrorBody>(response, 400);
		expect(body.message).toMatch(/Nothing was changed/);
		expect(Object.keys(body.errors ?? {}).sort()).toEqual(['contacts', 'country', 'email', 'name', 'nickname', 'notes', 'stage', 'tags', 'value']);
		expect(body.errors!.email).toContain('not-an-email');
		expect(body.errors!.country).toContain('ISO');
		for (const message of Object.values(body.errors!)) expect(message.length).toBeGreaterThan(10);

		// Not even the valid part (company) was applied, anywhere.
		expect(await getRecord(id)).toEqual(before);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(fieldsOf(client.doc).get('company')).toBeUndefined();
		expect((await history(id)).length).toBe(entriesBefore);
	});

	it.each([
		['tags as a whole list', { tags: ['vip'] }, 'tags'],
		['tags with another member', { tags: { set: ['vip'] } }, 'tags'],
		['a tag both added and removed', { tags: { add: ['vip'], remove: ['VIP'] } }, 'tags'],
		['fields that are not an object', { fields: ['name', 'Li'] }, 'fields'],
		['nothing to change', {}, 'fields'],
		['a field value outside fields', { company: 'Acme' }, 'company'],
		['notes over the limit', { notes: 'x'.repeat(100_001) }, 'notes']
	])('answers %s with 400 naming it', async (_what, body, part) => {
		const id = await createRecord(server, { name: 'Shape Co' }, { tags: ['vip'] });
		const before = await getRecord(id);
		const answer = await expectJson<ErrorBody>(await patch(id, body), 400);
		expect(Object.keys(answer.errors ?? {})).toEqual([part]);
		expect(await getRecord(id)).toEqual(before);
	});

	it('refuses a change that would leave more than 50 tags', async () => {
		const id = await createRecord(server, { name: 'Many Tags' }, { tags: Array.from({ length: 45 }, (_, i) => `t${i}`) });
		const answer = await expectJson<ErrorBody>(await patch(id, { tags: { add: Array.from({ length: 10 }, (_, i) => `new${i}`) } }), 400);
		expect(answer.errors?.tags).toContain('50');
		expect((await getRecord(id)).tags).toHaveLength(45);
		// Removing as many as are added keeps it within the limit.
		const body = await expectJson<CustomerRecord>(
			await patch(id, { tags: { add: ['new0', 'new1'], remove: ['t0', 't1', 't2', 't3', 't4', 't5', 't6'] } }),
			200
		);
		expect(body.tags).toHaveLength(40);
	});

	it('answers a body that is not JSON with 400, and one not typed as JSON with 415', async () => {
		const id = await createRecord(server, { name: 'Typed Co' });
		const broken = await api(`/api/records/${id}`, editor, { method: 'PATCH', body: '{"fields": {"company": "A', headers: { 'content-type': 'application/json' } });
		expect((await expectJson<ErrorBody>(broken, 400)).message).toMatch(/JSON/);
		await expectJson<ErrorBody>(await patch(id, [{ fields: { company: 'A' } }]), 400);
		await expectJson<ErrorBody>(await patch(id, null), 400);
		const xml = await api(`/api/records/${id}`, editor, { method: 'PATCH', body: JSON.stringify({ fields: { company: 'A' } }), headers: { 'content-type': 'application/xml' } });
		expect((await expectJson<ErrorBody>(xml, 415)).message).toMatch(/application\/json/);
		expect((await getRecord(id)).fields).toEqual({ name: 'Typed Co' });
	});

	it('answers a body over the size limit (512 KiB by default) with 413 and changes nothing', async () => {
		const id = await createRecord(server, { name: 'Big Co' });
		const body = await expectJson<ErrorBody>(await patch(id, { notes: 'x'.repeat(600_000) }), 413);
		expect(body.message).toMatch(/too large/);
		expect((await getRecord(id)).notes).toBe('');
	});

	it('refuses a viewer with 403 and changes nothing', async () => {
		const id = await createRecord(server, { name: 'Viewer Co' });
		const body = await expectJson<ErrorBody>(await patch(id, { fields: { company: 'Changed' } }, viewer), 403);
		expect(body.message).toMatch(/viewer/);
		expect((await getRecord(id)).fields).toEqual({ name: 'Viewer Co' });
	});

	it('answers 404 for an unknown id, an id that is not one, and a private record of someone else', async () => {
		await expectJson<ErrorBody>(await patch(crypto.randomUUID(), { fields: { company: 'X' } }), 404);
		await expectJson<ErrorBody>(await patch('not-a-record', { fields: { company: 'X' } }), 404);

		const id = await createRecord(server, { name: 'Hidden Co', owner: 'wang.fang' });
		expect((await api(`/api/records/${id}/private`, admin, { method: 'POST', body: JSON.stringify({ private: true }) })).status).toBe(200);
		const hidden = await expectJson<ErrorBody>(await patch(id, { fields: { company: 'Leaked' } }), 404);
		// Exactly what a record that does not exist gets: nothing tells it apart.
		const unknownId = crypto.randomUUID();
		const unknown = await expectJson<ErrorBody>(await patch(unknownId, { fields: { company: 'Leaked' } }), 404);
		expect(hidden.message.replace(id, '<id>')).toBe(unknown.message.replace(unknownId, '<id>'));
		// An invalid body does not tell it apart either.
		await expectJson<ErrorBody>(await patch(id, { fields: { email: 'nope' } }), 404);

		// An admin may see it, so may change it.
		const changed = await expectJson<CustomerRecord & { private: boolean }>(await patch(id, { fields: { company: 'Admin Co' } }, admin), 200);
		expect(changed).toMatchObject({ fields: { company: 'Admin Co' }, private: true });
	});

	it('takes the id in any spelling, answering with the canonical one', async () => {
		const id = await createRecord(server, { name: 'Upper Co' });
		const client = connect(id, editor);
		await providersSynced(client.provider);
		const body = await expectJson<CustomerRecord>(await patch(id.toUpperCase(), { fields: { company: 'Upper Case Ltd' } }), 200);
		expect(body.id).toBe(id);
		expect(body.fields.company).toBe('Upper Case Ltd');
		// The same room as the lower-case spelling: the open client sees it.
		await eventually(() => fieldsOf(client.doc).get('company') === 'Upper Case Ltd', 'the client to see the change');
	});
});

describe('DELETE /api/records/:id', () => {
	it('is erasure, for admins only: an editor is refused with 403 and the record stays', async () => {
		const id = await createRecord(server, { name: 'Kept Co' });
		const response = await api(`/api/records/${id}`, editor, { method: 'DELETE' });
		const body = await expectJson<ErrorBody>(response, 403);
		expect(body.message).toMatch(/admin/i);
		expect((await getRecord(id)).fields).toEqual({ name: 'Kept Co' });
	});
});
