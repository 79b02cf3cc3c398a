/**
 * Who may do what, on every path: roles (admin, editor, viewer) signed in through the
 * development provider or holding API tokens, against each API operation and page, on
 * their own records, other people's, and private ones; and the same rules on the
 * WebSocket endpoints /y/<id> and /sync.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import WebSocket from 'ws';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { MessageType } from '../../src/lib/protocol/index.ts';
import type { Role } from '../../src/lib/access.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually, startTestServer, tokenFor } from '../support/server.ts';
import { sessionFetch, signInWithFetch, type SignedIn } from '../support/sessions.ts';
import { syncClient, type SyncTestClient } from '../support/sync-client.ts';

// ---------------------------------------------------------------------------------------------
// Who asks

interface ActorSpec {
	label: string;
	role: Role;
	via: 'session' | 'token';
	/** The demo person signed in, for sessions. */
	user?: string;
}

const ACTORS: readonly ActorSpec[] = [
	{ label: 'alice (admin, session)', role: 'admin', via: 'session', user: 'alice' },
	{ label: 'admin API token', role: 'admin', via: 'token' },
	{ label: 'bob (editor, session)', role: 'editor', via: 'session', user: 'bob' },
	{ label: 'editor API token', role: 'editor', via: 'token' },
	{ label: 'carol (viewer, session)', role: 'viewer', via: 'session', user: 'carol' },
	{ label: 'viewer API token', role: 'viewer', via: 'token' }
];

interface Actor extends ActorSpec {
	/** The actor id the server uses: the user id, or token:<id>. */
	id: string;
	session?: SignedIn;
	token?: string;
}

const KINDS = ['own', 'other', 'private-other', 'private-own'] as const;
type Kind = (typeof KINDS)[number];

let server: RunningServer;
const actors = new Map<string, Actor>();
/** Record ids by actor label and kind. */
const records = new Map<string, Record<Kind, string>>();

function actor(spec: ActorSpec): Actor {
	const found = actors.get(spec.label);
	if (!found) throw new Error(`actor ${spec.label} not set up`);
	return found;
}

/** A request as this actor (null: nobody), never following redirects. */
function as(who: Actor | null, path: string, init: RequestInit = {}): Promise<Response> {
	if (who?.session) return sessionFetch(server, who.session, path, init);
	const headers = new Headers(init.headers);
	if (who?.token) headers.set('authorization', `Bearer ${who.token}`);
	return fetch(new URL(path, server.url), { redirect: 'manual', ...init, headers });
}

