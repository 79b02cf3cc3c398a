/**
 * Column mapping and the cell rules shared by export and import (src/lib/io/mapping.ts):
 * headers in English and Chinese, overrides, clashes, formula neutralisation and its
 * exact inverse, tag lists.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { guessTarget, mapColumns, mappingProblems, neutraliseCell, restoreCell, splitTags } from '../../src/lib/io/mapping.ts';

describe('column mapping', () => {
	it('guesses fields from English and Chinese headers, in any case, width or spacing', () => {
		const guesses: Record<string, string> = {
			姓名: 'name', 公司: 'company', 手机: 'phone', 电话: 'phone', 邮箱: 'email', 地址: 'address', 城市: 'city', 行业: 'industry',
			负责人: 'owner', 阶段: 'stage', 标签: 'tags', 备注: 'notes', 网站: 'website', 国家: 'country', 职位: 'title', 金额: 'value',
			客戶名稱: 'name', 電話: 'phone', 備註: 'notes', 'E-Mail': 'email', 'Company Name': 'company', 'Mobile Phone': 'phone', ' WEBSITE ': 'website',
			'Ｅｍａｉｌ': 'email', followUpAt: 'followUpAt', x_source: 'x_source'
		};
		for (const [header, target] of Object.entries(guesses)) expect(guessTarget(header), header).toBe(target);
		expect(guessTarget('Favourite colour')).toBeNull();
	});

	it('lets an override win, and gives a field to the first of two columns that guess it', () => {
		expect(mapColumns(['手机', '电话', '备注'])).toEqual({ 手机: 'phone', 电话: null, 备注: 'notes' });
		expect(mapColumns(['手机', '电话', '备注'], { 电话: 'phone', 手机: 'x_mobile', 备注: null })).toEqual({ 手机: 'x_mobile', 电话: 'phone', 备注: null });
	});

	it('names what is wrong with a hand-made mapping', () => {
		expect(mappingProblems({ A: 'name', B: 'name' })[0]).toContain('both mapped to name');
		expect(mappingProblems({ A: 'salary' })[0]).toContain('not a field');
		expect(mappingProblems({ A: 'x_salary', B: 'tags', C: null })).toEqual([]);
	});
});

describe('cells', () => {
	it('neutralises cells a spreadsheet would run as a formula (OWASP)', () => {
		for (const value of ['=SUM(A1)', '+86 138', '-1', '@cmd', '\tx', '\rx']) expect(neutraliseCell(value)).toBe(`'${value}`);
		expect(neutraliseCell('Plain 1+1')).toBe('Plain 1+1');
	});

	it('gives back exactly what was neutralised, whatever the text', () => {
		fc.assert(fc.property(fc.string(), (value) => restoreCell(neutraliseCell(value)) === value));
		expect(restoreCell("'hello")).toBe("'hello");
	});

	it('splits tags on commas, semicolons and Chinese list marks', () => {
		expect(splitTags('重点客户，华东、vip; east|b , ')).toEqual(['重点客户', '华东', 'vip', 'east', 'b']);
	});
});
