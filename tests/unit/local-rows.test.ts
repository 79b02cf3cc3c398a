/**
 * The rows a browser keeps for its offline list carry real times: a sync that changed
 * nothing a row shows leaves its time (and its place in the list) alone, instead of
 * every row reading "just now" and the order differing from the server's.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { rowOfDoc } from '../../src/lib/local/index.ts';
import { fieldsOf, notesOf, writeNewRecord } from '../../src/lib/model/record.ts';
import { fieldsDocumentId, initialiseDefinitions } from '../../src/lib/model/fields.ts';

const ID = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';

function recordDoc(): Y.Doc {
	const doc = new Y.Doc();
	writeNewRecord(doc, { fields: { name: 'Row Co', stage: 'lead' }, workspace: 'demo', createdBy: 'alice', createdAt: '2026-11-02T08:00:00.000Z' });
	return doc;
}

describe('the offline list rows', () => {
	it('start at the record’s creation time, not now', () => {
		const row = rowOfDoc(ID, recordDoc(), null, '2026-12-06T23:00:00.000Z');
		expect(row?.updatedAt).toBe('2026-11-02T08:00:00.000Z');
	});

	it('keep their time when what the row shows did not change, and take the time of a change that did', () => {
		const doc = recordDoc();
		const first = rowOfDoc(ID, doc, null, '2026-12-01T10:00:00.000Z')!;
		const server = { ...first, updatedAt: '2026-12-03T09:30:00.000Z' };
		notesOf(doc).insert(0, 'not a column of the list');
		expect(rowOfDoc(ID, doc, server, '2026-12-06T23:00:00.000Z')).toBe(server);
		fieldsOf(doc).set('stage', 'won');
		const changed = rowOfDoc(ID, doc, server, '2026-12-06T23:00:00.000Z')!;
		expect(changed.stage).toBe('won');
		expect(changed.updatedAt).toBe('2026-12-06T23:00:00.000Z');
	});

	it("take a change of a custom field's value (a card moved on a custom pipeline), and keep the time when custom values did not change", () => {
		const doc = recordDoc();
		fieldsOf(doc).set('x_renewal', 'in_talks');
		const first = rowOfDoc(ID, doc, null, '2026-12-01T10:00:00.000Z')!;
		expect(first.custom).toEqual({ x_renewal: 'in_talks' });
		fieldsOf(doc).set('x_renewal', 'renewed');
		const moved = rowOfDoc(ID, doc, first, '2026-12-06T23:00:00.000Z')!;
		expect(moved.custom).toEqual({ x_renewal: 'renewed' });
		expect(moved.updatedAt).toBe('2026-12-06T23:00:00.000Z');
		notesOf(doc).insert(0, 'not a column of the list');
		expect(rowOfDoc(ID, doc, moved, '2026-12-07T08:00:00.000Z')).toBe(moved);
	});

	it('keep what only the server knows (private)', () => {
		const doc = recordDoc();
		const previous = { ...rowOfDoc(ID, doc, null)!, private: true };
		fieldsOf(doc).set('city', 'Xi’an');
		expect(rowOfDoc(ID, doc, previous)?.private).toBe(true);
	});

	it('are never made of the workspace’s field definitions document, kept locally beside the records', () => {
		const doc = new Y.Doc();
		initialiseDefinitions(doc, 'demo');
		expect(rowOfDoc(fieldsDocumentId('demo'), doc, null)).toBeNull();
	});
});
