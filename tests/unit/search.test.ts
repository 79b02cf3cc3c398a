/**
 * The shared search module (src/lib/search): the tokenizer (Latin, Han, mixed, pinyin,
 * phones, emails, full-width), the query language and its edge cases, and matching
 * plain records in the browser. The server runs the same plans as SQL; the integration
 * test search-api.test.ts checks that both find the same records.
 */
import { describe, expect, it } from 'vitest';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { MAX_QUERY_LENGTH, matches, parseQuery, recordTokens, score, searchable, tokenize, tokenPrefixes, type SearchQuery } from '../../src/lib/search/index.ts';

function record(fields: CustomerRecord['fields'], extra: Partial<CustomerRecord> = {}): CustomerRecord {
	return {
		id: crypto.randomUUID(),
		fields,
		tags: [],
		contacts: [],
		activities: [],
		notes: '',
		meta: { schema: 1, workspace: 'ws', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'alice', archived: false },
		...extra
	};
}

function query(text: string): SearchQuery {
	const parsed = parseQuery(text);
	if (!parsed.ok) throw new Error(`"${text}" did not parse: ${parsed.message}`);
	return parsed.query;
}

/** Whether `text` finds `target`. */
const finds = (text: string, target: CustomerRecord): boolean => matches(query(text), target);

const huaxin = record(
	{ name: '张伟', company: '深圳华信科技有限公司', city: '深圳', phone: '+8613800138000', email: 'zhang.wei@huaxin.cn', stage: 'won', owner: 'bob', value: 250000, currency: 'CNY', country: 'CN', x_region: '华南' },
	{ tags: ['vip'], notes: '这是一个测试', contacts: [{ id: 'c1', name: '李娜', email: 'li.na@mail.huaxin.cn', phone: '+86 10 6552 9988' }], activities: [{ id: 'a1', kind: 'call', subject: 'Quarterly review', at: '2025-02-01T00:00:00.000Z' }] }
);
const acme = record({ name: 'Élodie Durand', company: 'Acme Café Ltd', phone: '+1 415 555 0100', email: 'elodie@acme.com', stage: 'lead', value: 4000, currency: 'USD', country: 'US' }, { tags: ['trial'] });
const huawei = record({ name: '王芳', company: '华为技术有限公司', city: '深圳', stage: 'proposal', value: 120000 });
const bytedance = record({ name: '单伟', company: '字节跳动' });
const all = [huaxin, acme, huawei, bytedance];
const found = (text: string): string[] => all.filter((r) => matches(query(text), r)).map((r) => r.fields.name as string);

describe('tokenize', () => {
	it('folds Latin words: case, accents, full width', () => {
		expect(tokenize('Élodie DURAND')).toEqual(['elodie', 'durand']);
		expect(tokenize('ＡＣＭＥ　Ｃａｆé')).toEqual(['acme', 'cafe']);
		expect(tokenize('Straße Ångström')).toEqual(['straße', 'angstrom']);
	});

	it('takes Han unigrams, bigrams over the whole run and Segmenter words', () => {
		const tokens = tokenize('字节跳动');
		expect(tokens).toEqual(expect.arrayContaining(['字', '节', '跳', '动', '字节', '节跳', '跳动']));
		expect(tokenize('这是一个测试')).toEqual(expect.arrayContaining(['测试', '一个', '测']));
	});

	it('splits mixed text into Latin words and Han runs', () => {
		expect(tokenize('华为Mate60发布')).toEqual(expect.arrayContaining(['华为', 'mate60', '发布', '为']));
	});

	it('adds pinyin, full and initials, only when asked (names and companies)', () => {
		expect(tokenize('张伟', { pinyin: true, surname: true })).toEqual(expect.arrayContaining(['zhangwei', 'zw']));
		expect(tokenize('单伟', { pinyin: true, surname: true })).toContain('shanwei');
		expect(tokenize('深圳华信科技有限公司', { pinyin: true })).toEqual(expect.arrayContaining(['huaxin', 'keji', 'shenzhen', 'szhxkjyxgs']));
		expect(tokenize('张伟')).not.toContain('zhangwei');
	});

	it('makes every form of a phone number', () => {
		expect(tokenize('+8613800138000', { phone: true })).toEqual(expect.arrayContaining(['8613800138000', '13800138000', '8000']));
		expect(tokenize('+86 10 6552 9988', { phone: true })).toEqual(expect.arrayContaining(['861065529988', '1065529988', '01065529988', '9988']));
		expect(tokenize('call +1 (415) 555-0100 today')).toEqual(expect.arrayContaining(['14155550100', '4155550100', '0100']));
	});

	it('keeps emails whole, by local part and by domain (and its parents)', () => {
		expect(tokenize('Li.Na@Mail.Huaxin.CN')).toEqual(expect.arrayContaining(['li.na@mail.huaxin.cn', 'li.na', 'mail.huaxin.cn', 'huaxin.cn', 'li', 'na', 'huaxin']));
	});

	it('indexes every field, custom ones, tags, contacts, activities and notes; pinyin of names, not of notes', () => {
		const tokens = recordTokens(huaxin);
		expect(tokens).toEqual(expect.arrayContaining(['zhangwei', 'x_region:华南', '华南', 'vip', 'lina', 'contact:lina', 'quarterly', '测试', 'city:深圳', 'company:huaxin']));
		expect(recordTokens(record({ name: 'x' }, { notes: '张伟' }))).not.toContain('zhangwei');
	});

	it('indexes prefixes of Latin tokens only, up to ten characters', () => {
		const prefixes = tokenPrefixes(['acme', '深圳', 'company:huaxin', 'shenzhenhuaxin']);
		expect(prefixes).toEqual(expect.arrayContaining(['a', 'ac', 'acm', 'acme', 'company:h', 'company:huaxin', 'shenzhenhu']));
		expect(prefixes).not.toContain('深');
		expect(prefixes).not.toContain('shenzhenhua');
	});
});

