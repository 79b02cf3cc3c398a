/**
 * Attacks on the HTTP surface of a running server, each as a browser or an integration
 * would make it: open redirects through `returnTo` (the sign-in page and /auth/login),
 * login CSRF (a callback URL opened in a browser that did not start the sign-in), odd
 * query and body values that used to end in 500s, and API tokens in the address.
 * Real server (tests/support/server.ts), real HTTP, redirects never followed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, startTestServer, tokenFor } from '../support/server.ts';
import { completeSignIn, FetchBrowser, reachCallback, sessionFetch, signInWithFetch, type SignedIn } from '../support/sessions.ts';
import { syncClient } from '../support/sync-client.ts';

/** The cookie that binds a sign-in to the browser that started it. */
const BINDING_COOKIE = 'accord_sign_in';

/** Values of `returnTo` that browsers resolve to another origin, or that hide one behind control characters. */
const HOSTILE_RETURNS: readonly string[] = [
	'/\\evil.example/x',
	'/\t/evil.example/x',
	'/\n/evil.example/x',
	'\t//evil.example/x',
	'//evil.example/x',
	'\\\\evil.example/x',
	'/\\/evil.example/x',
	'/.//evil.example/x',
	'/..//evil.example/x',
	'https://evil.example/x',
	'https:evil.example/x',
	'javascript:alert(1)',
	' //evil.example/x',
	'/records\r\nSet-Cookie: planted=1',
	'/records\u0000',
	''
];

/** Where a Location header sends a browser that is at `from`. */
function target(response: Response, from: string): URL {
	const location = response.headers.get('location');
	if (location === null) throw new Error(`HTTP ${response.status} without a Location header`);
	return new URL(location, from);
}

/** A refusal an integration can act on: the status, JSON, and a sentence in `message`. */
async function expectRefusal(response: Response, status = 400): Promise<string> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	expect(response.headers.get('content-type') ?? '').toContain('application/json');
	const body = JSON.parse(text) as { message?: unknown };
	expect(typeof body.message).toBe('string');
	expect((body.message as string).length).toBeGreaterThan(10);
	return body.message as string;
}

function sessionCookieSet(response: Response): boolean {
	return response.headers.getSetCookie().some((line) => line.startsWith('accord_session='));
}

let server: RunningServer;
let origin: string;

beforeAll(async () => {
	server = await startTestServer();
	origin = new URL(server.url).origin;
});
afterAll(async () => {
	await server.close();
});

