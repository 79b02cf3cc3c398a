/**
 * The JSON HTTP API (`/api/records`, `/api/records/:id`, `/api/records/:id/archive`)
 * and `/healthz`, exercised over HTTP against the real server: the built SvelteKit
 * app, the sync server and a real store (PGlite, or Postgres with DATABASE_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { apiFetch } from '../support/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A well-formed UUID that no test ever creates. */
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface Page {
	rows: RecordRow[];
	total: number;
}

/** One server per describe block, on its own data directory. */
function useServer(overrides: Parameters<typeof startTestServer>[0] = {}): () => RunningServer {
	let server: RunningServer | undefined;
	let data: { dir: string; remove(): void } | undefined;
	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir, ...overrides });
	});
	afterAll(async () => {
		await server?.close();
		data?.remove();
	});
	return () => {
		if (!server) throw new Error('the server has not started');
		return server;
	};
}

async function post(server: RunningServer, path: string, body: string, contentType = 'application/json'): Promise<Response> {
	return apiFetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

const postJson = (server: RunningServer, path: string, body: unknown): Promise<Response> => post(server, path, JSON.stringify(body));

/** Reads a JSON response, checking it is JSON and has the expected status. */
async function expectJson<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
	const text = await response.text();
	expect(response.status, `HTTP ${response.status}: ${text}`).toBe(status);
	expect(response.headers.get('content-type') ?? '').toContain('application/json');
	return JSON.parse(text) as T;
}

/** Expects a JSON error with a non-empty, human-readable `message`. */
async function expectError(response: Response, status: number): Promise<{ message: string; errors?: Record<string, string> }> {
	const body = await expectJson<{ message: unknown; errors?: Record<string, string> }>(response, status);
	expect(typeof body.message).toBe('string');
	expect((body.message as string).length).toBeGreaterThan(0);
	return body as { message: string; errors?: Record<string, string> };
}

async function list(server: RunningServer, query = ''): Promise<Page> {
	return expectJson<Page>(await apiFetch(`${server.url}/api/records${query ? `?${query}` : ''}`), 200);
}

async function getRecord(server: RunningServer, id: string): Promise<CustomerRecord> {
	return expectJson<CustomerRecord>(await apiFetch(`${server.url}/api/records/${id}`), 200);
}

/** Every record of the workspace, archived included: the count creation must leave alone on failure. */
async function totalIncludingArchived(server: RunningServer): Promise<number> {
	return (await list(server, 'archived=1&limit=500')).total;
}

