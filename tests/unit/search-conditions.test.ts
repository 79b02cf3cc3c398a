/**
 * The conditions of a search (created, updated, idle, custom numbers and their ranges,
 * followup and custom dates, a field named by its label) decided the same way by the
 * browser's index (index-engine.ts, what the worker answers the palette and the offline
 * list with) as by the shared matcher (`matches`, what the offline list and, as SQL, the
 * server apply): the index must never show a record a condition excludes. In each of the
 * index's states (built, merged, a merged base with edits on top, saved and loaded).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { readRecord, writeNewRecord, type CustomerRecord, type NewRecord } from '../../src/lib/model/record.ts';
import type { FieldDefinition } from '../../src/lib/model/schema.ts';
import { matches, parseQuery, SEARCH_VERSION } from '../../src/lib/search/index.ts';
import { RecordSearchIndex, searchText } from '../../src/lib/search/index-engine.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const ago = (days: number): string => new Date(NOW - days * DAY).toISOString();

/** Records far from every boundary the queries draw; `updatedAt` is each one's list row time. */
const SEED: (Omit<NewRecord, 'workspace' | 'createdBy'> & { updatedAt: string })[] = [
	{ updatedAt: '2026-05-20T00:00:00.000Z', createdAt: '2025-11-20T10:00:00.000Z', fields: { name: '张伟', company: '深圳华信科技', stage: 'won', value: 250000, country: 'CN', owner: 'bob', followUpAt: '2026-03-15', x_budget: 1200, x_close: '2026-04-02', x_source: 'web' }, tags: ['vip'], activities: [{ kind: 'call', subject: 'hi', at: ago(3) }] },
	{ updatedAt: '2026-01-10T00:00:00.000Z', createdAt: '2026-01-05T10:00:00.000Z', fields: { name: '陈静', company: '深圳阿里', stage: 'lead', value: 5000, country: 'CN', followUpAt: '2026-06-30', x_budget: 80, x_close: '2026-07-01' }, activities: [{ kind: 'call', subject: 'old', at: ago(90) }] },
	{ updatedAt: '2026-03-02T00:00:00.000Z', createdAt: '2026-02-10T10:00:00.000Z', fields: { name: '高明', company: '深圳长城', stage: 'proposal', value: 99000, country: 'CN', x_budget: 300, x_source: 'fair' } },
	{ updatedAt: '2026-04-15T00:00:00.000Z', createdAt: '2026-03-01T10:00:00.000Z', fields: { name: 'Élodie Durand', company: 'Acme', stage: 'lead', value: 1000, country: 'FR', followUpAt: '2026-02-28', x_close: '2026' }, activities: [{ kind: 'email', subject: 'x', at: ago(45) }, { kind: 'call', subject: 'y', at: ago(10) }] },
	{ updatedAt: '2026-03-25T00:00:00.000Z', createdAt: '2026-03-20T10:00:00.000Z', fields: { name: 'adam', company: 'Zeta', value: 100000, country: 'US', x_budget: 'lots' } },
	{ updatedAt: '2026-05-30T00:00:00.000Z', createdAt: '2026-04-01T10:00:00.000Z', fields: { name: '黄磊', company: '深圳华为', stage: 'won', country: 'CN', followUpAt: '2026-06-01' }, activities: [{ kind: 'meeting', subject: 'z', at: ago(400) }] }
];

const DEFINITIONS: FieldDefinition[] = [
	{ key: 'x_budget', label: { en: 'Budget', zh: '预算' }, type: 'number', options: [], retired: false, order: 20, builtin: false },
	{ key: 'x_close', label: { en: 'Close date', zh: '成交日期' }, type: 'date', options: [], retired: false, order: 21, builtin: false },
	{ key: 'x_source', label: { en: 'Source', zh: '来源' }, type: 'text', options: [], retired: false, order: 22, builtin: false }
];

/** Each excludes some of the records and keeps others (checked below), alone and beside words and filters. */
const QUERIES = [
	'created>2026-01-01',
	'created:2026-03',
	'created<2026',
	'created:2026-01..2026-02',
	'updated>2026-04',
	'updated<2026-03',
	'updated:2026-03..2026-04',
	'followup:2026-03..2026-06',
	'followup>2026-03-15',
	'x_close:2026-03..2026-06',
	'x_close<2026-05',
	'x_budget>100',
	'x_budget:100..1000',
	'x_budget<=80',
	'预算>=300',
	'budget:..300',
	'成交日期:2026',
	'来源:fair',
	'idle>30',
	'idle<30',
	'idle:60',
	'深圳 idle>30',
	'深圳 created>2026-01-01 x_budget>100',
	'stage:won updated>2026-05-25',
	'country:cn followup<2026-04'
];

