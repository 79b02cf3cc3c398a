/**
 * Sign-in through the app itself: /auth/login → the development provider → /auth/callback
 * → the session cookie; roles from the provider's groups; refused callbacks; sign-out and
 * expiry ending sessions and their sockets; production without a provider; security
 * headers; cross-site requests riding on the cookie.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../server/config.ts';
import { createAccord } from '../../server/app.ts';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer } from '../support/server.ts';
import { formatDataKey, newDataKey, parseDataKeys } from '../../server/crypto/data-key.ts';
import { completeSignIn, FetchBrowser, reachCallback, sessionFetch, signInWithFetch, type SignedIn } from '../support/sessions.ts';
import { syncClient, type SyncTestClient } from '../support/sync-client.ts';

/** A stack trace line, as Node prints them. */
const STACK_LINE = /^\s*at\s+\S+.*(\(|\s)(file:|node:|\/)[^\s)]*:\d+/m;

async function members(server: RunningServer): Promise<Array<{ id: string; role: string; assignedBy: string | null }>> {
	const response = await apiFetch(`${server.url}/api/members`, {}, 'admin');
	expect(response.status).toBe(200);
	return ((await response.json()) as { members: Array<{ id: string; role: string; assignedBy: string | null }> }).members;
}

function createAs(server: RunningServer, session: SignedIn, name: string, origin?: string): Promise<Response> {
	return sessionFetch(server, session, '/api/records', {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
		body: JSON.stringify({ fields: { name } })
	});
}

