/**
 * Planning a merge (src/lib/model/merge.ts), the same module the merge page previews
 * with and the server applies: per-field choice and defaults, unions without
 * duplicates, notes kept under headings, limits, and the request's own checks.
 */
import { describe, expect, it } from 'vitest';
import { parseMergeRequest, planMerge, MAX_MERGE_RECORDS } from '../../src/lib/model/merge.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { MAX_TAGS } from '../../src/lib/model/schema.ts';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';

function record(id: string, parts: Partial<CustomerRecord> = {}): CustomerRecord {
	return {
		id,
		fields: {},
		tags: [],
		contacts: [],
		activities: [],
		notes: '',
		meta: { schema: 1, workspace: 'w', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'u', archived: false },
		...parts
	};
}

describe('planMerge', () => {
	it("keeps the survivor's values, fills its empty fields from the first merged record that has one, and honours choices", () => {
		const a = record(A, { fields: { name: 'Li Na', company: '', email: 'li@a.cn' } });
		const b = record(B, { fields: { name: 'Li Na (old)', company: 'Huaxin', phone: '+8613800138000' } });
		const c = record(C, { fields: { company: 'Other', city: 'Shanghai', email: 'na@c.cn' } });
		const planned = planMerge(a, [b, c], { email: C });
		if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
		expect(planned.plan.fields).toEqual({ name: 'Li Na', company: 'Huaxin', email: 'na@c.cn', phone: '+8613800138000', city: 'Shanghai' });
		expect(planned.plan.fieldSources).toEqual({ name: A, company: B, email: C, phone: B, city: C });
	});

	it('choosing a record without a value clears the field', () => {
		const planned = planMerge(record(A, { fields: { name: 'A', city: 'Beijing' } }), [record(B, { fields: { name: 'B' } })], { city: B });
		expect(planned.ok && planned.plan.fields).toEqual({ name: 'A' });
	});

	it('unions tags, and contacts and activities without duplicates (same email or phone; same kind, subject and time)', () => {
		const a = record(A, {
			tags: ['vip'],
			contacts: [{ id: 'c1', name: 'Wang', email: 'wang@x.cn' }],
			activities: [{ id: 'a1', kind: 'call', subject: 'Intro', at: '2025-01-02T10:00:00.000Z' }]
		});
		const b = record(B, {
			tags: ['vip', 'beijing'],
			contacts: [
				{ id: 'c2', name: 'Wang Wei', email: 'WANG@x.cn ' },
				{ id: 'c1', name: 'Zhao', phone: '+86 138 0013 8000' }
			],
			activities: [
				{ id: 'a2', kind: 'call', subject: 'intro', at: '2025-01-02T10:00:00.000Z' },
				{ id: 'a3', kind: 'email', subject: 'Offer', at: '2025-01-03T10:00:00.000Z' }
			]
		});
		const c = record(C, { contacts: [{ id: 'c3', name: 'Zhao Li', phone: '+8613800138000' }] });
		const planned = planMerge(a, [b, c]);
		if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
		expect(planned.plan.addTags).toEqual(['beijing']);
		expect(planned.plan.addContacts.map((contact) => contact.name)).toEqual(['Zhao']);
		// Its id clashed with the survivor's own contact: it gets a new one.
		expect(planned.plan.addContacts[0].id).not.toBe('c1');
		expect(planned.plan.duplicateContacts).toBe(2);
		expect(planned.plan.addActivities).toEqual([{ id: 'a3', kind: 'email', subject: 'Offer', at: '2025-01-03T10:00:00.000Z' }]);
		expect(planned.plan.duplicateActivities).toBe(1);
	});

	it("keeps every record's notes, the survivor's first, each merged one under a heading naming it", () => {
		const a = record(A, { fields: { name: 'A' }, notes: 'First.\n' });
		const b = record(B, { fields: { name: '张伟' }, notes: 'Second.' });
		const c = record(C, { fields: { company: 'Gamma' }, notes: 'Third.' });
		const en = planMerge(a, [b, c]);
		expect(en.ok && en.plan.notes).toBe('First.\n\n── Notes merged from “张伟” ──\nSecond.\n\n── Notes merged from “Gamma” ──\nThird.');
		const zh = planMerge(record(A), [b], {}, 'zh');
		expect(zh.ok && zh.plan.notes).toBe('── 合并自「张伟」的备注 ──\nSecond.');
	});

	it('refuses, naming the place, when the survivor would hold too many tags or a kept value is invalid', () => {
		const many = (prefix: string) => Array.from({ length: 30 }, (_, i) => `${prefix}${i}`);
		const tags = planMerge(record(A, { tags: many('a') }), [record(B, { tags: many('b') })]);
		expect(tags.ok).toBe(false);
		if (!tags.ok) expect(tags.errors.tags).toContain(String(MAX_TAGS));
		const invalid = planMerge(record(A), [record(B, { fields: { email: 'not an email' } })]);
		expect(invalid.ok).toBe(false);
		if (!invalid.ok) expect(Object.keys(invalid.errors)).toEqual(['fields.email']);
	});
});

describe('parseMergeRequest', () => {
	it('accepts a survivor, merged records and per-field choices, with ids in canonical spelling', () => {
		expect(parseMergeRequest({ survivor: A.toUpperCase(), merged: [B, C], fields: { email: C } })).toEqual({
			ok: true,
			request: { survivor: A, merged: [B, C], fields: { email: C }, locale: 'en' }
		});
	});

	it.each([
		['no body', null, 'Send an object'],
		['no survivor', { merged: [B] }, 'survivor must be'],
		['nothing merged', { survivor: A, merged: [] }, 'at least one'],
		['self-merge', { survivor: A, merged: [A.toUpperCase()] }, 'into itself'],
		['a record twice', { survivor: A, merged: [B, B] }, 'named twice'],
		['not an id', { survivor: A, merged: ['x'] }, 'is not a record id'],
		['a choice outside the merge', { survivor: A, merged: [B], fields: { email: C } }, 'must name one of the records'],
		['an unknown member', { survivor: A, merged: [B], force: true }, '"force" is not part of a merge'],
		[
			'too many records',
			{ survivor: A, merged: Array.from({ length: MAX_MERGE_RECORDS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`) },
			'at most'
		]
	])('refuses %s with a message that says what to send', (_name, body, message) => {
		const parsed = parseMergeRequest(body);
		expect(parsed.ok).toBe(false);
		if (!parsed.ok) expect(parsed.message).toContain(message);
	});
});
