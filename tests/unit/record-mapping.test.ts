import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
	activitiesOf,
	addItem,
	addTag,
	contactsOf,
	fieldsOf,
	isRecordDoc,
	isRecordId,
	newId,
	notesOf,
	readRecord,
	removeItem,
	removeTag,
	setArchived,
	setField,
	spliceText,
	updateItem,
	writeNewRecord,
	type NewRecord
} from '../../src/lib/model/record.ts';
import { SCHEMA_VERSION } from '../../src/lib/model/schema.ts';

const ID = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

const sample: NewRecord = {
	fields: { name: '张伟', company: '深圳华信科技有限公司', value: 120000, currency: 'CNY', country: 'CN', phone: '+8613800138000', city: null },
	tags: ['华南', 'vip'],
	contacts: [{ name: '李娜', email: 'li.na@huaxin-tech.cn' }, { name: 'Bob', phone: '+14155550100', title: 'CTO' }],
	activities: [
		{ kind: 'call', subject: '电话沟通需求', at: '2026-01-05T02:00:00.000Z', done: true, by: 'wang.fang' },
		{ kind: 'task', subject: '准备技术方案', at: '2026-01-06T02:00:00.000Z', done: false }
	],
	notes: '客户对数据安全要求很高。',
	workspace: 'ws-1',
	createdBy: 'wang.fang',
	createdAt: '2025-12-01T08:00:00.000Z'
};

function newRecordDoc(record: NewRecord = sample): Y.Doc {
	const doc = new Y.Doc();
	writeNewRecord(doc, record);
	return doc;
}

/** Exchanges everything each doc has that the other lacks, both ways. */
function sync(a: Y.Doc, b: Y.Doc): void {
	const toB = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
	const toA = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
	Y.applyUpdate(b, toB);
	Y.applyUpdate(a, toA);
}

/** A second replica of `doc`, as another client would have it after syncing. */
function replica(doc: Y.Doc): Y.Doc {
	const other = new Y.Doc();
	Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
	return other;
}

describe('writeNewRecord / readRecord', () => {
	it('round-trips fields, tags, contacts, activities, notes and meta', () => {
		const record = readRecord(newRecordDoc(), ID);
		expect(record.id).toBe(ID);
		// null values are not written: the map holds only present values.
		expect(record.fields).toEqual({ name: '张伟', company: '深圳华信科技有限公司', value: 120000, currency: 'CNY', country: 'CN', phone: '+8613800138000' });
		expect(record.tags).toEqual(['vip', '华南']);
		expect(record.contacts.map(({ id, ...rest }) => rest)).toEqual(sample.contacts);
		expect(record.activities.map(({ id, ...rest }) => rest)).toEqual(sample.activities);
		expect(record.notes).toBe('客户对数据安全要求很高。');
		expect(record.meta).toEqual({ schema: SCHEMA_VERSION, workspace: 'ws-1', createdAt: '2025-12-01T08:00:00.000Z', createdBy: 'wang.fang', archived: false });
	});

	it('gives every contact and activity its own UUID', () => {
		const record = readRecord(newRecordDoc(), ID);
		const ids = [...record.contacts, ...record.activities].map((item) => item.id);
		expect(ids).toHaveLength(4);
		expect(new Set(ids).size).toBe(4);
		for (const id of ids) expect(isRecordId(id)).toBe(true);
	});

	it('writes the whole record in one transaction', () => {
		const doc = new Y.Doc();
		let updates = 0;
		doc.on('update', () => updates++);
		writeNewRecord(doc, sample);
		expect(updates).toBe(1);
	});

	it('fills defaults for a minimal record', () => {
		const before = Date.now();
		const record = readRecord(newRecordDoc({ fields: { name: 'Ann' }, workspace: 'w', createdBy: 'bob' }), ID);
		expect(record).toMatchObject({ fields: { name: 'Ann' }, tags: [], contacts: [], activities: [], notes: '' });
		expect(Date.parse(record.meta.createdAt)).toBeGreaterThanOrEqual(before - 1);
	});

	it('survives encoding to an update and back (what the server stores)', () => {
		const doc = newRecordDoc();
		expect(readRecord(replica(doc), ID)).toEqual(readRecord(doc, ID));
	});
});

