/**
 * What the HTTP surface answers when a request is not what it expects, on a real
 * server: a JSON body over the size limit is a 413 naming the limit (not "not valid
 * JSON"); a token-authenticated call without a JSON content type is a 415 in JSON (not
 * a 403 about cross-site forms), while a cross-site form riding on a session cookie is
 * still refused; and a page that does not exist says so, in English and Chinese,
 * while a record that does not exist keeps saying that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, startTestServer } from '../support/server.ts';
import { sessionFetch, signInWithFetch, type SignedIn } from '../support/sessions.ts';

let server: RunningServer;
let origin: string;

beforeAll(async () => {
	server = await startTestServer();
	origin = new URL(server.url).origin;
});
afterAll(async () => {
	await server.close();
});

/** A refusal an integration can act on: this status, JSON, and a sentence in `message`. */
async function refusal(response: Response, status: number): Promise<string> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	expect(response.headers.get('content-type') ?? '').toContain('application/json');
	const body = JSON.parse(text) as { message?: unknown };
	expect(typeof body.message).toBe('string');
	return body.message as string;
}

async function recordCount(): Promise<number> {
	const response = await apiFetch(`${server.url}/api/records?limit=1&archived=1`);
	return ((await response.json()) as { total: number }).total;
}

/** A valid record, padded with notes to about `bytes` of JSON. */
const bigRecord = (bytes: number) => JSON.stringify({ fields: { name: 'Big Co' }, notes: 'x'.repeat(bytes) });

describe('the API answers a body it cannot take with what to do instead', () => {
	it('a JSON body over the limit is a 413 that names the limit', async () => {
		const before = await recordCount();
		const message = await refusal(
			await apiFetch(`${server.url}/api/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bigRecord(600_000) }),
			413
		);
		expect(message).toMatch(/512 KB/);
		expect(message).not.toMatch(/not valid JSON/);

		// The same without a Content-Length (sent in chunks): found out while reading, same answer.
		const chunks = new TextEncoder().encode(bigRecord(700_000));
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				for (let at = 0; at < chunks.length; at += 64 * 1024) controller.enqueue(chunks.slice(at, at + 64 * 1024));
				controller.close();
			}
		});
		const chunked = await apiFetch(`${server.url}/api/records`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: stream,
			duplex: 'half'
		} as RequestInit);
		expect(await refusal(chunked, 413)).toMatch(/512 KB/);
		expect(await recordCount()).toBe(before);

		// Under the limit, broken JSON is still what it is.
		const broken = await apiFetch(`${server.url}/api/records`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fields": ' });
		expect(await refusal(broken, 400)).toMatch(/not valid JSON/);
	});

	it('a token-authenticated POST without a JSON content type is a 415 in JSON, whatever the type', async () => {
		const before = await recordCount();
		const payload = JSON.stringify({ fields: { name: 'Typed Co' } });
		for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
			const response = await apiFetch(`${server.url}/api/records`, { method: 'POST', headers: { 'content-type': type }, body: payload });
			expect(await refusal(response, 415), type).toContain('Content-Type: application/json');
		}
		// As curl -d sends it, from no site at all, and with another site's Origin: a token is not a browser's cookie.
		const fromElsewhere = await apiFetch(`${server.url}/api/records`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
			body: 'name=Typed+Co'
		});
		expect(await refusal(fromElsewhere, 415)).toContain('Content-Type: application/json');
		expect(await recordCount()).toBe(before);
	});

	describe('cross-site forms riding on the session cookie are still refused', () => {
		let bob: SignedIn;
		beforeAll(async () => {
			bob = await signInWithFetch(server, 'bob');
		});

		it('from another site, and with no Origin at all, to the API and to a form action', async () => {
			const before = await recordCount();
			const cases: Array<{ path: string; headers: Record<string, string> }> = [
				{ path: '/api/records', headers: { origin: 'http://evil.example' } },
				// An empty Origin: sessionFetch sends none.
				{ path: '/api/records', headers: { origin: '' } },
				{ path: '/records?/create', headers: { origin: 'http://evil.example' } },
				{ path: '/records?/create', headers: { origin: '', 'sec-fetch-site': 'cross-site' } }
			];
			for (const { path, headers } of cases) {
				const response = await sessionFetch(server, bob, path, {
					method: 'POST',
					headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
					body: 'name=CSRF+Co'
				});
				expect([path, headers, response.status]).toEqual([path, headers, 403]);
				expect((await response.text()).toLowerCase()).toContain('cross-site');
			}
			expect(await recordCount()).toBe(before);

			// The same form from Accord itself is taken.
			const own = await sessionFetch(server, bob, '/records?/create', {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', origin },
				body: 'name=Own+Form+Co',
				redirect: 'manual'
			});
			expect(own.status).toBe(303);
			expect(await recordCount()).toBe(before + 1);
		});

		it('a cross-site form to a public path, with no session, is refused too', async () => {
			const response = await fetch(`${server.url}/auth/sign-out`, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
				body: '',
				redirect: 'manual'
			});
			expect(response.status).toBe(403);
		});
	});
});

describe('a page that does not exist', () => {
	let bob: SignedIn;
	beforeAll(async () => {
		bob = await signInWithFetch(server, 'bob');
	});

	const page = async (path: string, language: 'en' | 'zh') => {
		const response = await sessionFetch(server, { cookie: `${bob.cookie}; accord_locale=${language}` }, path, { headers: { accept: 'text/html' } });
		return { status: response.status, html: await response.text() };
	};

	it('says "Page not found" with a way back to the records, in English and Chinese', async () => {
		for (const path of ['/reports', '/nope/x', '/settings/nope']) {
			const en = await page(path, 'en');
			expect([path, en.status]).toEqual([path, 404]);
			expect(en.html).toContain('Page not found');
			expect(en.html).not.toContain('Record not found');
			expect(en.html).toMatch(/<a [^>]*href="\/records"/);

			const zh = await page(path, 'zh');
			expect([path, zh.status]).toEqual([path, 404]);
			expect(zh.html).toContain('页面不存在');
			expect(zh.html).not.toContain('找不到该客户');
			expect(zh.html).toMatch(/<a [^>]*href="\/records"/);
		}
		// The language also follows the browser's when no choice was made.
		const response = await sessionFetch(server, bob, '/reports', { headers: { 'accept-language': 'zh-CN,zh;q=0.9' } });
		expect(response.status).toBe(404);
		expect(await response.text()).toContain('页面不存在');
	});

	it('a record that does not exist still says "Record not found"', async () => {
		const path = '/records/00000000-0000-4000-8000-000000000000';
		const en = await page(path, 'en');
		expect(en.status).toBe(404);
		expect(en.html).toContain('Record not found');
		expect(en.html).not.toContain('Page not found');
		const zh = await page(path, 'zh');
		expect(zh.status).toBe(404);
		expect(zh.html).toContain('找不到该客户');
		expect(zh.html).not.toContain('页面不存在');
	});
});
