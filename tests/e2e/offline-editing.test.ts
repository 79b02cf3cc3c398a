/**
 * Editing offline in the browser: bob's browser loses the network while he edits a
 * record (fields, notes, a tag, an activity); alice edits the same record meanwhile,
 * the same field among others. The indicator shows bob offline with his changes
 * counted; when the network is back they are sent, the count drops to zero and the
 * indicator says they are saved; both pages and the server converge on one record.
 * Then his session ends while he is offline: his edits stay on the device, and go up
 * once he has signed in again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../../server/http.ts';
import { apiFetch, eventually } from '../support/server.ts';
import { DEV_USER_BUTTON } from '../support/sign-in.ts';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';
import { SESSION_COOKIE } from '../../server/app.ts';
import { screenshotPath } from '../support/browser.ts';

const notes = (page: Page) => page.locator('[data-testid="notes-editor"] .cm-content');
const indicator = (page: Page) => page.getByTestId('connection-status');
/** The notes as text, without the other people's cursors (name labels) the editor draws into the lines. */
const notesText = (page: Page) =>
	notes(page).evaluate((content) => {
		const copy = content.cloneNode(true) as HTMLElement;
		for (const caret of copy.querySelectorAll('.cm-ySelectionCaret, .cm-ySelectionInfo')) caret.remove();
		return [...copy.querySelectorAll('.cm-line')].map((line) => (line.textContent ?? '').replace(/\u2060/g, '')).join('\n');
	});

interface ApiRecord {
	fields: Record<string, unknown>;
	tags: string[];
	notes: string;
	activities: { subject?: string }[];
}

