/**
 * Duplicate matching (src/lib/model/duplicates.ts), the module the server indexes with
 * and the browser compares with: pinyin and Han names, company suffixes, full-width
 * input, registrable domains, and records that must not match.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clusterGroups, companyKey, compareRecords, duplicateKeys, matchKeys, nameKeys, websiteDomain } from '../../src/lib/model/duplicates.ts';

const kinds = (a: Record<string, string>, b: Record<string, string>) => compareRecords(a, b)?.reasons.map((r) => r.kind) ?? [];

describe('names in Han characters or pinyin', () => {
	it('张伟, Zhang Wei, zhangwei and ZHANG  WEI are one name', () => {
		const key = nameKeys('张伟')[0];
		expect(key).toBe('zhangwei');
		for (const typed of ['Zhang Wei', 'zhangwei', 'ZHANG  WEI', 'zhang-wei', 'Zhāng Wěi']) expect(nameKeys(typed)).toContain(key);
	});

	it('the surname is read as a surname (曾 zeng, 单 shan)', () => {
		expect(nameKeys('曾小明')[0]).toBe('zengxiaoming');
		expect(nameKeys('单田芳')[0]).toBe('shantianfang');
	});

	it('a name written surname last meets it written surname first', () => {
		expect(kinds({ name: 'Wei Zhang', company: 'Huaxin' }, { name: '张伟', company: 'Huaxin' })).toEqual(['name']);
	});

	it('a Chinese customer typed in pinyin with a short company name is a likely duplicate', () => {
		const match = compareRecords({ name: '张伟', company: '华信科技有限公司' }, { name: 'Zhang Wei', company: '华信科技' });
		expect(match?.reasons).toEqual([{ kind: 'name', value: 'zhangwei|huaxinkeji', text: 'similar name and company' }]);
		expect(match?.confidence).toBeGreaterThanOrEqual(0.7);
	});
});

describe('company suffixes', () => {
	it.each([
		['Acme Inc', 'acme'],
		['Acme, Inc.', 'acme'],
		['ACME Ltd.', 'acme'],
		['Acme LLC', 'acme'],
		['Acme GmbH', 'acme'],
		['Acme Pte. Ltd.', 'acme'],
		['Acme Co., Ltd.', 'acme'],
		['Acme Corporation', 'acme'],
		['华信科技有限公司', 'huaxinkeji'],
		['华信科技股份有限公司', 'huaxinkeji'],
		['华信科技集团', 'huaxinkeji'],
		['华信科技（深圳）分公司', 'huaxinkeji'],
		['华信科技集团有限公司', 'huaxinkeji']
	])('%s → %s', (company, key) => {
		expect(companyKey(company)).toBe(key);
	});

	it('a company that is only a legal form keeps it (nothing else to tell it by)', () => {
		expect(companyKey('Ltd')).toBe('ltd');
		expect(companyKey('公司')).toBe('gongsi');
	});

	it('a suffix inside a word is not a suffix (Costco is not Cost)', () => {
		expect(companyKey('Costco')).toBe('costco');
		expect(companyKey('Magic')).toBe('magic');
	});
});

describe('full-width forms from Chinese input methods', () => {
	it('full-width letters, digits, spaces and punctuation fold to their ASCII forms', () => {
		expect(kinds({ name: 'Ｌｉ　Ｎａ', company: 'ＡＣＭＥ，Ｉｎｃ．', email: 'ＬＩ．ＮＡ＠ＡＣＭＥ．ＣＯＭ', phone: '＋８６ １３８ ００１３ ８０００' }, {
			name: 'li na',
			company: 'Acme',
			email: 'li.na@acme.com',
			phone: '+8613800138000'
		})).toEqual(['email', 'phone', 'name']);
	});
});

describe('phones and emails through the validator', () => {
	it('a national number in the record country meets the international one', () => {
		expect(duplicateKeys({ name: 'x', phone: '138 0013 8000', country: 'CN' })).toContain('phone:+8613800138000');
		expect(kinds({ name: 'a', phone: '(415) 555-0100', country: 'US' }, { name: 'b', phone: '+1 415 555 0100' })).toEqual(['phone']);
	});

	it('emails differing only in case and spaces are one', () => {
		expect(compareRecords({ name: 'a', email: ' Sales@Acme.COM' }, { name: 'b', email: 'sales@acme.com' })?.reasons[0].text).toBe('same email sales@acme.com');
	});

	it('values the validator refuses give no key', () => {
		expect(duplicateKeys({ name: '', email: 'not an email', phone: '12', website: 'nowhere' })).toEqual([]);
	});
});

describe('website domains', () => {
	it('the registrable domain, public-suffix aware', () => {
		expect(websiteDomain('www.acme.com')).toBe('acme.com');
		expect(websiteDomain('https://sales.acme.com/contact')).toBe('acme.com');
		expect(websiteDomain('shop.acme.co.uk')).toBe('acme.co.uk');
		expect(websiteDomain('a.example.com.cn')).toBe('example.com.cn');
		expect(websiteDomain('ＷＷＷ．ＡＣＭＥ．ＣＯＭ')).toBe('acme.com');
	});

	it('www.acme.com and sales.acme.com match, with the domain named', () => {
		const match = compareRecords({ name: 'A', website: 'www.acme.com' }, { name: 'B', website: 'https://sales.acme.com' });
		expect(match?.reasons).toEqual([{ kind: 'domain', value: 'acme.com', text: 'same website domain acme.com' }]);
	});

	it('an internationalised domain is named in Unicode', () => {
		expect(compareRecords({ name: 'A', website: 'https://www.测试.中国' }, { name: 'B', website: 'https://xn--0zwm56d.xn--fiqs8s/x' })?.reasons[0].text).toBe(
			'same website domain 测试.中国'
		);
	});

	it('two companies on one public suffix host are not one (github.io, co.uk)', () => {
		expect(kinds({ name: 'A', website: 'alpha.github.io' }, { name: 'B', website: 'beta.github.io' })).toEqual([]);
		expect(kinds({ name: 'A', website: 'acme.co.uk' }, { name: 'B', website: 'other.co.uk' })).toEqual([]);
	});
});

describe('non-matches', () => {
	it('the same name at another company is another customer', () => {
		expect(compareRecords({ name: '张伟', company: '华信科技' }, { name: '张伟', company: '字节跳动' })).toBeNull();
	});

	it('another person at the same company is another customer', () => {
		expect(compareRecords({ name: '张伟', company: '华信科技' }, { name: '李娜', company: '华信科技' })).toBeNull();
	});

	it('similar-looking emails and phones are not the same', () => {
		expect(compareRecords({ name: 'a', email: 'li@acme.com', phone: '+8613800138000' }, { name: 'b', email: 'li@acme.cn', phone: '+8613800138001' })).toBeNull();
	});

	it('a name alike with no company on either side is a weak match, named as such', () => {
		const match = compareRecords({ name: '王芳' }, { name: 'Wang Fang' });
		expect(match?.confidence).toBeLessThan(0.5);
		expect(match?.reasons[0].text).toBe('same name, neither has a company');
		expect(compareRecords({ name: '王芳' }, { name: 'Wang Fang', company: 'Acme' })).toBeNull();
	});
});

describe('confidence and clusters', () => {
	it('more shared facts give more confidence', () => {
		const one = compareRecords({ name: 'a', website: 'acme.com' }, { name: 'b', website: 'acme.com' })!.confidence;
		const two = compareRecords({ name: 'a', website: 'acme.com', phone: '+14155550100' }, { name: 'b', website: 'acme.com', phone: '+14155550100' })!.confidence;
		expect(two).toBeGreaterThan(one);
	});

	it('matching is symmetric and a record always matches itself (property)', () => {
		const field = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.constantFrom('张伟', 'Zhang Wei', '华信科技有限公司', 'acme.com', 'a@b.com', '+8613800138000'));
		const fields = fc.record({ name: field, company: field, email: field, phone: field, website: field });
		fc.assert(
			fc.property(fields, fields, (a, b) => {
				const ab = compareRecords(a, b);
				const ba = compareRecords(b, a);
				expect(ab?.confidence).toEqual(ba?.confidence);
				expect(ab?.reasons.map((r) => r.kind).sort()).toEqual(ba?.reasons.map((r) => r.kind).sort());
				if (duplicateKeys(a).length > 0) expect(compareRecords(a, a)).not.toBeNull();
			}),
			{ numRuns: 300 }
		);
	});

	it('records chained by shared keys form one cluster, most likely first', () => {
		const a = { id: 'a', keys: ['email:x@y.com', 'domain:acme.com'] };
		const b = { id: 'b', keys: ['email:x@y.com'] };
		const c = { id: 'c', keys: ['domain:acme.com'] };
		const d = { id: 'd', keys: ['phone:+14155550100'] };
		const e = { id: 'e', keys: ['phone:+14155550100'] };
		const clusters = clusterGroups([[a, b], [a, c], [d, e]]);
		expect(clusters.map((cluster) => cluster.ids)).toEqual([['a', 'b', 'c'], ['d', 'e']]);
		expect(clusters[0]).toMatchObject({ confidence: 0.9, reasons: ['domain', 'email'] });
		expect(matchKeys(a.keys, d.keys)).toBeNull();
	});
});
