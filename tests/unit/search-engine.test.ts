/**
 * The browser's search index (src/lib/search/index-engine.ts), as the worker runs it but
 * in Node: for the same records and queries it finds exactly the ids `matches` finds (the
 * plan the server also runs), it ranks as `score` does, an edited record is found by its
 * new text after one `put` and never by its old, and a saved index answers as the live one.
 * Each in the index's three states: all in the delta (as it is built), all merged into the
 * base (as loaded or saved), and a base with a delta on top (edits since the last merge).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readRecord, writeNewRecord, type CustomerRecord } from '../../src/lib/model/record.ts';
import { matches, parseQuery, recordSearchEntry, score, searchable, SEARCH_VERSION, type SearchQuery } from '../../src/lib/search/index.ts';
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
/** Prefixes that are also the start of a scope's name (`c` and `city:`, `company:`, `contact:`): the base skips scoped tokens under an unscoped prefix by whole scopes. */
const PREFIXES = ['c', 'ci', 'co', 'com', 'cont', 'n', 'na', 'e', 'em', 'p', 'ph', 'x', 'x_', 'z', 'contact:l', 'name:z', 'company:s', 'email:z', 'x_region:h', 'city:s', 'zhang.wei@huaxin.c', 'contact4'];

/** The three states of an index over the same records: delta only, merged, and a merged base with a delta (and dead records) on top. */
function states(records: CustomerRecord[]): [string, RecordSearchIndex][] {
	// Tokenized once: the tokenizer is not what is tested here, and it is the slow part.
	const entries = records.map((record) => recordSearchEntry(record));
	const put = (index: RecordSearchIndex, i: number) => index.putEntry(records[i], entries[i].tokens, entries[i].prefixes, 'v1');
	const building = new RecordSearchIndex();
	records.forEach((_, i) => put(building, i));
	const merged = new RecordSearchIndex();
	records.forEach((_, i) => put(merged, i));
	merged.merge();
	const mixed = new RecordSearchIndex();
	const half = Math.floor(records.length / 2);
	// The second half first indexed in another form, then put again after the merge (their first numbers dead in the base).
	records.forEach((record, i) => (i < half ? put(mixed, i) : mixed.putEntry({ ...record, fields: { ...record.fields, name: 'Stale Name' } }, ['stale', 'name:stale'], ['s', 'st', 'name:s'], 'v0')));
	mixed.merge();
	for (let i = half; i < records.length; i++) put(mixed, i);
	return [
		['building', building],
		['merged', merged],
		['base and delta', mixed]
	];
}

/** Every record matching `q`, best first, as the shared `score` ranks them (ties by name, then id, in code-unit order). */
function fullRanking(q: SearchQuery, ready: ReturnType<typeof searchable>[]): { id: string; score: number }[] {
	const scored = ready.filter((s) => matches(q, s) && s.record.meta.archived !== true).map((s) => ({ id: s.record.id, name: typeof s.record.fields.name === 'string' ? s.record.fields.name : '', score: score(q, s) }));
	scored.sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
	return scored.map(({ id, score: points }) => ({ id, score: points }));
}

