/**
 * The shape guard on its own, without a server: a client's update that would break a
 * record's shape is repaired in the transaction that applies it, so the update that
 * leaves the server (to other replicas, and back to its sender) never shows the broken
 * state, and every replica converges on the repaired one.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ShapeGuard } from '../../server/sync/shape-guard.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import { activitiesOf, contactsOf, fieldsOf, metaOf, notesOf, readRecord, tagsOf, writeNewRecord } from '../../src/lib/model/record.ts';
import { describeProblem } from '../../src/lib/model/shape-problems.ts';

const ID = '0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f';

/** A server copy (guarded), a client copy in sync with it, and a bystander that sees only what the server sends. */
function setup() {
	const server = new Y.Doc();
	const guard = new ShapeGuard(server);
	const seed = new Y.Doc();
	writeNewRecord(seed, { fields: { name: 'Acme', country: 'CN' }, tags: ['vip'], contacts: [{ name: 'Li Lei' }], workspace: 'demo', createdBy: 'alice' });
	Y.applyUpdate(server, Y.encodeStateAsUpdate(seed));
	const client = new Y.Doc();
	Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
	const bystander = new Y.Doc();
	Y.applyUpdate(bystander, Y.encodeStateAsUpdate(server));
	const sent: Uint8Array[] = [];
	server.on('update', (update: Uint8Array) => sent.push(update));
	/** What the bystander saw after each update the server sent: the record, read as the app reads it. */
	const seen: Array<ReturnType<typeof readRecord>> = [];
	bystander.on('afterTransaction', () => seen.push(readRecord(bystander, ID)));
	const push = (change: (doc: Y.Doc) => void): string[] => {
		const before = Y.encodeStateVector(client);
		change(client);
		const update = Y.encodeStateAsUpdate(client, before);
		const repairs = guard.apply(update, 'peer');
		for (const out of sent.splice(0)) {
			Y.applyUpdate(bystander, out);
			Y.applyUpdate(client, out);
		}
		// In the words a stock client reads (the problems' own shape is tested in not-kept.test.ts).
		return repairs.map(describeProblem);
	};
	return { server, client, bystander, seen, push };
}