describe('returnTo: the browser only ever returns to a path of Accord', () => {
	let bob: SignedIn;

	beforeAll(async () => {
		bob = await signInWithFetch(server, 'bob');
	});

	it('the sign-in page sends a signed-in person to a same-origin path, whatever returnTo says', async () => {
		for (const value of HOSTILE_RETURNS) {
			const response = await sessionFetch(server, bob, `/auth/sign-in?returnTo=${encodeURIComponent(value)}`);
			expect([JSON.stringify(value), response.status]).toEqual([JSON.stringify(value), 303]);
			const location = response.headers.get('location') ?? '';
			expect(location, JSON.stringify(value)).not.toMatch(/[\u0000-\u001f\u007f]/);
			const where = target(response, server.url);
			expect([JSON.stringify(value), where.origin]).toEqual([JSON.stringify(value), origin]);
			expect([JSON.stringify(value), where.pathname]).toEqual([JSON.stringify(value), '/records']);
			expect(response.headers.getSetCookie().some((line) => line.startsWith('planted='))).toBe(false);
		}
	});

	it('keeps a same-origin path with its query and fragment, and an absolute URL of Accord as its path', async () => {
		for (const [value, expected] of [
			['/records?stage=won', '/records?stage=won'],
			['/records/abc?x=1#notes', '/records/abc?x=1#notes'],
			[`${origin}/settings?tab=2`, '/settings?tab=2']
		]) {
			const response = await sessionFetch(server, bob, `/auth/sign-in?returnTo=${encodeURIComponent(value)}`);
			expect(response.status).toBe(303);
			expect(response.headers.get('location')).toBe(expected);
		}
	});

	it('the sign-in page hands only a safe path on to /auth/login', async () => {
		const response = await fetch(`${server.url}/auth/sign-in?returnTo=${encodeURIComponent('/\t/evil.example/x')}`, { redirect: 'manual' });
		expect(response.status).toBe(200);
		const html = await response.text();
		const value = /name="returnTo" value="([^"]*)"/.exec(html)?.[1];
		expect(value).toBe('/records');
	});

	it('/auth/login keeps only a same-origin path for after the callback', async () => {
		for (const value of ['/\\evil.example/x', '/\t/evil.example/x', '/.//evil.example/x', 'https://evil.example/x']) {
			const back = await completeSignIn(await reachCallback(server, 'bob', new FetchBrowser(), value));
			const where = new URL(back.location, server.url);
			expect([JSON.stringify(value), where.origin, where.pathname]).toEqual([JSON.stringify(value), origin, '/records']);
		}
		const kept = await completeSignIn(await reachCallback(server, 'bob', new FetchBrowser(), '/records?stage=won#top'));
		expect(kept.location).toBe('/records?stage=won#top');
	});

	it('control characters in returnTo never reach a Location header, and never a 500', async () => {
		for (const value of ['/records\r\nSet-Cookie: planted=1', '/records\u0000', '/re\u0007cords']) {
			const login = await fetch(`${server.url}/auth/login?returnTo=${encodeURIComponent(value)}`, { redirect: 'manual' });
			expect([JSON.stringify(value), login.status]).toEqual([JSON.stringify(value), 303]);
			// Off to the provider; the path for afterwards is decided on the way back.
			expect(target(login, server.url).pathname).toBe('/idp/auth');
			const back = await completeSignIn(await reachCallback(server, 'bob', new FetchBrowser(), value));
			expect([JSON.stringify(value), back.location]).toEqual([JSON.stringify(value), '/records']);
		}
	});
});

describe('login CSRF: a sign-in completes only in the browser that started it', () => {
	it('/auth/login sets a short-lived HttpOnly, SameSite=Lax cookie on /auth', async () => {
		const response = await fetch(`${server.url}/auth/login`, { redirect: 'manual' });
		expect(response.status).toBe(303);
		const line = response.headers.getSetCookie().find((l) => l.startsWith(`${BINDING_COOKIE}=`));
		expect(line).toBeDefined();
		const attributes = line!.split(';').map((a) => a.trim().toLowerCase());
		expect(attributes[0].length).toBeGreaterThan(`${BINDING_COOKIE}=`.length + 20);
		expect(attributes).toContain('httponly');
		expect(attributes).toContain('samesite=lax');
		expect(attributes).toContain('path=/auth');
		expect(attributes).toContain('max-age=600');
	});

	it("an attacker's unvisited callback signs nobody in elsewhere; in the attacker's own browser it does", async () => {
		// Browser A (the attacker's) starts signing in as carol and stops before the callback.
		const attempt = await reachCallback(server, 'carol', new FetchBrowser());
		expect(attempt.browser.jar.get(attempt.callback.host, BINDING_COOKIE)).toBeDefined();

		// The victim's browser, with no sign-in of its own under way, opens the link.
		const victim = await new FetchBrowser().request(attempt.callback);
		expect(victim.status).toBe(400);
		expect(sessionCookieSet(victim)).toBe(false);
		const html = await victim.text();
		expect(html).toContain('This sign-in was started in another browser or has expired; sign in again.');

		// A victim who started a sign-in of their own has a binding cookie, but not this one.
		const other = new FetchBrowser();
		const started = await other.request(new URL('/auth/login', server.url));
		expect(started.status).toBe(303);
		expect(other.jar.get(attempt.callback.host, BINDING_COOKIE)).toBeDefined();
		const mismatch = await other.request(attempt.callback);
		expect(mismatch.status).toBe(400);
		expect(sessionCookieSet(mismatch)).toBe(false);
		expect(await mismatch.text()).toContain('started in another browser');

		// A signed-in victim stays who they were.
		const bob = await signInWithFetch(server, 'bob');
		const signedInVictim = await fetch(attempt.callback, { headers: { cookie: bob.cookie }, redirect: 'manual' });
		expect(signedInVictim.status).toBe(400);
		expect(sessionCookieSet(signedInVictim)).toBe(false);

		// The refusals spent nothing: in browser A the callback signs carol in, and the binding cookie is cleared.
		const carol = await completeSignIn(attempt);
		expect(carol.location).toBe('/records');
		expect(attempt.browser.jar.get(attempt.callback.host, BINDING_COOKIE)).toBeUndefined();
		const me = await sessionFetch(server, carol, '/api/records');
		expect(me.status).toBe(200);
	});

	it('a callback used once cannot be used again, even with its binding cookie', async () => {
		const attempt = await reachCallback(server, 'bob', new FetchBrowser());
		const binding = attempt.browser.jar.get(attempt.callback.host, BINDING_COOKIE)!;
		await completeSignIn(attempt);
		const replay = await fetch(attempt.callback, { headers: { cookie: `${BINDING_COOKIE}=${binding}` }, redirect: 'manual' });
		expect(replay.status).toBe(400);
		expect(sessionCookieSet(replay)).toBe(false);
		expect(await replay.text()).toContain('already used or has expired');
	});
});

