import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { diffRecords } from '../../src/lib/model/diff.ts';
import {
	activitiesOf,
	addItem,
	addTag,
	contactsOf,
	notesOf,
	readRecord,
	removeItem,
	removeTag,
	setArchived,
	setField,
	spliceText,
	updateItem,
	writeNewRecord,
	type CustomerRecord
} from '../../src/lib/model/record.ts';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A record doc, and a function that applies a change and returns the diff it caused. */
function fixture() {
	const doc = new Y.Doc();
	writeNewRecord(doc, {
		fields: { name: 'Sarah Wilson', company: 'Bluefin Logistics Ltd', stage: 'lead', value: 12000 },
		tags: ['smb'],
		contacts: [{ name: 'Tom Evans', email: 'tom.evans@bluefin-logistics.co.uk' }],
		activities: [{ kind: 'call', subject: 'Discovery call', at: '2026-01-05T10:00:00.000Z', done: true, by: 'bob' }],
		notes: 'Met at the trade show.',
		workspace: 'w',
		createdBy: 'bob',
		createdAt: '2025-11-01T09:00:00.000Z'
	});
	const record = (): CustomerRecord => readRecord(doc, ID);
	const change = (edit: () => void) => {
		const before = record();
		edit();
		return diffRecords(before, record());
	};
	return { doc, record, change };
}

describe('diffRecords', () => {
	it('reports nothing when nothing changed', () => {
		const { record, change } = fixture();
		expect(diffRecords(record(), record())).toEqual([]);
		expect(change(() => {})).toEqual([]);
	});

	it('reports a field set, changed and unset with before and after', () => {
		const { doc, change } = fixture();
		expect(change(() => setField(doc, 'email', 'sarah.wilson@bluefin-logistics.co.uk'))).toEqual([
			{ path: 'fields.email', op: 'set', before: null, after: 'sarah.wilson@bluefin-logistics.co.uk' }
		]);
		expect(change(() => setField(doc, 'stage', 'qualified'))).toEqual([{ path: 'fields.stage', op: 'set', before: 'lead', after: 'qualified' }]);
		expect(change(() => setField(doc, 'value', 15000))).toEqual([{ path: 'fields.value', op: 'set', before: 12000, after: 15000 }]);
		expect(change(() => setField(doc, 'company', null))).toEqual([
			{ path: 'fields.company', op: 'unset', before: 'Bluefin Logistics Ltd', after: null }
		]);
	});

	it('reports several field changes in key order', () => {
		const { doc, change } = fixture();
		const changes = change(() => {
			setField(doc, 'stage', 'won');
			setField(doc, 'city', 'London');
		});
		expect(changes.map((c) => c.path)).toEqual(['fields.city', 'fields.stage']);
	});

	it('reports tags added and removed', () => {
		const { doc, change } = fixture();
		expect(change(() => addTag(doc, 'vip'))).toEqual([{ path: 'tags', op: 'add', before: null, after: ['vip'] }]);
		expect(
			change(() => {
				removeTag(doc, 'smb');
				addTag(doc, 'enterprise');
				addTag(doc, '重点客户');
			})
		).toEqual([
			{ path: 'tags', op: 'add', before: null, after: ['enterprise', '重点客户'] },
			{ path: 'tags', op: 'remove', before: ['smb'], after: null }
		]);
	});

	it('reports contacts added, removed and changed, by id', () => {
		const { doc, record, change } = fixture();
		const tom = record().contacts[0].id;
		let added = '';
		expect(change(() => (added = addItem(contactsOf(doc), { name: 'Amy Clarke', title: 'CFO' })))).toEqual([
			{ path: `contacts[${added}]`, op: 'add', before: null, after: 'Amy Clarke' }
		]);
		expect(
			change(() => {
				updateItem(contactsOf(doc), tom, 'email', 'tom@bluefin-logistics.co.uk');
				updateItem(contactsOf(doc), tom, 'title', 'COO');
			})
		).toEqual([
			{ path: `contacts[${tom}].email`, op: 'set', before: 'tom.evans@bluefin-logistics.co.uk', after: 'tom@bluefin-logistics.co.uk' },
			{ path: `contacts[${tom}].title`, op: 'set', before: null, after: 'COO' }
		]);
		expect(change(() => updateItem(contactsOf(doc), tom, 'title', null))).toEqual([
			{ path: `contacts[${tom}].title`, op: 'unset', before: 'COO', after: null }
		]);
		expect(change(() => removeItem(contactsOf(doc), tom))).toEqual([{ path: `contacts[${tom}]`, op: 'remove', before: 'Tom Evans', after: null }]);
	});

	it('labels a contact without a name by its email', () => {
		const { doc, change } = fixture();
		let id = '';
		expect(change(() => (id = addItem(contactsOf(doc), { email: 'ops@bluefin-logistics.co.uk' })))).toEqual([
			{ path: `contacts[${id}]`, op: 'add', before: null, after: 'ops@bluefin-logistics.co.uk' }
		]);
	});

	it('does not report a contact that only moved', () => {
		const { doc, record, change } = fixture();
		addItem(contactsOf(doc), { name: 'Second' });
		const [first] = record().contacts;
		const changes = change(() => {
			const contacts = contactsOf(doc);
			const moved = new Y.Map<string | number | boolean | null>();
			for (const [k, v] of contacts.get(0).entries()) moved.set(k, v);
			contacts.delete(0, 1);
			contacts.push([moved]);
		});
		expect(record().contacts[1].id).toBe(first.id);
		expect(changes).toEqual([]);
	});

	it('reports an activity added, and one marked done', () => {
		const { doc, record, change } = fixture();
		let id = '';
		expect(
			change(() => (id = addItem(activitiesOf(doc), { kind: 'task', subject: 'Send the contract', at: '2026-01-10T10:00:00.000Z', done: false })))
		).toEqual([{ path: `activities[${id}]`, op: 'add', before: null, after: 'Send the contract' }]);
		expect(change(() => updateItem(activitiesOf(doc), id, 'done', true))).toEqual([
			{ path: `activities[${id}].done`, op: 'set', before: false, after: true }
		]);
		expect(record().activities).toHaveLength(2);
	});

	it('reports a notes edit with the whole text before and after', () => {
		const { doc, change } = fixture();
		expect(change(() => spliceText(notesOf(doc), 'Met at the trade show. Wants a demo.'))).toEqual([
			{ path: 'notes', op: 'edit', before: 'Met at the trade show.', after: 'Met at the trade show. Wants a demo.' }
		]);
	});

	it('reports archive and restore', () => {
		const { doc, change } = fixture();
		expect(change(() => setArchived(doc, true))).toEqual([{ path: 'meta.archived', op: 'set', before: false, after: true }]);
		expect(change(() => setArchived(doc, false))).toEqual([{ path: 'meta.archived', op: 'set', before: true, after: false }]);
	});

	it('reports a mixed change once per place', () => {
		const { doc, change } = fixture();
		const paths = change(() =>
			doc.transact(() => {
				setField(doc, 'stage', 'won');
				addTag(doc, 'renewal');
				notesOf(doc).insert(0, 'Signed. ');
				setArchived(doc, true);
			})
		).map((c) => `${c.path}:${c.op}`);
		expect(paths).toEqual(['fields.stage:set', 'tags:add', 'notes:edit', 'meta.archived:set']);
	});
});