function jsonInit(method: string, body: unknown): RequestInit {
	return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

const isPrivate = (kind: Kind) => kind.startsWith('private');
const isOwn = (kind: Kind) => kind === 'own' || kind === 'private-own';
const visible = (who: Actor, kind: Kind) => !isPrivate(kind) || who.role === 'admin' || isOwn(kind);

async function makeRecord(name: string, owner: string, makePrivate: boolean): Promise<string> {
	const created = await apiFetch(`${server.url}/api/records`, jsonInit('POST', { fields: { name, owner } }), 'admin');
	expect(created.status).toBe(201);
	const { id } = (await created.json()) as { id: string };
	if (makePrivate) {
		const response = await apiFetch(`${server.url}/api/records/${id}/private`, jsonInit('POST', { private: true }), 'admin');
		expect(response.status).toBe(200);
	}
	return id;
}

async function createToken(role: Role, name: string): Promise<{ id: string; token: string }> {
	const response = await apiFetch(`${server.url}/api/tokens`, jsonInit('POST', { name, role }), 'admin');
	expect(response.status).toBe(201);
	return (await response.json()) as { id: string; token: string };
}

beforeAll(async () => {
	server = await startTestServer();
	const listed = (await (await apiFetch(`${server.url}/api/tokens`, {}, 'admin')).json()) as { tokens: Array<{ id: string; name: string }> };
	for (const spec of ACTORS) {
		if (spec.via === 'session') {
			actors.set(spec.label, { ...spec, id: spec.user!, session: await signInWithFetch(server, spec.user!) });
		} else {
			const tokenId = listed.tokens.find((t) => t.name === `test ${spec.role}`)!.id;
			actors.set(spec.label, { ...spec, id: `token:${tokenId}`, token: tokenFor(server, spec.role) });
		}
	}
	const otherOwner = 'li.wei';
	const privateOwner = 'wang.fang';
	const shared = { other: await makeRecord('Shared Other', otherOwner, false), 'private-other': await makeRecord('Private Other', privateOwner, true) };
	for (const who of actors.values()) {
		records.set(who.label, {
			...shared,
			own: await makeRecord(`Own of ${who.label}`, who.id, false),
			'private-own': await makeRecord(`Private own of ${who.label}`, who.id, true)
		});
	}
});

afterAll(async () => {
	await server?.close();
});

// ---------------------------------------------------------------------------------------------
// HTTP: the matrix

interface RecordOp {
	name: string;
	/** Expected outcome (status, or 'listed'/'absent'), for this actor on this kind of record. */
	expected(who: Actor, kind: Kind): number | string;
	actual(who: Actor, id: string, kind: Kind): Promise<number | string>;
}

const RECORD_OPS: readonly RecordOp[] = [
	{
		name: 'GET /api/records (listed or not)',
		expected: (who, kind) => (visible(who, kind) ? 'listed' : 'absent'),
		async actual(who, id) {
			const response = await as(who, '/api/records?limit=500');
			if (response.status !== 200) return `HTTP ${response.status}`;
			const page = (await response.json()) as { rows: Array<{ id: string }> };
			return page.rows.some((row) => row.id === id) ? 'listed' : 'absent';
		}
	},
	{
		name: 'GET /api/records/:id',
		expected: (who, kind) => (visible(who, kind) ? 200 : 404),
		actual: async (who, id) => (await as(who, `/api/records/${id}`)).status
	},
	{
		name: 'POST /api/records/:id/archive',
		// Viewers are refused by role before the record is looked up, so the 403 says nothing about it.
		expected: (who, kind) => (who.role === 'viewer' ? 403 : visible(who, kind) ? 200 : 404),
		actual: async (who, id) => (await as(who, `/api/records/${id}/archive`, jsonInit('POST', { archived: false }))).status
	},
	{
		name: 'POST /api/records/:id/private',
		// As with archive, viewers are refused by role first: their 403 says nothing of the record.
		expected: (who, kind) => (who.role === 'viewer' ? 403 : !visible(who, kind) ? 404 : who.role === 'admin' || isOwn(kind) ? 200 : 403),
		// Sets the value the record already has, so the matrix stays as it was set up.
		actual: async (who, id, kind) => (await as(who, `/api/records/${id}/private`, jsonInit('POST', { private: isPrivate(kind) }))).status
	},
	{
		name: 'GET /records/:id (page)',
		expected: (who, kind) => (visible(who, kind) ? 200 : 404),
		actual: async (who, id) => (await as(who, `/records/${id}`, { headers: { accept: 'text/html' } })).status
	}
];

interface Op {
	name: string;
	expected(who: Actor): number;
	/** Returns the status; may check more (and throw) on the way. */
	run(who: Actor): Promise<number>;
}

const adminOnly = (ok: number) => (who: Actor) => (who.role === 'admin' ? ok : 403);

const OPS: readonly Op[] = [
	{
		name: 'POST /api/records',
		expected: (who) => (who.role === 'viewer' ? 403 : 201),
		run: async (who) => (await as(who, '/api/records', jsonInit('POST', { fields: { name: `Made by ${who.label}` } }))).status
	},
	{
		name: 'GET /api/members',
		expected: adminOnly(200),
		async run(who) {
			const response = await as(who, '/api/members');
			if (response.status === 200) {
				const { members } = (await response.json()) as { members: Array<{ id: string; role: string }> };
				expect(members.find((m) => m.id === 'bob')?.role).toBe('editor');
			}
			return response.status;
		}
	},
	{
		name: 'PUT /api/members/:id',
		expected: adminOnly(200),
		async run(who) {
			// li.wei is a viewer already: the change, if allowed, changes nothing.
			const status = (await as(who, '/api/members/li.wei', jsonInit('PUT', { role: 'viewer' }))).status;
			expect((await server.accord.database.auth.membership('demo', 'li.wei'))?.role).toBe('viewer');
			return status;
		}
	},
	{
		name: 'GET /api/tokens',
		expected: adminOnly(200),
		async run(who) {
			const response = await as(who, '/api/tokens');
			if (response.status === 200) {
				const text = await response.text();
				// Listed, never revealed: no secret and no hash of one.
				expect(text).not.toContain(tokenFor(server, 'editor'));
				expect(text).not.toMatch(/acc_[\w-]{20,}|token_?hash|"token"/i);
				expect((JSON.parse(text) as { tokens: unknown[] }).tokens.length).toBeGreaterThanOrEqual(3);
			}
			return response.status;
		}
	},
	{
		name: 'POST /api/tokens',
		expected: adminOnly(201),
		async run(who) {
			const response = await as(who, '/api/tokens', jsonInit('POST', { name: `by ${who.label}`, role: 'viewer' }));
			if (response.status === 201) {
				const { token } = (await response.json()) as { token: string };
				expect((await fetch(`${server.url}/api/records`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
			}
			return response.status;
		}
	},
	{
		name: 'DELETE /api/tokens/:id',
		expected: adminOnly(200),
		async run(who) {
			const target = await createToken('viewer', `target of ${who.label}`);
			const status = (await as(who, `/api/tokens/${target.id}`, { method: 'DELETE' })).status;
			const after = (await fetch(`${server.url}/api/records`, { headers: { authorization: `Bearer ${target.token}` } })).status;
			expect(after, 'the target token works unless it was revoked').toBe(status === 200 ? 401 : 200);
			return status;
		}
	},
	{
		name: 'GET /records (page)',
		expected: () => 200,
		run: async (who) => (await as(who, '/records', { headers: { accept: 'text/html' } })).status
	}
];

describe('the HTTP access matrix', () => {
	for (const spec of ACTORS) {
		describe(spec.label, () => {
			for (const op of RECORD_OPS) {
				it(`${op.name} on own, other's, private-of-other and private-own records`, async () => {
					const who = actor(spec);
					const ids = records.get(who.label)!;
					const rows: string[] = [];
					for (const kind of KINDS) {
						const expected = op.expected(who, kind);
						const actual = await op.actual(who, ids[kind], kind);
						if (actual !== expected) rows.push(`${kind}: expected ${expected}, got ${actual}`);
					}
					expect(rows).toEqual([]);
				});
			}
			for (const op of OPS) {
				it(op.name, async () => {
					const who = actor(spec);
					expect(await op.run(who)).toBe(op.expected(who));
				});
			}
		});
	}

	it('a refusal about a private record of someone else looks exactly like one about a record that does not exist', async () => {
		const missing = randomUUID();
		for (const spec of ACTORS.filter((a) => a.role !== 'admin')) {
			const who = actor(spec);
			const hidden = records.get(who.label)!['private-other'];
			for (const [method, suffix, body] of [
				['GET', '', undefined],
				['POST', '/archive', { archived: false }],
				['POST', '/private', { private: true }]
			] as const) {
				const init = body ? jsonInit(method, body) : { method };
				const a = await as(who, `/api/records/${hidden}${suffix}`, init);
				const b = await as(who, `/api/records/${missing}${suffix}`, init);
				expect([spec.label, method, suffix, a.status]).toEqual([spec.label, method, suffix, b.status]);
				const message = ((await a.json()) as { message: string }).message.replace(hidden, '<id>');
				expect(message).toBe(((await b.json()) as { message: string }).message.replace(missing, '<id>'));
			}
		}
	});

	it('without credentials: 401 on every API path, a redirect to sign-in on pages', async () => {
		const id = records.get(ACTORS[0].label)!.other;
		const api: Array<[string, string, unknown?]> = [
			['GET', '/api/records'],
			['POST', '/api/records', { fields: { name: 'Nobody' } }],
			['GET', `/api/records/${id}`],
			['POST', `/api/records/${id}/archive`, { archived: true }],
			['POST', `/api/records/${id}/private`, { private: true }],
			['GET', '/api/members'],
			['PUT', '/api/members/bob', { role: 'admin' }],
			['GET', '/api/tokens'],
			['POST', '/api/tokens', { name: 'x', role: 'admin' }],
			['DELETE', `/api/tokens/${randomUUID()}`]
		];
		const credentials: Array<[string, Record<string, string>]> = [
			['none', {}],
			['a made-up bearer token', { authorization: 'Bearer acc_not-a-real-token' }],
			['a made-up session cookie', { cookie: 'accord_session=acs_not-a-real-session' }]
		];
		for (const [label, headers] of credentials) {
			for (const [method, path, body] of api) {
				const response = await fetch(new URL(path, server.url), {
					method,
					headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
					body: body ? JSON.stringify(body) : undefined,
					redirect: 'manual'
				});
				expect([label, method, path, response.status]).toEqual([label, method, path, 401]);
				expect(((await response.json()) as { message: string }).message).toMatch(/Sign in/);
			}
			for (const page of ['/records', `/records/${id}`, '/']) {
				const response = await fetch(new URL(page, server.url), { headers, redirect: 'manual' });
				expect([label, page, response.status]).toEqual([label, page, 303]);
				expect(response.headers.get('location')).toBe(`/auth/sign-in?returnTo=${encodeURIComponent(page)}`);
			}
		}
		// Nothing was archived or made private by any of it.
		expect((await apiFetch(`${server.url}/api/records/${id}`, {}, 'admin').then((r) => r.json())) as { private: boolean }).toMatchObject({ private: false });
	});

	it('a revoked API token gets 401 from then on, on HTTP and WebSocket alike', async () => {
		const { id, token } = await createToken('editor', 'short-lived');
		const bearer = { authorization: `Bearer ${token}` };
		expect((await fetch(`${server.url}/api/records`, { headers: bearer })).status).toBe(200);
		expect((await upgrade(`/sync?token=${token}`)).status).toBe(101);
		const revoke = await apiFetch(`${server.url}/api/tokens/${id}`, { method: 'DELETE' }, 'admin');
		expect(revoke.status).toBe(200);
		expect((await fetch(`${server.url}/api/records`, { headers: bearer })).status).toBe(401);
		expect((await fetch(`${server.url}/records`, { headers: bearer, redirect: 'manual' })).status).toBe(303);
		expect((await upgrade(`/sync?token=${token}`)).status).toBe(401);
		const listed = (await (await apiFetch(`${server.url}/api/tokens`, {}, 'admin')).json()) as { tokens: Array<{ id: string; revokedAt: string | null }> };
		expect(listed.tokens.find((t) => t.id === id)?.revokedAt).toEqual(expect.any(String));
		// Revoking twice finds nothing to revoke.
		expect((await apiFetch(`${server.url}/api/tokens/${id}`, { method: 'DELETE' }, 'admin')).status).toBe(404);
	});
});

// ---------------------------------------------------------------------------------------------
// WebSockets

/**
 * How an upgrade went: 101 and open, or the HTTP status it was refused with; and how many
 * messages (or record data in the refusal) came. A raw socket, not the test client: it
 * reads the body of a refused upgrade, for record data that must not be in it.
 */
function upgrade(pathAndQuery: string, headers: Record<string, string> = {}): Promise<{ status: number; messages: number }> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(new URL(pathAndQuery, server.url.replace(/^http/, 'ws')), { headers });
		let messages = 0;
		socket.on('message', () => messages++);
		socket.on('unexpected-response', (_req, res) => {
			let body = '';
			res.on('data', (chunk: Buffer) => (body += chunk.toString()));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, messages: messages + (/Private|Shared|Own of|Viewer on/.test(body) ? 1 : 0) }));
		});
		socket.on('open', () => setTimeout(() => {
			socket.close();
			resolve({ status: 101, messages });
		}, 50));
		socket.on('error', (error) => {
			if (!String(error.message).includes('Unexpected server response')) reject(error);
		});
	});
}

