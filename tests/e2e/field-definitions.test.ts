/**
 * Fields defined by the workspace, in two browsers: alice (admin) adds a select field in
 * Settings → Fields, and bob (editor), with a record open, has it at once, without a
 * reload; his choice is stored; a retired field disappears from his page, its value kept;
 * the list's column chooser offers the field and shows its values; a field marked "ask on
 * create" is asked by the New record dialog, and the audit page shows what was done.
 * Keeps screenshots of the Settings page in English, in Chinese and at phone width.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually } from '../support/server.ts';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';
import { screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

describe('fields defined by the workspace', () => {
	let people: TwoPeople;
	let server: RunningServer;
	let recordId: string;
	let alice: Page;
	let bob: Page;

	beforeAll(async () => {
		people = await twoPeopleOnOneRecord({
			demoRecordCount: 5,
			record: { fields: { name: '王芳', company: 'Huaxin Technology', stage: 'lead', country: 'CN' } }
		});
		({ server, recordId, alice, bob } = people);
	});

	afterAll(async () => {
		await people?.close();
	});

	it('an admin adds a select field in Settings and the other browser shows it on the open record at once', async () => {
		await alice.goto(`${server.url}/settings`);
		await alice.getByTestId('fields-link').click();
		await alice.waitForSelector('[data-testid="field-row-stage"]');
		expect(await bob.getByTestId('field-x_lead_source').count()).toBe(0);

		await alice.getByTestId('new-field-label-en').fill('Lead source');
		await alice.getByTestId('new-field-label-zh').fill('线索来源');
		await alice.getByTestId('new-field-type').selectOption('select');
		await alice.getByTestId('new-field-options').fill('Trade show | 展会\nReferral | 推荐\nWebsite | 官网');
		await alice.getByTestId('new-field-submit').click();
		await alice.waitForSelector('[data-testid="field-row-x_lead_source"]');

		// Bob did nothing: the field arrives on his open record page.
		const select = bob.getByTestId('field-x_lead_source');
		await select.waitFor({ timeout: 10_000 });
		expect(await bob.locator('[data-field="x_lead_source"] label').textContent()).toContain('Lead source');
		// "Not set", then the options in the order given.
		expect((await select.locator('option').allTextContents()).slice(1)).toEqual(['Trade show', 'Referral', 'Website']);
		await select.selectOption('referral');
		await eventually(async () => {
			const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as { fields: Record<string, unknown> };
			return record.fields.x_lead_source === 'referral';
		}, 'the choice to be stored');
		await bob.screenshot({ path: screenshotPath('fields-record-new-field.png'), fullPage: true });
	});

	it('refuses a clashing field with the reason, and a retired field leaves the open record, its value kept', async () => {
		await alice.getByTestId('new-field-label-en').fill('Lead source');
		await alice.getByTestId('new-field-type').selectOption('text');
		await alice.getByTestId('new-field-submit').click();
		// The key is made from the name, so a second "Lead source" gets its own key; a clash comes from the API with a key given.
		await alice.waitForSelector('[data-testid="field-row-x_lead_source_2"]');
		const clash = await apiFetch(`${server.url}/api/fields`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'x_lead_source', label: 'Again', type: 'text' }) }, 'admin');
		expect(clash.status).toBe(409);

		await alice.getByTestId('field-retire-x_lead_source').click();
		await alice.waitForSelector('[data-testid="field-retired-x_lead_source"]');
		await bob.getByTestId('field-x_lead_source').waitFor({ state: 'detached', timeout: 10_000 });
		const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as { fields: Record<string, unknown> };
		expect(record.fields.x_lead_source).toBe('referral');
		await alice.getByTestId('field-retire-x_lead_source').click();
		await bob.getByTestId('field-x_lead_source').waitFor({ timeout: 10_000 });
	});

	it("the list's column chooser offers the new field, shows its values, and gains a field added meanwhile without a reload", async () => {
		await bob.goto(`${server.url}/records`);
		await bob.waitForSelector('[data-testid="records-table"]');
		await bob.getByTestId('column-chooser').locator('summary').click();
		const column = bob.getByTestId('column-x_lead_source');
		await column.check();
		await bob.locator('th[data-column="x_lead_source"]').waitFor();
		const cell = bob.locator(`tr[data-id="${recordId}"] td[data-column="x_lead_source"]`);
		await expect.poll(() => cell.textContent(), { timeout: 10_000 }).toBe('Referral');

		const added = await apiFetch(
			`${server.url}/api/fields`,
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: { en: 'Budget', zh: '预算' }, type: 'money', currency: 'USD' }) },
			'admin'
		);
		expect(added.status).toBe(201);
		await bob.getByTestId('column-x_budget').waitFor({ timeout: 10_000 });
		await bob.screenshot({ path: screenshotPath('fields-list-columns.png'), fullPage: true });
	});

	it('a field marked Ask on create is asked by the New record dialog with its own input, and the value is stored', async () => {
		await alice.goto(`${server.url}/settings/fields`);
		const ask = alice.getByTestId('field-ask-x_lead_source');
		await ask.check();
		await eventually(async () => {
			const fields = ((await (await apiFetch(`${server.url}/api/fields`)).json()) as { fields: Array<{ key: string; askOnCreate?: boolean }> }).fields;
			return fields.find((field) => field.key === 'x_lead_source')?.askOnCreate === true;
		}, 'the field to be marked');

		await bob.goto(`${server.url}/records`);
		await bob.getByTestId('new-record').click();
		const asked = bob.getByTestId('new-custom-x_lead_source');
		await asked.waitFor({ timeout: 10_000 });
		// Its type's input: the select with the field's options, the retired one left out.
		expect((await asked.locator('select option').allTextContents()).slice(1)).toEqual(['Trade show', 'Referral', 'Website']);
		// Not every custom field: Budget was not marked.
		expect(await bob.getByTestId('new-custom-x_budget').count()).toBe(0);
		await bob.getByTestId('new-name').fill('Dialog Trading');
		await asked.locator('select').selectOption('website');
		await bob.screenshot({ path: screenshotPath('fields-new-record-dialog-en.png') });
		await bob.getByTestId('new-submit').click();
		// Created, then the record's page loaded before the address changes: over 15 s once under both CI lanes' load.
		await bob.waitForURL(/\/records\/[0-9a-f-]{36}$/, { timeout: 30_000 });
		const id = bob.url().split('/').pop()!;
		const record = (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { fields: Record<string, unknown> };
		expect(record.fields).toMatchObject({ name: 'Dialog Trading', x_lead_source: 'website' });

		const zh = await pageAs(people.browser, server, 'bob', { locale: 'zh-CN' });
		await zh.goto(`${server.url}/records`);
		await zh.getByTestId('new-record').click();
		await zh.getByTestId('new-custom-x_lead_source').waitFor({ timeout: 10_000 });
		expect(await zh.getByTestId('new-custom-x_lead_source').locator('label').textContent()).toContain('线索来源');
		await zh.screenshot({ path: screenshotPath('fields-new-record-dialog-zh.png') });
		const phone = await pageAs(people.browser, server, 'bob', { viewport: { width: 390, height: 844 } });
		await phone.goto(`${server.url}/records`);
		await phone.getByTestId('new-record').click();
		await phone.getByTestId('new-custom-x_lead_source').scrollIntoViewIfNeeded();
		await phone.screenshot({ path: screenshotPath('fields-new-record-dialog-phone.png') });

		// The admin reads what was done to the field in the audit log.
		await alice.goto(`${server.url}/settings/audit?field=definitions`);
		await alice.getByTestId('audit-table').waitFor();
		expect(await alice.getByTestId('audit-table').textContent()).toContain('Field x_lead_source · ask on create');
		await alice.screenshot({ path: screenshotPath('fields-audit-en.png'), fullPage: true });
		await alice.goto(`${server.url}/settings/fields`);
		await alice.waitForSelector('[data-testid="field-row-x_lead_source"]');
	});

	it('looks right in English, in Chinese and on a phone', async () => {
		await alice.getByTestId('field-edit-x_lead_source').click();
		await alice.screenshot({ path: screenshotPath('fields-settings-en.png'), fullPage: true });
		const zh = await pageAs(people.browser, server, 'alice', { locale: 'zh-CN' });
		await zh.goto(`${server.url}/settings/fields`);
		await zh.waitForSelector('[data-testid="field-row-x_lead_source"]');
		expect(await zh.locator('h1').textContent()).toContain('字段');
		await zh.screenshot({ path: screenshotPath('fields-settings-zh.png'), fullPage: true });
		const phone = await pageAs(people.browser, server, 'alice', { viewport: { width: 390, height: 844 } });
		await phone.goto(`${server.url}/settings/fields`);
		await phone.waitForSelector('[data-testid="field-row-x_lead_source"]');
		const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
		expect(overflow).toBeLessThanOrEqual(0);
		await phone.screenshot({ path: screenshotPath('fields-settings-phone.png'), fullPage: true });
	});
});
