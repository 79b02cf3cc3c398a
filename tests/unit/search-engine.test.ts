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
import { joinSaved, RecordSearchIndex, splitSaved } from '../../src/lib/search/index-engine.ts';
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

describe('the saved index in parts', { timeout: 60_000 }, () => {
	// Chromium refuses one IndexedDB value over 127 MiB; the index of 100,000 records is about 170 MB.
	const records = [...demo(150), extra, { ...extra, id: '33333333-3333-4333-8333-333333333333', fields: { ...extra.fields, name: '𠀀𠀁 Surrogates' } }];
	const index = new RecordSearchIndex();
	for (const record of records) index.put(record, 'v1');
	index.merge();
	const saved = index.save(SEARCH_VERSION);

	it('splits into values of at most the given size that join back to the same index', () => {
		for (const partBytes of [64, 1_000, 10 ** 9]) {
			const { head, parts } = splitSaved(saved, partBytes);
			expect(head.parts).toBe(parts.length);
			if (partBytes <= 1_000) expect(parts.length).toBeGreaterThan(10);
			for (const part of parts) {
				const bytes = typeof part.data === 'string' ? part.data.length * 2 : part.data.byteLength;
				expect(bytes, `${part.field} in parts of ${partBytes}`).toBeLessThanOrEqual(Math.max(partBytes, 4));
				// A typed array's part is its own copy, not a view that would be stored with the whole buffer.
				if (typeof part.data !== 'string') expect(part.data.buffer.byteLength).toBe(part.data.byteLength);
			}
			// As IndexedDB keeps them: structured clones, read back in order.
			const joined = joinSaved(structuredClone(head), parts.map((part) => structuredClone(part)));
			expect(joined, `parts of ${partBytes}`).toEqual(saved);
			const loaded = RecordSearchIndex.load(joined!, SEARCH_VERSION)!;
			for (const text of ['张伟', 'hua', '𠀀', 'surrogates', '深圳', 'w']) expect(loaded.search(query(text), { allIds: true, includeArchived: true }).ids!.sort(), text).toEqual(index.search(query(text), { allIds: true, includeArchived: true }).ids!.sort());
		}
	});

	it('refuses parts that do not fit together', () => {
		const { head, parts } = splitSaved(saved, 1_000);
		expect(joinSaved(head, parts.slice(1))).toBeNull();
		expect(joinSaved(undefined, parts)).toBeNull();
		expect(joinSaved({ ...head, parts: parts.length + 1 }, [...parts, { field: 'postings', data: 'text' }])).toBeNull();
		expect(joinSaved(head, parts.map((part) => (part.field === 'terms' ? { ...part, field: 'nonsense' } : part)))).toBeNull();
		// A part lost from the middle: the lengths no longer agree, and the index is rebuilt rather than trusted.
		const gap = parts.filter((part) => part.field === 'postings').length > 1 ? parts.findIndex((part) => part.field === 'postings') : -1;
		if (gap >= 0) {
			const joined = joinSaved({ ...head, parts: parts.length - 1 }, parts.filter((_, n) => n !== gap));
			expect(joined === null || RecordSearchIndex.load(joined, SEARCH_VERSION) === null).toBe(true);
		}
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

/**
 * The saved base as a plain inverted index (token → ids), checked as it is read: tokens in
 * strictly ascending code-unit order, each ended by U+0000, each with at least one record
 * number, every list strictly ascending, every number a record.
 */
function baseOf(index: RecordSearchIndex): Map<string, string[]> {
	const saved = index.save(SEARCH_VERSION);
	const facts = JSON.parse(saved.facts) as { id: string }[];
	const out = new Map<string, string[]>();
	// Collected rather than asserted one by one: thousands of postings are read.
	const wrong: string[] = [];
	let previous: string | null = null;
	for (let i = 0; i + 1 < saved.starts.length; i++) {
		if (saved.terms.charCodeAt(saved.starts[i + 1] - 1) !== 0) wrong.push(`token ${i} not ended`);
		const token = saved.terms.slice(saved.starts[i], saved.starts[i + 1] - 1);
		if (previous !== null && !(previous < token)) wrong.push(`${JSON.stringify(previous)} before ${JSON.stringify(token)}`);
		previous = token;
		const numbers = [...saved.postings.subarray(saved.offsets[i], saved.offsets[i + 1])];
		if (numbers.length === 0) wrong.push(`${token}: no records`);
		for (let k = 1; k < numbers.length; k++) if (numbers[k] <= numbers[k - 1]) wrong.push(`${token}: ${numbers[k - 1]} then ${numbers[k]}`);
		for (const n of numbers) if (!(n >= 1 && n <= facts.length)) wrong.push(`${token}: no record ${n}`);
		out.set(token, numbers.map((n) => facts[n - 1]?.id ?? `#${n}`));
	}
	if (saved.starts[saved.starts.length - 1] !== saved.terms.length) wrong.push('the last start is not the vocabulary\'s length');
	if (saved.offsets[saved.offsets.length - 1] !== saved.postings.length) wrong.push('the last offset is not the postings\' length');
	expect(wrong.slice(0, 10)).toEqual([]);
	return out;
}

/** What the base must hold for these records' current tokens: token → ids, in the order the records were last put. */
function expectedBase(current: Map<string, readonly string[]>): Map<string, string[]> {
	const out = new Map<string, string[]>();
	for (const [id, tokens] of current) {
		for (const token of new Set(tokens)) {
			const ids = out.get(token);
			if (ids) ids.push(id);
			else out.set(token, [id]);
		}
	}
	return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('merging the delta into the base', { timeout: 60_000 }, () => {
	// Tokens whose order is easy to get wrong: scoped and not, prefixes of each other, Han,
	// full-width, and characters beyond the BMP (surrogate pairs sort below U+E000–U+FFFF in code units).
	const POOL = ['a', 'ab', 'abc', 'abd', 'b', 'city:深圳', 'city:上海', 'company:acme', 'company:a', 'contact:li', 'name:张伟', '张', '张伟', '伟', '深圳', 'ｚ', '𠀀', '𠀀a', 'zz', 'z', '1234', '8000', 'x_region:华南', 'li.na@mail.huaxin.cn', 'huaxin.cn', 'é'];
	const rng = (() => {
		let a = 7;
		return () => {
			a = (a + 0x6d2b79f5) >>> 0;
			let t = Math.imul(a ^ (a >>> 15), a | 1);
			t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
			return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
		};
	})();
	const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
	const record = (i: number): CustomerRecord => ({ id: id(i), fields: { name: `R${i}` }, tags: [], contacts: [], activities: [], notes: '', meta: { schema: 1, workspace: 'ws', createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'alice', archived: false } });
	/** Some of the pool and some tokens of the record's own (a few shared with its neighbours). */
	const tokensOf = (i: number, version: number): string[] => [...POOL.filter(() => rng() < 0.3), `own${i}v${version}`, `near${Math.floor(i / 3)}`, `ver${version}`];

	it('from nothing, onto a base, and with dead records: the base holds exactly the current tokens of the live records', () => {
		const index = new RecordSearchIndex();
		const current = new Map<string, readonly string[]>();
		const put = (i: number, version: number) => {
			const tokens = tokensOf(i, version);
			index.putEntry(record(i), tokens, []);
			current.delete(id(i));
			current.set(id(i), tokens);
		};
		for (let i = 0; i < 300; i++) put(i, 1);
		index.merge();
		expect(baseOf(index)).toEqual(expectedBase(current));
		// A delta that shares tokens with the base, brings new ones, edits records of the base (their old numbers dead) and removes some.
		for (let i = 250; i < 400; i++) put(i, 2);
		for (let i = 0; i < 300; i += 7) {
			index.remove(id(i));
			current.delete(id(i));
		}
		index.merge();
		expect(baseOf(index)).toEqual(expectedBase(current));
		// Tokens left with no live record are gone from the vocabulary.
		expect(baseOf(index).has('own0v1')).toBe(false);
		// Only removals: the base shrinks, no delta.
		for (let i = 1; i < 400; i += 2) {
			index.remove(id(i));
			current.delete(id(i));
		}
		index.merge();
		expect(baseOf(index)).toEqual(expectedBase(current));
		for (const i of current.keys()) index.remove(i);
		index.merge();
		expect(baseOf(index).size).toBe(0);
		expect(index.size).toBe(0);
	});

	it('through the merges that puts start on their own', () => {
		const index = new RecordSearchIndex();
		const current = new Map<string, readonly string[]>();
		// Wide records, so the delta passes the size at which a put merges it (and the base) more than once.
		const wide = (i: number, version: number) => [...tokensOf(i, version), ...Array.from({ length: 120 }, (_, k) => `w${(i * 31 + k * 7) % 997}`)];
		for (let i = 0; i < 200; i++) {
			const tokens = wide(i, 1);
			index.putEntry(record(i), tokens, []);
			current.set(id(i), tokens);
		}
		index.merge();
		const first = index.version;
		for (let round = 2; round < 14; round++) {
			for (let i = 0; i < 200; i += 1 + (round % 3)) {
				const tokens = wide(i, round);
				index.putEntry(record(i), tokens, []);
				current.delete(id(i));
				current.set(id(i), tokens);
			}
		}
		expect(index.version, 'merges started by puts').toBeGreaterThan(first + 1);
		index.merge();
		expect(baseOf(index)).toEqual(expectedBase(current));
		expect(index.size).toBe(200);
	});

	it('loads what it saved after merges into the same base', () => {
		const index = new RecordSearchIndex();
		for (let i = 0; i < 120; i++) index.putEntry(record(i), tokensOf(i, 1), []);
		index.merge();
		for (let i = 60; i < 180; i++) index.putEntry(record(i), tokensOf(i, 2), []);
		index.merge();
		const loaded = RecordSearchIndex.load(structuredClone(index.save(SEARCH_VERSION)), SEARCH_VERSION)!;
		expect(baseOf(loaded)).toEqual(baseOf(index));
	});
});

describe('a record with more prefixes than the tokenizer indexes', { timeout: 60_000 }, () => {
	// About 1,200 distinct words of 12 letters: far past MAX_RECORD_PREFIXES' 8,000 prefixes, so only the first words' prefixes are indexed.
	const words = Array.from({ length: 1_200 }, (_, i) => `w${String.fromCharCode(97 + (i % 26), 97 + (Math.floor(i / 26) % 26), 97 + (Math.floor(i / 676) % 26))}longword${i % 10}`);
	const wide: CustomerRecord = { ...extra, id: '22222222-2222-4222-8222-222222222222', fields: { name: 'Wide Notes' }, notes: words.join(' '), contacts: [], activities: [], tags: [] };

	it('is found by a prefix only where the shared matcher finds it, when indexed by `put` (its prefixes made by the index)', () => {
		const ready = [searchable(wide), searchable(extra)];
		expect(recordSearchEntry(wide).prefixes.length).toBeGreaterThanOrEqual(8_000);
		const index = new RecordSearchIndex();
		index.put(wide);
		index.put(extra);
		const merged = new RecordSearchIndex();
		merged.put(wide);
		merged.put(extra);
		merged.merge();
		// The first word's prefixes are indexed; the last words' are past the cap (found whole, not by a prefix).
		const texts = [words[0].slice(0, 6), words[words.length - 1].slice(0, 6), words[words.length - 1], words[words.length - 2].slice(0, 9), 'wide', 'w'];
		let someFound = false;
		let someNot = false;
		for (const text of texts) {
			const q = query(text);
			const expected = ready.filter((s) => matches(q, s)).map((s) => s.record.id).sort();
			if (expected.includes(wide.id)) someFound = true;
			else someNot = true;
			for (const [state, stateIndex] of [['delta', index], ['merged', merged]] as const) expect(stateIndex.search(q, { allIds: true }).ids!.sort(), `${state}: ${text}`).toEqual(expected);
		}
		expect(someFound && someNot, 'the cap decides some of these').toBe(true);
	});
});