describe('odd parameters: 400 with a reason, never 500', () => {
	let recordId: string;
	let alice: SignedIn;

	beforeAll(async () => {
		recordId = await createRecord(server, { name: 'Parameter Ltd', owner: 'bob' });
		alice = await signInWithFetch(server, 'alice');
	});

	const QUERIES: ReadonlyArray<[path: string, query: string]> = [
		['/api/records', 'owner=%00'],
		['/api/records', 'owner=bo%00b'],
		['/api/records', 'owner=%01'],
		['/api/records', 'offset=1e300'],
		['/api/records', 'offset=99999999999999999999'],
		['/api/records', 'limit=1e1'],
		['/api/records', 'offset=0x10'],
		['/api/records', 'stage=%00'],
		['/api/audit', 'person=%00'],
		['/api/audit', 'field=%00'],
		['/api/audit', 'record=%00'],
		['/api/audit', 'source=%00'],
		['/api/audit', 'op=%00'],
		['/api/audit', 'offset=1e300'],
		['/api/audit', 'from=99999-01-01'],
		['/api/audit', 'from=%2B275760-09-13'],
		['/api/audit', 'to=-000001-01-01'],
		['/api/audit', 'from=0000-01-01'],
		['/api/audit', 'to=9999-12-31T23:59:59-01:00'],
		['/api/audit', 'from=2025-02-30'],
		['/api/audit', 'from=1e300'],
		['/api/audit', 'person=%00&format=csv'],
		['/api/audit', 'from=99999-01-01&format=csv'],
		['/api/records/:id/history', 'field=%00'],
		['/api/records/:id/history', 'person=%00'],
		['/api/records/:id/history', 'offset=1e300'],
		['/api/records/:id/history', 'field=a%0Db']
	];

	it.each(QUERIES)('GET %s?%s answers 400 with a message', async (path, query) => {
		const url = `${server.url}${path.replace(':id', recordId)}?${query}`;
		await expectRefusal(await apiFetch(url, {}, 'admin'));
	});

	it('good filters still work: dates at the edges of the range, text with non-Latin letters', async () => {
		for (const query of ['from=1970-01-01&to=9999-12-31', 'from=2025-03-01T09:00:00Z', 'person=王芳&field=company', 'record=not-a-record', 'offset=100000&limit=500']) {
			const response = await apiFetch(`${server.url}/api/audit?${query}`, {}, 'admin');
			expect([query, response.status]).toEqual([query, 200]);
		}
		expect((await apiFetch(`${server.url}/api/records?owner=bob&offset=0&limit=1`)).status).toBe(200);
	});

	it('the admin audit page shows the reason for a bad filter instead of failing', async () => {
		for (const query of ['person=%00', 'from=99999-01-01', 'offset=1e300']) {
			const response = await sessionFetch(server, alice, `/settings/audit?${query}`);
			expect([query, response.status]).toEqual([query, 200]);
		}
	});

	it.each([
		['a name', { fields: { name: 'Li\u0000Na' } }, 'name'],
		['a company', { fields: { name: 'Li Na', company: 'Hua\u0000xin' } }, 'company'],
		['an email', { fields: { name: 'Li Na', email: 'li\u0000@example.com' } }, 'email'],
		['a custom field', { fields: { name: 'Li Na', x_note: 'a\u0000b' } }, 'x_note'],
		['a tag', { fields: { name: 'Li Na' }, tags: ['v\u0000ip'] }, 'tags'],
		['the notes', { fields: { name: 'Li Na' }, notes: 'line\u0000one' }, 'notes']
	])('POST /api/records with U+0000 in %s answers 400 naming the field, and stores nothing', async (_what, body, field) => {
		const before = ((await (await apiFetch(`${server.url}/api/records?archived=1&limit=1`)).json()) as { total: number }).total;
		const response = await apiFetch(`${server.url}/api/records`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body)
		});
		const text = await response.text();
		expect(response.status, text).toBe(400);
		const answer = JSON.parse(text) as { message: string; errors?: Record<string, string> };
		expect(answer.message.length).toBeGreaterThan(10);
		expect(Object.keys(answer.errors ?? {})).toContain(field);
		const after = ((await (await apiFetch(`${server.url}/api/records?archived=1&limit=1`)).json()) as { total: number }).total;
		expect(after).toBe(before);
	});
});

