/**
 * Two people in two browsers on one record: keystrokes in a field and in the notes
 * reach the other, who also sees who is editing which field. Both sign in through the
 * development identity provider: alice (admin) and bob (editor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually } from '../support/server.ts';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';

describe('live editing of one record by two people', () => {
	let people: TwoPeople;
	let server: RunningServer;
	let recordId: string;
	let alice: Page;
	let bob: Page;

	beforeAll(async () => {
		people = await twoPeopleOnOneRecord({
			demoRecordCount: 20,
			record: { fields: { name: '陈静', company: 'Northwind Traders', stage: 'qualified', owner: 'alice', value: 48000, currency: 'CNY', city: '上海', country: 'CN' }, extra: { tags: ['vip', '重点客户'], notes: 'First meeting went well.' } }
		});
		({ server, recordId, alice, bob } = people);
	});

	afterAll(async () => {
		await people?.close();
	});

	it('shows a keystroke in a field to the other person, with the editor marked on that field', async () => {
		const company = alice.getByTestId('field-company');
		await company.click();
		await company.fill('');
		await company.pressSequentially('Huaxin Technology', { delay: 15 });
		await expect.poll(() => bob.getByTestId('field-company').inputValue(), { timeout: 10_000 }).toBe('Huaxin Technology');
		await expect.poll(() => bob.getByTestId('presence-company').textContent(), { timeout: 10_000 }).toContain('Alice');
	});

	it('shows typing in the notes to the other person', async () => {
		const notes = alice.locator('[data-testid="notes-editor"] .cm-content');
		await notes.click();
		await alice.keyboard.press('End');
		await alice.keyboard.type(' Send the proposal on Friday.', { delay: 10 });
		await expect
			.poll(() => bob.locator('[data-testid="notes-editor"] .cm-content').innerText(), { timeout: 10_000 })
			.toContain('Send the proposal on Friday.');
	});

	it('stores what was typed, as the API shows', async () => {
		await eventually(async () => {
			const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as { fields: { company: string }; notes: string };
			return record.fields.company === 'Huaxin Technology' && record.notes.includes('Send the proposal on Friday.');
		}, 'the record to be stored with both edits');
	});

	it('shows both people on the record, and a screenshot is taken for the README', async () => {
		await alice.getByTestId('field-company').focus();
		await expect.poll(() => bob.locator('[data-testid="avatar"][data-person="alice"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
		await expect.poll(() => bob.getByTestId('presence-company').isVisible(), { timeout: 10_000 }).toBe(true);
		mkdirSync('docs', { recursive: true });
		await bob.screenshot({ path: 'docs/record-page.png', fullPage: false });
	});
});