describe('POST /api/records', () => {
	const server = useServer();

	it('creates a record: 201, a UUID id and a Location header', async () => {
		const before = await totalIncludingArchived(server());
		const response = await postJson(server(), '/api/records', { fields: { name: 'Li Na', company: '华信科技' } });
		const body = await expectJson<{ id: string }>(response, 201);
		expect(body.id).toMatch(UUID);
		expect(response.headers.get('location')).toBe(`/api/records/${body.id}`);

		// The Location points at the record.
		const record = await expectJson<CustomerRecord>(await apiFetch(new URL(response.headers.get('location')!, server().url)), 200);
		expect(record.id).toBe(body.id);
		expect(record.fields).toMatchObject({ name: 'Li Na', company: '华信科技' });
		expect(record.meta.archived).toBe(false);
		expect(await totalIncludingArchived(server())).toBe(before + 1);
	});

	it('stores values normalised, tags normalised and de-duplicated, and notes', async () => {
		const id = await createRecord(
			server(),
			{
				name: '  Zhang   Wei ',
				email: '  Zhang.Wei@Example.COM ',
				country: 'cn',
				phone: '138 0013 8000',
				website: 'huaxin.example.cn',
				value: '12,500',
				stage: 'Qualified',
				currency: 'cny'
			},
			{ tags: [' VIP ', 'vip', 'Key   Account', 'KEY ACCOUNT', 'Beijing'], notes: 'Met at the Shanghai expo.\n第二行。' }
		);
		const record = await getRecord(server(), id);
		expect(record.fields).toEqual({
			name: 'Zhang Wei',
			email: 'zhang.wei@example.com',
			country: 'CN',
			phone: '+8613800138000',
			website: 'https://huaxin.example.cn',
			value: 12500,
			stage: 'qualified',
			currency: 'CNY'
		});
		expect(record.tags).toEqual(['beijing', 'key account', 'vip']);
		expect(record.notes).toBe('Met at the Shanghai expo.\n第二行。');

		// The list row (the projection) carries the same normalised values.
		const row = (await list(server(), 'limit=500')).rows.find((r) => r.id === id);
		expect(row).toMatchObject({
			name: 'Zhang Wei',
			email: 'zhang.wei@example.com',
			phone: '+8613800138000',
			stage: 'qualified',
			value: 12500,
			country: 'CN',
			tags: ['beijing', 'key account', 'vip'],
			archived: false
		});
	});

	it('reports every invalid field at once, with 400 and nothing created', async () => {
		const before = await totalIncludingArchived(server());
		const response = await postJson(server(), '/api/records', {
			fields: { company: 'Acme', email: 'not-an-email', phone: '12', nickname: 'Bob' }
		});
		const body = await expectError(response, 400);
		expect(body.errors).toBeDefined();
		expect(Object.keys(body.errors!).sort()).toEqual(['email', 'name', 'nickname', 'phone']);
		for (const message of Object.values(body.errors!)) expect(message).toMatch(/\S/);
		expect(body.errors!.email).toContain('not-an-email');
		expect(await totalIncludingArchived(server())).toBe(before);
	});

	it('refuses bad tags, notes and a non-object `fields`, each as a field error', async () => {
		const before = await totalIncludingArchived(server());
		const badTags = await expectError(await postJson(server(), '/api/records', { fields: { name: 'Tagged' }, tags: ['ok', '   '] }), 400);
		expect(Object.keys(badTags.errors ?? {})).toEqual(['tags']);
		const badNotes = await expectError(await postJson(server(), '/api/records', { fields: { name: 'Noted' }, notes: 42 }), 400);
		expect(Object.keys(badNotes.errors ?? {})).toEqual(['notes']);
		const badFields = await expectError(await postJson(server(), '/api/records', { fields: ['name', 'Li'] }), 400);
		expect(Object.keys(badFields.errors ?? {})).toEqual(['fields']);
		expect(await totalIncludingArchived(server())).toBe(before);
	});

	it('answers a body that is not JSON with 400 and a message', async () => {
		const before = await totalIncludingArchived(server());
		const body = await expectError(await post(server(), '/api/records', '{"fields": {"name": "Li'), 400);
		expect(body.message).toMatch(/JSON/);
		await expectError(await post(server(), '/api/records', ''), 400);
		expect(await totalIncludingArchived(server())).toBe(before);
	});

	it('answers a body that is not JSON-typed with 415', async () => {
		const before = await totalIncludingArchived(server());
		const payload = JSON.stringify({ fields: { name: 'Li Na' } });
		const xml = await expectError(await post(server(), '/api/records', payload, 'application/xml'), 415);
		expect(xml.message).toMatch(/application\/json/);
		await expectError(await post(server(), '/api/records', payload, 'text/csv'), 415);
		// Form types (text/plain, urlencoded, multipart) with a token: 415 too, see api-answers.test.ts.
		expect(await totalIncludingArchived(server())).toBe(before);
	});

	it('answers a JSON body that is not an object with 400', async () => {
		const before = await totalIncludingArchived(server());
		await expectError(await postJson(server(), '/api/records', [{ fields: { name: 'Li Na' } }]), 400);
		await expectError(await postJson(server(), '/api/records', null), 400);
		await expectError(await postJson(server(), '/api/records', 'Li Na'), 400);
		expect(await totalIncludingArchived(server())).toBe(before);
	});
});

