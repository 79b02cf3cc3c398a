/**
 * Erasing a customer in the browser: an admin finds "Erase for good…" under the record,
 * the dialog names the record and its button works only once the name is typed; after
 * the erasure the list is shown without it, and her tab's local copy no longer has it.
 * An editor does not see the action. Keeps screenshots of the dialog in English, in
 * Chinese and at phone width (390 px).
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiFetch, createRecord } from '../support/server.ts';
import { screenshotPath } from '../support/browser.ts';
import { useServerAndBrowser } from '../support/server-and-browser.ts';
import { pageAs } from '../support/sign-in.ts';

const env = useServerAndBrowser();

const live = (page: Page, id: string) => page.waitForSelector(`[data-testid="record-page"][data-id="${id}"][data-live="true"]`, { timeout: 30_000 });

describe('erasing a customer in the browser', () => {
	it('asks an admin to type the name, erases, and shows the list without it; editors do not see it', async () => {
		const { server, browser } = env;
		const shots: [string, { locale: string; viewport?: { width: number; height: number } }][] = [
			['erase-record-en.png', { locale: 'en-US' }],
			['erase-record-zh.png', { locale: 'zh-CN' }],
			['erase-record-phone-zh.png', { locale: 'zh-CN', viewport: { width: 390, height: 844 } }]
		];
		for (const [name, options] of shots) {
			const id = await createRecord(server, { name: '赵敏 Zhao Min', company: 'Mingjiao Trading', email: 'zhao.min@mingjiao.cn' });
			const alice = await pageAs(browser, server, 'alice', options);
			await alice.goto(`${server.url}/records/${id}`);
			await live(alice, id);
			await alice.getByTestId('erase-record-open').click();
			const dialog = alice.getByTestId('erase-dialog');
			await dialog.waitFor();
			expect(await dialog.textContent()).toContain(options.locale === 'zh-CN' ? '彻底删除“赵敏 Zhao Min”？' : 'Erase “赵敏 Zhao Min” for good?');
			const confirm = alice.getByTestId('erase-confirm');
			expect(await confirm.isDisabled()).toBe(true);
			await alice.getByTestId('erase-confirm-input').fill('赵敏');
			expect(await confirm.isDisabled()).toBe(true);
			await alice.getByTestId('erase-confirm-input').fill('赵敏 Zhao Min');
			expect(await confirm.isDisabled()).toBe(false);
			await alice.screenshot({ path: screenshotPath(name) });
			// The dialog fits the screen.
			const box = await dialog.boundingBox();
			expect(box!.x + box!.width).toBeLessThanOrEqual((options.viewport?.width ?? 1280) + 1);
			await confirm.click();
			await alice.waitForURL(`${server.url}/records`, { timeout: 30_000 });
			expect((await apiFetch(`${server.url}/api/records/${id}`, {}, 'admin')).status).toBe(404);
			// The tab's local copy drops it too (told by the server, not by the page).
			await alice.waitForFunction(
				async (recordId) => {
					const names = await indexedDB.databases();
					for (const { name } of names) {
						if (!name) continue;
						const db = await new Promise<IDBDatabase>((resolve, reject) => {
							const request = indexedDB.open(name);
							request.onsuccess = () => resolve(request.result);
							request.onerror = () => reject(request.error);
						});
						try {
							for (const store of Array.from(db.objectStoreNames)) {
								const found = await new Promise<unknown>((resolve) => {
									const request = db.transaction(store).objectStore(store).get(recordId);
									request.onsuccess = () => resolve(request.result);
									request.onerror = () => resolve(undefined);
								});
								if (found !== undefined) return false;
							}
						} finally {
							db.close();
						}
					}
					return true;
				},
				id,
				{ timeout: 30_000, polling: 500 }
			);
			expect(await alice.getByText('赵敏 Zhao Min').count()).toBe(0);
			await alice.context().close();
		}

		const id = await createRecord(server, { name: 'Editor Cannot Erase' });
		const bob = await pageAs(browser, server, 'bob');
		await bob.goto(`${server.url}/records/${id}`);
		await live(bob, id);
		expect(await bob.getByTestId('erase-record').count()).toBe(0);
		await bob.context().close();
	});
});
