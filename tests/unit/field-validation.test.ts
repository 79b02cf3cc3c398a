import { describe, expect, it } from 'vitest';
import {
	normaliseDate,
	normaliseEmail,
	normalisePhone,
	normaliseTag,
	normaliseUrl,
	validateField,
	validateFields
} from '../../src/lib/model/validate.ts';
import { refused, value } from '../support/validated.ts';
import { STAGES, STAGE_NAMES } from '../../src/lib/model/schema.ts';
import { stageLabel } from '../../src/lib/i18n/index.ts';

describe('email', () => {
	it('trims and lower-cases', () => {
		expect(value(normaliseEmail('  Zhang.Wei@HuaXin-Tech.CN '))).toBe('zhang.wei@huaxin-tech.cn');
		expect(value(validateField('email', 'Bob@Example.com'))).toBe('bob@example.com');
	});

	it.each(['zhang.wei', 'a@b', '@example.com', 'two words@example.com', 'a@@example.com', 'a@example.c', '<a@example.com>'])(
		'refuses %j with a message that shows the expected form',
		(raw) => {
			const message = refused(normaliseEmail(raw), 'email');
			expect(message).toContain(raw);
			expect(message).toContain('name@example.com');
		}
	);
});

describe('phone', () => {
	it('reads a Chinese mobile in national form when the country is CN', () => {
		expect(value(normalisePhone('138 0013 8000', { country: 'CN' }))).toBe('+8613800138000');
		expect(value(normalisePhone('13800138000', { country: 'cn' }))).toBe('+8613800138000');
	});

	it('needs the country (or a +86) to read a national number', () => {
		refused(normalisePhone('138 0013 8000'), 'phone');
		expect(value(normalisePhone('+86 138 0013 8000'))).toBe('+8613800138000');
	});

	it('reads US numbers with +1 or in national form with country US', () => {
		expect(value(normalisePhone('+1 (415) 555-0100'))).toBe('+14155550100');
		expect(value(normalisePhone('415-555-0100', { country: 'US' }))).toBe('+14155550100');
	});

	it.each(['hello', '123', '+1 23', '++86 abc'])('refuses %j', (raw) => {
		expect(refused(normalisePhone(raw, { country: 'CN' }), 'phone')).toContain('country code');
	});
});

describe('url', () => {
	it('adds https:// when the scheme is missing and drops a trailing slash', () => {
		expect(value(normaliseUrl('www.huaxin-tech.cn'))).toBe('https://www.huaxin-tech.cn');
		expect(value(normaliseUrl('example.com/'))).toBe('https://example.com');
		expect(value(normaliseUrl('http://example.com/pricing'))).toBe('http://example.com/pricing');
	});

	it.each(['ftp://example.com', 'javascript:alert(1)', 'localhost', 'not a url', 'http://'])('refuses %j', (raw) => {
		refused(normaliseUrl(raw), 'url');
	});
});

describe('date', () => {
	it('keeps a plain date and turns a time into UTC ISO', () => {
		expect(value(normaliseDate('2026-12-31'))).toBe('2026-12-31');
		expect(value(normaliseDate('2026-01-01T10:00:00+08:00'))).toBe('2026-01-01T02:00:00.000Z');
		expect(value(normaliseDate(' 2024-02-29 '))).toBe('2024-02-29');
	});

	it.each(['tomorrow', '31/12/2026', '2026-13-01', '2026-1-1', ''])('refuses %j', (raw) => {
		expect(refused(normaliseDate(raw), 'date')).toContain('2026-12-31');
	});

	it.each(['2026-02-30', '2025-02-29', '2026-04-31', '2026-02-31T10:00:00Z'])('refuses the impossible day %j', (raw) => {
		refused(normaliseDate(raw), 'date');
	});
});

describe('enum', () => {
	it('folds case and whitespace to the canonical option', () => {
		expect(value(validateField('stage', ' WON '))).toBe('won');
		expect(value(validateField('currency', 'cny'))).toBe('CNY');
	});

	it('takes a built-in stage by the name the app gives it, in English or Chinese (as a Chinese spreadsheet writes it)', () => {
		expect(value(validateField('stage', '已确认'))).toBe('qualified');
		expect(value(validateField('stage', ' 赢单 '))).toBe('won');
		expect(value(validateField('stage', 'negotiation'))).toBe('negotiation');
		expect(value(validateField('stage', 'Negotiation'))).toBe('negotiation');
		refused(validateField('stage', '赢'), 'enum');
	});

	it('names the stages as the app does in both languages', () => {
		for (const stage of STAGES) {
			expect(STAGE_NAMES[stage].en, stage).toBe(stageLabel(stage, 'en'));
			expect(STAGE_NAMES[stage].zh, stage).toBe(stageLabel(stage, 'zh'));
		}
	});

	it('refuses values outside the vocabulary, listing the options', () => {
		const message = refused(validateField('stage', 'closed'), 'enum');
		expect(message).toContain('lead');
		expect(message).toContain('closed');
		refused(validateField('currency', 'RMB'), 'enum');
	});
});

