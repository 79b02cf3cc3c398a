/**
 * Accord without a network, across reloads and browser restarts, in a browser with a
 * real profile on disk (`launchPersistentContext`), so IndexedDB, the service worker
 * and the session cookie survive closing it, as they do for a person:
 *
 * - after one visit online, a reload with the network off still opens the record page
 *   and the list (the service worker's shell, the data from IndexedDB), and a new tab
 *   opens a record never opened on this device;
 * - changes made offline (fields, notes, tags, an activity, an archive, a new record)
 *   survive closing the browser, and reach the server when it is opened again online,
 *   merged with what someone else changed meanwhile, without opening those records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { signInAs } from '../support/sign-in.ts';
import { COMPACT_AFTER } from '../../src/lib/local/types.ts';
import { screenshotPath } from '../support/browser.ts';

const notes = (page: Page) => page.locator('[data-testid="notes-editor"] .cm-content');
const indicator = (page: Page) => page.getByTestId('connection-status');

interface ApiRecord {
	fields: Record<string, unknown>;
	tags: string[];
	notes: string;
	activities: { subject?: string }[];
	meta: { archived: boolean; createdBy: string };
}

function launch(userDataDir: string): Promise<BrowserContext> {
	return chromium.launchPersistentContext(userDataDir, {
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
		locale: 'en-US',
		viewport: { width: 1280, height: 860 }
	});
}

/** What the page's IndexedDB holds: the catch-up position and the pending changes. */
function localState(page: Page): Promise<{ position: string | null; pending: number; rows: number }> {
	return page.evaluate(
		() =>
			new Promise((resolve, reject) => {
				const open = indexedDB.open('accord');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const tx = db.transaction(['workspaces', 'pending', 'rows'], 'readonly');
					const workspaces = tx.objectStore('workspaces').getAll();
					const pending = tx.objectStore('pending').count();
					const rows = tx.objectStore('rows').count();
					tx.oncomplete = () => {
						db.close();
						const position = (workspaces.result as { position: string | null }[])[0]?.position ?? null;
						resolve({ position, pending: pending.result, rows: rows.result });
					};
				};
			})
	);
}

/** Sets the catch-up position the page's IndexedDB keeps (null: as before the first catch-up finished). */
function setPosition(page: Page, position: string | null): Promise<void> {
	return page.evaluate(
		(position) =>
			new Promise<void>((resolve, reject) => {
				const open = indexedDB.open('accord');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const tx = db.transaction('workspaces', 'readwrite');
					const store = tx.objectStore('workspaces');
					const all = store.getAll();
					all.onsuccess = () => {
						for (const workspace of all.result as { position: string | null }[]) store.put({ ...workspace, position });
					};
					tx.oncomplete = () => {
						db.close();
						resolve();
					};
					tx.onerror = () => reject(tx.error);
				};
			}),
		position
	);
}

/** How one document is stored in IndexedDB: the snapshot's size, and the updates appended after it. */
function storedDoc(page: Page, id: string): Promise<{ snapshot: number; updates: number }> {
	return page.evaluate(
		(id) =>
			new Promise((resolve, reject) => {
				const open = indexedDB.open('accord');
				open.onerror = () => reject(open.error);
				open.onsuccess = () => {
					const db = open.result;
					const tx = db.transaction(['docs', 'updates'], 'readonly');
					const docs = tx.objectStore('docs').getAll();
					const updates = tx.objectStore('updates').getAll();
					tx.oncomplete = () => {
						db.close();
						const doc = (docs.result as { id: string; snapshot: Uint8Array | null }[]).find((d) => d.id === id);
						resolve({ snapshot: doc?.snapshot?.byteLength ?? 0, updates: (updates.result as { id: string }[]).filter((u) => u.id === id).length });
					};
				};
			}),
		id
	);
}

async function record(server: RunningServer, id: string): Promise<ApiRecord | null> {
	const response = await apiFetch(`${server.url}/api/records/${id}`);
	return response.ok ? ((await response.json()) as ApiRecord) : null;
}

