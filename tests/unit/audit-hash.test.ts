/**
 * The audit log's hashing and coalescing rules: canonical JSON, values made safe for
 * Postgres, the entry hash, the coalescing window and how two changes merge.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { GENESIS_HASH, canonicalJson, cleanText, entryHash, jsonSafe, MAX_VALUE_CHARS, type SealedContent } from '../../server/audit/hash.ts';
import { COALESCE_MAX_MS, COALESCE_WINDOW_MS, mergeDrafts, withinWindow } from '../../server/audit/staging.ts';
import { csvCell } from '../../server/audit/service.ts';
import { fieldFilter, parseAuditParams } from '../../src/lib/model/audit.ts';

const content: SealedContent = {
	workspace: 'demo',
	seq: 1,
	recordId: '7a0c6a57-0d0e-4f43-9d0f-0c55a8a33f6b',
	at: '2025-06-01T08:00:01.000Z',
	firstAt: '2025-06-01T08:00:00.000Z',
	changes: 2,
	actorId: 'u1',
	actorName: 'Alice',
	source: 'ui',
	relayedBy: null,
	path: 'fields.company',
	op: 'set',
	before: 'Acme',
	after: { nested: { b: 1, a: [1, 'x'] } },
	conflict: null,
	stagedId: 7
};

describe('canonical JSON and safe values', () => {
	it('writes one text for one value, whatever the key order', () => {
		expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
		expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
		expect(canonicalJson('ü\u2028"')).toBe(JSON.stringify('ü\u2028"'));
	});

	it('makes values storable in jsonb and text: no NUL, no lone surrogates, finite numbers, capped length', () => {
		expect(cleanText('a\u0000b\ud800c\udc00d😀')).toBe('a\ufffdb\ufffdc\ufffdd😀');
		expect(jsonSafe(Number.NaN)).toBeNull();
		expect(jsonSafe(-0)).toBe(0);
		expect(jsonSafe(undefined)).toBeNull();
		expect(jsonSafe(new Uint8Array(3))).toEqual({ $binary: 3 });
		expect(jsonSafe(10n)).toBe('10');
		const map = new Y.Doc().getMap('m');
		map.set('k', 'v');
		expect(jsonSafe(map)).toEqual({ k: 'v' });
		const long = jsonSafe('x'.repeat(MAX_VALUE_CHARS + 1)) as { $truncated: boolean; length: number; start: string };
		expect(long).toMatchObject({ $truncated: true, length: MAX_VALUE_CHARS + 1 });
		expect(long.start).toHaveLength(200);
		// What Postgres gives back (parsed jsonb) hashes the same as what was written.
		expect(canonicalJson(JSON.parse(JSON.stringify(jsonSafe({ b: [1.5, 'é'], a: 2 }))))).toBe(canonicalJson({ a: 2, b: [1.5, 'é'] }));
	});
});

describe('the entry hash', () => {
	it('covers the previous hash and every content field', () => {
		const hash = entryHash(GENESIS_HASH, content);
		expect(hash).toMatch(/^[0-9a-f]{64}$/);
		expect(entryHash(GENESIS_HASH, { ...content, after: { nested: { a: [1, 'x'], b: 1 } } })).toBe(hash);
		expect(entryHash('f'.repeat(64), content)).not.toBe(hash);
		for (const [key, value] of Object.entries({ seq: 2, actorId: 'u2', actorName: 'Mallory', at: '2025-06-01T08:00:02.000Z', before: 'Acne', after: 'x', path: 'fields.name', source: 'api', changes: 3, conflict: {}, relayedBy: { id: 'x', name: 'x' }, workspace: 'w', recordId: null, op: 'unset', firstAt: '2025-06-01T07:00:00.000Z', stagedId: 8 })) {
			expect(entryHash(GENESIS_HASH, { ...content, [key]: value }), key).not.toBe(hash);
		}
	});
});

describe('coalescing', () => {
	const t = (ms: number) => new Date(Date.parse('2025-06-01T08:00:00.000Z') + ms).toISOString();

	it('merges changes within the window since the last one, up to the maximum span', () => {
		const first = { firstAt: t(0), at: t(0) };
		expect(withinWindow(first, { firstAt: t(COALESCE_WINDOW_MS), at: t(COALESCE_WINDOW_MS) })).toBe(true);
		expect(withinWindow(first, { firstAt: t(COALESCE_WINDOW_MS + 1), at: t(COALESCE_WINDOW_MS + 1) })).toBe(false);
		const long = { firstAt: t(0), at: t(COALESCE_MAX_MS - 1_000) };
		expect(withinWindow(long, { firstAt: t(COALESCE_MAX_MS + 1), at: t(COALESCE_MAX_MS + 1) })).toBe(false);
	});

	it('keeps the first before and the last after, and adds notes summaries up', () => {
		const base = { path: 'fields.company', firstAt: t(0), at: t(0), changes: 1 };
		expect(mergeDrafts({ ...base, op: 'set' as const, before: 'A', after: 'B' }, { ...base, at: t(10), firstAt: t(10), op: 'unset' as const, before: 'B', after: null })).toMatchObject({
			op: 'unset',
			before: 'A',
			after: null,
			firstAt: t(0),
			at: t(10),
			changes: 2
		});
		expect(mergeDrafts({ ...base, op: 'unset' as const, before: 'A', after: null }, { ...base, op: 'set' as const, before: null, after: 'C' })).toMatchObject({ op: 'set', before: 'A', after: 'C' });
		const notes = { ...base, path: 'notes', op: 'edit' as const, before: null };
		const merged = mergeDrafts(
			{ ...notes, after: { inserted: 70, deleted: 1, excerpt: 'a'.repeat(70), removed: 'x' } },
			{ ...notes, after: { inserted: 20, deleted: 2, excerpt: 'b'.repeat(20), removed: 'yz' } }
		);
		expect(merged.after).toEqual({ inserted: 90, deleted: 3, excerpt: 'a'.repeat(70) + 'b'.repeat(10), removed: 'xyz' });
	});
});

describe('the audit API helpers', () => {
	it('turns a field filter into paths', () => {
		expect(fieldFilter('company')).toEqual({ exact: 'fields.company', prefixes: [] });
		expect(fieldFilter('fields.company')).toEqual({ exact: 'fields.company', prefixes: ['fields.company.'] });
		expect(fieldFilter('contacts')).toEqual({ exact: 'contacts', prefixes: ['contacts.', 'contacts['] });
		expect(fieldFilter('contacts[42]')).toEqual({ exact: 'contacts[42]', prefixes: ['contacts[42].'] });
	});

	it('reads and checks query parameters', () => {
		const ok = parseAuditParams(new URLSearchParams('field=company&person=u1&from=2025-03-01&limit=10&offset=20&op=conflict&source=merge'));
		expect(ok).toEqual({
			ok: true,
			query: { field: 'company', person: 'u1', op: 'conflict', source: 'merge', record: undefined, from: '2025-03-01T00:00:00.000Z', to: undefined, limit: 10, offset: 20 }
		});
		expect(parseAuditParams(new URLSearchParams('limit=501')).ok).toBe(false);
		expect(parseAuditParams(new URLSearchParams('op=delete')).ok).toBe(false);
		expect(parseAuditParams(new URLSearchParams('to=soon')).ok).toBe(false);
	});

	it('writes CSV cells that spreadsheets will not run', () => {
		expect(csvCell('plain')).toBe('plain');
		expect(csvCell('a,"b"')).toBe('"a,""b"""');
		expect(csvCell('=1+1')).toBe("'=1+1");
		expect(csvCell('-2')).toBe("'-2");
		expect(csvCell(null)).toBe('');
		expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
	});
});
