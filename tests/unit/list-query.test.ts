/**
 * The query language's filters on any field (dates and their spans and ranges, custom
 * fields' numbers, value ranges, idleness, fields named by their label) as parsed and as
 * matched in the browser; and the list's collation keys measured against
 * `Intl.Collator('zh')` on the demo data.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { dateSpan, isIdle, parseQuery, type FieldCondition, type SearchQuery } from '../../src/lib/search/query.ts';
import { matches } from '../../src/lib/search/index.ts';
import { collationKey, compareKeys } from '../../src/lib/records/collation.ts';
import { readRecord, writeNewRecord } from '../../src/lib/model/record.ts';
import { demoRecords } from '../../server/seed/demo-data.ts';
import type { FieldDefinition } from '../../src/lib/model/schema.ts';

function parsed(text: string, fields?: FieldDefinition[]): SearchQuery {
	const result = parseQuery(text, { fields });
	if (!result.ok) throw new Error(`${text}: ${result.message}`);
	return result.query;
}
const conditions = (text: string, fields?: FieldDefinition[]): FieldCondition[] => parsed(text, fields).conditions;
const message = (text: string, fields?: FieldDefinition[]): string => {
	const result = parseQuery(text, { fields });
	if (result.ok) throw new Error(`${text} was read`);
	return result.message;
};

const field = (key: string, en: string, zh: string, type: FieldDefinition['type'] = 'text'): FieldDefinition => ({ key, label: { en, zh }, type, options: [], retired: false, order: 30, builtin: false });

describe('dates in the query language', () => {
	it('reads a year, a month and a day as the span of days they name', () => {
		expect(dateSpan('2026')).toEqual({ start: '2026-01-01', end: '2027-01-01' });
		expect(dateSpan('2026-02')).toEqual({ start: '2026-02-01', end: '2026-03-01' });
		expect(dateSpan('2026-2-28')).toEqual({ start: '2026-02-28', end: '2026-03-01' });
		expect(dateSpan('2024-02-29')).toEqual({ start: '2024-02-29', end: '2024-03-01' });
		expect(dateSpan('2026-12')).toEqual({ start: '2026-12-01', end: '2027-01-01' });
		expect(dateSpan('2026-02-30')).toBeNull();
		expect(dateSpan('2026-13')).toBeNull();
		expect(dateSpan('9999-12-31')).toBeNull();
		expect(dateSpan('tomorrow')).toBeNull();
	});

	it('turns comparisons and ranges into half-open spans', () => {
		expect(conditions('created>2026-01-01')).toEqual([{ kind: 'date', field: 'created', from: '2026-01-02' }]);
		expect(conditions('created>=2026-01')).toEqual([{ kind: 'date', field: 'created', from: '2026-01-01' }]);
		expect(conditions('updated<2026-06')).toEqual([{ kind: 'date', field: 'updated', before: '2026-06-01' }]);
		expect(conditions('updated<=2026-06')).toEqual([{ kind: 'date', field: 'updated', before: '2026-07-01' }]);
		expect(conditions('created:2026-03')).toEqual([{ kind: 'date', field: 'created', from: '2026-03-01', before: '2026-04-01' }]);
		expect(conditions('followup:2026-03..2026-06')).toEqual([{ kind: 'date', field: 'followUpAt', from: '2026-03-01', before: '2026-07-01' }]);
		expect(conditions('x_close:2026-03-05..')).toEqual([{ kind: 'date', field: 'x_close', from: '2026-03-05' }]);
		expect(conditions('x_close:..2026')).toEqual([{ kind: 'date', field: 'x_close', before: '2027-01-01' }]);
	});

	it('keeps a plain date on a field a word search, as before', () => {
		const query = parsed('x_close:2026 city:深圳');
		expect(query.conditions).toEqual([]);
		expect(query.clauses.map((clause) => clause.term)).toEqual(['x_close:2026', 'city:深圳']);
	});

	it('explains what it cannot read', () => {
		expect(message('created>soon')).toContain('needs a date');
		expect(message('created:2026-06..2026-03')).toContain('ends before it starts');
		expect(message('created:..')).toContain('at least one end');
		expect(message('followup>2026-02-30')).toContain('needs a date');
		expect(message('x_close>soon')).toContain('needs a number or a date');
		expect(message('city>5')).toContain('can be compared');
	});
});

describe('numbers, values and idleness', () => {
	it('reads number ranges on value as two column filters the index answers', () => {
		expect(parsed('value:1000..5000').filters).toEqual([
			{ field: 'value', op: '>=', value: 1000 },
			{ field: 'value', op: '<=', value: 5000 }
		]);
		expect(parsed('value:..5000').filters).toEqual([{ field: 'value', op: '<=', value: 5000 }]);
		expect(message('value:a..b')).toContain('needs numbers');
	});

	it('reads comparisons and ranges of custom numbers', () => {
		expect(conditions('x_budget>1,000')).toEqual([{ kind: 'number', field: 'x_budget', op: '>', value: 1000 }]);
		expect(conditions('x_score:3..5')).toEqual([
			{ kind: 'number', field: 'x_score', op: '>=', value: 3 },
			{ kind: 'number', field: 'x_score', op: '<=', value: 5 }
		]);
	});

	it('reads idle as days without activity', () => {
		expect(conditions('idle>30')).toEqual([{ kind: 'idle', op: '>', days: 30 }]);
		expect(conditions('idle:30')).toEqual([{ kind: 'idle', op: '>=', days: 30 }]);
		expect(message('idle>-3')).toContain('number of days');
		expect(message('idle>99999999')).toContain('number of days');
		const now = Date.parse('2026-06-01T00:00:00Z');
		const day = 86_400_000;
		expect(isIdle(now - 31 * day, '>', 30, now)).toBe(true);
		expect(isIdle(now - 29 * day, '>', 30, now)).toBe(false);
		expect(isIdle(now - 29 * day, '<', 30, now)).toBe(true);
	});

	it('matches a record by its newest activity, or its creation when it has none', () => {
		const doc = new Y.Doc();
		const now = Date.parse('2026-06-01T00:00:00Z');
		writeNewRecord(doc, {
			workspace: 'w',
			createdBy: 'a',
			createdAt: '2025-01-01T00:00:00Z',
			fields: { name: 'n', x_budget: 500, x_close: '2026-03-05' },
			activities: [
				{ kind: 'call', subject: 's', at: '2026-05-25T00:00:00Z' },
				{ kind: 'call', subject: 's', at: '2026-01-01T00:00:00Z' }
			]
		});
		const record = readRecord(doc, '00000000-0000-4000-8000-000000000001');
		const context = { now, updatedAt: '2026-05-30T00:00:00Z' };
		const yes = ['idle<30', 'idle>5', 'x_budget:100..500', 'x_close:2026-03', 'created:2025', 'updated>2026-05-29', 'x_close<2026-03-06'];
		const no = ['idle>30', 'x_budget>500', 'x_close:2026-04..', 'created>2025', 'updated<2026-05-30', 'x_close<2026-03-05'];
		for (const text of yes) expect(matches(parsed(text), record, context), text).toBe(true);
		for (const text of no) expect(matches(parsed(text), record, context), text).toBe(false);
		doc.getArray('activities').delete(0, 2);
		expect(matches(parsed('idle>500'), readRecord(doc, record.id), context)).toBe(true);
	});
});

describe('fields named by their label', () => {
	const fields = [field('x_lead_source', 'Lead source', '线索来源'), field('x_budget', 'Budget', '预算', 'number'), field('x_a', 'Region', '地区'), field('x_b', 'Region', '区域')];

	it('reads an English or Chinese label as the field it names', () => {
		expect(parsed('lead_source:web', fields).clauses[0].anyOf[0].all).toEqual(['x_lead_source:web']);
		expect(parsed('线索来源:web', fields).clauses[0].anyOf[0].all).toEqual(['x_lead_source:web']);
		expect(conditions('预算>100', fields)).toEqual([{ kind: 'number', field: 'x_budget', op: '>', value: 100 }]);
	});

	it('refuses a label two fields have, and reads an unknown Chinese name as text', () => {
		expect(message('region:华东', fields)).toContain('x_a, x_b');
		expect(message('colour:red', fields)).toContain('no field');
		expect(parsed('备注:下午', fields).clauses.map((clause) => clause.term)).toEqual(['备注:下午']);
	});
});

describe('collation keys', () => {
	const collator = new Intl.Collator('zh');
	const byKey = (values: string[]) => [...values].sort((a, b) => compareKeys(collationKey(a), collationKey(b)));

	it('order Chinese by pinyin before Latin, as the collator does', () => {
		const values = ['黄', '高', '马', '陈', 'b', 'Apple', 'apple', '阿', 'Élodie', 'elodie', 'Zeta', '长城', '张'];
		expect(byKey(values)).toEqual([...values].sort(collator.compare));
		expect(collationKey('')).toBe('');
	});

	it('agree with Intl.Collator("zh") on every name, company and city of the demo data', () => {
		const records = demoRecords({ count: 2000, workspace: 'w' });
		for (const key of ['name', 'company', 'city', 'industry']) {
			const values = [...new Set(records.map((record) => record.fields[key]).filter((value): value is string => typeof value === 'string' && value !== ''))];
			expect(values.length, key).toBeGreaterThan(5);
			const collated = [...values].sort(collator.compare);
			const keyed = byKey(values);
			const same = keyed.filter((value, index) => collated[index] === value).length;
			// Measured: all of them (the keys are the collator's own ranks).
			expect(same, key).toBe(values.length);
		}
	});
});
