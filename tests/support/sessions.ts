/**
 * Browser-less sign-in through the app, the way a browser does it: GET /auth/login →
 * the development provider's authorization endpoint → its login page → POST the chosen
 * person → redirects back to /auth/callback on the app → the `accord_session` cookie.
 * fetch() with manual redirects and a cookie jar kept per host (and path).
 */
import type { RunningServer } from '../../server/http.ts';

interface StoredCookie {
	value: string;
	path: string;
}

/** Cookies per host, honouring Path, Max-Age and Expires; enough for the sign-in flow. */
export class CookieJar {
	private readonly hosts = new Map<string, Map<string, StoredCookie>>();

	header(url: URL): string | null {
		const cookies = this.hosts.get(url.host);
		if (!cookies) return null;
		const pairs = [...cookies]
			.filter(([, cookie]) => url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
			.map(([name, cookie]) => `${name}=${cookie.value}`);
		return pairs.length > 0 ? pairs.join('; ') : null;
	}

	store(url: URL, response: Response): void {
		for (const line of response.headers.getSetCookie()) {
			const [pair, ...attributes] = line.split(';');
			const eq = pair.indexOf('=');
			const name = pair.slice(0, eq).trim();
			const value = pair.slice(eq + 1).trim();
			let path = '/';
			let expired = value === '';
			for (const attribute of attributes) {
				const [key, ...rest] = attribute.trim().split('=');
				const val = rest.join('=');
				if (key.toLowerCase() === 'path' && val.startsWith('/')) path = val;
				if (key.toLowerCase() === 'max-age' && Number(val) <= 0) expired = true;
				if (key.toLowerCase() === 'expires' && Date.parse(val) <= Date.now()) expired = true;
			}
			let cookies = this.hosts.get(url.host);
			if (!cookies) this.hosts.set(url.host, (cookies = new Map()));
			if (expired) cookies.delete(name);
			else cookies.set(name, { value, path });
		}
	}

	get(host: string, name: string): string | undefined {
		return this.hosts.get(host)?.get(name)?.value;
	}
}

/** A browser: fetch with manual redirects and the jar above. */
export class FetchBrowser {
	readonly jar = new CookieJar();

	async request(url: URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
		const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
		const cookie = this.jar.header(url);
		if (cookie) headers.cookie = cookie;
		let body: string | undefined;
		if (init.form !== undefined) {
			headers['content-type'] = 'application/x-www-form-urlencoded';
			headers.origin ??= url.origin;
			body = new URLSearchParams(init.form).toString();
		}
		const response = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
		this.jar.store(url, response);
		return response;
	}
}

function locationOf(response: Response, from: URL): URL {
	const header = response.headers.get('location');
	if (!header) throw new Error(`HTTP ${response.status} at ${from.href} without a Location header`);
	return new URL(header, from);
}

/** Follows redirects until `stop(url)` says so (returned without visiting it), or a page. */
async function follow(browser: FetchBrowser, first: Response, from: URL, stop: (url: URL) => boolean): Promise<{ stopped: URL } | { page: URL; html: string; status: number }> {
	let response = first;
	let current = from;
	for (let hops = 0; hops < 10; hops++) {
		if (response.status >= 300 && response.status < 400) {
			current = locationOf(response, current);
			if (stop(current)) return { stopped: current };
			response = await browser.request(current);
			continue;
		}
		return { page: current, html: await response.text(), status: response.status };
	}
	throw new Error(`too many redirects from ${from.href}`);
}

export interface ProviderRedirect {
	browser: FetchBrowser;
	/** The provider's redirect back to the app: /auth/callback?code=…&state=…&iss=… (not visited yet). */
	callback: URL;
}

/**
 * The front channel up to the provider's redirect back to the app: GET /auth/login,
 * the provider's login page, the person picked. The callback is returned unvisited.
 */
export async function reachCallback(server: RunningServer, userId: string, browser = new FetchBrowser(), returnTo?: string): Promise<ProviderRedirect> {
	const app = new URL(server.url);
	const login = new URL('/auth/login', app);
	if (returnTo) login.searchParams.set('returnTo', returnTo);
	const isCallback = (url: URL) => url.origin === app.origin && url.pathname === '/auth/callback';
	const start = await browser.request(login);
	if (start.status !== 303) throw new Error(`GET /auth/login answered ${start.status}: ${(await start.text()).slice(0, 300)}`);
	const page = await follow(browser, start, login, isCallback);
	if ('stopped' in page) return { browser, callback: page.stopped };
	if (page.status !== 200 || !page.page.pathname.includes('/interaction/')) {
		throw new Error(`expected the provider's login page, got HTTP ${page.status} at ${page.page.href}: ${page.html.slice(0, 300)}`);
	}
	const action = [...page.html.matchAll(/<form[^>]*\saction="([^"]+)"/g)]
		.map((m) => m[1].replace(/&#38;/g, '&').replace(/&amp;/g, '&'))
		.find((a) => a.endsWith('/login'));
	if (!action) throw new Error('no login form on the provider page');
	const actionUrl = new URL(action, page.page);
	const done = await follow(browser, await browser.request(actionUrl, { form: { user: userId } }), actionUrl, isCallback);
	if (!('stopped' in done)) throw new Error(`expected a redirect back to the app, got HTTP ${done.status}: ${done.html.slice(0, 300)}`);
	return { browser, callback: done.stopped };
}

export interface SignedIn {
	/** `accord_session=<token>`, ready for a Cookie header. */
	cookie: string;
	/** The session token alone. */
	token: string;
	/** The Set-Cookie line of the session cookie, as the app sent it. */
	setCookie: string;
	/** Where the app sent the browser after the callback. */
	location: string;
	/** The callback URL that was used (for replay tests). */
	callback: URL;
	browser: FetchBrowser;
}

/** Visits the callback on the app and captures the session cookie it sets. */
export async function completeSignIn(redirect: ProviderRedirect): Promise<SignedIn> {
	const { browser, callback } = redirect;
	const response = await browser.request(callback);
	if (response.status !== 303) throw new Error(`the callback answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
	const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('accord_session='));
	if (!setCookie) throw new Error('the callback set no accord_session cookie');
	const token = browser.jar.get(callback.host, 'accord_session');
	if (!token) throw new Error('the accord_session cookie was not kept');
	return { cookie: `accord_session=${token}`, token, setCookie, location: response.headers.get('location') ?? '', callback, browser };
}

/** The real sign-in of `userId` through the app and its development provider. */
export async function signInWithFetch(server: RunningServer, userId: string): Promise<SignedIn> {
	return completeSignIn(await reachCallback(server, userId));
}

/** fetch() as a signed-in browser: the session cookie, and Origin on state-changing requests (as browsers send it). */
export function sessionFetch(server: RunningServer, session: { cookie: string }, path: string, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set('cookie', session.cookie);
	const method = (init.method ?? 'GET').toUpperCase();
	// An explicit empty Origin means: send none (as a client without one would).
	if (headers.get('origin') === '') headers.delete('origin');
	else if (!['GET', 'HEAD'].includes(method) && !headers.has('origin')) headers.set('origin', new URL(server.url).origin);
	return fetch(new URL(path, server.url), { redirect: 'manual', ...init, headers });
}
