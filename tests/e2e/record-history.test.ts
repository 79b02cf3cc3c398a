/**
 * Record history in the browser: alice and bob on one record; bob changes the company;
 * alice's timeline shows his entry (also through the field's own "History" button),
 * she restores the earlier value from the timeline and bob's page shows it live. Then
 * both go offline, both change the company, and come back one after the other: a
 * conflict notice naming both people appears, and "Restore" brings the lost value back.
 * Last, the admin audit page lists the record's entries and links a CSV export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch } from '../support/server.ts';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';
import { screenshotPath } from '../support/browser.ts';

interface ApiRecord {
	fields: Record<string, unknown>;
}

const entries = (page: Page) => page.locator('[data-testid="history-entry"]');
const company = (page: Page) => page.getByTestId('field-company');
const storedCompany = async (server: RunningServer, id: string) =>
	((await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as ApiRecord).fields.company;

describe('record history, restore and conflicts in the browser', () => {
	let people: TwoPeople;
	let server: RunningServer;
	let recordId: string;
	let alice: Page;
	let bob: Page;
	let aliceContext: BrowserContext;
	let bobContext: BrowserContext;

	beforeAll(async () => {
		people = await twoPeopleOnOneRecord({
			demoRecordCount: 5,
			record: { fields: { name: 'Grace Wu', company: 'Northwind Ltd', stage: 'lead', city: 'Hangzhou', country: 'CN' } },
			waitFor: ['[data-testid="history-entry"]']
		});
		({ server, recordId, alice, bob } = people);
		aliceContext = alice.context();
		bobContext = bob.context();
	});

	afterAll(async () => {
		await people?.close();
	});

	it("shows bob's change in alice's timeline, and restores the earlier value live on bob's page", async () => {
		await company(bob).fill('Southwind Ltd');
		await company(bob).press('Tab');

		const bobsEntry = alice.locator('[data-testid="history-entry"][data-person="bob"][data-path="fields.company"][data-op="set"]');
		await bobsEntry.first().waitFor({ timeout: 15_000 });
		await expect.poll(async () => await bobsEntry.first().getByTestId('history-after').textContent(), { timeout: 10_000 }).toBe('Southwind Ltd');
		expect(await bobsEntry.first().textContent()).toContain('Bob Martin');
		expect(await bobsEntry.first().textContent()).toContain('Northwind Ltd');
		expect(await bobsEntry.first().getAttribute('data-source')).toBe('ui');

		// The field's own history: the timeline filtered to the company.
		await alice.getByTestId('field-history-company').click();
		expect(await alice.getByTestId('history-field').inputValue()).toBe('company');
		await expect
			.poll(async () => (await entries(alice).evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-path')))).every((p) => p === 'fields.company'), { timeout: 10_000 })
			.toBe(true);

		await bobsEntry.first().getByTestId('history-restore').click();
		await expect.poll(() => company(bob).inputValue(), { timeout: 15_000 }).toBe('Northwind Ltd');
		await expect.poll(() => company(alice).inputValue(), { timeout: 15_000 }).toBe('Northwind Ltd');
		expect(await storedCompany(server, recordId)).toBe('Northwind Ltd');
		const restoreEntry = alice.locator('[data-testid="history-entry"][data-source="restore"][data-person="alice"]');
		await restoreEntry.first().waitFor({ timeout: 15_000 });
		expect(await restoreEntry.first().getByTestId('history-after').textContent()).toBe('Northwind Ltd');
	});

	it('tells both people about concurrent offline edits of one field, naming both', async () => {
		await Promise.all([aliceContext.setOffline(true), bobContext.setOffline(true)]);
		for (const page of [alice, bob]) await page.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 15_000 });

		await company(alice).fill('Alice Offline Co');
		await company(alice).press('Tab');
		await company(bob).fill('Bob Offline Co');
		await company(bob).press('Tab');

		await aliceContext.setOffline(false);
		await alice.waitForSelector('[data-testid="connection-status"][data-status="online"][data-pending="0"]', { timeout: 30_000 });
		await expect.poll(() => storedCompany(server, recordId), { timeout: 15_000 }).toBe('Alice Offline Co');

		await bobContext.setOffline(false);
		await bob.waitForSelector('[data-testid="connection-status"][data-status="online"][data-pending="0"]', { timeout: 30_000 });
		await expect.poll(async () => (await company(alice).inputValue()) === (await company(bob).inputValue()), { timeout: 15_000 }).toBe(true);
		const winner = await company(alice).inputValue();
		const loser = winner === 'Alice Offline Co' ? 'Bob Offline Co' : 'Alice Offline Co';
		const loserName = loser === 'Bob Offline Co' ? 'Bob Martin' : 'Alice Chen';

		for (const page of [alice, bob]) {
			const notice = page.getByTestId('conflict-notice');
			await notice.first().waitFor({ timeout: 30_000 });
			const text = (await notice.first().getByTestId('conflict-text').textContent()) ?? '';
			expect(text).toContain('Alice Chen');
			expect(text).toContain('Bob Martin');
			expect(text).toContain(winner);
			expect(text).toContain(loser);
			expect(await notice.first().getByTestId('conflict-restore').textContent()).toContain(loserName);
		}

		// The timeline shows the conflict too; the screenshot shows both.
		await alice.getByTestId('field-history-company').click();
		await alice.locator('[data-testid="history-entry"][data-op="conflict"]').first().waitFor({ timeout: 15_000 });
		await alice.waitForTimeout(600);
		await alice.screenshot({ path: screenshotPath('record-history.png'), fullPage: false });

		// Keep dismisses on this device (and stays dismissed after a reload).
		await bob.getByTestId('conflict-keep').first().click();
		expect(await bob.getByTestId('conflict-notice').count()).toBe(0);
		await bob.reload();
		await bob.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 30_000 });
		await bob.waitForSelector('[data-testid="history-entry"][data-op="conflict"]', { timeout: 15_000 });
		expect(await bob.getByTestId('conflict-notice').count()).toBe(0);

		// Restore brings the lost value back, everywhere.
		await alice.getByTestId('conflict-restore').first().click();
		await expect.poll(() => company(bob).inputValue(), { timeout: 15_000 }).toBe(loser);
		await expect.poll(() => storedCompany(server, recordId), { timeout: 15_000 }).toBe(loser);
		await expect.poll(() => alice.getByTestId('conflict-notice').count(), { timeout: 15_000 }).toBe(0);
	});

	it('lists the entries on the admin audit page, with a CSV export; editors get a 403', async () => {
		await alice.goto(`${server.url}/settings`);
		await alice.getByTestId('audit-link').click();
		await alice.waitForSelector('[data-testid="audit-page"]');
		await alice.goto(`${server.url}/settings/audit?record=${recordId}&field=company&source=restore`);
		const rows = alice.getByTestId('audit-row');
		await rows.first().waitFor({ timeout: 10_000 });
		// Alice's two restores of the company (the server may coalesce them into one entry).
		const count = await rows.count();
		expect(count).toBeGreaterThanOrEqual(1);
		expect(await alice.getByTestId('audit-table').textContent()).toContain('Alice Chen');
		const href = (await alice.getByTestId('audit-export').getAttribute('href')) ?? '';
		expect(href).toContain('format=csv');
		expect(href).toContain(`record=${recordId}`);
		const csv = await alice.evaluate(async (url) => (await fetch(url)).text(), href);
		expect(csv.trim().split('\n')).toHaveLength(count + 1);

		const response = await bob.goto(`${server.url}/settings/audit`);
		expect(response?.status()).toBe(403);
	});
});
