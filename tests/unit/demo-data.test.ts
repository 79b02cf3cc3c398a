import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { demoRecords } from '../../server/seed/demo-data.ts';
import { readRecord, writeNewRecord } from '../../src/lib/model/record.ts';
import { ACTIVITY_KINDS, CURRENCIES, STAGES } from '../../src/lib/model/schema.ts';
import { normaliseDate, normaliseTag, validateField, validateFields } from '../../src/lib/model/validate.ts';
import { DEMO_PEOPLE } from '../../src/lib/people.ts';

const NOW = new Date('2026-03-15T00:00:00.000Z');
const DAY = 86_400_000;
const HAN = /\p{Script=Han}/u;
const records = demoRecords({ workspace: 'demo', now: NOW });

describe('demoRecords', () => {
	it('makes 200 records by default, and as many as asked', () => {
		expect(records).toHaveLength(200);
		expect(demoRecords({ workspace: 'demo', count: 7, now: NOW })).toHaveLength(7);
		expect(demoRecords({ workspace: 'demo', count: 0, now: NOW })).toEqual([]);
	});

	it('is deterministic for a seed and differs for another seed', () => {
		expect(demoRecords({ workspace: 'demo', now: NOW })).toEqual(records);
		expect(demoRecords({ workspace: 'demo', seed: 1, now: new Date(NOW) })).toEqual(records);
		const other = demoRecords({ workspace: 'demo', seed: 2, now: NOW });
		expect(other).not.toEqual(records);
		expect(other.map((r) => r.fields.name)).not.toEqual(records.map((r) => r.fields.name));
	});

	it('is deterministic without an explicit now', () => {
		expect(demoRecords({ workspace: 'w', count: 20 })).toEqual(demoRecords({ workspace: 'w', count: 20 }));
	});

	it('sets the workspace and a createdBy among the demo people', () => {
		for (const r of records) {
			expect(r.workspace).toBe('demo');
			expect(r.createdBy).toBe(r.fields.owner);
		}
	});

	it('has only values that pass validation unchanged (already normalised)', () => {
		for (const r of records) {
			const result = validateFields(r.fields, { requireName: true });
			expect(result, JSON.stringify(r.fields)).toEqual({ ok: true, fields: r.fields });
			for (const tag of r.tags ?? []) expect(normaliseTag(tag)).toEqual({ ok: true, value: tag });
			for (const contact of r.contacts ?? []) {
				for (const [key, raw] of Object.entries(contact)) {
					expect(validateField(key, raw, { country: r.fields.country as string })).toEqual({ ok: true, value: raw });
				}
			}
			for (const a of r.activities ?? []) expect(normaliseDate(a.at)).toEqual({ ok: true, value: a.at });
		}
	});

	it('has both Chinese and English-speaking customers, about half each', () => {
		const chinese = records.filter((r) => HAN.test(String(r.fields.name)));
		expect(chinese.length).toBeGreaterThan(70);
		expect(chinese.length).toBeLessThan(130);
		expect(records.some((r) => /^[A-Z][a-z]+ [A-Z][a-zA-Z']+$/.test(String(r.fields.name)))).toBe(true);
		for (const r of chinese) {
			expect(r.fields).toMatchObject({ country: 'CN', currency: 'CNY' });
			expect(String(r.fields.phone)).toMatch(/^\+861[3-9]\d{9}$/);
			expect(HAN.test(String(r.fields.company))).toBe(true);
		}
		for (const r of records.filter((x) => !HAN.test(String(x.fields.name)))) {
			expect(r.fields.country).not.toBe('CN');
			expect(r.fields.currency).not.toBe('CNY');
			expect(HAN.test(JSON.stringify(r.activities) + (r.notes ?? ''))).toBe(false);
		}
	});

	it('derives ascii emails, also for Chinese names', () => {
		for (const r of records) {
			expect(String(r.fields.email)).toMatch(/^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]{2,}$/);
			for (const c of r.contacts ?? []) expect(c.email ?? 'a@b.cn').toMatch(/^[a-z0-9.]+@[a-z0-9.-]+$/);
		}
		const emails = records.flatMap((r) => [r.fields.email, ...(r.contacts ?? []).map((c) => c.email)]).filter(Boolean);
		expect(new Set(emails).size).toBe(emails.length);
	});

	it('spreads stages as a funnel: all present, more leads than wins', () => {
		const count = (stage: string) => records.filter((r) => r.fields.stage === stage).length;
		for (const stage of STAGES) expect(count(stage), stage).toBeGreaterThan(0);
		expect(count('lead')).toBeGreaterThan(count('qualified'));
		expect(count('qualified')).toBeGreaterThan(count('won'));
	});

	it('assigns owners among the demo people, and uses all of them', () => {
		const ids = DEMO_PEOPLE.map((p) => p.id);
		for (const r of records) expect(ids).toContain(r.fields.owner);
		expect(new Set(records.map((r) => r.fields.owner)).size).toBe(ids.length);
	});

	it('keeps values, currencies, tags, contacts and activities in range', () => {
		for (const r of records) {
			if (r.fields.value !== undefined) expect(r.fields.value).toBeGreaterThan(0);
			expect(CURRENCIES).toContain(r.fields.currency);
			expect((r.tags ?? []).length).toBeLessThanOrEqual(3);
			expect(new Set(r.tags).size).toBe((r.tags ?? []).length);
			expect((r.contacts ?? []).length).toBeLessThanOrEqual(2);
			expect((r.activities ?? []).length).toBeLessThanOrEqual(4);
			for (const a of r.activities ?? []) {
				expect(ACTIVITY_KINDS).toContain(a.kind);
				expect(a.by).toBe(r.fields.owner);
				expect(typeof a.done).toBe('boolean');
				const at = Date.parse(a.at);
				expect(at).toBeLessThanOrEqual(NOW.getTime());
				expect(at).toBeGreaterThanOrEqual(NOW.getTime() - 90 * DAY);
				expect(at).toBeGreaterThanOrEqual(Date.parse(r.createdAt!));
			}
			const created = Date.parse(r.createdAt!);
			expect(created).toBeLessThan(NOW.getTime());
			expect(created).toBeGreaterThanOrEqual(NOW.getTime() - 366 * DAY);
			if (r.fields.followUpAt !== undefined) expect(Date.parse(String(r.fields.followUpAt))).toBeGreaterThan(NOW.getTime());
		}
	});

	it('has variety: notes for about a third, some tags, contacts, follow-ups and leads without a value', () => {
		const share = (pred: (r: (typeof records)[number]) => boolean) => records.filter(pred).length / records.length;
		expect(share((r) => !!r.notes)).toBeGreaterThan(0.2);
		expect(share((r) => !!r.notes)).toBeLessThan(0.45);
		expect(share((r) => (r.tags ?? []).length > 0)).toBeGreaterThan(0.3);
		expect(share((r) => (r.contacts ?? []).length > 0)).toBeGreaterThan(0.2);
		expect(share((r) => (r.activities ?? []).length > 0)).toBeGreaterThan(0.5);
		expect(share((r) => r.fields.followUpAt !== undefined)).toBeGreaterThan(0.1);
		expect(records.some((r) => r.fields.value === undefined)).toBe(true);
		expect(records.some((r) => (r.tags ?? []).some((t) => HAN.test(t)))).toBe(true);
		expect(new Set(records.map((r) => r.fields.country)).size).toBeGreaterThanOrEqual(4);
		expect(new Set(records.map((r) => r.fields.city)).size).toBeGreaterThanOrEqual(10);
	});

	it('writes into record documents that read back the same', () => {
		for (const r of records.slice(0, 20)) {
			const doc = new Y.Doc();
			writeNewRecord(doc, r);
			const back = readRecord(doc, '00000000-0000-4000-8000-000000000000');
			expect(back.fields).toEqual(r.fields);
			expect(back.tags).toEqual([...(r.tags ?? [])].sort());
			expect(back.notes).toBe(r.notes ?? '');
			expect(back.meta).toMatchObject({ workspace: 'demo', createdBy: r.createdBy, createdAt: r.createdAt });
		}
	});
});
