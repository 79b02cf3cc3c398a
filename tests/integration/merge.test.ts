/**
 * Merging records and undoing a merge, through real HTTP on a real server: three
 * records merged into one (the survivor's plain JSON exactly as planned, the others
 * archived with a link to it, seen at once by an open stock y-websocket client), the
 * audit entries of both, an undo that gives every record back byte for byte, and bad
 * requests (a record that does not exist, one private to someone else, a viewer, a
 * self-merge, an already merged record) that change nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { metaOf, newId, readRecord, writeNewRecord, type CustomerRecord } from '../../src/lib/model/record.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import type { MergeView } from '../../src/lib/server/services.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { providersSynced, yWebsocketClient, type YWebsocketClient } from '../support/sync-client.ts';

interface Person {
	id: string;
	name: string;
	token: string;
}

type ErrorBody = { message: string; errors?: Record<string, string>; changed?: { record: string; places: string[] }[] };
type MergeAnswer = { merge: MergeView; survivor: CustomerRecord & { private: boolean } };

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

const merge = (body: unknown, who: Person = editor) => api('/api/records/merge', who, { method: 'POST', body: JSON.stringify(body) });
const undo = (mergeId: string, who: Person = admin, body?: unknown) =>
	api(`/api/merges/${mergeId}/undo`, who, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function expectJson<T>(response: Response, status: number): Promise<T> {
	const text = await response.text();
	expect(response.status, `HTTP ${response.status}: ${text}`).toBe(status);
	return JSON.parse(text) as T;
}

/** The record exactly as GET answers it: the text, so a comparison is byte for byte. */
async function plain(id: string, who: Person = admin): Promise<string> {
	const response = await api(`/api/records/${id}`, who);
	const text = await response.text();
	expect(response.status, text).toBe(200);
	return text;
}

async function history(id: string, query = ''): Promise<AuditEntry[]> {
	return (await expectJson<AuditPage>(await api(`/api/records/${id}/history?limit=500${query}`, admin), 200)).entries;
}

function connect(id: string, who: Person): YWebsocketClient {
	const made = yWebsocketClient(server, who, id);
	providers.push(made.provider);
	return made;
}

beforeAll(async () => {
	data = tempDataDir();
	server = await startTestServer({ dataDir: data.dir });
	editor = await person('Merge Editor', 'editor');
	viewer = await person('Merge Viewer', 'viewer');
	admin = await person('Merge Admin', 'admin');
});

afterEach(() => {
	for (const provider of providers.splice(0)) provider.destroy();
});

afterAll(async () => {
	await server?.close();
	data?.remove();
});

/** Three records of one customer, as an import and two people left them. */
async function threeDuplicates(): Promise<[string, string, string]> {
	const a = await createRecord(server, { name: 'Zhang Wei', company: 'Huaxin Trading', email: 'zhang.wei@huaxin.cn', city: '' }, { tags: ['vip'], notes: 'Met at the Canton fair.' });
	const b = await createRecord(server, { name: '张伟', company: 'Huaxin', phone: '+86 138 0013 8000', city: 'Shanghai' }, { tags: ['vip', 'shanghai'], notes: '说中文。' });
	const c = await createRecord(server, { name: 'zhangwei', email: 'wei@huaxin.cn', website: 'https://huaxin.cn' }, { tags: ['import'] });
	// Contacts and activities through a live client, as the record page adds them.
	for (const [id, contacts, activities] of [
		[a, [{ id: 'ca', name: 'Li Na', email: 'li.na@huaxin.cn' }], [{ id: 'aa', kind: 'call', subject: 'Intro', at: '2026-01-05T09:00:00.000Z' }]],
		[b, [{ id: 'cb', name: 'Li Na', email: 'LI.NA@huaxin.cn' }, { id: 'cb2', name: 'Wang Fang', phone: '+8613900139000' }], [{ id: 'ab', kind: 'call', subject: 'intro', at: '2026-01-05T09:00:00.000Z' }]],
		[c, [], [{ id: 'ac', kind: 'meeting', subject: 'Pricing', at: '2026-02-01T02:00:00.000Z' }]]
	] as const) {
		const { doc, provider } = connect(id, editor);
		await providersSynced(provider);
		doc.transact(() => {
			for (const values of contacts) doc.getArray('contacts').push([new Y.Map(Object.entries(values))]);
			for (const values of activities) doc.getArray('activities').push([new Y.Map(Object.entries(values))]);
		});
		await eventually(async () => JSON.parse(await plain(id)).activities.length === activities.length, 'the items to be stored');
		provider.destroy();
	}
	return [a, b, c];
}