describe('editing offline, and converging on reconnect', () => {
	let people: TwoPeople;
	let server: RunningServer;
	let recordId: string;
	let alice: Page;
	let bob: Page;
	let bobContext: BrowserContext;

	beforeAll(async () => {
		people = await twoPeopleOnOneRecord({
			demoRecordCount: 20,
			record: { fields: { name: 'Liu Yang', company: 'Eastwind Trading', stage: 'qualified', owner: 'bob', value: 30000, currency: 'CNY', city: '上海', country: 'CN' }, extra: { tags: ['trade'], notes: 'Shared notes.' } }
		});
		({ server, recordId, alice, bob } = people);
		bobContext = bob.context();
	});

	afterAll(async () => {
		await people?.close();
	});

	it('keeps editing while offline, and counts the changes not yet on the server', async () => {
		await bobContext.setOffline(true);
		await bob.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 10_000 });
		expect(await bob.getByTestId('record-page').getAttribute('data-ready')).toBe('true');
		expect(await bob.getByTestId('record-offline').isVisible()).toBe(true);
		// Who is online is not known offline: the header does not claim it beside "Offline".
		expect(await bob.getByTestId('online-people').count()).toBe(0);

		const company = bob.getByTestId('field-company');
		await company.fill('Eastwind Trading (Bob, offline)');
		await bob.getByTestId('field-title').fill('Purchasing lead');
		await notes(bob).click();
		await bob.keyboard.press('End');
		await bob.keyboard.type(' Bob wrote this offline.', { delay: 5 });
		await bob.getByTestId('tag-input').fill('offline-tag');
		await bob.getByTestId('tag-input').press('Enter');
		await bob.getByTestId('add-activities').click();

		await expect.poll(async () => Number(await indicator(bob).getAttribute('data-pending')), { timeout: 10_000 }).toBeGreaterThan(3);
		expect(await indicator(bob).getAttribute('data-status')).toBe('offline');
		expect(await indicator(bob).innerText()).toMatch(/^Offline · \d+ changes not yet on the server$/);
		await bob.evaluate(() => window.scrollTo(0, 0));
		await bob.screenshot({ path: screenshotPath('offline-pending.png'), fullPage: false });

		// Nothing of it reached the server.
		const stored = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as ApiRecord;
		expect(stored.fields.title).toBeUndefined();
		expect(stored.notes).not.toContain('offline');
	});

	it('lets someone else edit the same record meanwhile, the same field too', async () => {
		const company = alice.getByTestId('field-company');
		await company.fill('Eastwind Trading (Alice)');
		await alice.getByTestId('field-phone').fill('+86 138 0013 8000');
		await alice.getByTestId('field-phone').blur();
		await notes(alice).click();
		await alice.keyboard.press('Control+Home');
		await alice.keyboard.type('Alice first. ', { delay: 5 });
		await eventually(async () => {
			const stored = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as ApiRecord;
			return stored.fields.phone === '+8613800138000' && stored.notes.startsWith('Alice first.');
		}, 'alice’s edits to be stored');
		// Bob, offline, sees none of it.
		expect(await bob.getByTestId('field-phone').inputValue()).toBe('');
	});

	it('sends bob’s changes when the network is back, says they are saved, and both converge', async () => {
		await bobContext.setOffline(false);
		await bob.waitForSelector('[data-testid="connection-status"][data-pending="0"][data-status="online"]', { timeout: 20_000 });
		await bob.getByTestId('online-people').waitFor({ timeout: 10_000 });
		await expect.poll(() => indicator(bob).getAttribute('data-saved'), { timeout: 5_000 }).toBe('true');
		expect(await indicator(bob).innerText()).toBe('All changes saved on the server');
		await bob.evaluate(() => window.scrollTo(0, 0));
		await bob.screenshot({ path: screenshotPath('offline-saved.png'), fullPage: false });

		const stored = async () => (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as ApiRecord;
		await eventually(async () => {
			const record = await stored();
			return record.fields.title === 'Purchasing lead' && record.notes.includes('Bob wrote this offline.') && record.tags.includes('offline-tag');
		}, 'bob’s offline edits on the server', 15_000);
		const record = await stored();
		expect(record.fields.phone).toBe('+8613800138000');
		expect(record.notes.startsWith('Alice first. ')).toBe(true);
		expect(record.activities.length).toBe(1);
		// One of the two company values wins, the same everywhere.
		expect(['Eastwind Trading (Bob, offline)', 'Eastwind Trading (Alice)']).toContain(record.fields.company);

		for (const page of [alice, bob]) {
			await expect.poll(() => page.getByTestId('field-company').inputValue(), { timeout: 10_000 }).toBe(record.fields.company);
			await expect.poll(() => page.getByTestId('field-title').inputValue(), { timeout: 10_000 }).toBe('Purchasing lead');
			await expect.poll(() => notesText(page), { timeout: 10_000 }).toBe(record.notes);
			await expect.poll(() => page.locator('[data-testid="tag"][data-tag="offline-tag"]').count(), { timeout: 10_000 }).toBe(1);
			await expect.poll(() => page.locator('[data-testid="item-activities"]').count(), { timeout: 10_000 }).toBe(1);
		}
		expect(await bob.getByTestId('field-phone').inputValue()).toBe('+86 138 0013 8000');

		// The audit log attributes each change to its author, offline or not.
		const history = async (field: string) =>
			((await (await apiFetch(`${server.url}/api/records/${recordId}/history?field=${field}`, {}, 'admin')).json()) as {
				entries: Array<{ op: string; actor: { name: string }; after: unknown; conflict: { winner: { person: { name: string } }; loser: { person: { name: string } } } | null }>;
			}).entries;
		await eventually(async () => (await history('fields.title')).some((e) => e.after === 'Purchasing lead'), 'bob’s offline title in the history');
		expect((await history('fields.title')).find((e) => e.after === 'Purchasing lead')?.actor.name).toBe('Bob Martin');
		expect((await history('fields.phone')).find((e) => e.after === '+8613800138000')?.actor.name).toBe('Alice Chen');
		const conflicts = (await history('fields.company')).filter((e) => e.op === 'conflict');
		expect(conflicts).toHaveLength(1);
		expect([conflicts[0].conflict?.winner.person.name, conflicts[0].conflict?.loser.person.name].sort()).toEqual(['Alice Chen', 'Bob Martin']);
	});

	it('keeps edits made offline when the session ends meanwhile, and sends them after signing in again', async () => {
		await bobContext.setOffline(true);
		await bob.waitForSelector('[data-testid="connection-status"][data-status="offline"]', { timeout: 10_000 });
		await bob.getByTestId('field-industry').fill('Food import');
		await expect.poll(async () => Number(await indicator(bob).getAttribute('data-pending')), { timeout: 10_000 }).toBeGreaterThan(0);

		// The session ends on the server while bob is away (expired, or ended elsewhere).
		const session = (await bobContext.cookies(server.url)).find((cookie) => cookie.name === SESSION_COOKIE);
		expect(session).toBeDefined();
		await server.accord.services.auth.signOut(session!.value);

		// Back online: the socket is refused, so the page goes to sign in, and comes back.
		await bobContext.setOffline(false);
		await bob.waitForURL((url) => url.pathname === '/auth/sign-in', { timeout: 20_000 });
		expect(new URL(bob.url()).searchParams.get('returnTo')).toBe(`/records/${recordId}`);
		const stored = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as ApiRecord;
		expect(stored.fields.industry).toBeUndefined();

		await bob.getByTestId('sign-in-button').click();
		await bob.waitForURL((url) => url.pathname.includes('/idp/interaction/') || url.pathname === `/records/${recordId}`, { timeout: 15_000 });
		if (bob.url().includes('/idp/interaction/')) await bob.locator(DEV_USER_BUTTON('bob')).click();
		await bob.waitForURL((url) => url.pathname === `/records/${recordId}`, { timeout: 15_000 });
		await eventually(async () => {
			const record = (await (await apiFetch(`${server.url}/api/records/${recordId}`)).json()) as ApiRecord;
			return record.fields.industry === 'Food import';
		}, 'the edit made before the session ended to reach the server', 20_000);
		await bob.waitForSelector('[data-testid="connection-status"][data-pending="0"][data-status="online"]', { timeout: 20_000 });
	});
});
