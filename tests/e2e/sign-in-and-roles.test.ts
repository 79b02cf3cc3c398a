/**
 * Signing in through the development identity provider, and what a role means in the
 * browser: bob (editor) and carol (viewer) on one record. Carol sees bob's typing live,
 * but everything she has is read-only and nothing she types reaches the record; she
 * has no "New record" button; signing out ends her session, in every tab.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, createRecord, eventually, startTestServer, tempDataDir } from '../support/server.ts';
import { contextAs, launchBrowser, screenshotPath } from '../support/browser.ts';
import { pageAs } from '../support/sign-in.ts';

const notes = (page: Page) => page.locator('[data-testid="notes-editor"] .cm-content');

describe('sign-in and roles in the browser', () => {
	let server: RunningServer;
	let browser: Browser;
	let data: { dir: string; remove(): void };
	let recordId: string;
	let bob: Page;
	let carol: Page;

	beforeAll(async () => {
		data = tempDataDir();
		server = await startTestServer({ dataDir: data.dir });
		recordId = await createRecord(
			server,
			{ name: 'Zhou Min', company: 'Harbour Logistics', stage: 'proposal', owner: 'bob', value: 120000, currency: 'CNY', city: '宁波', country: 'CN' },
			{ tags: ['logistics'], notes: 'Met at the Ningbo fair.' }
		);
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.close();
		data?.remove();
	});

	it('sends a signed-out visitor to the sign-in page, which says plainly that this is the development sign-in', async () => {
		const page = await (await contextAs(browser)).newPage();
		await page.goto(`${server.url}/records/${recordId}`);
		await page.waitForURL((url) => url.pathname === '/auth/sign-in');
		expect(new URL(page.url()).searchParams.get('returnTo')).toBe(`/records/${recordId}`);
		const notice = page.getByTestId('dev-sign-in-notice');
		expect(await notice.isVisible()).toBe(true);
		expect(await notice.innerText()).toContain('not for production');
		expect(await page.getByTestId('sign-in-button').innerText()).toContain('demo user');

		const zh = await (await contextAs(browser, 'zh-CN')).newPage();
		await zh.goto(`${server.url}/records`);
		await zh.waitForURL((url) => url.pathname === '/auth/sign-in');
		expect(await zh.getByTestId('dev-sign-in-notice').innerText()).toContain('开发用登录');

		// A sign-in that fails at the callback says why, offers to start again, and shows no stack.
		const failed = await page.goto(`${server.url}/auth/callback?state=not-a-real-state&code=nothing`);
		expect(failed?.status()).toBe(400);
		expect(await page.getByTestId('error-message').innerText()).toContain('sign in again');
		expect(await page.getByTestId('sign-in-again').getAttribute('href')).toBe('/auth/sign-in');
		expect(await page.content()).not.toMatch(/\bat .+\.(ts|js):\d+/);
		await page.context().close();
		await zh.context().close();
	});

	it('signs bob (editor) and carol (viewer) in through the development provider', async () => {
		[bob, carol] = await Promise.all([pageAs(browser, server, 'bob'), pageAs(browser, server, 'carol')]);
		expect(await bob.getByTestId('signed-in-person').getAttribute('data-role')).toBe('editor');
		expect(await carol.getByTestId('signed-in-person').getAttribute('data-role')).toBe('viewer');
		expect(await carol.getByTestId('role-badge').innerText()).toBe('Viewer');
		await Promise.all([bob.goto(`${server.url}/records/${recordId}`), carol.goto(`${server.url}/records/${recordId}`)]);
		for (const page of [bob, carol]) {
			await page.waitForSelector('[data-testid="connection-status"][data-status="online"]', { timeout: 30_000 });
			await page.waitForSelector('[data-testid="record-page"][data-live="true"]', { timeout: 30_000 });
		}
	});

	it('shows the viewer a read-only record: a calm banner, read-only inputs, no archive, no adding', async () => {
		expect(await carol.getByTestId('view-only-banner').innerText()).toContain('your role does not allow changes');
		expect(await carol.getByTestId('record-page').getAttribute('data-readonly')).toBe('true');
		expect(await carol.getByTestId('field-company').isEditable()).toBe(false);
		expect(await carol.getByTestId('field-address').isEditable()).toBe(false);
		expect(await carol.getByTestId('field-stage').isDisabled()).toBe(true);
		expect(await carol.getByTestId('field-owner').isDisabled()).toBe(true);
		expect(await carol.getByTestId('archive-toggle').count()).toBe(0);
		expect(await carol.getByTestId('tag-input').count()).toBe(0);
		expect(await carol.getByTestId('add-contacts').count()).toBe(0);
		expect(await carol.getByTestId('add-activities').count()).toBe(0);
		expect(await carol.getByTestId('private-toggle').count()).toBe(0);
		expect(await notes(carol).getAttribute('contenteditable')).toBe('false');
		// The editor has none of this.
		expect(await bob.getByTestId('view-only-banner').count()).toBe(0);
		expect(await bob.getByTestId('field-company').isEditable()).toBe(true);
		expect(await bob.getByTestId('archive-toggle').count()).toBe(1);
		expect(await notes(bob).getAttribute('contenteditable')).toBe('true');
		// Bob owns the record, so he may make it private; he sees the switch.
		expect(await bob.getByTestId('private-toggle').count()).toBe(1);
	});

	it('shows the viewer the editor’s typing in a field and in the notes, live', async () => {
		const company = bob.getByTestId('field-company');
		await company.click();
		await company.fill('');
		await company.pressSequentially('Harbour Logistics Group', { delay: 15 });
		await expect.poll(() => carol.getByTestId('field-company').inputValue(), { timeout: 10_000 }).toBe('Harbour Logistics Group');
		await expect.poll(() => carol.getByTestId('presence-company').textContent(), { timeout: 10_000 }).toContain('Bob');

		await notes(bob).click();
		await bob.keyboard.press('End');
		await bob.keyboard.type(' Wants a quote for cold-chain trucks.', { delay: 10 });
		await expect.poll(() => notes(carol).innerText(), { timeout: 10_000 }).toContain('Wants a quote for cold-chain trucks.');
		// Presence works for the viewer too: bob sees carol on the record.
		await expect.poll(() => bob.locator('[data-testid="record-presence"] [data-testid="avatar"][data-person="carol"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
	});

	it('changes nothing when the viewer types, locally or on the server', async () => {
		const before = await notes(carol).innerText();
		await notes(carol).click();
		await carol.keyboard.press('End');
		await carol.keyboard.type(' CAROL WAS HERE', { delay: 5 });
		await carol.getByTestId('field-company').click();
		await carol.keyboard.type(' CAROL WAS HERE', { delay: 5 });
		await carol.waitForTimeout(500);
		expect(await notes(carol).innerText()).toBe(before);
		expect(await carol.getByTestId('field-company').inputValue()).toBe('Harbour Logistics Group');
		expect(await carol.getByTestId('connection-status').getAttribute('data-pending')).toBe('0');
		expect(await carol.getByTestId('record-error').count()).toBe(0);
		expect(await notes(bob).innerText()).not.toContain('CAROL');

		await eventually(async () => {
			const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as { fields: { company: string }; notes: string };
			return record.fields.company === 'Harbour Logistics Group' && record.notes.includes('cold-chain trucks');
		}, 'bob’s edits to be stored');
		const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as { fields: Record<string, unknown>; notes: string };
		expect(record.notes).not.toContain('CAROL');
		expect(JSON.stringify(record.fields)).not.toContain('CAROL');
	});

	it('takes a screenshot of the record as the viewer sees it', async () => {
		await bob.getByTestId('field-company').focus();
		await expect.poll(() => carol.getByTestId('presence-company').isVisible(), { timeout: 10_000 }).toBe(true);
		// Carol's typing above scrolled her page (space bars on read-only content); show the top.
		await carol.evaluate(() => window.scrollTo(0, 0));
		await carol.getByTestId('field-company').blur();
		await carol.screenshot({ path: screenshotPath('viewer-record-page.png'), fullPage: false });
	});

	it('shows no "New record" button to the viewer, and shows it to the editor', async () => {
		await Promise.all([carol.goto(`${server.url}/records`), bob.goto(`${server.url}/records`)]);
		await carol.waitForSelector('[data-testid="records-table"]');
		await bob.waitForSelector('[data-testid="records-table"]');
		expect(await carol.getByTestId('new-record').count()).toBe(0);
		expect(await bob.getByTestId('new-record').count()).toBe(1);
		expect(await carol.getByTestId('record-row').count()).toBeGreaterThan(0);
	});

	it('signs the viewer out: the signed-out page, her other tab sent to sign in, and /records asks for sign-in again', async () => {
		// A second tab of the same session, on the record: its socket is closed when the session ends.
		const other = await carol.context().newPage();
		await other.goto(`${server.url}/records/${recordId}`);
		await other.waitForSelector('[data-testid="connection-status"][data-status="online"]', { timeout: 30_000 });

		await carol.getByTestId('sign-out').click();
		// The development provider asks whether to end its own session too.
		await carol.waitForURL((url) => url.pathname.startsWith('/idp/'), { timeout: 15_000 });
		await carol.locator('button[name="logout"][value="yes"]').click();
		await carol.waitForURL((url) => url.pathname === '/auth/signed-out', { timeout: 15_000 });
		expect(await carol.getByTestId('signed-out-page').isVisible()).toBe(true);
		expect(await carol.getByTestId('sign-in-again').getAttribute('href')).toBe('/auth/sign-in');

		// The other tab stops syncing and goes to sign in, to come back to the record.
		await other.waitForURL((url) => url.pathname === '/auth/sign-in', { timeout: 15_000 });
		const url = new URL(other.url());
		expect(url.searchParams.get('returnTo')).toBe(`/records/${recordId}`);
		expect(await other.getByTestId('session-ended').isVisible()).toBe(true);

		await carol.goto(`${server.url}/records`);
		await carol.waitForURL((url) => url.pathname === '/auth/sign-in');
		expect(await carol.getByTestId('sign-in-button').isVisible()).toBe(true);
	});

	it('keeps settings to admins: bob gets a 403, alice changes a role and makes, sees once, and revokes a token', async () => {
		expect(await bob.getByTestId('nav-settings').count()).toBe(0);
		const refused = await bob.goto(`${server.url}/settings`);
		expect(refused?.status()).toBe(403);
		expect(await bob.getByTestId('error-page').getAttribute('data-status')).toBe('403');

		const alice = await pageAs(browser, server, 'alice');
		await alice.getByTestId('nav-settings').click();
		await alice.waitForSelector('[data-testid="settings-page"]');

		const li = alice.locator('[data-testid="member-row"][data-id="li.wei"]');
		expect(await li.getAttribute('data-role')).toBe('viewer');
		expect(await li.getByTestId('role-source').getAttribute('data-source')).toBe('provider');
		await li.getByTestId('member-role').selectOption('editor');
		await li.getByTestId('member-role-save').click();
		await expect.poll(() => li.getAttribute('data-role'), { timeout: 10_000 }).toBe('editor');
		expect(await li.getByTestId('role-source').getAttribute('data-source')).toBe('admin');
		expect(await alice.getByTestId('settings-message').innerText()).toContain('Editor');

		await alice.getByTestId('new-token-name').fill('ERP sync');
		await alice.getByTestId('new-token-role').selectOption('viewer');
		await alice.getByTestId('new-token-submit').click();
		const value = alice.getByTestId('new-token-value');
		await value.waitFor({ timeout: 10_000 });
		const token = await value.inputValue();
		expect(token.length).toBeGreaterThan(20);
		const withToken = await fetch(`${server.url}/api/records/${recordId}`, { headers: { authorization: `Bearer ${token}` } });
		expect(withToken.status).toBe(200);

		// Shown once: a fresh load of the page lists the token, but not its value.
		await alice.reload();
		expect(await alice.getByTestId('new-token').count()).toBe(0);
		expect(await alice.content()).not.toContain(token);
		const row = alice.locator('[data-testid="token-row"]', { hasText: 'ERP sync' });
		alice.once('dialog', (dialog) => void dialog.accept());
		await row.getByTestId('token-revoke').click();
		await expect.poll(() => row.getByTestId('token-status').innerText(), { timeout: 10_000 }).toContain('Revoked');
		const afterRevoke = await fetch(`${server.url}/api/records/${recordId}`, { headers: { authorization: `Bearer ${token}` } });
		expect(afterRevoke.status).toBe(401);
	});
});