describe('money', () => {
	it('reads numbers written with separators', () => {
		expect(value(validateField('value', '1,234,567.891'))).toBe(1234567.89);
		expect(value(validateField('value', '12 000'))).toBe(12000);
		expect(value(validateField('value', 250000))).toBe(250000);
		expect(value(validateField('value', 0))).toBe(0);
	});

	it('refuses negative and non-numeric amounts', () => {
		refused(validateField('value', -1), 'money');
		refused(validateField('value', '-5,000'), 'money');
		refused(validateField('value', 'lots'), 'money');
		refused(validateField('value', true), 'money');
	});

	it('treats an empty or blank amount as no value, not as zero', () => {
		expect(value(validateField('value', ''))).toBeNull();
		expect(value(validateField('value', '   '))).toBeNull();
	});
});

describe('text, country, tags', () => {
	it('collapses whitespace in text, keeps Chinese as is', () => {
		expect(value(validateField('company', '  深圳华信科技有限公司  '))).toBe('深圳华信科技有限公司');
		expect(value(validateField('title', 'Head   of\tSales'))).toBe('Head of Sales');
	});

	it('enforces maximum lengths', () => {
		expect(value(validateField('city', 'x'.repeat(100)))).toHaveLength(100);
		refused(validateField('city', 'x'.repeat(101)), 'length');
	});

	it('upper-cases ISO country codes and refuses others', () => {
		expect(value(validateField('country', 'cn'))).toBe('CN');
		refused(validateField('country', 'China'), 'country');
	});

	it('refuses non-text for text fields and objects anywhere', () => {
		refused(validateField('company', 42), 'type');
		refused(validateField('company', { a: 1 }), 'type');
	});

	it('normalises tags and refuses empty or long ones', () => {
		expect(value(normaliseTag('  VIP  Client '))).toBe('vip client');
		expect(value(normaliseTag('重点客户'))).toBe('重点客户');
		refused(normaliseTag('   '), 'tag');
		refused(normaliseTag('x'.repeat(41)), 'tag');
	});
});

describe('required, unknown and custom fields', () => {
	it('requires a name', () => {
		refused(validateField('name', ''), 'required');
		refused(validateField('name', '   '), 'required');
		refused(validateField('name', null), 'required');
		const result = validateFields({ company: 'Acme' }, { requireName: true });
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors.name).toBe('name is required.');
		expect(validateFields({ company: 'Acme' }).ok).toBe(true);
	});

	it('refuses unknown fields', () => {
		expect(refused(validateField('favouriteColour', 'blue'), 'unknown-field')).toContain('favouriteColour');
		refused(validateField('x_', 'a'), 'unknown-field');
		refused(validateField('x_Bad', 'a'), 'unknown-field');
	});

	it('accepts custom x_ fields as collapsed text or plain scalars', () => {
		expect(value(validateField('x_source', '  trade   show '))).toBe('trade show');
		expect(value(validateField('x_seats', 25))).toBe(25);
		expect(value(validateField('x_source', '   '))).toBeNull();
	});

	it('maps empty optional values to null (clear the field)', () => {
		expect(value(validateField('company', ''))).toBeNull();
		expect(value(validateField('email', null))).toBeNull();
	});
});

describe('validateFields', () => {
	it('returns every error at once, and no fields', () => {
		const result = validateFields({ name: 'Ann', email: 'nope', phone: 'garbage', stage: 'closed', bogus: 1, value: -3 });
		expect(result.ok).toBe(false);
		if (result.ok) return;
		expect(Object.keys(result.errors).sort()).toEqual(['bogus', 'email', 'phone', 'stage', 'value']);
		expect('fields' in result).toBe(false);
	});

	it('reads the country before the phone, whatever the key order', () => {
		const result = validateFields({ phone: '138 0013 8000', name: '张伟', country: 'cn' });
		expect(result).toEqual({ ok: true, fields: { phone: '+8613800138000', name: '张伟', country: 'CN' } });
		const us = validateFields({ phone: '(415) 555-0100', country: 'US' });
		expect(us.ok && us.fields.phone).toBe('+14155550100');
	});

	it('does not read phones in an invalid country', () => {
		const result = validateFields({ phone: '138 0013 8000', country: 'China' });
		expect(result.ok).toBe(false);
		if (!result.ok) expect(Object.keys(result.errors).sort()).toEqual(['country', 'phone']);
	});

	it('normalises every field of a valid record', () => {
		const result = validateFields(
			{ name: ' 张伟 ', email: 'Zhang.Wei@HuaXin-Tech.cn', website: 'huaxin-tech.cn', stage: 'Lead', value: '120,000', currency: 'cny', followUpAt: '2026-06-01' },
			{ requireName: true }
		);
		expect(result).toEqual({
			ok: true,
			fields: {
				name: '张伟',
				email: 'zhang.wei@huaxin-tech.cn',
				website: 'https://huaxin-tech.cn',
				stage: 'lead',
				value: 120000,
				currency: 'CNY',
				followUpAt: '2026-06-01'
			}
		});
	});
});
