/**
 * OIDC sign-in end to end: the relying party (server/auth/oidc-client.ts, openid-client)
 * against the built-in development identity provider (server/auth/dev-idp.ts, a real
 * oidc-provider) mounted on a plain Node HTTP server. The browser is `fetch` with manual
 * redirects and a small cookie jar. Nothing is mocked: the negative cases arrange real
 * misbehaviour (a second provider with its own keys, a swapped JWKS, a wrong issuer).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- oidc-provider ships no type declarations
import { Provider as RawProvider } from 'oidc-provider';
import { createDevIdp, DEV_USERS } from '../../server/auth/dev-idp.ts';
import { createOidcClient, OidcError, type OidcClient, type OidcSettings, type VerifiedLogin } from '../../server/auth/oidc-client.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;
type RawProviderInstance = { callback(): (req: IncomingMessage, res: ServerResponse) => void };
const RawProviderClass = RawProvider as unknown as new (issuer: string, config: Record<string, unknown>) => RawProviderInstance;

const CLIENT_ID = 'accord-test';
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const SCOPES = 'openid profile email groups';

let server: Server;
let base = '';
let redirectUri = '';
let postLogoutUri = '';
const routes: Handler[] = [];
/** When true, the `/idp-sig` provider's jwks_uri is answered by an impostor with other keys. */
let swapSigJwks = false;

function idpOptions(path: string) {
	return {
		issuer: `${base}${path}`,
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		redirectUris: [redirectUri],
		postLogoutRedirectUris: [postLogoutUri]
	};
}

function settings(issuerPath: string, extra: Partial<OidcSettings> = {}): OidcSettings {
	return {
		issuer: `${base}${issuerPath}`,
		clientId: CLIENT_ID,
		clientSecret: CLIENT_SECRET,
		redirectUri,
		postLogoutRedirectUri: postLogoutUri,
		scopes: SCOPES,
		...extra
	};
}

function pathOf(req: IncomingMessage): string {
	return (req.url ?? '/').split('?')[0];
}

/** Mounts a raw oidc-provider under a path prefix (the same way dev-idp does). */
function mount(provider: RawProviderInstance, prefix: string): Handler {
	const callback = provider.callback();
	return (req, res) => {
		const url = req.url ?? '/';
		(req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
		req.url = url.slice(prefix.length) || '/';
		if (!req.url.startsWith('/')) req.url = `/${req.url}`;
		callback(req, res);
		return true;
	};
}

function rsaJwk(kid?: string): Record<string, unknown> {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
	return { ...jwk, alg: 'RS256', use: 'sig', ...(kid ? { kid } : {}) };
}

beforeAll(async () => {
	server = createServer((req, res) => {
		for (const route of routes) if (route(req, res)) return;
		res.statusCode = 404;
		res.end('not found');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	redirectUri = `${base}/auth/callback`;
	postLogoutUri = `${base}/signed-out`;

	// Provider A: the development IdP under test.
	const idpA = createDevIdp(idpOptions('/idp'));
	// Provider B: a second, independent IdP (own keys, own issuer) knowing the same client.
	const idpB = createDevIdp(idpOptions('/idp-b'));
	// Provider S: for the signature test; its jwks_uri can be swapped for an impostor's.
	const idpSig = createDevIdp(idpOptions('/idp-sig'));
	// Provider P: a plain oidc-provider with RP-initiated logout switched off.
	const plain = new RawProviderClass(`${base}/idp-plain`, {
		clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] }],
		features: { rpInitiatedLogout: { enabled: false }, devInteractions: { enabled: false } },
		cookies: { keys: [randomBytes(32).toString('base64url')] },
		jwks: { keys: [rsaJwk()] }
	});
	let impostorJwks: Handler | undefined;

	routes.push(
		(req, res) => {
			if (!swapSigJwks || pathOf(req) !== '/idp-sig/jwks' || !impostorJwks) return false;
			return impostorJwks(req, res);
		},
		idpA.handle,
		idpB.handle,
		idpSig.handle,
		(req, res) => {
			// A misconfigured proxy: /imposter/* is really provider B.
			const path = pathOf(req);
			if (path !== '/imposter' && !path.startsWith('/imposter/')) return false;
			req.url = `/idp-b${(req.url ?? '').slice('/imposter'.length)}`;
			return idpB.handle(req, res);
		},
		(req, res) => (pathOf(req).startsWith('/idp-plain/') ? mount(plain, '/idp-plain')(req, res) : false)
	);

	// The impostor publishes its own RSA key under the real key's kid, so the RP selects it
	// and the signature check itself fails (not merely the key lookup).
	const realKeys = (await (await fetch(`${base}/idp-sig/jwks`)).json()) as { keys: Array<{ kid: string }> };
	expect(realKeys.keys).toHaveLength(1);
	const impostor = new RawProviderClass(`${base}/idp-sig`, {
		clients: [],
		features: { devInteractions: { enabled: false } },
		cookies: { keys: [randomBytes(32).toString('base64url')] },
		jwks: { keys: [rsaJwk(realKeys.keys[0].kid)] }
	});
	impostorJwks = mount(impostor, '/idp-sig');
});