describe('merging records', () => {
	it('merges three records into the survivor, archives the others with a link an open client sees, audits it, and undoes it byte for byte', async () => {
		const [a, b, c] = await threeDuplicates();
		const before = { [a]: await plain(a), [b]: await plain(b), [c]: await plain(c) };
		const watcher = connect(c, viewer);
		await providersSynced(watcher.provider);

		const answer = await expectJson<MergeAnswer>(await merge({ survivor: a, merged: [b, c], fields: { email: c, name: b } }), 200);
		const survivor = JSON.parse(await plain(a)) as CustomerRecord & { private: boolean };
		expect(answer.survivor).toEqual(survivor);
		const original = JSON.parse(before[a]) as CustomerRecord;
		expect(survivor).toEqual({
			...original,
			fields: {
				name: '张伟',
				company: 'Huaxin Trading',
				email: 'wei@huaxin.cn',
				phone: '+8613800138000',
				city: 'Shanghai',
				website: 'https://huaxin.cn'
			},
			tags: ['import', 'shanghai', 'vip'],
			contacts: [
				{ id: 'ca', name: 'Li Na', email: 'li.na@huaxin.cn' },
				{ id: 'cb2', name: 'Wang Fang', phone: '+8613900139000' }
			],
			activities: [
				{ id: 'aa', kind: 'call', subject: 'Intro', at: '2026-01-05T09:00:00.000Z' },
				{ id: 'ac', kind: 'meeting', subject: 'Pricing', at: '2026-02-01T02:00:00.000Z' }
			],
			notes: 'Met at the Canton fair.\n\n── Notes merged from “张伟” ──\n说中文。',
			meta: { ...original.meta, mergedFrom: `${b},${c}` }
		});
		for (const id of [b, c]) {
			const merged = JSON.parse(await plain(id)) as CustomerRecord;
			expect(merged.meta).toMatchObject({ archived: true, mergedInto: a });
			// Nothing else of a merged record changes: it stays readable as it was.
			expect({ ...merged, meta: { ...merged.meta, archived: false, mergedInto: undefined } }).toEqual(JSON.parse(before[id]));
		}
		// The viewer who had a merged record open sees, live, where it went.
		await eventually(() => metaOf(watcher.doc).get('mergedInto') === a, 'the open client to see mergedInto');
		expect(metaOf(watcher.doc).get('archived')).toBe(true);

		// One audited change naming every record, on every record's history.
		for (const id of [a, b, c]) {
			const entries = await history(id, '&field=merge');
			expect(entries).toHaveLength(1);
			expect(entries[0]).toMatchObject({ source: 'record-merge', op: 'add', actor: { name: 'Merge Editor' }, after: { merge: answer.merge.id, survivor: a, merged: [b, c] } });
		}
		const survivorEntries = await history(a, '&source=record-merge');
		expect(survivorEntries.map((entry) => entry.path)).toEqual(expect.arrayContaining(['fields.email', 'fields.name', 'tags', 'notes', 'meta.mergedFrom']));
		expect((await history(c, '&source=record-merge')).map((entry) => entry.path)).toEqual(expect.arrayContaining(['meta.mergedInto', 'meta.archived']));
		expect(await expectJson<MergeView>(await api(`/api/merges/${answer.merge.id}`, editor), 200)).toMatchObject({ survivor: a, merged: [b, c], undoneAt: null });

		// Only admins undo.
		expect((await expectJson<ErrorBody>(await undo(answer.merge.id, editor), 403)).message).toContain('admins');
		const undone = await expectJson<{ records: string[]; overwritten: unknown[] }>(await undo(answer.merge.id), 200);
		expect(undone).toMatchObject({ records: [a, b, c], overwritten: [] });
		for (const id of [a, b, c]) expect(await plain(id)).toBe(before[id]);
		await eventually(() => !metaOf(watcher.doc).has('mergedInto') && metaOf(watcher.doc).get('archived') === false, 'the open client to see the undo');
		for (const id of [a, b, c]) {
			const [entry] = await history(id, '&source=record-unmerge&field=merge');
			expect(entry).toMatchObject({ op: 'remove', actor: { name: 'Merge Admin' }, before: { merge: answer.merge.id } });
		}
		expect((await expectJson<ErrorBody>(await undo(answer.merge.id), 409)).message).toContain('already undone');
	});

	it('refuses an undo when a record changed since the merge, naming it, unless forced (then says what was overwritten)', async () => {
		const a = await createRecord(server, { name: 'Kept Co', city: 'Hangzhou' });
		const b = await createRecord(server, { name: 'Kept Company', company: 'Kept' });
		const before = { [a]: await plain(a), [b]: await plain(b) };
		const { merge: done } = await expectJson<MergeAnswer>(await merge({ survivor: a, merged: [b] }), 200);
		await expectJson(await api(`/api/records/${a}`, editor, { method: 'PATCH', body: JSON.stringify({ fields: { city: 'Ningbo' } }) }), 200);
		const afterEdit = await plain(a);

		const refused = await expectJson<ErrorBody>(await undo(done.id), 409);
		expect(refused.message).toContain(a);
		expect(refused.changed).toEqual([{ record: a, places: ['fields.city'] }]);
		expect(await plain(a)).toBe(afterEdit);

		const forced = await expectJson<{ overwritten: unknown[] }>(await undo(done.id, admin, { force: true }), 200);
		expect(forced.overwritten).toEqual([{ record: a, places: ['fields.city'] }]);
		for (const id of [a, b]) expect(await plain(id)).toBe(before[id]);
	});

	it('refuses bad merges with a clear message, and changes nothing', async () => {
		const a = await createRecord(server, { name: 'Alpha Ltd' });
		const b = await createRecord(server, { name: 'Alpha Limited' });
		const hidden = await createRecord(server, { name: 'Someone else’s private', owner: 'alice' });
		await expectJson(await api(`/api/records/${hidden}/private`, admin, { method: 'POST', body: JSON.stringify({ private: true }) }), 200);
		const before = { [a]: await plain(a), [b]: await plain(b), [hidden]: await plain(hidden) };
		const missing = '00000000-0000-4000-8000-000000000000';

		expect((await expectJson<ErrorBody>(await merge({ survivor: a, merged: [missing] }), 404)).message).toContain(missing);
		expect((await expectJson<ErrorBody>(await merge({ survivor: a, merged: [b, hidden] }), 404)).message).toContain(hidden);
		expect((await expectJson<ErrorBody>(await merge({ survivor: a, merged: [b] }, viewer), 403)).message).toContain('viewer');
		expect((await expectJson<ErrorBody>(await merge({ survivor: a, merged: [a.toUpperCase()] }), 400)).message).toContain('into itself');
		expect((await expectJson<ErrorBody>(await merge({ survivor: a, merged: [b, b] }), 400)).message).toContain('twice');
		expect((await expectJson<ErrorBody>(await merge({ survivor: a }), 400)).message).toContain('merged must be');
		expect((await api('/api/records/merge', editor, { method: 'POST', body: '{' })).status).toBe(400);
		for (const id of [a, b, hidden]) expect(await plain(id)).toBe(before[id]);
		for (const id of [a, b]) expect(await history(id, '&field=merge')).toEqual([]);

		// An admin, who may see every one of them, can merge the private record.
		const { merge: done } = await expectJson<MergeAnswer>(await merge({ survivor: a, merged: [hidden] }, admin), 200);
		// A merged record cannot be merged again, nor be a survivor.
		expect((await expectJson<ErrorBody>(await merge({ survivor: b, merged: [hidden] }, admin), 400)).message).toContain('already merged into');
		expect((await expectJson<ErrorBody>(await merge({ survivor: hidden, merged: [b] }, admin), 400)).message).toContain('already merged into');
		expect((await expectJson<ErrorBody>(await undo('00000000-0000-4000-8000-000000000001'), 404)).message).toContain('no merge');
		await expectJson(await undo(done.id), 200);
		for (const id of [a, hidden]) expect(await plain(id)).toBe(before[id]);
	});

	it('keeps mergedInto server-owned: a client cannot set it, nor take it off a merged record', async () => {
		const a = await createRecord(server, { name: 'Guarded One' });
		const b = await createRecord(server, { name: 'Guarded Two' });
		const { doc, provider } = connect(a, editor);
		await providersSynced(provider);
		metaOf(doc).set('mergedInto', b);
		await eventually(() => !metaOf(doc).has('mergedInto'), 'the forged link to be taken back');
		expect(JSON.parse(await plain(a)).meta.mergedInto).toBeUndefined();

		await expectJson(await merge({ survivor: b, merged: [a] }), 200);
		await eventually(() => metaOf(doc).get('mergedInto') === b, 'the client to see the merge');
		metaOf(doc).delete('mergedInto');
		await eventually(() => metaOf(doc).get('mergedInto') === b, 'the link to be put back');
		expect(JSON.parse(await plain(a)).meta.mergedInto).toBe(b);
	});

	it("checks the values it keeps against the workspace's definitions and members, as every writer does; nothing changes when refused", async () => {
		await expectJson(await api('/api/fields', admin, { method: 'POST', body: JSON.stringify({ key: 'x_grade', label: 'Grade', type: 'rating' }) }), 201);
		const a = await createRecord(server, { name: 'Grade One' });
		// Written straight into the store (as an old import or a client before the field existed left it): no writer checked it.
		const b = newId();
		const doc = new Y.Doc();
		writeNewRecord(doc, { fields: { name: 'Grade Two', x_grade: 'lots', owner: 'gone' }, workspace: server.accord.services.defaultWorkspace, createdBy: 'import' });
		await server.accord.database.documents.createDocument(b, server.accord.services.defaultWorkspace, Y.encodeStateAsUpdate(doc), projectRecord(readRecord(doc, b), new Date().toISOString()));
		doc.destroy();
		const before = { [a]: await plain(a), [b]: await plain(b) };

		const refused = await expectJson<ErrorBody>(await merge({ survivor: a, merged: [b] }), 400);
		expect(refused.message).toContain('Nothing was merged');
		expect(refused.errors?.['fields.x_grade']).toMatch(/Grade Two.*rating/);
		expect(refused.errors?.['fields.owner']).toContain('"gone" is not one');
		for (const id of [a, b]) expect(await plain(id)).toBe(before[id]);

		// Keeping the survivor's (empty) values instead merges.
		const { survivor } = await expectJson<MergeAnswer>(await merge({ survivor: a, merged: [b], fields: { x_grade: a, owner: a } }), 200);
		expect(survivor.fields).toEqual({ name: 'Grade One' });
	});
});