describe('signing in through the app', () => {
	let server: RunningServer;
	const clients: SyncTestClient[] = [];

	beforeAll(async () => {
		server = await startTestServer();
	});
	afterAll(async () => {
		for (const client of clients) client.disconnect();
		await server.close();
	});

	it('bob signs in: an HttpOnly, SameSite=Lax session cookie that opens the API', async () => {
		const anonymous = await fetch(`${server.url}/api/records`);
		expect(anonymous.status).toBe(401);

		const bob = await signInWithFetch(server, 'bob');
		expect(bob.location).toBe('/records');
		const attributes = bob.setCookie.split(';').map((a) => a.trim().toLowerCase());
		expect(attributes).toContain('httponly');
		expect(attributes).toContain('samesite=lax');
		expect(attributes).toContain('path=/');
		expect(attributes.some((a) => a.startsWith('expires='))).toBe(true);
		// Served over http here, so the cookie must not demand https.
		expect(attributes).not.toContain('secure');
		expect(bob.token).toMatch(/^acs_[\w-]{40,}$/);

		const list = await sessionFetch(server, bob, '/api/records');
		expect(list.status).toBe(200);
		expect(await list.json()).toMatchObject({ rows: expect.any(Array), total: expect.any(Number) });
		const created = await createAs(server, bob, 'Signed-in Co');
		expect(created.status).toBe(201);
		const page = await sessionFetch(server, bob, '/records');
		expect(page.status).toBe(200);
		expect(await page.text()).toContain('Bob Martin');
	});

	it('returns to a same-site path after sign-in, never to another site', async () => {
		const back = await completeSignIn(await reachCallback(server, 'bob', new FetchBrowser(), '/records?stage=won'));
		expect(back.location).toBe('/records?stage=won');
		const away = await completeSignIn(await reachCallback(server, 'bob', new FetchBrowser(), '//evil.example/steal'));
		expect(away.location).toBe('/records');
	});

	it("applies the role the provider's groups map to, over an admin's assignment, on each sign-in", async () => {
		const first = await signInWithFetch(server, 'carol');
		expect(await server.accord.database.auth.getUser('carol')).toMatchObject({ id: 'carol', name: 'Carol Singh', email: 'carol@accord.example' });
		expect((await members(server)).find((m) => m.id === 'carol')).toMatchObject({ role: 'viewer', assignedBy: null });
		expect((await createAs(server, first, 'Viewer attempt')).status).toBe(403);

		const promote = await apiFetch(
			`${server.url}/api/members/carol`,
			{ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ role: 'editor' }) },
			'admin'
		);
		expect(promote.status).toBe(200);
		const assigned = (await members(server)).find((m) => m.id === 'carol');
		expect(assigned).toMatchObject({ role: 'editor', assignedBy: expect.stringMatching(/^token:/) });
		// The role is read on every request: her open session may now write.
		expect((await createAs(server, first, 'Promoted write')).status).toBe(201);

		// Her next sign-in brings the accord-viewers group again, which wins.
		const second = await signInWithFetch(server, 'carol');
		expect((await members(server)).find((m) => m.id === 'carol')).toMatchObject({ role: 'viewer', assignedBy: null });
		expect((await createAs(server, second, 'After re-sign-in')).status).toBe(403);
		expect((await createAs(server, first, 'Old session too')).status).toBe(403);
		expect((await sessionFetch(server, second, '/api/records')).status).toBe(200);
	});

	it('refuses a callback with a tampered or missing state: 400, a helpful page, no stack trace', async () => {
		const redirect = await reachCallback(server, 'bob');
		for (const mutate of [
			(url: URL) => url.searchParams.set('state', 'tampered-' + url.searchParams.get('state')),
			(url: URL) => url.searchParams.delete('state')
		]) {
			const bad = new URL(redirect.callback);
			mutate(bad);
			// In the browser that started the sign-in: its cookie binds the genuine state, not this one.
			const response = await redirect.browser.request(bad);
			expect(response.status).toBe(400);
			expect(response.headers.get('content-type')).toMatch(/text\/html/);
			expect(response.headers.getSetCookie().some((c) => c.startsWith('accord_session='))).toBe(false);
			const html = await response.text();
			expect(html).toContain('started in another browser or has expired');
			expect(html).toContain('sign in again');
			expect(html).not.toMatch(STACK_LINE);
			expect(html).not.toMatch(/\bat (async )?[\w.<>]+ \(/);
			expect(html).not.toMatch(/node_modules|\.ts:\d+|\.js:\d+/);
		}
		// The tampering spent nothing: the genuine callback still signs bob in.
		const genuine = await completeSignIn(redirect);
		expect((await sessionFetch(server, genuine, '/api/records')).status).toBe(200);
	});

	it('refuses a replayed callback URL', async () => {
		const bob = await signInWithFetch(server, 'bob');
		// In another browser, and in bob's own (whose sign-in cookie let go of the state once used).
		for (const browser of [new FetchBrowser(), bob.browser]) {
			const replay = await browser.request(bob.callback);
			expect(replay.status).toBe(400);
			expect(replay.headers.getSetCookie().some((c) => c.startsWith('accord_session='))).toBe(false);
			const html = await replay.text();
			expect(html).toContain('sign in again');
			expect(html).not.toMatch(STACK_LINE);
		}
		// Even with the sign-in cookie put back, the attempt itself was used once and is gone.
		const state = bob.callback.searchParams.get('state')!;
		const withCookie = await fetch(bob.callback, { headers: { cookie: `accord_sign_in=${state}` }, redirect: 'manual' });
		expect(withCookie.status).toBe(400);
		expect(withCookie.headers.getSetCookie().some((c) => c.startsWith('accord_session='))).toBe(false);
		expect(await withCookie.text()).toContain('already used or has expired');
	});

	it('signs out: cookie cleared, session dead, open socket closed with 4401, off to the provider to end its session', async () => {
		const bob = await signInWithFetch(server, 'bob');
		const other = await signInWithFetch(server, 'bob');
		const live = syncClient(server, { cookie: bob.cookie });
		const bystander = syncClient(server, { cookie: other.cookie });
		clients.push(live, bystander);
		await Promise.all([live.ready, bystander.ready]);

		// Not from another site: a forged sign-out is refused and ends nothing.
		const forged = await sessionFetch(server, bob, '/auth/sign-out', { method: 'POST', headers: { origin: 'http://evil.example' } });
		expect(forged.status).toBe(403);
		expect((await sessionFetch(server, bob, '/api/records')).status).toBe(200);

		const response = await sessionFetch(server, bob, '/auth/sign-out', { method: 'POST' });
		expect(response.status).toBe(303);
		const cleared = response.headers.getSetCookie().find((c) => c.startsWith('accord_session='));
		expect(cleared).toBeDefined();
		expect(cleared).toMatch(/^accord_session=;|Max-Age=0|Expires=Thu, 01 Jan 1970/i);
		expect(cleared!.split(';')[0]).toBe('accord_session=');
		const logout = new URL(response.headers.get('location')!, server.url);
		expect(`${logout.origin}${logout.pathname}`).toBe(`${server.url}/idp/session/end`);
		expect(logout.searchParams.get('id_token_hint')?.split('.')).toHaveLength(3);
		expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${server.url}/auth/signed-out`);

		expect((await sessionFetch(server, bob, '/api/records')).status).toBe(401);
		const page = await sessionFetch(server, bob, '/records');
		expect(page.status).toBe(303);
		expect(page.headers.get('location')).toMatch(/^\/auth\/sign-in\?returnTo=/);
		await eventually(() => live.closed !== null, 'the signed-out socket to close', 5_000);
		expect(live.closed!.code).toBe(4401);
		expect(live.closed!.reason).toMatch(/signed out/);
		// Another session of the same person is untouched.
		expect(bystander.closed).toBeNull();
		expect((await sessionFetch(server, other, '/api/records')).status).toBe(200);
		// A new socket with the ended session is refused at the upgrade.
		await expect(syncClient(server, { cookie: bob.cookie }).ready).rejects.toThrow(/HTTP 401/);
	});

	it('sends security headers on pages: CSP with frame-ancestors and script-src, no framing, nosniff, a referrer policy', async () => {
		const bob = await signInWithFetch(server, 'bob');
		const id = await createRecord(server, { name: 'Headers Ltd' });
		for (const response of [await sessionFetch(server, bob, '/records'), await sessionFetch(server, bob, `/records/${id}`)]) {
			expect(response.status).toBe(200);
			expect(response.headers.get('content-type')).toMatch(/text\/html/);
			const csp = response.headers.get('content-security-policy') ?? '';
			expect(csp).toContain("frame-ancestors 'none'");
			expect(csp).toMatch(/script-src [^;,]*'self'/);
			expect(csp).not.toMatch(/script-src[^;,]*'unsafe-inline'/);
			expect(csp).toContain("object-src 'none'");
			expect(response.headers.get('x-frame-options')).toBe('DENY');
			expect(response.headers.get('x-content-type-options')).toBe('nosniff');
			expect(response.headers.get('referrer-policy')).toMatch(/^(same-origin|no-referrer|strict-origin(-when-cross-origin)?)$/);
		}
	});

	it('shows a sign-in page that says clearly it is the development sign-in', async () => {
		const wall = await fetch(`${server.url}/records`, { redirect: 'manual' });
		expect(wall.status).toBe(303);
		expect(wall.headers.get('location')).toBe('/auth/sign-in?returnTo=%2Frecords');
		const page = await fetch(`${server.url}/auth/sign-in?returnTo=%2Frecords`);
		expect(page.headers.get('x-frame-options')).toBe('DENY');
		expect(page.status).toBe(200);
		const html = await page.text();
		expect(html).toContain('Development sign-in — not for production');
		expect(html).toContain('/auth/login');
	});

	it('refuses a cross-site POST riding on the session cookie, and accepts it from Accord itself', async () => {
		const bob = await signInWithFetch(server, 'bob');
		const before = ((await (await sessionFetch(server, bob, '/api/records?limit=500')).json()) as { total: number }).total;

		const evil = await createAs(server, bob, 'CSRF Co', 'http://evil.example');
		expect(evil.status).toBe(403);
		expect(((await evil.json()) as { message: string }).message).toMatch(/Cross-site/);
		const fetchMetadata = await sessionFetch(server, bob, '/api/records', {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site', origin: '' },
			body: JSON.stringify({ fields: { name: 'CSRF Co' } })
		});
		expect(fetchMetadata.status).toBe(403);
		const list = (await (await sessionFetch(server, bob, '/api/records?limit=500')).json()) as { total: number; rows: Array<{ name: string }> };
		expect(list.total).toBe(before);
		expect(list.rows.some((row) => row.name === 'CSRF Co')).toBe(false);

		const same = await createAs(server, bob, 'Same-site Co', new URL(server.url).origin);
		expect(same.status).toBe(201);
	});
});

describe('an expiring session', () => {
	let server: RunningServer;
	const TTL_MS = 2_000;

	beforeAll(async () => {
		server = await startTestServer({ sessionTtlMs: TTL_MS });
	});
	afterAll(async () => {
		await server.close();
	});

	it('stops opening the API, and its open sockets close with 4401 when it expires', async () => {
		const id = await createRecord(server, { name: 'Expiry Ltd' });
		const bob = await signInWithFetch(server, 'bob');
		const started = Date.now();
		const sync = syncClient(server, { cookie: bob.cookie });
		const record = syncClient(server, { cookie: bob.cookie }, { path: `/y/${id}` });
		await Promise.all([sync.ready, record.ready]);
		expect((await sessionFetch(server, bob, '/api/records')).status).toBe(200);

		await eventually(() => sync.closed !== null && record.closed !== null, 'both sockets to close at expiry', TTL_MS + 5_000);
		expect(sync.closed!.code).toBe(4401);
		expect(record.closed!.code).toBe(4401);
		expect(sync.closed!.reason).toMatch(/expired/);
		expect(Date.now() - started).toBeLessThan(TTL_MS + 4_000);
		expect((await sessionFetch(server, bob, '/api/records')).status).toBe(401);
		const page = await sessionFetch(server, bob, '/records');
		expect(page.status).toBe(303);
		await expect(syncClient(server, { cookie: bob.cookie }).ready).rejects.toThrow(/HTTP 401/);
	});
});

describe('production mode', () => {
	it('refuses to start without OIDC_ISSUER, naming OIDC_ISSUER and ACCORD_DEV_IDP', async () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'accord-prod-'));
		try {
			const config = readConfig({ LOG_LEVEL: 'silent' }, { production: true, dataDir: dir, databaseUrl: undefined, redisUrl: undefined });
			expect(config.oidc.issuer).toBeUndefined();
			await expect(createAccord({ ...config, publicUrl: 'http://127.0.0.1:9' })).rejects.toThrow(/OIDC_ISSUER[\s\S]*ACCORD_DEV_IDP/);
			// Read from the environment the same way.
			const fromEnv = readConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', DATA_DIR: dir });
			expect(fromEnv.production).toBe(true);
			expect(fromEnv.allowDevIdp).toBe(false);
			expect(readConfig({ NODE_ENV: 'production', ACCORD_DEV_IDP: '1' }).allowDevIdp).toBe(true);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('starts with the development sign-in when explicitly allowed (ACCORD_DEV_IDP), flagged as development', async () => {
		// Production also asks for a data key (customer records are not stored unencrypted there).
		const server = await startTestServer({ production: true, allowDevIdp: true, dataKeys: parseDataKeys(formatDataKey(newDataKey())) });
		try {
			expect(server.accord.services.signIn.development).toBe(true);
			const redirect = await reachCallback(server, 'alice');
			const loginPage = await fetch(new URL('/auth/login', server.url), { redirect: 'manual' });
			expect(new URL(loginPage.headers.get('location')!).pathname).toBe('/idp/auth');
			const alice = await completeSignIn(redirect);
			expect((await sessionFetch(server, alice, '/api/members')).status).toBe(200);
		} finally {
			await server.close();
		}
	});
});
