/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/**
 * The app shell offline: a reload, or a new tab, with no network still opens the
 * workspace, the list and record pages (their data then comes from IndexedDB).
 *
 * - The built app (`build`) and static files (`files`) are cached at install, per
 *   version, and served from the cache.
 * - Pages (navigations) and `__data.json` go to the network first; what comes back (200,
 *   not redirected) is kept, and served when the network fails. A record page never
 *   opened on this device falls back to the `/records/offline` shell (rendered for this
 *   person, kept whenever a records page loads), which routes to the record client-side;
 *   any other page falls back to the list.
 * - Never touched: /api/*, /auth/*, /idp/*, /sync, /y/*, /healthz (answers must be live,
 *   and sign-in must never come from a cache).
 * - Leaving for sign-in or sign-out clears the kept pages (they hold the person's data).
 */
import { build, files, version } from '$service-worker';
import { isClaimRequest } from '$lib/offline-shell.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;

const ASSETS = `accord-assets-${version}`;
const PAGES = `accord-pages-${version}`;
const PRECACHE = [...build, ...files];
const PRECACHED = new Set(PRECACHE);
const OFFLINE_SHELL = '/records/offline';
const LIST = '/records';
/** Refresh the offline shell at most this often. */
const SHELL_REFRESH_MS = 10 * 60_000;
let shellFetchedAt = 0;

const NEVER = [/^\/api\//, /^\/auth\//, /^\/idp(\/|$)/, /^\/sync$/, /^\/y\//, /^\/healthz$/];

sw.addEventListener('install', (event) => {
	event.waitUntil(
		(async () => {
			const cache = await caches.open(ASSETS);
			await cache.addAll(PRECACHE);
			await sw.skipWaiting();
		})()
	);
});

sw.addEventListener('activate', (event) => {
	event.waitUntil(
		(async () => {
			for (const key of await caches.keys()) if (key !== ASSETS && key !== PAGES) await caches.delete(key);
			await sw.clients.claim();
			// The open pages loaded before this worker could keep them: kept now, so a reload without a network finds them.
			const windows = await sw.clients.matchAll({ type: 'window' });
			await Promise.all(windows.slice(0, 10).map((client) => keepLoadedPage(client.url)));
		})()
	);
});

// A page still loading when this worker activated is skipped by the claim above (only
// pages that have started running are claimed), and would stay uncontrolled, with no
// offline shell, until its next reload. Such a page asks again once it runs (see
// `src/lib/offline-shell.ts`).
sw.addEventListener('message', (event) => {
	if (!isClaimRequest(event.data)) return;
	event.waitUntil(Promise.all([sw.clients.claim(), keepLoadedPage(event.data.url)]));
});

/** Keeps a page that loaded before this worker could (see the claim above), as a navigation to it would. */
async function keepLoadedPage(href: string): Promise<void> {
	let url: URL;
	try {
		url = new URL(href);
	} catch {
		return;
	}
	if (url.origin !== sw.location.origin || NEVER.some((pattern) => pattern.test(url.pathname))) return;
	try {
		const response = await fetch(url.href, { credentials: 'same-origin' });
		await keep(url.href, response);
	} catch {
		// Offline already: it is kept at the next visit.
	}
	if (url.pathname.startsWith(LIST)) await refreshShell();
}

sw.addEventListener('fetch', (event) => {
	const request = event.request;
	if (request.method !== 'GET') return;
	const url = new URL(request.url);
	if (url.origin !== sw.location.origin) return;
	if (NEVER.some((pattern) => pattern.test(url.pathname))) {
		// Sign-in and sign-out: the kept pages hold the previous person's data.
		if (request.mode === 'navigate' && url.pathname.startsWith('/auth/')) event.waitUntil(caches.delete(PAGES));
		return;
	}
	if (PRECACHED.has(url.pathname)) {
		event.respondWith(cacheFirst(request));
		return;
	}
	if (request.mode === 'navigate') {
		event.respondWith(page(request, url, event));
		return;
	}
	if (url.pathname.endsWith('/__data.json')) {
		event.respondWith(networkFirst(request, event));
	}
});

async function cacheFirst(request: Request): Promise<Response> {
	const cached = await caches.match(request, { cacheName: ASSETS });
	return cached ?? fetch(request);
}

/** Keeps a page's answer if it is the page itself (not an error, not a redirect to sign-in). */
async function keep(request: Request | string, response: Response): Promise<void> {
	if (response.status !== 200 || response.redirected || response.type !== 'basic') return;
	const cache = await caches.open(PAGES);
	await cache.put(request, response);
}

async function networkFirst(request: Request, event: FetchEvent): Promise<Response> {
	try {
		const response = await fetch(request);
		if (response.status === 200) event.waitUntil(keep(request, response.clone()));
		return response;
	} catch (error) {
		const cached = await caches.match(request, { cacheName: PAGES });
		if (cached) return cached;
		throw error;
	}
}

async function page(request: Request, url: URL, event: FetchEvent): Promise<Response> {
	try {
		const response = await fetch(request);
		if (response.status === 200 && !response.redirected) {
			event.waitUntil(keep(request, response.clone()));
			if (url.pathname.startsWith(LIST)) event.waitUntil(refreshShell());
		}
		return response;
	} catch {
		return (await offlinePage(url)) ?? offlineNotice();
	}
}

/** The page to show for `url` without a network. */
async function offlinePage(url: URL): Promise<Response | undefined> {
	const cache = await caches.open(PAGES);
	const exact = await cache.match(url.href);
	if (exact) return exact;
	const sameRoute = await cache.match(url.href, { ignoreSearch: true });
	if (sameRoute) return sameRoute;
	// A record page never opened here: the shell routes to it from the client. (Same
	// depth as a record's path, so its relative asset paths resolve.)
	if (/^\/records\/[^/]+$/.test(url.pathname)) return cache.match(new URL(OFFLINE_SHELL, url).href);
	if (url.pathname.split('/').length <= 2) return cache.match(new URL(LIST, url).href, { ignoreSearch: true });
	return undefined;
}

/** Fetches the offline shell for this person again (it carries their workspace and people). */
async function refreshShell(): Promise<void> {
	if (Date.now() - shellFetchedAt < SHELL_REFRESH_MS) return;
	shellFetchedAt = Date.now();
	try {
		const shell = new URL(OFFLINE_SHELL, sw.location.origin).href;
		const response = await fetch(shell, { credentials: 'same-origin' });
		await keep(shell, response);
	} catch {
		shellFetchedAt = 0;
	}
}

function offlineNotice(): Response {
	const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Accord · offline</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 34rem; padding: 0 1rem; line-height: 1.5">
<h1>You are offline</h1><p>This page has not been opened on this device yet. Your records are at <a href="/records">/records</a>.</p>
<p lang="zh-Hans">当前离线，此页面尚未在本设备上打开过。请前往 <a href="/records">客户列表</a>。</p></body></html>`;
	return new Response(html, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
}
