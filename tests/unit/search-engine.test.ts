/**
 * The browser's search index (src/lib/search/index-engine.ts), as the worker runs it but
 * in Node: for the same records and queries it finds exactly the ids `matches` finds (the
 * plan the server also runs), it ranks as `score` does, an edited record is found by its
 * new text after one `put` and never by its old, and a saved index answers as the live one.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readRecord, writeNewRecord, type CustomerRecord } from '../../src/lib/model/record.ts';
import { matches, parseQuery, score, searchable, SEARCH_VERSION, type SearchQuery } from '../../src/lib/search/index.ts';
import { RecordSearchIndex } from '../../src/lib/search/index-engine.ts';
import { demoRecords } from '../../server/seed/demo-data.ts';

function query(text: string): SearchQuery {
	const parsed = parseQuery(text);
	if (!parsed.ok) throw new Error(`"${text}" did not parse: ${parsed.message}`);
	return parsed.query;
}

/** Demo records as the local copy holds them: written into documents and read back. */
function demo(count: number): CustomerRecord[] {
	return demoRecords({ workspace: 'ws', count, seed: 7, now: new Date('2026-01-01T00:00:00Z') }).map((record, i) => {
		const doc = new Y.Doc();
		writeNewRecord(doc, record);
		const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
		const read = readRecord(doc, id);
		doc.destroy();
		return read;
	});
}

const extra: CustomerRecord = {
	id: '11111111-1111-4111-8111-111111111111',
	fields: { name: '张伟', company: '深圳华信科技有限公司', city: '深圳', phone: '+8613800138000', email: 'zhang.wei@huaxin.cn', stage: 'won', owner: 'bob', value: 250000, currency: 'CNY', country: 'CN', x_region: '华南' },
	tags: ['vip'],
	contacts: [{ id: 'c1', name: '李娜', email: 'li.na@mail.huaxin.cn', phone: '+86 10 6552 9988' }],
	activities: [{ id: 'a1', kind: 'call', subject: 'Quarterly review', at: '2025-02-01T00:00:00.000Z' }],
	notes: '这是一个测试',
	meta: { schema: 1, workspace: 'ws', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'alice', archived: false }
};

const QUERIES = ['深圳', '科技', '华', 'zhangwei', 'zw', 'hua', '8000', '138 0013 8000', '+86 13800138000', 'huaxin.cn', 'acme', 'acm*', 'stage:won', 'city:深圳', 'value>100000', 'value<5000', 'tag:vip', 'owner:bob', 'company:深圳', 'x_region:华南', 'shenzhenhuaxink', 'zhang.wei@huax', 'w', '伟', '张 zw', 'ltd', 'country:cn', '测试', 'li.na@mail.huaxin.cn', 'review', 'a', 'wang', '有限公司', 'stage:lead value>=10000', 'contact:li'];

describe('the browser search index', () => {
	const records = [...demo(400), extra];
	const index = new RecordSearchIndex();
	for (const record of records) index.put(record, 'v1');
	const ready = records.map(searchable);

	it('finds exactly the ids the shared matcher finds', () => {
		for (const text of QUERIES) {
			const q = query(text);
			const expected = ready.filter((s) => matches(q, s)).map((s) => s.record.id).sort();
			const found = index.search(q, { limit: 10, includeArchived: true, allIds: true });
			expect(found.ids!.slice().sort(), text).toEqual(expected);
			expect(found.total, text).toBe(expected.length);
		}
	});

	it('ranks as the shared score does, best first, and keeps only the first screen', () => {
		for (const text of ['张伟', 'zw', 'hua', 'wang', '深圳']) {
			const q = query(text);
			const found = index.search(q, { limit: 8, includeArchived: true });
			expect(found.hits.length).toBe(Math.min(8, found.total));
			for (const hit of found.hits) expect(hit.score, `${text} ${hit.name}`).toBe(score(q, ready.find((s) => s.record.id === hit.id)!));
			const scores = found.hits.map((h) => h.score);
			expect(scores).toEqual([...scores].sort((a, b) => b - a));
			const best = Math.max(...ready.map((s) => score(q, s)));
			expect(found.hits[0].score).toBe(best);
		}
		// A name hit ranks above a hit in a contact or the notes.
		expect(index.search(query('张伟'), { limit: 1 }).hits[0].name).toBe('张伟');
	});

	it('finds an edited record by its new text after one update, and never by its old', () => {
		const live = new RecordSearchIndex();
		for (const record of records) live.put(record);
		const edited: CustomerRecord = { ...extra, fields: { ...extra.fields, name: '欧阳娜娜', company: 'Zyxwv Robotics' }, notes: 'moved' };
		live.put(edited);
		for (const gone of ['张伟', 'zhangwei', '测试', 'company:深圳华信']) expect(live.search(query(gone), { allIds: true }).ids, gone).not.toContain(extra.id);
		for (const found of ['欧阳娜娜', 'ouyang', 'zyxwv', 'robot*', 'moved']) expect(live.search(query(found), { allIds: true }).ids, found).toContain(extra.id);
		// Archived: out of the results unless asked for; removed (no longer visible): out for good.
		live.put({ ...edited, meta: { ...edited.meta, archived: true } });
		expect(live.search(query('zyxwv'), { allIds: true }).ids).toEqual([]);
		expect(live.search(query('zyxwv'), { allIds: true, includeArchived: true }).ids).toEqual([extra.id]);
		live.remove(extra.id);
		expect(live.search(query('zyxwv'), { allIds: true, includeArchived: true }).total).toBe(0);
		expect(live.has(extra.id)).toBe(false);
	});

	it('stays exact through many edits (old versions swept out)', () => {
		const live = new RecordSearchIndex();
		for (const record of records.slice(0, 50)) live.put(record);
		const base = records[0];
		for (let i = 0; i < 10_050; i++) live.putEntry({ ...base, fields: { ...base.fields, name: `Edit${i}` } }, [`edit${i}`, `name:edit${i}`], []);
		expect(live.size).toBe(50);
		expect(live.search(query('edit10049'), { allIds: true }).ids).toEqual([base.id]);
		expect(live.search(query('edit1004 '), { allIds: true }).ids).toEqual([]);
		// As a prefix (as typed), only the current version's token is found: one record, once.
		expect(live.search(query('edit1004'.slice(0, 5)), { allIds: true }).ids).toEqual([base.id]);
		for (const text of ['深圳', 'hua', 'w']) {
			const q = query(text);
			const expected = records.slice(1, 50).map(searchable).filter((s) => matches(q, s)).map((s) => s.record.id);
			expect(live.search(q, { allIds: true, includeArchived: true }).ids!.filter((id) => id !== base.id).sort(), text).toEqual(expected.sort());
		}
	});

	it('saves and loads: the loaded index answers as the live one, and a saved index of another tokenizer is refused', () => {
		const saved = JSON.parse(JSON.stringify(index.save(SEARCH_VERSION)));
		const loaded = RecordSearchIndex.load(saved, SEARCH_VERSION)!;
		expect(loaded.size).toBe(index.size);
		expect(loaded.stampOf(extra.id)).toBe('v1');
		for (const text of QUERIES) {
			const q = query(text);
			expect(loaded.search(q, { allIds: true, includeArchived: true }).ids!.sort(), text).toEqual(index.search(q, { allIds: true, includeArchived: true }).ids!.sort());
		}
		expect(RecordSearchIndex.load(saved, SEARCH_VERSION + 1)).toBeNull();
	});
});
