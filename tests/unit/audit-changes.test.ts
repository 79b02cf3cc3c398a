/**
 * Field-level audit entries computed from Yjs transactions: what changed, from what to
 * what, by whom (the bound author of the items; the sender for deletions), and
 * conflicts between concurrent writes of one value.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { transactionChanges, type ChangeContext } from '../../server/audit/changes.ts';
import type { ChangeDraft } from '../../server/audit/types.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { addItem, contactsOf, fieldsOf, notesOf, removeItem, tagsOf, updateItem } from '../../src/lib/model/record.ts';

const alice: AuditPerson = { id: 'alice', name: 'Alice' };
const bob: AuditPerson = { id: 'bob', name: 'Bob' };
const carol: AuditPerson = { id: 'carol', name: 'Carol' };

/** A server-side document that records the audit drafts of every transaction applied with a `Sender` origin. */
class Sender {
	constructor(
		readonly person: AuditPerson,
		readonly source: ChangeContext['source'] = 'ui'
	) {}
}

function serverDoc(bindings: Map<number, AuditPerson>) {
	const doc = new Y.Doc();
	const drafts: ChangeDraft[][] = [];
	doc.on('afterTransaction', (tr: Y.Transaction) => {
		if (!(tr.origin instanceof Sender)) return;
		drafts.push(
			transactionChanges(tr, {
				actor: tr.origin.person,
				source: tr.origin.source,
				at: '2025-01-01T00:00:00.000Z',
				authorOf: (client) => bindings.get(client) ?? { client }
			})
		);
	});
	return {
		doc,
		drafts,
		apply(update: Uint8Array, from: AuditPerson, source: ChangeContext['source'] = 'ui'): ChangeDraft[] {
			const count = drafts.length;
			Y.applyUpdate(doc, update, new Sender(from, source));
			return drafts.slice(count).flat();
		}
	};
}

function client(id: number, from?: Y.Doc): Y.Doc {
	const doc = new Y.Doc();
	doc.clientID = id;
	if (from) Y.applyUpdate(doc, Y.encodeStateAsUpdate(from));
	return doc;
}

/** What `doc` has that `server` lacks, as a sync step 2 would carry it. */
const missing = (doc: Y.Doc, server: Y.Doc): Uint8Array => Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server));

const brief = (drafts: ChangeDraft[]) =>
	drafts.map((d) => ({ path: d.path, op: d.op, before: d.before, after: d.after, actor: 'id' in d.actor ? d.actor.id : d.actor.client, source: d.source }));

