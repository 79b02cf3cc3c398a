/**
 * Signing out clears this browser's copy of the workspace (IndexedDB, and the search
 * index saved from it) once nothing is pending; a copy holding changes the server has
 * not stored yet is kept, and the signed-out page says so. Screenshots of the page in
 * English, Chinese and at phone width.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

let server: RunningServer;
let browser: Browser;
let data: { dir: string; remove(): void };

beforeAll(async () => {
	data = tempDataDir('accord-sign-out-');
	server = await startTestServer({ dataDir: data.dir });
	for (const name of ['Zephyrine Quackenbush', 'Marmalade Foundry', '王芳']) await createRecord(server, { name, owner: 'bob' });
	browser = await launchBrowser();
});

afterAll(async () => {
	await browser?.close();
	await server?.close();
	data?.remove();
});

/** Entries in each store of the local copy, read straight from IndexedDB. */
function localCounts(page: Page): Promise<Record<string, number>> {
	return page.evaluate(
		() =>
			new Promise<Record<string, number>>((resolve, reject) => {
				const open = indexedDB.open('accord');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const names = [...db.objectStoreNames];
					const counts: Record<string, number> = {};
					if (names.length === 0) return resolve(counts);
					const tx = db.transaction(names, 'readonly');
					for (const name of names) {
						const request = tx.objectStore(name).count();
						request.onsuccess = () => (counts[name] = request.result);
					}
					tx.oncomplete = () => {
						db.close();
						resolve(counts);
					};
				};
			})
	);
}

const searchIndexKept = (page: Page) => page.evaluate(async () => (await indexedDB.databases()).some((db) => db.name === 'accord-search'));

async function signOut(page: Page): Promise<void> {
	await page.getByTestId('sign-out').click();
	// The development provider asks whether to end its own session too.
	await page.waitForURL((url) => url.pathname.startsWith('/idp/'), { timeout: 30_000 });
	await page.locator('button[name="logout"][value="yes"]').click();
	await page.waitForURL((url) => url.pathname === '/auth/signed-out', { timeout: 30_000 });
	await page.waitForSelector('[data-testid="signed-out-local"]', { timeout: 30_000 });
}

describe('signing out', () => {
	it('removes the local copy and the saved search index when nothing is pending', async () => {
		const bob = await pageAs(browser, server, 'bob');
		// The rows come first, the documents as the catch-up fetches them: both, before signing out.
		await eventually(
			async () => {
				const counts = await localCounts(bob);
				return (counts.rows ?? 0) >= 3 && (counts.docs ?? 0) >= 3;
			},
			'the local copy to hold the records and their documents',
			90_000
		);

		await signOut(bob);
		const local = bob.getByTestId('signed-out-local');
		expect(await local.getAttribute('data-pending')).toBe('0');
		expect(await local.innerText()).toBe('The copy of your workspace kept on this device for offline use has been removed.');
		expect(await localCounts(bob)).toEqual({ docs: 0, updates: 0, pending: 0, rows: 0, workspaces: 0 });
		expect(await searchIndexKept(bob)).toBe(false);
		await bob.screenshot({ path: screenshotPath('signed-out-en.png') });
		await bob.context().close();
	});

	it('keeps a copy that holds changes the server has not stored, and says so, in English and Chinese and on a phone', async () => {
		for (const [name, options] of [
			['signed-out-pending-en.png', { locale: 'en-US' }],
			['signed-out-pending-zh.png', { locale: 'zh-CN' }],
			['signed-out-pending-phone-zh.png', { locale: 'zh-CN', viewport: { width: 390, height: 844 } }]
		] as const) {
			const bob = await pageAs(browser, server, 'bob', options);
			await eventually(async () => ((await localCounts(bob)).rows ?? 0) >= 3, 'the local copy to hold the records', 90_000);
			// A change made offline and not yet sent, as the sync client keeps it (src/lib/local/indexeddb.ts).
			await bob.evaluate(
				() =>
					new Promise<void>((resolve, reject) => {
						const open = indexedDB.open('accord');
						open.onsuccess = () => {
							const tx = open.result.transaction(['pending'], 'readwrite');
							tx.objectStore('pending').add({ scope: 'demo\u0000bob', id: '00000000-0000-4000-8000-000000000001', update: new Uint8Array([0, 0]), at: new Date().toISOString() });
							tx.oncomplete = () => {
								open.result.close();
								resolve();
							};
							tx.onerror = () => reject(tx.error);
						};
					})
			);
			await signOut(bob);
			const local = bob.getByTestId('signed-out-local');
			expect(await local.getAttribute('data-pending')).toBe('1');
			expect(await local.innerText()).toBe(
				options.locale === 'zh-CN'
					? '有 1 项离线更改尚未保存到服务器。它会保留在此设备上，并在你重新登录后发送。'
					: '1 change made offline has not reached the server yet. It stays on this device and is sent when you sign in again.'
			);
			const counts = await localCounts(bob);
			expect(counts.pending).toBe(1);
			expect(counts.docs).toBeGreaterThanOrEqual(3);
			await bob.screenshot({ path: screenshotPath(name) });
			const box = await local.boundingBox();
			expect(box!.x + box!.width).toBeLessThanOrEqual(('viewport' in options ? options.viewport.width : 1280) + 1);
			await bob.context().close();
		}
	});
});