describe('setField', () => {
	it('sets, changes and removes a key with null', () => {
		const doc = newRecordDoc();
		setField(doc, 'stage', 'lead');
		expect(readRecord(doc, ID).fields.stage).toBe('lead');
		setField(doc, 'company', null);
		expect(fieldsOf(doc).has('company')).toBe(false);
		expect('company' in readRecord(doc, ID).fields).toBe(false);
	});

	it('writes nothing when the value does not change', () => {
		const doc = newRecordDoc();
		let updates = 0;
		doc.on('update', () => updates++);
		setField(doc, 'name', '张伟');
		setField(doc, 'missing', null);
		expect(updates).toBe(0);
		setField(doc, 'name', '张伟伟');
		expect(updates).toBe(1);
	});
});

describe('tags', () => {
	it('are a set: adding twice keeps one, removing removes', () => {
		const doc = newRecordDoc();
		addTag(doc, 'renewal');
		addTag(doc, 'renewal');
		removeTag(doc, 'vip');
		expect(readRecord(doc, ID).tags).toEqual(['renewal', '华南']);
	});

	it('merge to one tag when two replicas add the same tag concurrently', () => {
		const a = newRecordDoc();
		const b = replica(a);
		addTag(a, 'partner');
		addTag(b, 'partner');
		addTag(b, 'enterprise');
		sync(a, b);
		expect(readRecord(a, ID).tags).toEqual(['enterprise', 'partner', 'vip', '华南']);
		expect(readRecord(b, ID).tags).toEqual(readRecord(a, ID).tags);
	});
});

describe('contacts and activities by id', () => {
	it('adds, updates and removes a contact by id', () => {
		const doc = newRecordDoc();
		const contacts = contactsOf(doc);
		const id = addItem(contacts, { name: 'Carol', email: 'carol@example.com', phone: undefined });
		expect(isRecordId(id)).toBe(true);
		let contact = readRecord(doc, ID).contacts.find((c) => c.id === id);
		expect(contact).toEqual({ id, name: 'Carol', email: 'carol@example.com' });

		expect(updateItem(contacts, id, 'title', 'CFO')).toBe(true);
		expect(updateItem(contacts, id, 'email', null)).toBe(true);
		contact = readRecord(doc, ID).contacts.find((c) => c.id === id);
		expect(contact).toEqual({ id, name: 'Carol', title: 'CFO' });

		expect(updateItem(contacts, id, 'id', 'hijack')).toBe(false);
		expect(updateItem(contacts, newId(), 'title', 'x')).toBe(false);

		const others = readRecord(doc, ID).contacts.filter((c) => c.id !== id);
		expect(removeItem(contacts, id)).toBe(true);
		expect(removeItem(contacts, id)).toBe(false);
		expect(readRecord(doc, ID).contacts).toEqual(others);
	});

	it('updates the right item when another replica inserted before it', () => {
		const a = newRecordDoc();
		const b = replica(a);
		const target = readRecord(a, ID).activities[1].id;
		activitiesOf(b).insert(0, [new Y.Map()]);
		sync(a, b);
		expect(updateItem(activitiesOf(a), target, 'done', true)).toBe(true);
		sync(a, b);
		expect(readRecord(b, ID).activities.find((x) => x.id === target)?.done).toBe(true);
	});
});

