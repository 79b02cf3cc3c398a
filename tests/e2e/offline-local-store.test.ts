/**
 * The IndexedDB store itself (src/lib/local/indexeddb.ts), in Chromium: bundled with
 * esbuild and run in a page, against the browser's real IndexedDB. One database for
 * every record; compaction keeps a document's stored updates bounded; changes typed in
 * a burst are written together; pending changes stay until acknowledged; people
 * (scopes) never see each other's copies; everything survives a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, contextAs } from '../support/browser.ts';
import { COMPACT_AFTER } from '../../src/lib/local/types.ts';
import type { LocalStoreTestApi } from './offline-local-store.entry.ts';

const ORIGIN = 'http://accord-local-store.test';

/** What the tests reach in the page. */
declare global {
	interface Window {
		accordLocal: LocalStoreTestApi;
	}
}

describe('the IndexedDB local store in the browser', () => {
	let browser: Browser;
	let page: Page;
	let bundle: string;

	async function openPage(): Promise<Page> {
		const next = await page.context().newPage();
		await next.goto(`${ORIGIN}/`);
		await next.evaluate(bundle);
		return next;
	}

	beforeAll(async () => {
		const built = await build({
			entryPoints: ['tests/e2e/offline-local-store.entry.ts'],
			bundle: true,
			format: 'iife',
			platform: 'browser',
			target: 'es2022',
			write: false
		});
		bundle = built.outputFiles[0].text;
		browser = await launchBrowser();
		const context = await contextAs(browser);
		// A page of its own origin (IndexedDB needs one), served without any server.
		await context.route(`${ORIGIN}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>local store</title>' }));
		page = await context.newPage();
		await page.goto(`${ORIGIN}/`);
		await page.evaluate(bundle);
	});

	afterAll(async () => {
		await browser?.close();
	});

	it('compacts a document’s stored updates into one snapshot instead of growing on every change', async () => {
		const result = await page.evaluate(async () => {
			const { Y, openIndexedDbStore, COMPACT_AFTER, inspect } = window.accordLocal;
			const store = await openIndexedDbStore('demo\u0000bob');
			const doc = new Y.Doc();
			const keys: number[] = [];
			doc.on('update', (update: Uint8Array) => void store.storeLocal('rec-1', update).then((key) => keys.push(key)));
			for (let i = 0; i < COMPACT_AFTER + 30; i++) {
				doc.getMap('fields').set('counter', i);
				// One transaction each (no burst): every change is its own appended update.
				await new Promise((resolve) => setTimeout(resolve, 0));
				while (keys.length < i + 1) await new Promise((resolve) => setTimeout(resolve, 1));
			}
			const stored = await inspect('demo\u0000bob', 'rec-1');
			const loaded = await store.load('rec-1');
			const copy = new Y.Doc();
			Y.applyUpdate(copy, loaded.state!);
			return { ...stored, pending: loaded.pending.length, counter: copy.getMap('fields').get('counter'), keys: keys.length, COMPACT_AFTER };
		});
		expect(result.keys).toBe(result.COMPACT_AFTER + 30);
		expect(result.snapshot).toBeGreaterThan(0);
		expect(result.updates).toBeLessThan(result.COMPACT_AFTER);
		expect(result.updates).toBe(30);
		expect(result.pending).toBe(result.COMPACT_AFTER + 30);
		expect(result.counter).toBe(result.COMPACT_AFTER + 29);
	});

	it('writes a burst of changes together, each still pending on its own until acknowledged', async () => {
		const result = await page.evaluate(async () => {
			const { Y, openIndexedDbStore, inspect } = window.accordLocal;
			const store = await openIndexedDbStore('demo\u0000bob');
			const doc = new Y.Doc();
			const writes: Promise<number>[] = [];
			doc.on('update', (update: Uint8Array) => writes.push(store.storeLocal('rec-2', update)));
			for (let i = 0; i < 60; i++) doc.getText('notes').insert(i, 'x');
			const keys = await Promise.all(writes);
			const before = await inspect('demo\u0000bob', 'rec-2');
			const pendingBefore = (await store.pendingDocs()).get('rec-2');
			await store.acknowledge('rec-2', keys.slice(0, 40));
			const pendingAfter = (await store.pendingDocs()).get('rec-2');
			await store.acknowledge('rec-2', keys.slice(40));
			const loaded = await store.load('rec-2');
			const copy = new Y.Doc();
			Y.applyUpdate(copy, loaded.state!);
			return { rows: before.updates, distinctKeys: new Set(keys).size, pendingBefore, pendingAfter, pendingLast: loaded.pending.length, text: copy.getText('notes').toString() };
		});
		expect(result.distinctKeys).toBe(60);
		expect(result.rows).toBeLessThan(60);
		expect(result.pendingBefore).toBe(60);
		expect(result.pendingAfter).toBe(20);
		expect(result.pendingLast).toBe(0);
		expect(result.text).toBe('x'.repeat(60));
	});

	it('keeps each person’s copy apart, and the position, rows and creation mark with it', async () => {
		const result = await page.evaluate(async () => {
			const { Y, openIndexedDbStore } = window.accordLocal;
			const bob = await openIndexedDbStore('demo\u0000bob');
			const carol = await openIndexedDbStore('demo\u0000carol');
			const doc = new Y.Doc();
			doc.getMap('fields').set('name', 'Private to bob');
			await bob.storeRemote('rec-3', Y.encodeStateAsUpdate(doc));
			await bob.setCreatedLocally('rec-3', true);
			await bob.setPosition('u1:2026-01-01T00:00:00.000Z');
			const row = { id: 'rec-3', workspace: 'demo', name: 'Private to bob', company: null, email: null, phone: null, stage: null, owner: 'bob', value: null, currency: null, country: null, city: null, tags: [], archived: false, private: true, createdAt: '', updatedAt: '' };
			await bob.putRows([row]);
			return {
				bob: { hasState: (await bob.load('rec-3')).state !== null, created: (await bob.load('rec-3')).createdLocally, position: await bob.position(), rows: (await bob.rows()).length },
				carol: { hasState: (await carol.load('rec-3')).state !== null, position: await carol.position(), rows: (await carol.rows()).length, pending: (await carol.pendingDocs()).size }
			};
		});
		expect(result.bob).toEqual({ hasState: true, created: true, position: 'u1:2026-01-01T00:00:00.000Z', rows: 1 });
		expect(result.carol).toEqual({ hasState: false, position: null, rows: 0, pending: 0 });
	});

	it('keeps everything across a reload, until a document is forgotten', async () => {
		const reopened = await openPage();
		await page.close();
		page = reopened;
		const result = await page.evaluate(async () => {
			const { Y, openIndexedDbStore } = window.accordLocal;
			const bob = await openIndexedDbStore('demo\u0000bob');
			const kept = await bob.load('rec-1');
			const copy = new Y.Doc();
			Y.applyUpdate(copy, kept.state!);
			const before = { counter: copy.getMap('fields').get('counter'), pending: kept.pending.length, row: (await bob.row('rec-3'))?.name ?? null };
			await bob.forget('rec-3');
			const after = { state: (await bob.load('rec-3')).state, row: await bob.row('rec-3') };
			const databases = (await indexedDB.databases()).map((d) => d.name);
			return { before, after, databases };
		});
		expect(result.before).toEqual({ counter: COMPACT_AFTER + 29, pending: COMPACT_AFTER + 30, row: 'Private to bob' });
		expect(result.after).toEqual({ state: null, row: null });
		expect(result.databases).toEqual(['accord']);
	});
});