describe('matching records', () => {
	it('finds Han words and fragments', () => {
		expect(found('华为')).toEqual(['王芳']);
		expect(found('深圳')).toEqual(['张伟', '王芳']);
		expect(found('张伟')).toEqual(['张伟']);
		expect(found('科技')).toEqual(['张伟']);
		expect(found('华信科技')).toEqual(['张伟']);
		expect(found('测试')).toEqual(['张伟']);
		expect(found('节跳')).toEqual(['单伟']);
		expect(found('字节跳动')).toEqual(['单伟']);
		expect(found('华')).toEqual(['张伟', '王芳']);
	});

	it('finds by pinyin, full and initials, and as a prefix while typing', () => {
		expect(found('zhangwei')).toEqual(['张伟']);
		expect(found('zw')).toEqual(['张伟']);
		expect(found('zhang')).toEqual(['张伟']);
		expect(found('huaxin')).toEqual(['张伟']);
		expect(found('huawei')).toEqual(['王芳']);
		expect(found('shanwei')).toEqual(['单伟']);
	});

	it('finds phones as people type them', () => {
		for (const text of ['138 0013 8000', '+86 13800138000', '+86 138-0013-8000', '13800138000', '8000', '0086 13800138000', '(010) 6552 9988', '010-65529988']) {
			expect(found(text), text).toEqual(['张伟']);
		}
		expect(found('415 555 0100')).toEqual(['Élodie Durand']);
	});

	it('finds emails whole, by local part and by domain', () => {
		expect(found('zhang.wei@huaxin.cn')).toEqual(['张伟']);
		expect(found('huaxin.cn')).toEqual(['张伟']);
		expect(found('@acme.com')).toEqual(['Élodie Durand']);
		expect(found('li.na')).toEqual(['张伟']);
		expect(found('elodie@acme.com ')).toEqual(['Élodie Durand']);
	});

	it('folds the query: case, accents, full width', () => {
		expect(found('ELODIE')).toEqual(['Élodie Durand']);
		expect(found('élodie')).toEqual(['Élodie Durand']);
		expect(found('ＡＣＭＥ')).toEqual(['Élodie Durand']);
		expect(found('ｓｔａｇｅ：ｗｏｎ')).toEqual(['张伟']);
	});

	it('requires every term, and mixes Latin, Han and pinyin', () => {
		expect(found('acme durand')).toEqual(['Élodie Durand']);
		expect(found('acme 深圳')).toEqual([]);
		expect(found('深圳 zhangwei')).toEqual(['张伟']);
	});

	it('treats acme* and the last bare term as prefixes, and a finished word as whole', () => {
		expect(found('acm*')).toEqual(['Élodie Durand']);
		expect(found('acm')).toEqual(['Élodie Durand']);
		expect(found('acm ')).toEqual([]);
		expect(found('"acm"')).toEqual([]);
		expect(found('zhang.wei@hua')).toEqual(['张伟']);
		expect(found('quarterly revi')).toEqual(['张伟']);
	});

	it('applies fielded terms and comparisons', () => {
		expect(found('stage:won')).toEqual(['张伟']);
		expect(found('owner:bob')).toEqual(['张伟']);
		expect(found('tag:vip')).toEqual(['张伟']);
		expect(found('tag:VIP')).toEqual(['张伟']);
		expect(found('city:深圳')).toEqual(['张伟', '王芳']);
		expect(found('company:huaxin')).toEqual(['张伟']);
		expect(found('company:深圳')).toEqual(['张伟']);
		expect(found('name:深圳')).toEqual([]);
		expect(found('x_region:华南')).toEqual(['张伟']);
		expect(found('contact:li.na@mail.huaxin.cn')).toEqual(['张伟']);
		expect(found('value>100000')).toEqual(['张伟', '王芳']);
		expect(found('value>=250000')).toEqual(['张伟']);
		expect(found('value<=5000')).toEqual(['Élodie Durand']);
		expect(found('value:4,000')).toEqual(['Élodie Durand']);
		expect(found('currency:usd country:us')).toEqual(['Élodie Durand']);
		expect(found('city:"深圳" stage:proposal value>100000')).toEqual(['王芳']);
	});

	it('ranks a name hit above a notes hit', () => {
		const inName = record({ name: 'Acme' });
		const inNotes = record({ name: 'Someone' }, { notes: 'met at acme' });
		expect(score(query('acme'), searchable(inName))).toBeGreaterThan(score(query('acme'), searchable(inNotes)));
		expect(score(query('nothing-like-it'), inName)).toBe(0);
	});
});