describe('odd path segments and body texts: 4xx with a reason, never 500', () => {
	let recordId: string;

	beforeAll(async () => {
		recordId = await createRecord(server, { name: 'Path Ltd' });
	});

	const send = (method: string, path: string, body?: unknown): Promise<Response> =>
		apiFetch(
			`${server.url}${path.replace(':id', recordId)}`,
			body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
			'admin'
		);

	it.each([
		['GET', '/api/records/a%00b', undefined, 400],
		['GET', '/api/records/a%00b/history', undefined, 400],
		['POST', '/api/records/a%00b/archive', { archived: true }, 400],
		['POST', '/api/records/a%00b/private', { private: true }, 400],
		['PUT', '/api/members/a%00b', { role: 'editor' }, 400],
		['PUT', '/api/members/a%0Db', { role: 'editor' }, 400],
		['PUT', '/api/members/%E0%A4%A', { role: 'editor' }, 400],
		['DELETE', '/api/tokens/a%00b', undefined, 400],
		['POST', '/api/tokens', { name: 'ERP\u0000sync', role: 'viewer' }, 400],
		['POST', '/api/tokens', { name: 'ERP\r\nsync', role: 'viewer' }, 400],
		['POST', '/api/records/:id/restore', { entryId: 'a\u0000b' }, 400],
		['POST', '/api/records/:id/restore', { entryId: '1e300' }, 404]
	])('%s %s answers %d with a message', async (method, path, body, status) => {
		await expectRefusal(await send(method, path, body), status);
	});
});

describe('API tokens: the Authorization header on HTTP, ?token= only on WebSockets', () => {
	it('the HTTP API refuses a token in the address, saying where it goes', async () => {
		const token = tokenFor(server, 'editor');
		const inQuery = await fetch(`${server.url}/api/records?token=${encodeURIComponent(token)}`);
		const message = await expectRefusal(inQuery, 401);
		expect(message).toContain('Authorization: Bearer');
		const inHeader = await fetch(`${server.url}/api/records`, { headers: { authorization: `Bearer ${token}` } });
		expect(inHeader.status).toBe(200);
	});

	it('a WebSocket upgrade still accepts ?token= (browsers cannot set headers on WebSockets)', async () => {
		// The test client sends an API token as ?token=, as browsers must.
		const client = syncClient(server, { token: tokenFor(server, 'editor') });
		try {
			const status = await client.upgradeStatus();
			expect(status).toBe(101);
		} finally {
			client.disconnect();
		}
	});
});
