/**
 * Normalisation rules of the record validator (src/lib/model/validate.ts), the one
 * module the browser, the API and the live sync path's shape guard all call: input from
 * Chinese input methods (full-width forms), ISO 3166 countries, internationalised
 * domains stored in one form and shown in Unicode, and limits. field-validation.test.ts
 * covers each type's basic reading; this file covers what must come out the same
 * whichever way a person typed it.
 */
import { describe, expect, it } from 'vitest';
import { displayUrl, foldWidth, isCountryCode, normaliseUrl, validateField, validateFields } from '../../src/lib/model/validate.ts';
import { refused, value } from '../support/validated.ts';

describe('full-width forms from Chinese input methods', () => {
	it('folds full-width digits, letters and punctuation to half-width, and nothing else', () => {
		expect(foldWidth('１２３，４５６．７８')).toBe('123,456.78');
		expect(foldWidth('＋８６　１３８')).toBe('+86 138');
		expect(foldWidth('ＣＮ')).toBe('CN');
		// The ideographic full stop is what the "." key types in Chinese punctuation mode.
		expect(foldWidth('example。com')).toBe('example.com');
		expect(foldWidth('深圳华信')).toBe('深圳华信');
	});

	it('reads full-width amounts in money, as phone already did', () => {
		expect(value(validateField('value', '１２３，４５６'))).toBe(123456);
		expect(value(validateField('value', '１２３４．５'))).toBe(1234.5);
		expect(value(validateField('value', '１２　０００'))).toBe(12000);
		refused(validateField('value', '－５'), 'money');
	});

	it('reads full-width phones, with a full-width plus', () => {
		expect(value(validateField('phone', '＋８６　１３８　００１３　８０００'))).toBe('+8613800138000');
		expect(value(validateField('phone', '１３８００１３８０００', { country: 'ＣＮ' }))).toBe('+8613800138000');
	});

	it('reads full-width countries, dates, emails, URLs and options', () => {
		expect(value(validateField('country', 'ＣＮ'))).toBe('CN');
		expect(value(validateField('country', 'ｃｎ'))).toBe('CN');
		expect(value(validateField('followUpAt', '２０２６－１２－３１'))).toBe('2026-12-31');
		expect(value(validateField('email', 'Ｌｉ．Ｎａ＠Ｅｘａｍｐｌｅ．ｃｏｍ'))).toBe('li.na@example.com');
		expect(value(validateField('email', 'li.na@example。com'))).toBe('li.na@example.com');
		expect(value(validateField('website', 'ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ／ｐｒｉｃｉｎｇ'))).toBe('https://www.example.com/pricing');
		expect(value(validateField('currency', 'ｃｎｙ'))).toBe('CNY');
		expect(value(validateField('stage', 'ＷＯＮ'))).toBe('won');
	});

	it('gives one stored value whichever width was typed', () => {
		const half = validateFields({ name: 'Li', country: 'CN', phone: '138 0013 8000', value: '120,000.50', followUpAt: '2026-06-01' });
		const full = validateFields({ name: 'Li', country: 'ＣＮ', phone: '１３８　００１３　８０００', value: '１２０，０００．５０', followUpAt: '２０２６－０６－０１' });
		expect(full).toEqual(half);
	});

	it('keeps full-width punctuation in free text, where it is what the person meant', () => {
		expect(value(validateField('company', '深圳华信（集团）有限公司'))).toBe('深圳华信（集团）有限公司');
	});
});

describe('countries: ISO 3166-1 alpha-2', () => {
	it.each(['CN', 'US', 'DE', 'HK', 'TW', 'SG', 'GB', 'AQ', 'BV', 'HM', 'UM', 'PN', 'GS', 'TF'])('accepts %s', (code) => {
		expect(isCountryCode(code)).toBe(true);
		expect(value(validateField('country', code.toLowerCase()))).toBe(code);
	});

	// XX and ZZ are user-assigned, UK is reserved (GB is the code), AC and TA are telephone
	// regions only, XK is a user-assigned code some use for Kosovo: none is an ISO country.
	it.each(['XX', 'ZZ', 'UK', 'AC', 'TA', 'XK', 'EU', 'C N', 'CHN'])('refuses %j, naming the expected form', (code) => {
		expect(refused(validateField('country', code), 'country')).toContain('ISO');
	});

	it('reads no phone in a country that is not one', () => {
		const result = validateFields({ phone: '138 0013 8000', country: 'XX' });
		expect(result.ok).toBe(false);
		if (!result.ok) expect(Object.keys(result.errors).sort()).toEqual(['country', 'phone']);
	});

	it('reads international phones in a country without telephone numbering (Antarctica)', () => {
		expect(value(validateField('phone', '+86 138 0013 8000', { country: 'AQ' }))).toBe('+8613800138000');
	});

	it('reads phones in the record country passed by the caller (an update of a stored record)', () => {
		const result = validateFields({ phone: '138 0013 8000' }, { country: 'CN' });
		expect(result).toEqual({ ok: true, fields: { phone: '+8613800138000' } });
	});
});