afterAll(async () => {
	server.closeAllConnections();
	await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A browser: fetch with manual redirects and a cookie jar (one host, paths ignored). */
class Browser {
	private readonly jar = new Map<string, string>();

	async request(url: URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
		const headers: Record<string, string> = {};
		if (this.jar.size > 0) headers.cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
		let body: string | undefined;
		if (init.form !== undefined) {
			headers['content-type'] = 'application/x-www-form-urlencoded';
			body = new URLSearchParams(init.form).toString();
		}
		const response = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
		for (const cookie of response.headers.getSetCookie()) {
			const [pair, ...attributes] = cookie.split(';');
			const eq = pair.indexOf('=');
			const name = pair.slice(0, eq).trim();
			const value = pair.slice(eq + 1).trim();
			const expired = attributes.some((a) => {
				const [key, val] = a.trim().split('=');
				if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
				if (key.toLowerCase() === 'expires') return Date.parse(val) <= Date.now();
				return false;
			});
			if (expired || value === '') this.jar.delete(name);
			else this.jar.set(name, value);
		}
		return response;
	}
}

function location(response: Response, from: URL): URL {
	const header = response.headers.get('location');
	if (!header) throw new Error(`HTTP ${response.status} without a Location header`);
	return new URL(header, from);
}

/** Follows redirects until the redirect_uri (returned) or an HTML page (returned with its body). */
async function follow(browser: Browser, first: Response, from: URL): Promise<{ callback: URL } | { page: URL; html: string }> {
	let response = first;
	let current = from;
	for (let hops = 0; hops < 10; hops++) {
		if (response.status >= 300 && response.status < 400) {
			current = location(response, current);
			if (current.href.startsWith(redirectUri) || current.href.startsWith(postLogoutUri)) return { callback: current };
			response = await browser.request(current);
			continue;
		}
		const html = await response.text();
		if (response.status !== 200) throw new Error(`HTTP ${response.status} at ${current.href}: ${html.slice(0, 500)}`);
		return { page: current, html };
	}
	throw new Error('too many redirects');
}

/** Opens the authorization URL and expects the provider's login page. */
async function openLoginPage(browser: Browser, url: URL): Promise<{ page: URL; html: string }> {
	const result = await follow(browser, await browser.request(url), url);
	if ('callback' in result) throw new Error(`expected the login page, got redirected to ${result.callback.href}`);
	return result;
}

function formAction(html: string, page: URL, endsWith: string): URL {
	const actions = [...html.matchAll(/<form[^>]*\saction="([^"]+)"/g)].map((m) => m[1].replace(/&#38;/g, '&').replace(/&amp;/g, '&'));
	const action = actions.find((a) => a.endsWith(endsWith));
	if (!action) throw new Error(`no form posting to …${endsWith} in the page`);
	return new URL(action, page);
}

/** Picks a user on the login page; returns the callback URL the provider redirects to. */
async function pickUser(browser: Browser, login: { page: URL; html: string }, user: string): Promise<URL> {
	const action = formAction(login.html, login.page, '/login');
	const result = await follow(browser, await browser.request(action, { form: { user } }), action);
	if (!('callback' in result)) throw new Error(`expected a redirect to the app, got a page: ${result.html.slice(0, 300)}`);
	return result.callback;
}

/** The whole front channel: begin → authorization → login page → pick user → callback URL. */
async function signIn(rp: OidcClient, user = 'bob', browser = new Browser()) {
	const { url, attempt } = await rp.begin();
	const login = await openLoginPage(browser, url);
	const callback = await pickUser(browser, login, user);
	return { url, attempt, login, callback, browser };
}

async function expectOidcError(promise: Promise<unknown>, code: OidcError['code']): Promise<OidcError> {
	let caught: unknown;
	try {
		await promise;
	} catch (err) {
		caught = err;
	}
	expect(caught, 'expected the call to fail').toBeInstanceOf(OidcError);
	const error = caught as OidcError;
	expect(error.code, error.message).toBe(code);
	expect(error.userMessage.length).toBeGreaterThan(10);
	expect(error.userMessage).not.toMatch(/\n\s+at |Error:|undefined|\[object/);
	expect(error.userMessage).not.toContain(CLIENT_SECRET);
	return error;
}

describe('sign-in with the development identity provider', () => {
	let rp: OidcClient;
	let bob: VerifiedLogin;
	let bobBrowser: Browser;

	beforeAll(async () => {
		rp = await createOidcClient(settings('/idp'));
	});

	it('discovers the provider and builds a PKCE + state + nonce authorization request', async () => {
		expect(rp.issuer).toBe(`${base}/idp`);
		const { url, attempt } = await rp.begin();
		expect(`${url.origin}${url.pathname}`).toBe(`${base}/idp/auth`);
		expect(url.searchParams.get('response_type')).toBe('code');
		expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
		expect(url.searchParams.get('redirect_uri')).toBe(redirectUri);
		expect(url.searchParams.get('scope')).toBe(SCOPES);
		expect(url.searchParams.get('state')).toBe(attempt.state);
		expect(url.searchParams.get('nonce')).toBe(attempt.nonce);
		expect(url.searchParams.get('code_challenge_method')).toBe('S256');
		expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
		expect(url.searchParams.get('code_challenge')).not.toBe(attempt.codeVerifier);
		const second = await rp.begin();
		expect(second.attempt.state).not.toBe(attempt.state);
		expect(second.attempt.nonce).not.toBe(attempt.nonce);
		expect(second.attempt.codeVerifier).not.toBe(attempt.codeVerifier);
	});

	it('the provider requires PKCE', async () => {
		const { url } = await rp.begin();
		url.searchParams.delete('code_challenge');
		url.searchParams.delete('code_challenge_method');
		const response = await new Browser().request(url);
		expect(response.status).toBe(303);
		const back = location(response, url);
		expect(back.href.startsWith(redirectUri)).toBe(true);
		expect(back.searchParams.get('error')).toBe('invalid_request');
	});

	it('shows a development login page with a banner and every demo user', async () => {
		const { url } = await rp.begin();
		const { page, html } = await openLoginPage(new Browser(), url);
		expect(page.pathname).toMatch(/^\/idp\/interaction\/[\w-]+$/);
		expect(html).toContain('Development sign-in — not for production');
		expect(html).toContain('开发用登录，不可用于生产环境');
		for (const user of DEV_USERS) {
			expect(html).toContain(`value="${user.id}"`);
			expect(html).toContain(user.name);
			expect(html).toContain(user.email);
		}
		expect(html).toMatch(/Alice Chen[\s\S]*?admin/);
		expect(html).toMatch(/Bob Martin[\s\S]*?editor/);
		expect(html).toMatch(/Carol Singh[\s\S]*?viewer/);
		expect(html).not.toMatch(/<script/i);
	});

	it('signs bob in: subject, name, email and groups from a validated ID token', async () => {
		const flow = await signIn(rp, 'bob');
		expect(flow.callback.searchParams.get('state')).toBe(flow.attempt.state);
		expect(flow.callback.searchParams.get('iss')).toBe(`${base}/idp`);
		expect(flow.callback.searchParams.get('code')).toBeTruthy();
		bob = await rp.complete(flow.callback, flow.attempt);
		bobBrowser = flow.browser;
		expect(bob.subject).toBe('bob');
		expect(bob.issuer).toBe(`${base}/idp`);
		expect(bob.name).toBe('Bob Martin');
		expect(bob.email).toBe('bob@accord.example');
		expect(bob.claims.groups).toEqual(['accord-editors']);
		expect(bob.claims.aud).toBe(CLIENT_ID);
		expect(bob.claims.nonce).toBe(flow.attempt.nonce);
		expect(bob.idToken.split('.')).toHaveLength(3);
		const header = JSON.parse(Buffer.from(bob.idToken.split('.')[0], 'base64url').toString()) as { alg: string };
		expect(header.alg).toBe('RS256');
	});

	it('signs in a user with a Chinese name', async () => {
		const flow = await signIn(rp, 'wang.fang');
		const login = await rp.complete(flow.callback, flow.attempt);
		expect(login.subject).toBe('wang.fang');
		expect(login.name).toBe('王芳');
		expect(login.claims.groups).toEqual(['accord-editors']);
	});

	it('rejects an unknown user with a 400 page and escapes what it echoes', async () => {
		const browser = new Browser();
		const { url } = await rp.begin();
		const login = await openLoginPage(browser, url);
		const action = formAction(login.html, login.page, '/login');
		const response = await browser.request(action, { form: { user: '<img src=x onerror=alert(1)>' } });
		expect(response.status).toBe(400);
		const html = await response.text();
		expect(html).toContain('Development sign-in — not for production');
		expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
		expect(html).not.toContain('<img');
		// The interaction is still usable: a real user can be picked afterwards.
		const callback = await pickUser(browser, login, 'carol');
		expect(callback.searchParams.get('code')).toBeTruthy();
	});

	it('logoutUrl points at the end_session endpoint with id_token_hint, and the provider honours it', async () => {
		const metadata = (await (await fetch(`${base}/idp/.well-known/openid-configuration`)).json()) as { end_session_endpoint: string };
		expect(metadata.end_session_endpoint).toBe(`${base}/idp/session/end`);
		const url = rp.logoutUrl(bob.idToken);
		expect(url).not.toBeNull();
		const logout = url as URL;
		expect(`${logout.origin}${logout.pathname}`).toBe(metadata.end_session_endpoint);
		expect(logout.searchParams.get('id_token_hint')).toBe(bob.idToken);
		expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(postLogoutUri);
		expect(logout.searchParams.get('client_id')).toBe(CLIENT_ID);

		const withoutHint = rp.logoutUrl(null) as URL;
		expect(withoutHint.searchParams.has('id_token_hint')).toBe(false);

		// Bob's browser still has a provider session: a new sign-in goes straight back to the app.
		const again = await rp.begin();
		const sso = await follow(bobBrowser, await bobBrowser.request(again.url), again.url);
		expect('callback' in sso).toBe(true);

		// Confirm the provider's sign-out form; it must send the browser to post_logout_redirect_uri.
		const confirm = await follow(bobBrowser, await bobBrowser.request(logout), logout);
		if ('callback' in confirm) throw new Error('expected the sign-out confirmation page');
		expect(confirm.html).toContain('Development sign-in — not for production');
		const action = formAction(confirm.html, confirm.page, '/confirm');
		const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.html)?.[1];
		expect(xsrf).toBeTruthy();
		const done = await follow(bobBrowser, await bobBrowser.request(action, { form: { xsrf: xsrf as string, logout: 'yes' } }), action);
		if (!('callback' in done)) throw new Error(`expected a redirect to the app, got: ${done.html.slice(0, 300)}`);
		expect(done.callback.href.startsWith(postLogoutUri)).toBe(true);

		// The provider session is gone: the next sign-in shows the login page again.
		const afterLogout = await rp.begin();
		const page = await follow(bobBrowser, await bobBrowser.request(afterLogout.url), afterLogout.url);
		expect('page' in page).toBe(true);
	});

	it('logoutUrl is null when the provider has no end_session_endpoint', async () => {
		const other = await createOidcClient(settings('/idp-plain'));
		expect(other.issuer).toBe(`${base}/idp-plain`);
		expect(other.logoutUrl('anything')).toBeNull();
	});
});

describe('sign-in failures', () => {
	let rp: OidcClient;

	beforeAll(async () => {
		rp = await createOidcClient(settings('/idp'));
	});

	it('refuses a callback whose state does not match the stored attempt', async () => {
		const flow = await signIn(rp);
		const other = await rp.begin(); // another tab's attempt
		const error = await expectOidcError(rp.complete(flow.callback, other.attempt), 'state');
		expect(error.userMessage).toBe('This sign-in link was already used or has expired. Please sign in again.');
		// Only the state was wrong: the code was not spent, and the right attempt still works.
		const login = await rp.complete(flow.callback, flow.attempt);
		expect(login.subject).toBe('bob');
	});

	it('refuses a replayed authorization code', async () => {
		const flow = await signIn(rp);
		const first = await rp.complete(flow.callback, flow.attempt);
		expect(first.subject).toBe('bob');
		const error = await expectOidcError(rp.complete(flow.callback, flow.attempt), 'token');
		expect(error.message).toContain('invalid_grant');
		expect(error.userMessage).toMatch(/already used or has expired/);
	});

	it('refuses a code exchanged with the wrong PKCE verifier', async () => {
		const flow = await signIn(rp);
		const other = await rp.begin();
		const attempt = { ...flow.attempt, codeVerifier: other.attempt.codeVerifier };
		const error = await expectOidcError(rp.complete(flow.callback, attempt), 'token');
		expect(error.message).toMatch(/invalid_grant|PKCE|code_verifier/);
	});

	it('reports a refusal by the provider (user cancelled → access_denied) with the reason', async () => {
		const browser = new Browser();
		const { url, attempt } = await rp.begin();
		const login = await openLoginPage(browser, url);
		const cancel = formAction(login.html, login.page, '/abort');
		const result = await follow(browser, await browser.request(cancel, { form: {} }), cancel);
		if (!('callback' in result)) throw new Error('expected a redirect to the app');
		expect(result.callback.searchParams.get('error')).toBe('access_denied');
		const error = await expectOidcError(rp.complete(result.callback, attempt), 'provider');
		expect(error.userMessage).toMatch(/refused/);
		expect(error.userMessage).toContain('cancelled the development sign-in');
	});

	it('refuses an issuer whose discovery document names a different issuer', async () => {
		const error = await expectOidcError(createOidcClient(settings('/imposter')), 'discovery');
		expect(error.userMessage).toContain(`${base}/idp-b`);
	});

	it('refuses an authorization response that comes from another provider (mix-up)', async () => {
		// The browser is sent to provider B with A's request; B answers the redirect_uri.
		const { url, attempt } = await rp.begin();
		const atB = new URL(`/idp-b/auth${url.search}`, base);
		const browser = new Browser();
		const callback = await pickUser(browser, await openLoginPage(browser, atB), 'bob');
		expect(callback.searchParams.get('iss')).toBe(`${base}/idp-b`);
		expect(callback.searchParams.get('state')).toBe(attempt.state);
		const error = await expectOidcError(rp.complete(callback, attempt), 'provider');
		expect(error.message).toMatch(/"iss"/);
	});

	it('refuses an ID token whose signature does not verify with the provider keys', async () => {
		// Control: the same provider, untouched, signs in fine.
		const control = await createOidcClient(settings('/idp-sig'));
		const ok = await signIn(control);
		expect((await control.complete(ok.callback, ok.attempt)).subject).toBe('bob');

		// Now the keys published at jwks_uri are an impostor's (same kid, different key).
		const rpSig = await createOidcClient(settings('/idp-sig'));
		const flow = await signIn(rpSig);
		swapSigJwks = true;
		try {
			const error = await expectOidcError(rpSig.complete(flow.callback, flow.attempt), 'id-token');
			expect(error.message).toMatch(/signature verification failed/);
		} finally {
			swapSigJwks = false;
		}
	});

	it('refuses an expired ID token (relying party clock one hour ahead)', async () => {
		const late = await createOidcClient(settings('/idp', { clockSkewSeconds: 60 * 60 }));
		const flow = await signIn(late);
		const error = await expectOidcError(late.complete(flow.callback, flow.attempt), 'id-token');
		expect(error.message).toMatch(/"exp"/);
		expect(error.userMessage).toMatch(/expired/);
	});

	it('refuses an unreachable issuer', async () => {
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const port = (closed.address() as AddressInfo).port;
		await new Promise<void>((resolve) => closed.close(() => resolve()));
		const error = await expectOidcError(createOidcClient({ ...settings('/idp'), issuer: `http://127.0.0.1:${port}/idp` }), 'discovery');
		expect(error.userMessage).toMatch(/could not reach/);
	});

	it('refuses a plain-http issuer that is not on this machine unless allowHttp is set', async () => {
		const error = await expectOidcError(createOidcClient({ ...settings('/idp'), issuer: 'http://idp.example.test/realms/accord' }), 'discovery');
		expect(error.userMessage).toMatch(/https/);
	});
});
