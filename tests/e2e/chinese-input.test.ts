/**
 * Chinese input methods compose text before it is committed: typing "shang hai" shows
 * pinyin in the field (or the notes) until 上海 is chosen. The others must see only the committed text,
 * never the pinyin. Driven through Chromium's own input-method events (CDP
 * Input.imeSetComposition and Input.insertText), as an IME drives them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { twoPeopleOnOneRecord, type TwoPeople } from '../support/two-people.ts';

describe('Chinese input in a field and in the notes', () => {
	let people: TwoPeople;
	let alice: Page;
	let bob: Page;

	beforeAll(async () => {
		people = await twoPeopleOnOneRecord({ demoRecordCount: 5, record: { fields: { name: 'IME Co', city: '' } } });
		({ alice, bob } = people);
	});
	afterAll(async () => {
		await people?.close();
	});

	it('shows the other person the committed characters only, never the pinyin being composed', async () => {
		const city = alice.getByTestId('field-city');
		await city.click();
		const cdp = await alice.context().newCDPSession(alice);
		const seenByBob: string[] = [];
		const watch = setInterval(() => {
			void bob
				.getByTestId('field-city')
				.inputValue()
				.then((value) => seenByBob.push(value), () => {});
		}, 50);
		try {
			for (const composing of ['s', 'sh', 'shang', 'shang h', 'shang hai']) {
				await cdp.send('Input.imeSetComposition', { text: composing, selectionStart: composing.length, selectionEnd: composing.length });
				await alice.waitForTimeout(120);
			}
			expect(await city.inputValue()).toBe('shang hai');
			await alice.waitForTimeout(800);
			expect(seenByBob.filter((value) => /[a-z]/.test(value))).toEqual([]);
			await cdp.send('Input.insertText', { text: '上海' });
			await expect.poll(() => bob.getByTestId('field-city').inputValue(), { timeout: 10_000 }).toBe('上海');
		} finally {
			clearInterval(watch);
		}
		expect(seenByBob.filter((value) => /[a-z]/.test(value))).toEqual([]);
	});

	it('shows the other person the notes with the committed characters only, never the pinyin being composed', async () => {
		const notes = (page: Page) => page.locator('[data-testid="notes-editor"] .cm-content');
		await notes(alice).click();
		const cdp = await alice.context().newCDPSession(alice);
		const seenByBob: string[] = [];
		const watch = setInterval(() => {
			void notes(bob)
				.innerText()
				.then((value) => seenByBob.push(value), () => {});
		}, 50);
		try {
			for (const composing of ['b', 'bei', 'bei j', 'bei jing']) {
				await cdp.send('Input.imeSetComposition', { text: composing, selectionStart: composing.length, selectionEnd: composing.length });
				await alice.waitForTimeout(120);
			}
			expect(await notes(alice).innerText()).toContain('bei jing');
			await alice.waitForTimeout(800);
			await cdp.send('Input.insertText', { text: '北京' });
			await expect.poll(() => notes(bob).innerText(), { timeout: 10_000 }).toContain('北京');
			expect(await notes(alice).innerText()).not.toContain('bei');
		} finally {
			clearInterval(watch);
		}
		expect(seenByBob.length).toBeGreaterThan(10);
		expect(seenByBob.filter((value) => /bei|jing/.test(value))).toEqual([]);
	});
});