// Sized for a machine shared with other test runs.
describe('the browser search index', { timeout: 60_000 }, () => {
	const records = [...demo(400), extra];
	const index = new RecordSearchIndex();
	for (const record of records) index.put(record, 'v1');
	const ready = records.map(searchable);
	const built = states(records);

	it('finds exactly the ids the shared matcher finds, built, merged, and with edits on a merged base', () => {
		for (const [state, stateIndex] of built) {
			for (const text of [...QUERIES, ...PREFIXES]) {
				const q = query(text);
				const expected = ready.filter((s) => matches(q, s)).map((s) => s.record.id).sort();
				const found = stateIndex.search(q, { limit: 10, includeArchived: true, allIds: true });
				expect(found.ids!.slice().sort(), `${state}: ${text}`).toEqual(expected);
				expect(found.total, `${state}: ${text}`).toBe(expected.length);
			}
		}
	});

	it('answers a prefix from the sorted vocabulary: every token starting with it, in its own scope only, each record once', () => {
		const [, merged] = built[1];
		// `cont` is the start of the scope `contact:` and of no record's own word here: scoped tokens must not answer it.
		const ownWords = ready.filter((s) => [...s.tokens].some((t) => !t.includes(':') && t.startsWith('cont')));
		expect(merged.search(query('cont'), { allIds: true, includeArchived: true }).ids!.sort()).toEqual(ownWords.map((s) => s.record.id).sort());
		const scoped = merged.search(query('contact:l*'), { allIds: true, includeArchived: true }).ids!;
		expect(new Set(scoped).size).toBe(scoped.length);
		expect(scoped).toContain(extra.id);
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
		const live = built[2][1];
		// Saved with edits in its delta: the base is saved, with the edited records' old stamps (so the worker reads them again).
		const before = RecordSearchIndex.load(structuredClone(live.save(SEARCH_VERSION)), SEARCH_VERSION)!;
		expect(before.stampOf(extra.id)).toBe('v0');
		expect(before.search(query('stale'), { allIds: true }).ids).toContain(extra.id);
		live.merge();
		// As IndexedDB keeps it: a structured clone.
		const saved = structuredClone(live.save(SEARCH_VERSION));
		const loaded = RecordSearchIndex.load(saved, SEARCH_VERSION)!;
		expect(loaded.size).toBe(records.length);
		expect(loaded.stampOf(extra.id)).toBe('v1');
		for (const text of [...QUERIES, ...PREFIXES]) {
			const q = query(text);
			const want = index.search(q, { limit: 20, allIds: true, includeArchived: true });
			const got = loaded.search(q, { limit: 20, allIds: true, includeArchived: true });
			expect(got.ids!.sort(), text).toEqual(want.ids!.sort());
			expect(got.hits, text).toEqual(want.hits);
		}
		// Edits after loading go on top of the loaded base.
		loaded.put({ ...extra, fields: { ...extra.fields, name: 'Qwertz' } }, 'v2');
		expect(loaded.search(query('qwertz'), { allIds: true }).ids).toEqual([extra.id]);
		expect(loaded.search(query('张伟'), { allIds: true }).ids).not.toContain(extra.id);
		expect(loaded.stampOf(extra.id)).toBe('v2');
		expect(RecordSearchIndex.load(saved, SEARCH_VERSION + 1)).toBeNull();
	});

	it('saves as blocks (a string and typed arrays, not an object per token), and refuses a damaged copy', () => {
		const merged = built[1][1];
		const saved = merged.save(SEARCH_VERSION);
		expect(typeof saved.terms).toBe('string');
		expect(saved.starts).toBeInstanceOf(Uint32Array);
		expect(saved.offsets).toBeInstanceOf(Uint32Array);
		expect(saved.postings).toBeInstanceOf(Uint32Array);
		expect(typeof saved.facts).toBe('string');
		const copy = () => structuredClone(saved);
		expect(RecordSearchIndex.load({ ...copy(), postings: saved.postings.slice(1) }, SEARCH_VERSION)).toBeNull();
		const wrongNumber = copy();
		wrongNumber.postings[0] = records.length + 5;
		expect(RecordSearchIndex.load(wrongNumber, SEARCH_VERSION)).toBeNull();
		expect(RecordSearchIndex.load({ ...copy(), facts: '[{' }, SEARCH_VERSION)).toBeNull();
		expect(RecordSearchIndex.load({ ...copy(), terms: saved.terms.replace('\u0000', '-') }, SEARCH_VERSION)).toBeNull();
		expect(RecordSearchIndex.load({ ...copy(), format: 2 }, SEARCH_VERSION)).toBeNull();
	});
});

describe('the first screen of a broad search', { timeout: 120_000 }, () => {
	// More hits than the first screen by far (and than the 2,000 past which an earlier index ranked by name and company alone).
	const records = demo(2_600);
	const ready = records.map(searchable);
	const index = new RecordSearchIndex();
	for (const record of records) index.put(record);
	index.merge();

	it("is the full ranking's first k: the same records, scores and order as sorting every hit by the shared score", () => {
		for (const text of ['a', 'w', 'li', 'hua', '深圳', '有限公司', '华', 'c', 'ltd', 'zhang']) {
			const q = query(text);
			const full = fullRanking(q, ready);
			for (const k of [1, 8, 50]) {
				const found = index.search(q, { limit: k });
				expect(found.total, text).toBe(full.length);
				expect(found.hits.map((h) => ({ id: h.id, score: h.score })), `${text} k=${k}`).toEqual(full.slice(0, k));
			}
		}
	});
});