describe('audit entries of a transaction', () => {
	const bindings = new Map<number, AuditPerson>([
		[1, alice],
		[2, bob],
		[3, carol]
	]);

	it('records field sets and unsets with before, after and author', () => {
		const server = serverDoc(bindings);
		const a = client(1);
		fieldsOf(a).set('name', 'Acme');
		expect(brief(server.apply(missing(a, server.doc), alice))).toEqual([
			{ path: 'fields.name', op: 'set', before: null, after: 'Acme', actor: 'alice', source: 'ui' }
		]);
		fieldsOf(a).set('name', 'Acme Ltd');
		fieldsOf(a).set('company', 'Acme Group');
		expect(brief(server.apply(missing(a, server.doc), alice))).toEqual([
			{ path: 'fields.name', op: 'set', before: 'Acme', after: 'Acme Ltd', actor: 'alice', source: 'ui' },
			{ path: 'fields.company', op: 'set', before: null, after: 'Acme Group', actor: 'alice', source: 'ui' }
		]);
		// Bob (who saw everything) removes the company: a deletion is the sender's.
		const b = client(2, server.doc);
		const stateBefore = Y.encodeStateVector(b);
		fieldsOf(b).delete('company');
		expect(brief(server.apply(Y.encodeStateAsUpdate(b, stateBefore), bob))).toEqual([
			{ path: 'fields.company', op: 'unset', before: 'Acme Group', after: null, actor: 'bob', source: 'ui' }
		]);
	});

	it('records tags, contacts and their fields, and the archive flag', () => {
		const server = serverDoc(bindings);
		const a = client(1);
		tagsOf(a).set('vip', true);
		const contact = addItem(contactsOf(a), { name: 'Li Na', email: 'li@example.com' });
		a.getMap('meta').set('archived', false);
		const first = brief(server.apply(missing(a, server.doc), alice));
		expect(first).toContainEqual({ path: 'tags', op: 'add', before: null, after: 'vip', actor: 'alice', source: 'ui' });
		expect(first).toContainEqual({
			path: `contacts[${contact}]`,
			op: 'add',
			before: null,
			after: { name: 'Li Na', email: 'li@example.com' },
			actor: 'alice',
			source: 'ui'
		});
		expect(first).toContainEqual({ path: 'meta.archived', op: 'set', before: null, after: false, actor: 'alice', source: 'ui' });

		updateItem(contactsOf(a), contact, 'email', 'na.li@example.com');
		tagsOf(a).delete('vip');
		a.getMap('meta').set('archived', true);
		expect(brief(server.apply(missing(a, server.doc), alice))).toEqual(
			expect.arrayContaining([
				{ path: `contacts[${contact}].email`, op: 'set', before: 'li@example.com', after: 'na.li@example.com', actor: 'alice', source: 'ui' },
				{ path: 'tags', op: 'remove', before: 'vip', after: null, actor: 'alice', source: 'ui' },
				{ path: 'meta.archived', op: 'set', before: false, after: true, actor: 'alice', source: 'ui' }
			])
		);

		removeItem(contactsOf(a), contact);
		expect(brief(server.apply(missing(a, server.doc), alice))).toEqual([
			{ path: `contacts[${contact}]`, op: 'remove', before: { name: 'Li Na', email: 'na.li@example.com' }, after: null, actor: 'alice', source: 'ui' }
		]);
	});

	it('summarises notes: characters inserted and deleted, and a short excerpt', () => {
		const server = serverDoc(bindings);
		const a = client(1);
		notesOf(a).insert(0, 'Called about the renewal. '.repeat(5));
		const [entry] = server.apply(missing(a, server.doc), alice);
		expect(entry.path).toBe('notes');
		expect(entry.op).toBe('edit');
		expect(entry.after).toMatchObject({ inserted: 130, deleted: 0 });
		expect((entry.after as { excerpt: string }).excerpt).toHaveLength(80);

		notesOf(a).delete(0, 7);
		notesOf(a).insert(0, 'Phoned');
		expect(server.apply(missing(a, server.doc), alice).map((d) => d.after)).toEqual([
			{ inserted: 6, deleted: 7, excerpt: 'Phoned', removed: 'Called ' }
		]);
	});

	it('attributes relayed items to their author, deletions to the relay', () => {
		const server = serverDoc(bindings);
		const a = client(1);
		fieldsOf(a).set('name', 'Acme');
		server.apply(missing(a, server.doc), alice);
		// Alice edits offline; Bob receives her change (not via the server) and relays it.
		fieldsOf(a).set('city', 'Shanghai');
		const b = client(2, a);
		fieldsOf(b).delete('name');
		const drafts = server.apply(missing(b, server.doc), bob);
		expect(brief(drafts)).toEqual(
			expect.arrayContaining([
				{ path: 'fields.city', op: 'set', before: null, after: 'Shanghai', actor: 'alice', source: 'merge' },
				{ path: 'fields.name', op: 'unset', before: 'Acme', after: null, actor: 'bob', source: 'ui' }
			])
		);
		expect(drafts.find((d) => d.path === 'fields.city')?.relayedBy).toEqual(bob);
		expect(drafts.find((d) => d.path === 'fields.name')?.relayedBy).toBeNull();
	});

	it('names an unknown client id for the store to resolve', () => {
		const server = serverDoc(bindings);
		const stranger = client(99);
		fieldsOf(stranger).set('name', 'X');
		expect(server.apply(missing(stranger, server.doc), bob)[0].actor).toEqual({ client: 99 });
	});

	for (const [first, second] of [
		[1, 2],
		[2, 1]
	] as const) {
		it(`reports exactly one conflict for concurrent writes of one field (client ${first} arrives first)`, () => {
			const server = serverDoc(bindings);
			const origin = client(3);
			fieldsOf(origin).set('company', 'Original');
			server.apply(missing(origin, server.doc), carol);
			const one = client(first, server.doc);
			const two = client(second, server.doc);
			fieldsOf(one).set('company', `by ${first}`);
			fieldsOf(two).set('company', `by ${second}`);
			const people = { 1: alice, 2: bob } as const;

			const early = server.apply(missing(one, server.doc), people[first]);
			expect(early.filter((d) => d.op === 'conflict')).toEqual([]);
			const late = server.apply(missing(two, server.doc), people[second]);
			const conflicts = late.filter((d) => d.op === 'conflict');
			expect(conflicts).toHaveLength(1);
			const winner = fieldsOf(server.doc).get('company');
			const [conflict] = conflicts;
			expect(conflict.path).toBe('fields.company');
			expect(conflict.after).toBe(winner);
			expect(conflict.conflict?.winner.value).toBe(winner);
			const loserValue = winner === `by ${first}` ? `by ${second}` : `by ${first}`;
			expect(conflict.before).toBe(loserValue);
			expect(conflict.conflict?.loser.value).toBe(loserValue);
			const involved = [conflict.conflict!.winner.person, conflict.conflict!.loser.person].map((p) => ('id' in p ? p.id : p.client)).sort();
			expect(involved).toEqual(['alice', 'bob']);
			// A set entry exists only when the late value won.
			expect(late.filter((d) => d.op === 'set').map((d) => d.after)).toEqual(winner === `by ${second}` ? [winner] : []);

			// Every replica agrees, and replaying to a third replica adds nothing new.
			Y.applyUpdate(one, Y.encodeStateAsUpdate(server.doc));
			Y.applyUpdate(two, Y.encodeStateAsUpdate(server.doc));
			expect(fieldsOf(one).get('company')).toBe(winner);
			expect(fieldsOf(two).get('company')).toBe(winner);
			expect(server.apply(Y.encodeStateAsUpdate(two), bob)).toEqual([]);
		});
	}

	it('reports no conflict when the writer had seen the value it replaced, or for one person on two devices', () => {
		const server = serverDoc(bindings);
		const a = client(1);
		fieldsOf(a).set('company', 'A');
		server.apply(missing(a, server.doc), alice);
		const b = client(2, server.doc);
		fieldsOf(b).set('company', 'B');
		expect(server.apply(missing(b, server.doc), bob).map((d) => d.op)).toEqual(['set']);

		// Alice on two devices (two client ids bound to her) writing concurrently.
		const twoDevices = new Map(bindings).set(11, alice);
		const server2 = serverDoc(twoDevices);
		const base = client(3);
		fieldsOf(base).set('company', 'Base');
		server2.apply(missing(base, server2.doc), carol);
		const phone = client(11, server2.doc);
		const laptop = client(1, server2.doc);
		fieldsOf(phone).set('company', 'Phone');
		fieldsOf(laptop).set('company', 'Laptop');
		server2.apply(missing(phone, server2.doc), alice);
		expect(server2.apply(missing(laptop, server2.doc), alice).filter((d) => d.op === 'conflict')).toEqual([]);
	});

	it('reports one conflict when the author changed the field twice offline', () => {
		for (const [first, second] of [
			[1, 2],
			[2, 1]
		] as const) {
			const server = serverDoc(bindings);
			const origin = client(3);
			fieldsOf(origin).set('stage', 'lead');
			server.apply(missing(origin, server.doc), carol);
			const one = client(first, server.doc);
			const two = client(second, server.doc);
			fieldsOf(one).set('stage', 'qualified');
			fieldsOf(two).set('stage', 'proposal');
			fieldsOf(two).set('stage', 'negotiation');
			const people = { 1: alice, 2: bob } as const;
			server.apply(missing(one, server.doc), people[first]);
			const late = server.apply(missing(two, server.doc), people[second]);
			const conflicts = late.filter((d) => d.op === 'conflict');
			expect(conflicts).toHaveLength(1);
			expect(conflicts[0].after).toBe(fieldsOf(server.doc).get('stage'));
		}
	});
});