async function storedFields(id: string): Promise<ReturnType<typeof fieldsOf>> {
	const stored = await server.accord.database.documents.loadDocument(id);
	const doc = new Y.Doc();
	for (const update of stored!.snapshot ? [stored!.snapshot, ...stored!.updates] : stored!.updates) Y.applyUpdate(doc, update);
	return fieldsOf(doc);
}

describe('access on the WebSocket endpoints', () => {
	const clients: SyncTestClient[] = [];
	const bySpec = (label: string) => actor(ACTORS.find((a) => a.label === label)!);
	const editorToken = () => bySpec('editor API token');
	const viewerToken = () => bySpec('viewer API token');
	const bob = () => bySpec('bob (editor, session)');
	const carol = () => bySpec('carol (viewer, session)');
	const aliceSession = () => bySpec('alice (admin, session)');

	/** A client of /sync or /y/<id>, signed in as `who` by session cookie or API token. */
	function client(path: string, who: { session?: SignedIn; token?: string }): SyncTestClient {
		const c = syncClient(server, who.session ? { cookie: who.session.cookie } : { token: who.token! }, { path });
		clients.push(c);
		return c;
	}

	afterAll(() => {
		for (const c of clients) c.disconnect();
	});

	it('refuses an upgrade without credentials, or with made-up ones, with HTTP 401 before any data', async () => {
		const id = records.get(ACTORS[0].label)!.other;
		for (const path of ['/sync', `/y/${id}`]) {
			expect(await upgrade(path)).toEqual({ status: 401, messages: 0 });
			expect(await upgrade(`${path}?token=acc_made-up`)).toEqual({ status: 401, messages: 0 });
			expect(await upgrade(path, { authorization: 'Bearer acc_made-up' })).toEqual({ status: 401, messages: 0 });
			expect(await upgrade(path, { cookie: 'accord_session=acs_made-up' })).toEqual({ status: 401, messages: 0 });
		}
		// Control: the same paths open with real credentials.
		expect((await upgrade(`/y/${id}?token=${tokenFor(server, 'viewer')}`)).status).toBe(101);
		expect((await upgrade('/sync', { cookie: carol().session!.cookie })).status).toBe(101);
	});

	it("/y/<private record of someone else> closes with 4404 and sends no document data, for a token and a session", async () => {
		for (const who of [editorToken(), bob(), carol()]) {
			const hidden = records.get(who.label)!['private-other'];
			const c = client(`/y/${hidden}`, who);
			await eventually(() => c.closed !== null, `${who.label}'s socket to close`, 5_000);
			expect(c.closed!.code).toBe(4404);
			expect(c.frames).toEqual([]);
			expect(fieldsOf(c.doc(hidden)).get('name')).toBeUndefined();
		}
		// Its owner's admin sees it; bob sees his own private record.
		const admin = client(`/y/${records.get(aliceSession().label)!['private-other']}`, aliceSession());
		await eventually(() => fieldsOf(admin.doc(records.get(aliceSession().label)!['private-other'])).get('name') === 'Private Other', 'the admin to sync it');
		const ownId = records.get(bob().label)!['private-own'];
		const own = client(`/y/${ownId}`, bob());
		await eventually(() => fieldsOf(own.doc(ownId)).get('name') === `Private own of ${bob().label}`, 'bob to sync his private record');
	});

	it('/sync answers a private record of someone else with refused not-found, and keeps serving the rest', async () => {
		for (const who of [editorToken(), carol()]) {
			const ids = records.get(who.label)!;
			const c = client('/sync', who);
			await c.ready;
			const hidden = c.open(ids['private-other']);
			const shown = c.open(ids.other);
			await eventually(() => c.of(ids['private-other'], MessageType.refused).length === 1, 'the refusal');
			expect(c.of(ids['private-other'], MessageType.refused)[0].detail).toMatchObject({ code: 'not-found' });
			await eventually(() => fieldsOf(shown).get('name') === 'Shared Other', 'the visible record to sync');
			expect(c.of(ids['private-other'], MessageType.sync)).toEqual([]);
			expect(fieldsOf(hidden).get('name')).toBeUndefined();
			expect(c.closed).toBeNull();
		}
	});

	it("a viewer's update on /y/<id> is refused with permission-denied and reaches nobody; the viewer keeps receiving", async () => {
		const id = await makeRecord('Viewer on y', 'li.wei', false);
		const editor = client('/sync', editorToken());
		await editor.ready;
		const editorDoc = editor.open(id);
		const viewer = client(`/y/${id}`, carol());
		await viewer.ready;
		const viewerDoc = viewer.doc(id);
		await eventually(() => fieldsOf(viewerDoc).get('name') === 'Viewer on y' && fieldsOf(editorDoc).get('name') === 'Viewer on y', 'both to sync');

		fieldsOf(viewerDoc).set('city', 'Viewer Town');
		await eventually(() => viewer.of(id, MessageType.auth).length > 0, 'the viewer to be told');
		expect(viewer.of(id, MessageType.auth)[0].detail).toMatchObject({ permissionDenied: expect.stringMatching(/viewer/) });

		fieldsOf(editorDoc).set('stage', 'qualified');
		await eventually(() => fieldsOf(viewerDoc).get('stage') === 'qualified', "the editor's later edit to reach the viewer");
		// Not the editor's `saved`: one may be left over from its initial sync. The stored record itself says when.
		await eventually(async () => (await storedFields(id)).get('stage') === 'qualified', "the editor's edit to be stored");
		expect(fieldsOf(editorDoc).get('city')).toBeUndefined();
		expect(fieldsOf(server.accord.rooms.loaded(id)!.doc).get('city')).toBeUndefined();
		expect((await storedFields(id)).get('city')).toBeUndefined();
		expect(viewer.closed).toBeNull();
	});

	it("a viewer's update on /sync is refused as read-only and reaches nobody; the viewer keeps receiving", async () => {
		const id = await makeRecord('Viewer on sync', 'li.wei', false);
		const editor = client(`/y/${id}`, bob());
		await editor.ready;
		const editorDoc = editor.doc(id);
		const viewer = client('/sync', viewerToken());
		await viewer.ready;
		const viewerDoc = viewer.open(id);
		await eventually(() => fieldsOf(viewerDoc).get('name') === 'Viewer on sync' && fieldsOf(editorDoc).get('name') === 'Viewer on sync', 'both to sync');

		fieldsOf(viewerDoc).set('city', 'Viewer Town');
		await eventually(() => viewer.of(id, MessageType.refused).length > 0, 'the viewer to be told');
		expect(viewer.of(id, MessageType.refused)[0].detail).toMatchObject({ code: 'read-only' });
		// The viewer's empty catch-up (sync step 2) may be acknowledged; the refused edit never is.
		expect(viewer.of(id, MessageType.saved).map((m) => m.detail)).toEqual(viewer.of(id, MessageType.saved).length ? [1] : []);

		fieldsOf(editorDoc).set('stage', 'proposal');
		await eventually(() => fieldsOf(viewerDoc).get('stage') === 'proposal', "the editor's later edit to reach the viewer");
		await eventually(async () => (await storedFields(id)).get('stage') === 'proposal', "the editor's edit to be stored");
		expect(fieldsOf(editorDoc).get('city')).toBeUndefined();
		expect((await storedFields(id)).get('city')).toBeUndefined();
		expect(viewer.closed).toBeNull();
		expect(viewer.of(id, MessageType.refused)).toHaveLength(1);
	});

	it('refuses a cookie-authenticated socket opened from another site', async () => {
		const cookie = bob().session!.cookie;
		// Control: from Accord's own pages, and with an API token from anywhere (tokens are not sent by browsers on their own).
		expect((await upgrade('/sync', { cookie, origin: new URL(server.url).origin })).status).toBe(101);
		expect((await upgrade(`/sync?token=${tokenFor(server, 'editor')}`, { origin: 'http://evil.example' })).status).toBe(101);
		// A page on another site riding on the session cookie must not get a socket that can read and write.
		const crossSite = await upgrade('/sync', { cookie, origin: 'http://evil.example' });
		expect(crossSite.status).toBe(403);
		expect(crossSite.messages).toBe(0);
	});

	it('revoking an API token closes its open sockets', async () => {
		const { id, token } = await createToken('editor', 'revoked while connected');
		const c = client('/sync', { token });
		await c.ready;
		expect((await apiFetch(`${server.url}/api/tokens/${id}`, { method: 'DELETE' }, 'admin')).status).toBe(200);
		await eventually(() => c.closed !== null, 'the revoked token’s socket to close', 5_000);
		expect(c.closed!.code).toBe(4401);
	});

	it('making a record private evicts the editors who may no longer see it, and keeps its owner', async () => {
		const id = await makeRecord('Soon private', bob().id, false);
		const owner = client('/sync', bob());
		const other = client('/sync', editorToken());
		const single = client(`/y/${id}`, editorToken());
		await Promise.all([owner.ready, other.ready, single.ready]);
		const ownerDoc = owner.open(id);
		const otherDoc = other.open(id);
		await eventually(
			() => [ownerDoc, otherDoc, single.doc(id)].every((d) => fieldsOf(d).get('name') === 'Soon private'),
			'all three to sync'
		);

		const response = await sessionFetch(server, bob().session!, `/api/records/${id}/private`, jsonInit('POST', { private: true }));
		expect(response.status).toBe(200);
		await eventually(() => other.of(id, MessageType.refused).length === 1, 'the other editor to be evicted');
		expect(other.of(id, MessageType.refused)[0].detail).toMatchObject({ code: 'not-found' });
		await eventually(() => single.closed !== null, 'the /y socket to close');
		expect(single.closed!.code).toBe(4404);

		// The owner carries on; what they write no longer reaches the evicted editor.
		fieldsOf(ownerDoc).set('city', 'Private Plans City');
		await eventually(() => owner.of(id, MessageType.saved).length > 0, "the owner's edit to be stored");
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(fieldsOf(otherDoc).get('city')).toBeUndefined();
		expect(owner.of(id, MessageType.refused)).toEqual([]);
		expect(other.closed).toBeNull();
		// Nor can the evicted editor come back.
		other.open(id);
		await eventually(() => other.of(id, MessageType.refused).length === 2, 'the reopen to be refused');
	});
	it('a person demoted to viewer while connected can no longer write on their open socket', async () => {
		const id = await makeRecord('Demotion Ltd', 'li.wei', false);
		const c = client('/sync', bob());
		await c.ready;
		const doc = c.open(id);
		await eventually(() => fieldsOf(doc).get('name') === 'Demotion Ltd', 'bob to sync');
		// Bob's own catch-up (sync step 2) is acknowledged while he is still an editor.
		await eventually(() => c.of(id, MessageType.saved).length > 0, "bob's catch-up to be acknowledged");
		const savedBefore = c.of(id, MessageType.saved).length;
		const setRole = (role: Role) => apiFetch(`${server.url}/api/members/bob`, jsonInit('PUT', { role }), 'admin');
		try {
			expect((await setRole('viewer')).status).toBe(200);
			// HTTP sees the new role at once.
			expect((await sessionFetch(server, bob().session!, '/api/records', jsonInit('POST', { fields: { name: 'x' } }))).status).toBe(403);
			fieldsOf(doc).set('city', 'Written after demotion');
			await eventually(() => c.of(id, MessageType.refused).length > 0 || c.of(id, MessageType.saved).length > savedBefore || c.closed !== null, 'an answer');
			expect(c.of(id, MessageType.saved)).toHaveLength(savedBefore);
			expect(c.of(id, MessageType.refused).at(-1)?.detail).toMatchObject({ code: 'read-only' });
			expect((await storedFields(id)).get('city')).toBeUndefined();
		} finally {
			expect((await setRole('editor')).status).toBe(200);
		}
	});
});
