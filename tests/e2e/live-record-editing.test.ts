/**
 * Two people in two browsers on one record: keystrokes in a field and in the notes
 * reach the other, who also sees who is editing which field. Both sign in through the
 * development identity provider: alice (admin) and bob (editor).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually } from '../support/server.ts';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';
import { screenshotPath } from '../support/browser.ts';

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

	it('keeps an invalid email with its reason and writes nothing; writes it once fixed; Escape drops a draft', async () => {
		const email = alice.getByTestId('field-email');
		const before = await bob.getByTestId('field-email').inputValue();
		await email.fill('ada@@example');
		await email.blur();
		const reason = alice.locator('[data-field="email"] .field-error');
		await expect.poll(() => reason.textContent(), { timeout: 10_000 }).toContain('is not an email address');
		expect(await email.getAttribute('aria-invalid')).toBe('true');
		// Held, not written: the field keeps what Alice typed, and Bob still sees the stored value.
		expect(await email.inputValue()).toBe('ada@@example');
		expect(await bob.getByTestId('field-email').inputValue()).toBe(before);

		await email.fill(' Ada.Lovelace@Example.COM ');
		await email.blur();
		await expect.poll(() => bob.getByTestId('field-email').inputValue(), { timeout: 10_000 }).toBe('ada.lovelace@example.com');
		expect(await reason.count()).toBe(0);
		expect(await email.getAttribute('aria-invalid')).toBe('false');

		await email.fill('not yet an email');
		await email.press('Escape');
		expect(await email.inputValue()).toBe('ada.lovelace@example.com');
	});

	it('keeps an unreadable contact phone with its reason, and writes the readable one in international form', async () => {
		await alice.getByTestId('add-contacts').click();
		const phone = alice.getByTestId('item-contacts-phone').last();
		await phone.fill('12');
		await phone.blur();
		const row = alice.getByTestId('item-contacts').last();
		await expect.poll(() => row.locator('.field-error').textContent(), { timeout: 10_000 }).toContain('is not a phone number we can read');
		expect(await phone.inputValue()).toBe('12');

		await phone.fill('+86 21 6123 4567');
		await phone.blur();
		await expect.poll(() => bob.getByTestId('item-contacts-phone').last().inputValue(), { timeout: 10_000 }).toBe('+86 21 6123 4567');
		expect(await row.locator('.field-error').count()).toBe(0);
	});

	it('shows both people on the record, and a screenshot is taken for the README', async () => {
		await alice.getByTestId('field-company').focus();
		await expect.poll(() => bob.locator('[data-testid="avatar"][data-person="alice"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
		await expect.poll(() => bob.getByTestId('presence-company').isVisible(), { timeout: 10_000 }).toBe(true);
		await bob.screenshot({ path: screenshotPath('record-page.png'), fullPage: false });
	});
});