describe('spliceText', () => {
	it('changes only the differing middle', () => {
		const doc = new Y.Doc();
		notesOf(doc).insert(0, 'Call Zhang on Monday.');
		spliceText(notesOf(doc), 'Call Zhang Wei on Tuesday.');
		expect(notesOf(doc).toString()).toBe('Call Zhang Wei on Tuesday.');
		spliceText(notesOf(doc), '');
		expect(notesOf(doc).toString()).toBe('');
		spliceText(notesOf(doc), '新的备注');
		expect(notesOf(doc).toString()).toBe('新的备注');
	});

	it('keeps a concurrent remote insert elsewhere in the text', () => {
		const a = newRecordDoc();
		const b = replica(a);
		// a replaces a word near the start; b appends at the end, at the same time.
		spliceText(notesOf(a), '客户对隐私要求很高。');
		notesOf(b).insert(notesOf(b).length, '下周回访。');
		sync(a, b);
		expect(notesOf(a).toString()).toBe('客户对隐私要求很高。下周回访。');
		expect(notesOf(b).toString()).toBe(notesOf(a).toString());
	});

	it('keeps a concurrent remote insert before the edit', () => {
		const a = new Y.Doc();
		notesOf(a).insert(0, 'budget ok; signs in May');
		const b = replica(a);
		spliceText(notesOf(a), 'budget ok; signs in June');
		notesOf(b).insert(0, 'VIP. ');
		sync(a, b);
		expect(notesOf(a).toString()).toBe('VIP. budget ok; signs in June');
		expect(notesOf(b).toString()).toBe('VIP. budget ok; signs in June');
	});

	it('does not split emoji (surrogate pairs) when they differ in one code unit', () => {
		const a = new Y.Doc();
		notesOf(a).insert(0, 'deal 😀 done');
		const b = replica(a);
		spliceText(notesOf(a), 'deal 😃 done');
		expect(notesOf(a).toString()).toBe('deal 😃 done');
		sync(a, b);
		expect(notesOf(b).toString()).toBe('deal 😃 done');
		spliceText(notesOf(a), 'deal 😃😀 done');
		sync(a, b);
		expect(notesOf(b).toString()).toBe('deal 😃😀 done');
	});

	it('reaches exactly the target text for random edits mixing ascii, Han and emoji', () => {
		let seed = 42;
		const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
		const units = ['a', 'b', ' ', '张', '伟', '😀', '😃', '👍🏽'];
		const text = () => Array.from({ length: Math.floor(rand() * 8) }, () => units[Math.floor(rand() * units.length)]).join('');
		for (let i = 0; i < 300; i++) {
			const a = new Y.Doc();
			const from = text();
			const to = text();
			notesOf(a).insert(0, from);
			spliceText(notesOf(a), to);
			expect(notesOf(a).toString(), `${JSON.stringify(from)} → ${JSON.stringify(to)}`).toBe(to);
			expect(notesOf(replica(a)).toString()).toBe(to);
		}
	});
});

describe('archive, ids and record docs', () => {
	it('archives and restores', () => {
		const doc = newRecordDoc();
		setArchived(doc, true);
		expect(readRecord(doc, ID).meta.archived).toBe(true);
		setArchived(doc, false);
		expect(readRecord(doc, ID).meta.archived).toBe(false);
	});

	it('isRecordId accepts UUIDs only', () => {
		expect(isRecordId(ID)).toBe(true);
		expect(isRecordId(ID.toUpperCase())).toBe(true);
		expect(isRecordId(newId())).toBe(true);
		expect(isRecordId('')).toBe(false);
		expect(isRecordId('not-a-uuid')).toBe(false);
		expect(isRecordId(`${ID}x`)).toBe(false);
		expect(isRecordId(`x${ID}`)).toBe(false);
		expect(isRecordId('../../etc/passwd')).toBe(false);
	});

	it('isRecordDoc is false on an empty doc and true once written', () => {
		expect(isRecordDoc(new Y.Doc())).toBe(false);
		const doc = new Y.Doc();
		fieldsOf(doc).set('name', 'not a record yet');
		expect(isRecordDoc(doc)).toBe(false);
		expect(isRecordDoc(newRecordDoc())).toBe(true);
		expect(isRecordDoc(replica(newRecordDoc()))).toBe(true);
	});
});
