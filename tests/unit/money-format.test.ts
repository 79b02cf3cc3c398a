/**
 * Money as the board and the records show it: formatMoney keeps the number formats it
 * has made, so a kept format must never leak into another locale, currency or number of
 * digits. Each answer is compared with a format made afresh for it, in an order that
 * switches between them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatMoney, setLocale } from '../../src/lib/i18n/index.ts';

const TAG = { en: 'en-GB', zh: 'zh-CN' } as const;

function fresh(locale: keyof typeof TAG, value: number, currency: string | null): string {
	const digits = Number.isInteger(value) ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 };
	return currency ? new Intl.NumberFormat(TAG[locale], { style: 'currency', currency, ...digits }).format(value) : new Intl.NumberFormat(TAG[locale], digits).format(value);
}

describe('formatMoney', () => {
	afterEach(() => setLocale('en'));

	it('formats each amount as a format made for its locale, currency and digits would', () => {
		const amounts: [number, string | null][] = [
			[35_000, 'USD'],
			[1.5, 'USD'],
			[1_200_000, 'CNY'],
			[200_000.5, 'CNY'],
			[35_000, 'USD'],
			[7.25, null],
			[12, null]
		];
		for (const locale of ['en', 'zh', 'en'] as const) {
			setLocale(locale);
			for (const [value, currency] of amounts) expect(formatMoney(value, currency), `${locale} ${value} ${currency}`).toBe(fresh(locale, value, currency));
		}
		// Whole amounts without ".00", others with two digits, in the same currency one after the other.
		expect(formatMoney(35_000, 'USD')).toBe('US$35,000');
		expect(formatMoney(1.5, 'USD')).toBe('US$1.50');
	});

	it('writes the code after the number for a currency Intl refuses, and nothing for no value', () => {
		expect(formatMoney(5, 'US')).toBe(`${fresh('en', 5, null)} US`);
		expect(formatMoney(5.5, 'US')).toBe(`${fresh('en', 5.5, null)} US`);
		expect(formatMoney(null, 'USD')).toBe('');
		expect(formatMoney(undefined, null)).toBe('');
	});

	it('stays right past the bound of formats it keeps', () => {
		// 26 × 3 codes, two digit settings each: well past the 64 formats kept.
		const codes = Array.from({ length: 26 }, (_, i) => `X${String.fromCharCode(65 + i)}`).flatMap((prefix) => [`${prefix}A`, `${prefix}B`, `${prefix}C`]);
		for (const code of codes) {
			expect(formatMoney(10, code)).toBe(fresh('en', 10, code));
			expect(formatMoney(10.5, code)).toBe(fresh('en', 10.5, code));
		}
		expect(formatMoney(35_000, 'USD')).toBe('US$35,000');
	});
});