describe('the shape guard', () => {
	it('puts server-owned meta back, and the bystander never sees another workspace', () => {
		const { server, client, bystander, seen, push } = setup();
		const repairs = push((doc) => {
			metaOf(doc).set('workspace', 'elsewhere');
			metaOf(doc).delete('schema');
		});
		expect(repairs.join(' ')).toMatch(/meta\.workspace is set by the server/);
		for (const doc of [server, client, bystander]) {
			expect(metaOf(doc).get('workspace')).toBe('demo');
			expect(metaOf(doc).get('schema')).toBe(1);
		}
		expect(seen.every((record) => record.meta.workspace === 'demo')).toBe(true);
	});

	it('lets a client archive, and refuses a non-boolean archived', () => {
		const { server, push } = setup();
		expect(push((doc) => metaOf(doc).set('archived', true))).toEqual([]);
		expect(metaOf(server).get('archived')).toBe(true);
		expect(push((doc) => metaOf(doc).set('archived', 'yes'))).not.toEqual([]);
		expect(metaOf(server).get('archived')).toBe(true);
	});

	it('deletes a string pushed into contacts, so the record stays readable everywhere', () => {
		const { server, client, bystander, seen, push } = setup();
		const repairs = push((doc) => contactsOf(doc).push(['not a contact' as unknown as Y.Map<Scalar>]));
		expect(repairs.join(' ')).toMatch(/contacts: each entry must be a map/);
		for (const doc of [server, client, bystander]) expect(contactsOf(doc).toArray().every((item) => item instanceof Y.Map)).toBe(true);
		expect(seen.length).toBeGreaterThan(0);
		for (const record of seen) expect(record.contacts.map((c) => c.name)).toEqual(['Li Lei']);
	});

	it('keeps the previous value of a field when the new one is invalid or nested, and a valid one as it was typed', () => {
		const { server, client, push } = setup();
		const repairs = push((doc) => {
			fieldsOf(doc).set('email', 'not-an-email');
			fieldsOf(doc).set('company', new Y.Map() as unknown as string);
			fieldsOf(doc).set('country', 'XX1');
			fieldsOf(doc).set('city', '  Shanghai   Pudong ');
		});
		expect(repairs.length).toBe(3);
		for (const doc of [server, client]) {
			expect(fieldsOf(doc).has('email')).toBe(false);
			expect(fieldsOf(doc).has('company')).toBe(false);
			expect(fieldsOf(doc).get('country')).toBe('CN');
			expect(fieldsOf(doc).get('city')).toBe('  Shanghai   Pudong ');
		}
	});

	it('refuses a tag mapped to something other than true and embedded objects in notes, and leaves other roots alone', () => {
		const { server, push } = setup();
		const repairs = push((doc) => {
			tagsOf(doc).set('gold', 'yes' as unknown as boolean);
			notesOf(doc).insert(0, 'hello ');
			notesOf(doc).insertEmbed(6, { image: 'x' });
			doc.getMap('elsewhere').set('key', 'value');
			activitiesOf(doc).push([new Y.Array() as unknown as Y.Map<Scalar>]);
		});
		expect(repairs.length).toBe(3);
		expect(tagsOf(server).has('gold')).toBe(false);
		expect(notesOf(server).toString()).toBe('hello ');
		expect(notesOf(server).toDelta()).toEqual([{ insert: 'hello ' }]);
		expect(server.getMap('elsewhere').get('key')).toBe('value');
		expect(activitiesOf(server).length).toBe(0);
	});

	it('finds what one update adds among long notes and many activities written by other clients', () => {
		const { server, client, bystander, push } = setup();
		// Text and entries from several writers, each its own run of items, before the bad update.
		for (let writer = 0; writer < 5; writer++) {
			const other = new Y.Doc();
			Y.applyUpdate(other, Y.encodeStateAsUpdate(server));
			const before = Y.encodeStateVector(other);
			notesOf(other).insert(notesOf(other).length, `Writer ${writer} wrote this line.\n`);
			for (let i = 0; i < 40; i++) activitiesOf(other).push([new Y.Map<Scalar>([['subject', `Call ${writer}-${i}`]])]);
			expect(push(() => Y.applyUpdate(client, Y.encodeStateAsUpdate(other, before)))).toEqual([]);
		}
		const notes = notesOf(server).toString();
		const repairs = push((doc) => {
			notesOf(doc).insertEmbed(40, { image: 'x' });
			notesOf(doc).insert(0, 'Top. ');
			activitiesOf(doc).insert(100, ['not an activity' as unknown as Y.Map<Scalar>]);
		});
		expect(repairs).toHaveLength(2);
		for (const doc of [server, client, bystander]) {
			expect(notesOf(doc).toString()).toBe(`Top. ${notes}`);
			expect(activitiesOf(doc).length).toBe(200);
			expect(activitiesOf(doc).toArray().every((entry) => entry instanceof Y.Map)).toBe(true);
		}
	});

	it('stores a valid coded value in its normal form on every replica, and reports nothing', () => {
		const { server, client, bystander, push } = setup();
		expect(
			push((doc) => {
				fieldsOf(doc).set('value', '１２３，４５６');
				fieldsOf(doc).set('country', 'ｃｎ');
				fieldsOf(doc).set('email', '  Sales@Example.COM ');
			})
		).toEqual([]);
		for (const doc of [server, client, bystander]) {
			expect(fieldsOf(doc).get('value')).toBe(123456);
			expect(fieldsOf(doc).get('country')).toBe('CN');
			expect(fieldsOf(doc).get('email')).toBe('sales@example.com');
		}
	});

	it('changes nothing and reports nothing for a valid edit', () => {
		const { server, push } = setup();
		expect(
			push((doc) => {
				fieldsOf(doc).set('company', 'Acme Ltd');
				tagsOf(doc).set('partner', true);
				notesOf(doc).insert(0, 'Met at the fair.');
			})
		).toEqual([]);
		expect(readRecord(server, ID)).toMatchObject({ fields: { company: 'Acme Ltd' }, tags: ['partner', 'vip'], notes: 'Met at the fair.' });
	});
});