describe('GET /api/records', () => {
	const server = useServer();

	// Names differ in case so that a case-sensitive sort would give a different order.
	const PEOPLE = [
		{ name: 'alice Wang', stage: 'lead', owner: 'wang.fang', value: 500 },
		{ name: 'Bob Chen', stage: 'proposal', owner: 'wang.fang', value: '1,200.50' },
		{ name: 'carol Liu', stage: 'won', owner: 'li.wei', value: 12000 },
		{ name: 'Dmitri Ivanov', stage: 'lead', owner: 'li.wei', value: 3000 },
		{ name: 'Eve Adams', stage: 'proposal' },
		{ name: 'Frank Zhou', stage: 'qualified', owner: 'wang.fang', value: 750 }
	];
	const BY_NAME = ['alice Wang', 'Bob Chen', 'carol Liu', 'Dmitri Ivanov', 'Eve Adams', 'Frank Zhou'];
	// Numeric, not textual (12000 after 3000), with the record without a value last either way.
	const BY_VALUE_ASC = ['alice Wang', 'Frank Zhou', 'Bob Chen', 'Dmitri Ivanov', 'carol Liu', 'Eve Adams'];
	const BY_VALUE_DESC = ['carol Liu', 'Dmitri Ivanov', 'Bob Chen', 'Frank Zhou', 'alice Wang', 'Eve Adams'];
	const names = (page: Page): string[] => page.rows.map((row) => row.name);

	beforeAll(async () => {
		for (const person of PEOPLE) await createRecord(server(), person);
	});

	it('answers {rows, total} with the projected rows', async () => {
		const page = await list(server());
		expect(Object.keys(page).sort()).toEqual(['rows', 'total']);
		expect(page.total).toBe(PEOPLE.length);
		expect(page.rows).toHaveLength(PEOPLE.length);
		expect(names(page).sort()).toEqual([...BY_NAME].sort());
		const bob = page.rows.find((row) => row.name === 'Bob Chen');
		expect(bob).toMatchObject({ stage: 'proposal', owner: 'wang.fang', value: 1200.5, archived: false, workspace: 'demo' });
		expect(bob?.id).toMatch(UUID);
		expect(page.rows.find((row) => row.name === 'Eve Adams')).toMatchObject({ owner: null, value: null });
	});

	it('filters by stage, by owner, and by both', async () => {
		const leads = await list(server(), 'stage=lead&sort=name');
		expect(names(leads)).toEqual(['alice Wang', 'Dmitri Ivanov']);
		expect(leads.total).toBe(2);
		const zhang = await list(server(), 'owner=li.wei&sort=name');
		expect(names(zhang)).toEqual(['carol Liu', 'Dmitri Ivanov']);
		expect(zhang.total).toBe(2);
		const both = await list(server(), 'stage=lead&owner=wang.fang');
		expect(names(both)).toEqual(['alice Wang']);
		expect(both.total).toBe(1);
		const none = await list(server(), 'stage=lost');
		expect(none).toEqual({ rows: [], total: 0 });
	});

	it('sorts by name, case-insensitively, ascending and descending', async () => {
		expect(names(await list(server(), 'sort=name'))).toEqual(BY_NAME);
		expect(names(await list(server(), 'sort=name&dir=asc'))).toEqual(BY_NAME);
		expect(names(await list(server(), 'sort=name&dir=desc'))).toEqual([...BY_NAME].reverse());
	});

	it('sorts by value numerically, ascending and descending, records without a value last', async () => {
		expect(names(await list(server(), 'sort=value&dir=asc'))).toEqual(BY_VALUE_ASC);
		expect(names(await list(server(), 'sort=value&dir=desc'))).toEqual(BY_VALUE_DESC);
	});

	it('pages with limit and offset: no overlap, no gap, a stable total', async () => {
		const pages: Page[] = [];
		for (const offset of [0, 2, 4]) pages.push(await list(server(), `sort=name&limit=2&offset=${offset}`));
		for (const page of pages) {
			expect(page.total).toBe(PEOPLE.length);
			expect(page.rows).toHaveLength(2);
		}
		const ids = pages.flatMap((page) => page.rows.map((row) => row.id));
		expect(new Set(ids).size).toBe(PEOPLE.length);
		expect(pages.flatMap(names)).toEqual(BY_NAME);

		const past = await list(server(), 'sort=name&limit=2&offset=6');
		expect(past).toEqual({ rows: [], total: PEOPLE.length });
		const partial = await list(server(), 'sort=name&limit=4&offset=4');
		expect(names(partial)).toEqual(BY_NAME.slice(4));
	});

	it.each([
		['limit=0'],
		['limit=10000'],
		['limit=2.5'],
		['limit=ten'],
		['offset=-1'],
		['sort=password'],
		['sort=name&dir=sideways'],
		['stage=nonsense']
	])('refuses %s with 400 and a message', async (query) => {
		await expectError(await apiFetch(`${server().url}/api/records?${query}`), 400);
	});
});