describe('parseQuery', () => {
	it('reads terms, prefixes, phrases, fields and comparisons', () => {
		const q = query('stage:won owner:bob tag:vip city:深圳 value>100000 "acme corp" acme*');
		expect(q.filters).toEqual([
			{ field: 'stage', value: 'won' },
			{ field: 'owner', value: 'bob' },
			{ field: 'tag', value: 'vip' },
			{ field: 'value', op: '>', value: 100000 }
		]);
		expect(q.clauses.map((c) => c.term)).toEqual(['city:深圳', 'acme corp', 'acme']);
		expect(q.clauses[2].anyOf[0].prefix?.full).toBe('acme');
	});

	it('gives a clear error, never an exception, for bad input', () => {
		const bad = ['foo:bar', 'stage:nope', 'stage:', 'name>3', 'value>abc', 'currency:xyz', 'country:china'];
		for (const text of bad) {
			const parsed = parseQuery(text);
			expect(parsed.ok, text).toBe(false);
			if (!parsed.ok) expect(parsed.message.length).toBeGreaterThan(10);
		}
		expect(parseQuery(42).ok).toBe(false);
	});

	it('bounds a 10,000-character query', () => {
		const parsed = parseQuery('a'.repeat(10_000));
		expect(parsed.ok).toBe(true);
		if (parsed.ok) {
			expect(parsed.query.truncated).toBe(true);
			expect(parsed.query.text.length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
		}
		const many = parseQuery(Array.from({ length: 2_000 }, (_, i) => `w${i}`).join(' '));
		expect(many.ok && many.query.clauses.length <= 16 && many.query.truncated).toBe(true);
	});

	it('reads unbalanced quotes, regex- and SQL-like text and lone surrogates as text', () => {
		for (const text of ['"acme', 'acme"', '""', '"', '^acme.*$', '(a|b)+[x]', "'; DROP TABLE records; --", "' OR 1=1 --", '\ud800acme\udfff', '\u0000\u0007', '*', '***', 'http://acme.com', '10:30', '😀 emoji']) {
			const parsed = parseQuery(text);
			expect(parsed.ok, text).toBe(true);
			if (parsed.ok) for (const clause of parsed.query.clauses) for (const alt of clause.anyOf) for (const token of alt.all) expect(token).not.toMatch(/[\ud800-\udfff]/);
		}
		expect(found('"acme')).toEqual(['Élodie Durand']);
		expect(found('^acme.*$')).toEqual(['Élodie Durand']);
		expect(found("'; DROP TABLE records; --")).toEqual([]);
		expect(found('\ud800acme')).toEqual(['Élodie Durand']);
	});

	it('takes Chinese quotes and colons', () => {
		expect(found('“华为技术”')).toEqual(['王芳']);
		expect(found('city：深圳 stage：won')).toEqual(['张伟']);
	});

	it('finds everything with an empty query', () => {
		expect(found('')).toEqual(['张伟', 'Élodie Durand', '王芳', '单伟']);
		expect(found('   ')).toHaveLength(4);
	});
});