describe('offline across reloads and browser restarts', () => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let profile: { dir: string; remove(): void };
	let context: BrowserContext | null = null;
	let page: Page;
	let recordId: string;
	let toArchive: string;
	let neverOpened: string;
	const seeded = 20;

	beforeAll(async () => {
		data = tempDataDir();
		profile = tempDataDir('accord-profile-');
		server = await startTestServer({ dataDir: data.dir, seedDemo: true, demoRecordCount: seeded });
		recordId = await createRecord(server, { name: 'Sun Li', company: 'Pearl River Foods', stage: 'proposal', owner: 'bob', country: 'CN' }, { tags: ['food'], notes: 'Tasting next week.' });
		toArchive = await createRecord(server, { name: 'Old Lead Ltd', owner: 'bob' });
		neverOpened = await createRecord(server, { name: 'Never Opened Co', company: 'Only synced in the background', owner: 'alice' });
		context = await launch(profile.dir);
		page = context.pages()[0] ?? (await context.newPage());
		await signInAs(page, server, 'bob');
	});

	afterAll(async () => {
		await context?.close();
		await server?.close();
		data?.remove();
		profile?.remove();
	});

	it('keeps the whole workspace locally after one visit, under a service worker', async () => {
		await eventually(() => page.evaluate(() => navigator.serviceWorker.controller !== null), 'the service worker to control the page', 60_000);
		await eventually(async () => {
			const local = await localState(page);
			return local.position !== null && local.rows >= seeded + 3;
		}, 'the first catch-up to store every record locally', 30_000);
		await page.goto(`${server.url}/records/${recordId}`);
		await page.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 20_000 });
	});

	it('reloads a record page and the list with the network off, and opens a record never opened here in a new tab', async () => {
		await context!.setOffline(true);
		await page.reload();
		await page.waitForSelector(`[data-testid="record-page"][data-id="${recordId}"][data-ready="true"]`, { timeout: 20_000 });
		expect(await page.getByTestId('record-title').innerText()).toBe('Sun Li');
		await page.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 20_000 });

		// The list, from this device's copy.
		await page.getByRole('link', { name: 'Records', exact: true }).click();
		await page.waitForSelector('[data-testid="records-table"][data-source="local"]', { timeout: 20_000 });
		expect(await page.getByTestId('list-offline').isVisible()).toBe(true);
		expect(await page.getByTestId('list-range').innerText()).toContain(`of ${seeded + 3}`);
		await page.reload();
		await page.waitForSelector('[data-testid="records-table"][data-source="local"]', { timeout: 20_000 });
		expect(await page.getByTestId('record-row').count()).toBe(seeded + 3);
		expect(await page.getByTestId('list-offline').getAttribute('data-filling')).toBe('false');
		await page.screenshot({ path: screenshotPath('offline-list.png') });

		// Had the first catch-up not finished, the list says its copy is still being filled.
		const position = (await localState(page)).position;
		await setPosition(page, null);
		await page.reload();
		await page.waitForSelector('[data-testid="list-offline"][data-filling="true"]', { timeout: 20_000 });
		expect(await page.getByTestId('list-offline').innerText()).toContain(`only the ${seeded + 3} records copied so far`);
		await setPosition(page, position);
		await page.reload();
		await page.waitForSelector('[data-testid="list-offline"][data-filling="false"]', { timeout: 20_000 });

		// A new tab, straight to a record this browser never showed: the shell, then the local copy.
		const tab = await context!.newPage();
		await tab.goto(`${server.url}/records/${neverOpened}`);
		await tab.waitForSelector(`[data-testid="record-page"][data-id="${neverOpened}"][data-ready="true"]`, { timeout: 20_000 });
		expect(await tab.getByTestId('field-company').inputValue()).toBe('Only synced in the background');
		expect(new URL(tab.url()).pathname).toBe(`/records/${neverOpened}`);
		await tab.screenshot({ path: screenshotPath('offline-new-tab.png') });
		await tab.close();
	});

	it('edits, archives and creates records offline, and keeps it all when the browser is closed', async () => {
		await page.goto(`${server.url}/records/${recordId}`).catch(() => {});
		await page.waitForSelector(`[data-testid="record-page"][data-id="${recordId}"][data-ready="true"]`, { timeout: 20_000 });
		await page.getByTestId('field-company').fill('Pearl River Foods Group');
		await notes(page).click();
		await page.keyboard.press('End');
		await page.keyboard.type(' Offline note. Written on the train, with no network, one keystroke after another, each one kept on this device until the server has it.', { delay: 2 });
		await page.getByTestId('tag-input').fill('offline');
		await page.getByTestId('tag-input').press('Enter');
		await page.getByTestId('add-activities').click();

		// Archive another record, opened from the list.
		await page.goto(`${server.url}/records/${toArchive}`).catch(() => {});
		await page.waitForSelector(`[data-testid="record-page"][data-id="${toArchive}"][data-ready="true"]`, { timeout: 20_000 });
		await page.getByTestId('archive-toggle').click();
		await page.waitForSelector('[data-testid="archived-banner"]');

		// A new record, created on this device.
		await page.getByRole('link', { name: 'Records', exact: true }).click();
		await page.waitForSelector('[data-testid="records-table"][data-source="local"]', { timeout: 20_000 });
		await page.getByTestId('new-record').click();
		expect(await page.getByTestId('new-offline').isVisible()).toBe(true);
		await page.getByTestId('new-name').fill('新客户 Offline');
		await page.getByTestId('new-company').fill('Made Without Network');
		await page.getByTestId('new-submit').click();
		await page.waitForURL((url) => /^\/records\/[0-9a-f-]{36}$/.test(url.pathname), { timeout: 20_000 });
		const createdId = new URL(page.url()).pathname.split('/').pop()!;
		await page.waitForSelector('[data-testid="record-page"][data-ready="true"]', { timeout: 20_000 });
		expect(await page.getByTestId('record-offline').innerText()).toContain('Created on this device');
		await page.getByTestId('field-city').fill('广州');

		await expect.poll(async () => Number(await indicator(page).getAttribute('data-pending')), { timeout: 10_000 }).toBeGreaterThan(5);
		await page.evaluate(() => window.scrollTo(0, 0));
		await page.screenshot({ path: screenshotPath('offline-created.png') });
		await eventually(async () => (await localState(page)).pending >= 5, 'the changes to be stored in IndexedDB');
		// Stored compactly: a burst of typing is written in a few transactions, not one per keystroke.
		expect((await storedDoc(page, recordId)).updates).toBeLessThan(COMPACT_AFTER);
		expect(await record(server, createdId)).toBeNull();
		expect((await record(server, recordId))?.fields.company).toBe('Pearl River Foods');

		// Closed while offline, with all of it unsent.
		await context!.close();
		context = null;

		// Meanwhile, someone else changes the same record.
		await changeField(server, recordId, 'city', '深圳');

		// Opened again later, online, on the list only: the changes go up by themselves.
		context = await launch(profile.dir);
		page = context.pages()[0] ?? (await context.newPage());
		await page.goto(`${server.url}/records`);
		await page.waitForSelector('[data-testid="signed-in-person"][data-person="bob"]', { timeout: 20_000 });
		await eventually(async () => {
			const main = await record(server, recordId);
			return (
				main?.fields.company === 'Pearl River Foods Group' &&
				main.notes.includes('Offline note. Written on the train') &&
				main.tags.includes('offline') &&
				main.activities.length === 1
			);
		}, 'the edits of the record on the server', 30_000);
		await eventually(async () => (await record(server, toArchive))?.meta.archived === true, 'the archived record archived on the server', 30_000);
		await eventually(async () => {
			const created = await record(server, createdId);
			return created?.fields.name === '新客户 Offline' && created.fields.city === '广州';
		}, 'the new record on the server', 30_000);
		await page.waitForSelector('[data-testid="connection-status"][data-pending="0"][data-status="online"]', { timeout: 20_000 });
		expect((await localState(page)).pending).toBe(0);
		const created = await record(server, createdId);
		expect(created?.fields.company).toBe('Made Without Network');
		expect(created?.meta.createdBy).toBe('bob');
		// Merged with the change made elsewhere while the browser was closed.
		expect((await record(server, recordId))?.fields.city).toBe('深圳');

		await page.goto(`${server.url}/records/${recordId}`);
		await page.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 20_000 });
		expect(await page.getByTestId('field-city').inputValue()).toBe('深圳');
		expect(await page.getByTestId('field-company').inputValue()).toBe('Pearl River Foods Group');
	});
});

/** Someone else (an integration with an admin token) changes one field of a record, live over /sync. */
async function changeField(server: RunningServer, id: string, key: string, value: string): Promise<void> {
	const { SyncClient } = await import('../../src/lib/sync/client.ts');
	const { setField } = await import('../../src/lib/model/record.ts');
	const WebSocket = (await import('ws')).default;
	const { tokenFor } = await import('../support/server.ts');
	const client = new SyncClient({
		url: `${server.url.replace(/^http/, 'ws')}/sync?token=${encodeURIComponent(tokenFor(server, 'admin'))}`,
		WebSocket: WebSocket as never
	});
	const handle = client.open(id);
	await handle.whenSynced;
	setField(handle.doc, key, value);
	await eventually(() => handle.pending === 0, 'the other change stored');
	handle.release();
	client.destroy();
}