describe('POST /api/records/:id/archive', () => {
	const server = useServer();
	let archivedId: string;
	let keptId: string;

	const idsIn = (page: Page): string[] => page.rows.map((row) => row.id);

	beforeAll(async () => {
		archivedId = await createRecord(server(), { name: 'Wang Fang', stage: 'lead' });
		keptId = await createRecord(server(), { name: 'Sarah Miller', stage: 'lead' });
	});

	it('archives: 200, then hidden from the list but still readable, and listed with archived=1', async () => {
		const response = await postJson(server(), `/api/records/${archivedId}/archive`, { archived: true });
		expect(await expectJson(response, 200)).toEqual({ id: archivedId, archived: true });

		await eventually(async () => !idsIn(await list(server())).includes(archivedId), 'the archived record to leave the list');
		const visible = await list(server());
		expect(idsIn(visible)).toEqual([keptId]);
		expect(visible.total).toBe(1);
		// Filters hide it too.
		expect(idsIn(await list(server(), 'stage=lead'))).toEqual([keptId]);

		const record = await getRecord(server(), archivedId);
		expect(record.meta.archived).toBe(true);
		expect(record.fields.name).toBe('Wang Fang');

		const all = await list(server(), 'archived=1&sort=name');
		expect(all.total).toBe(2);
		expect(all.rows.find((row) => row.id === archivedId)).toMatchObject({ name: 'Wang Fang', archived: true });
		expect(all.rows.find((row) => row.id === keptId)).toMatchObject({ archived: false });
	});

	it('restores with {archived: false}', async () => {
		const response = await postJson(server(), `/api/records/${archivedId}/archive`, { archived: false });
		expect(await expectJson(response, 200)).toEqual({ id: archivedId, archived: false });
		await eventually(async () => idsIn(await list(server())).includes(archivedId), 'the restored record to return to the list');
		const visible = await list(server());
		expect(visible.total).toBe(2);
		expect(visible.rows.find((row) => row.id === archivedId)).toMatchObject({ archived: false });
		expect((await getRecord(server(), archivedId)).meta.archived).toBe(false);
	});

	it('answers an unknown id with 404 JSON, creating nothing', async () => {
		const before = await totalIncludingArchived(server());
		await expectError(await postJson(server(), `/api/records/${UNKNOWN_ID}/archive`, { archived: true }), 404);
		await expectError(await postJson(server(), '/api/records/not-a-record/archive', { archived: true }), 404);
		await expectError(await apiFetch(`${server().url}/api/records/${UNKNOWN_ID}`), 404);
		expect(await totalIncludingArchived(server())).toBe(before);
	});

	it.each([
		['a non-boolean archived', JSON.stringify({ archived: 'yes' })],
		['an empty object', '{}'],
		['null', 'null'],
		['a bare boolean', 'true'],
		['broken JSON', '{"archived": tru']
	])('answers %s with 400 and leaves the record as it was', async (_what, body) => {
		await expectError(await post(server(), `/api/records/${keptId}/archive`, body), 400);
		expect((await getRecord(server(), keptId)).meta.archived).toBe(false);
	});

	it('answers a body that is not JSON-typed with 415', async () => {
		await expectError(await post(server(), `/api/records/${keptId}/archive`, '{"archived": true}', 'application/xml'), 415);
		expect((await getRecord(server(), keptId)).meta.archived).toBe(false);
	});
});

describe('GET /api/records/:id', () => {
	const server = useServer();

	it('answers a record with its whole shape', async () => {
		const id = await createRecord(server(), { name: 'Chen Jie' }, { tags: ['new'], notes: 'hello' });
		const record = await getRecord(server(), id);
		expect(record).toMatchObject({ id, fields: { name: 'Chen Jie' }, tags: ['new'], contacts: [], activities: [], notes: 'hello' });
		expect(record.meta).toMatchObject({ schema: 1, workspace: 'demo', archived: false });
		expect(record.meta.createdBy).toMatch(/^token:[0-9a-f-]{36}$/); // made by the editor token of the test server
		expect(record).toMatchObject({ private: false });
		expect(Number.isNaN(Date.parse(record.meta.createdAt))).toBe(false);
	});

	it('answers an unknown UUID with 404 JSON and a message', async () => {
		const body = await expectError(await apiFetch(`${server().url}/api/records/${UNKNOWN_ID}`), 404);
		expect(body.message).toContain(UNKNOWN_ID);
	});

	it('answers an id that is not a UUID with 404 JSON and a message', async () => {
		await expectError(await apiFetch(`${server().url}/api/records/not-a-uuid`), 404);
		await expectError(await apiFetch(`${server().url}/api/records/${UNKNOWN_ID}x`), 404);
	});
});

describe('GET /healthz', () => {
	const server = useServer();

	it('reports ok with the store and bus in use', async () => {
		const response = await apiFetch(`${server().url}/healthz`);
		const health = await expectJson<Record<string, unknown>>(response, 200);
		expect(health.status).toBe('ok');
		expect(health.store).toBe(process.env.DATABASE_URL ? 'postgres' : 'pglite');
		expect(health.bus).toBe(process.env.REDIS_URL ? 'redis' : 'memory');
		expect(typeof health.documentsLoaded).toBe('number');
		expect(typeof health.connections).toBe('number');
		expect(typeof health.uptimeSeconds).toBe('number');
		expect(response.headers.get('cache-control')).toBe('no-store');
	});

	it('answers with a query string too', async () => {
		const health = await expectJson<Record<string, unknown>>(await apiFetch(`${server().url}/healthz?probe=1`), 200);
		expect(health.status).toBe('ok');
	});
});

describe('a demo-seeded server', () => {
	const server = useServer({ seedDemo: true, demoRecordCount: 30 });

	it('lists the 30 demo records, with Chinese and English names', async () => {
		const page = await list(server(), 'limit=500');
		expect(page.total).toBe(30);
		expect(page.rows).toHaveLength(30);
		expect(new Set(page.rows.map((row) => row.id)).size).toBe(30);
		const chinese = page.rows.filter((row) => /\p{Script=Han}/u.test(row.name));
		const english = page.rows.filter((row) => /^[A-Za-z][A-Za-z' .-]*$/.test(row.name));
		expect(chinese.length).toBeGreaterThan(0);
		expect(english.length).toBeGreaterThan(0);
		for (const row of page.rows) expect(row.name.trim()).not.toBe('');
	});
});