describe('URLs: internationalised domains', () => {
	it('stores one form (the host in punycode) whichever way the domain was typed', () => {
		const stored = value(normaliseUrl('https://测试.中国'));
		expect(stored).toBe('https://xn--0zwm56d.xn--fiqs8s');
		expect(value(normaliseUrl('测试。中国'))).toBe(stored);
		expect(value(normaliseUrl('HTTPS://XN--0ZWM56D.XN--FIQS8S/'))).toBe(stored);
		expect(value(normaliseUrl('ｈｔｔｐｓ：／／测试．中国'))).toBe(stored);
	});

	it('shows the host in Unicode', () => {
		expect(displayUrl('https://xn--0zwm56d.xn--fiqs8s')).toBe('https://测试.中国');
		expect(displayUrl('https://www.xn--fiqs8s/about?q=1')).toBe('https://www.中国/about?q=1');
		expect(displayUrl('https://xn--mnchen-3ya.de')).toBe('https://münchen.de');
		expect(displayUrl('https://example.com/pricing')).toBe('https://example.com/pricing');
	});

	it('shows a path typed in Chinese as typed, and reads it back to the same stored value', () => {
		const stored = value(normaliseUrl('https://测试.中国/产品'));
		expect(stored).toBe('https://xn--0zwm56d.xn--fiqs8s/%E4%BA%A7%E5%93%81');
		const shown = displayUrl(stored);
		expect(shown).toBe('https://测试.中国/产品');
		expect(value(normaliseUrl(shown))).toBe(stored);
	});

	it('shows what it cannot read as it is stored, never throwing', () => {
		expect(displayUrl('not a url')).toBe('not a url');
		expect(displayUrl('https://xn--zz.example')).toBe('https://xn--zz.example');
		expect(displayUrl('https://example.com/%41%2F%E4')).toBe('https://example.com/%41%2F%E4');
	});

	it('round-trips: what is shown reads back to what is stored', () => {
		for (const raw of ['测试.中国', 'münchen.de/straße', 'www.example.com', 'http://例子.测试/路径?q=中']) {
			const stored = value(normaliseUrl(raw));
			expect(value(normaliseUrl(displayUrl(stored)))).toBe(stored);
		}
	});
});

describe('emails, text and limits', () => {
	it('trims and lower-cases emails (and reads full-width at-signs)', () => {
		expect(value(validateField('email', '  Zhang.Wei@HuaXin.CN\u3000'))).toBe('zhang.wei@huaxin.cn');
		expect(value(validateField('email', 'zhang.wei＠huaxin.cn'))).toBe('zhang.wei@huaxin.cn');
	});

	it('collapses whitespace in text, ideographic spaces included', () => {
		expect(value(validateField('name', '\u3000张\u3000\u3000伟 '))).toBe('张 伟');
		expect(value(validateField('company', 'Huaxin\n\tTech'))).toBe('Huaxin Tech');
	});

	it('refuses text over a field\'s limit rather than cutting it, custom fields included', () => {
		refused(validateField('name', 'x'.repeat(201)), 'length');
		expect(value(validateField('x_source', 'x'.repeat(1000)))).toHaveLength(1000);
		// Cutting would let a megabyte through the live path, which keeps values as written.
		refused(validateField('x_source', 'x'.repeat(1001)), 'length');
	});

	it('refuses amounts too large to keep to the cent, and amounts written as code', () => {
		expect(value(validateField('value', '9,999,999,999,999.99'))).toBe(9999999999999.99);
		expect(refused(validateField('value', '10,000,000,000,000'), 'range')).toContain('9,999,999,999,999.99');
		refused(validateField('value', 1e300), 'range');
		refused(validateField('value', '0x10'), 'money');
		refused(validateField('value', '1e6'), 'money');
		expect(value(validateField('value', '.5'))).toBe(0.5);
	});
});