function records(): { record: CustomerRecord; updatedAt: string }[] {
	return SEED.map(({ updatedAt, ...seed }, i) => {
		const doc = new Y.Doc();
		writeNewRecord(doc, { ...seed, workspace: 'ws', createdBy: 'alice' });
		const record = readRecord(doc, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
		doc.destroy();
		return { record, updatedAt };
	});
}

/** The index in each of its states over the same records. */
function states(all: { record: CustomerRecord; updatedAt: string }[]): [string, RecordSearchIndex][] {
	const building = new RecordSearchIndex();
	for (const { record, updatedAt } of all) building.put(record, 'v1', updatedAt);
	const merged = new RecordSearchIndex();
	for (const { record, updatedAt } of all) merged.put(record, 'v1', updatedAt);
	merged.merge();
	// Half first indexed with other values and times, then put again over the merged base.
	const mixed = new RecordSearchIndex();
	const stale = (record: CustomerRecord): CustomerRecord => ({ ...record, fields: { ...record.fields, x_budget: 5, followUpAt: '2020-01-01' }, meta: { ...record.meta, createdAt: '2020-01-01T00:00:00.000Z' }, activities: [] });
	all.forEach(({ record, updatedAt }, i) => (i % 2 ? mixed.put(stale(record), 'v0', '2020-01-01T00:00:00.000Z') : mixed.put(record, 'v1', updatedAt)));
	mixed.merge();
	all.forEach(({ record, updatedAt }, i) => {
		if (i % 2) mixed.put(record, 'v1', updatedAt);
	});
	// Then a few only moved in time, as a refresh gives a record indexed from the page its row's time.
	const retimed = new RecordSearchIndex();
	for (const { record } of all) retimed.put(record, '', '2019-01-01T00:00:00.000Z');
	for (const { record, updatedAt } of all) retimed.setUpdatedAt(record.id, updatedAt);
	// As IndexedDB keeps it: a structured clone of the saved base.
	const loaded = RecordSearchIndex.load(structuredClone(merged.save(SEARCH_VERSION)), SEARCH_VERSION)!;
	return [
		['building', building],
		['merged', merged],
		['base and delta', mixed],
		['times set after', retimed],
		['saved and loaded', loaded]
	];
}

describe('conditions in the browser index', () => {
	const all = records();
	const built = states(all);

	function expected(text: string): string[] {
		const parsed = parseQuery(text, { fields: DEFINITIONS });
		if (!parsed.ok) throw new Error(parsed.message);
		return all.filter(({ record, updatedAt }) => matches(parsed.query, record, { updatedAt, now: NOW })).map(({ record }) => record.id).sort();
	}

	it('finds exactly the ids the shared matcher finds, in every state of the index', () => {
		for (const text of QUERIES) {
			const want = expected(text);
			// Every query excludes something: otherwise it would test nothing.
			expect(want.length, text).toBeLessThan(all.length);
			for (const [state, index] of built) {
				const found = searchText(index, text, { fields: DEFINITIONS, allIds: true, includeArchived: true, limit: 10, now: NOW });
				if (!found.ok) throw new Error(`${state}: ${text}: ${found.message}`);
				expect(found.ids!.slice().sort(), `${state}: ${text}`).toEqual(want);
				expect(found.total, `${state}: ${text}`).toBe(want.length);
				// The first screen (the palette's) holds only records the conditions keep.
				for (const hit of found.hits) expect(want, `${state}: ${text}`).toContain(hit.id);
			}
		}
	});

	it('keeps some records for most queries (the comparison is not between empty answers)', () => {
		const nonEmpty = QUERIES.filter((text) => expected(text).length > 0);
		expect(nonEmpty.length).toBeGreaterThan(QUERIES.length - 4);
	});

	it('reads a field named by its label only with the definitions, as the server does', () => {
		const index = built[1][1];
		expect(searchText(index, '预算>=300', { fields: DEFINITIONS, allIds: true, now: NOW })).toMatchObject({ ok: true, total: 2 });
		// Without them `budget` names no field: said, not searched as something else.
		const unknown = searchText(index, 'budget>100', { allIds: true, now: NOW });
		expect(unknown.ok).toBe(false);
	});

	it('measures idleness to the moment it is asked', () => {
		const index = built[1][1];
		const idle = (now: number) => {
			const found = searchText(index, 'idle>30', { allIds: true, now });
			return found.ok ? found.total : -1;
		};
		// A year on, every record has gone more than 30 days without activity.
		expect(idle(NOW + 365 * DAY)).toBe(all.length);
		expect(idle(NOW)).toBeLessThan(all.length);
	});
});
