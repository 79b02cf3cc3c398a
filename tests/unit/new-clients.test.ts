/**
 * Step 2 (attribute) reads which client ids an update brings new items under. Most live
 * updates are one writer's new run, read from the update's first bytes; everything else
 * is decoded whole. Both ways must agree with the whole decoding on any update: one
 * writer or several, new, partly known or already applied, deletions only.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as Y from 'yjs';
import { Attribution, singleWriterRun, type BindingPort } from '../../server/sync/steps/attribute.ts';

/** Nothing is bound here: the test asks only which ids an update brings. */
const noBindings: BindingPort = {
	bind: async () => new Map(),
	lookup: async () => new Map(),
	deferred: () => undefined,
	lookupFailed: () => undefined
};

/** The whole decoding: every client whose last clock in the update is past what `doc` has. */
function reference(doc: Y.Doc, update: Uint8Array): number[] {
	const { to } = Y.parseUpdateMeta(update);
	return [...to].filter(([client, clock]) => clock > Y.getState(doc.store, client)).map(([client]) => client);
}

type Step = { writer: number; kind: 'set' | 'type' | 'delete' | 'sync' | 'send'; at: number };

describe('the client ids an update brings', () => {
	it('agrees with decoding the whole update, for any mix of writers, known and new items', () => {
		const step = fc.record({
			writer: fc.integer({ min: 0, max: 2 }),
			kind: fc.constantFrom<Step['kind']>('set', 'type', 'delete', 'sync', 'send'),
			at: fc.nat(50)
		});
		fc.assert(
			fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
				const server = new Y.Doc();
				const writers = [0, 1, 2].map((i) => {
					const doc = new Y.Doc();
					doc.clientID = 1000 + i;
					return doc;
				});
				const attribution = new Attribution('0b6c1f8e-3a5d-4c1e-9f2a-7d8e9c0b1a2f', server, noBindings);
				/** What each writer last told the server (an update may be sent twice, or late). */
				const sent: Uint8Array[] = [];
				for (const { writer, kind, at } of steps) {
					const doc = writers[writer];
					const text = doc.getText('notes');
					if (kind === 'set') doc.getMap('fields').set(`k${at % 5}`, at);
					else if (kind === 'type') text.insert(Math.min(at, text.length), 'ab');
					else if (kind === 'delete' && text.length > 0) text.delete(Math.min(at, text.length - 1), 1);
					else if (kind === 'sync') Y.applyUpdate(doc, Y.encodeStateAsUpdate(server));
					const update = Y.encodeStateAsUpdate(doc, kind === 'send' && sent.length > 0 ? Y.encodeStateVector(new Y.Doc()) : Y.encodeStateVector(server));
					sent.push(update);
					// Any update, this one or one sent earlier (already applied, or partly).
					const asked = sent[at % sent.length];
					expect(attribution.newClients(asked)).toEqual(reference(server, asked));
					Y.applyUpdate(server, update);
				}
			}),
			{ numRuns: 300 }
		);
	});

	it('reads one writer and its first clock from the first bytes, and nothing from several writers or none', () => {
		const doc = new Y.Doc();
		doc.clientID = 77;
		doc.getMap('fields').set('name', 'Acme');
		const first = Y.encodeStateAsUpdate(doc);
		const before = Y.encodeStateVector(doc);
		doc.getText('notes').insert(0, 'hello');
		expect(singleWriterRun(first)).toEqual({ client: 77, clock: 0 });
		expect(singleWriterRun(Y.encodeStateAsUpdate(doc, before))).toEqual({ client: 77, clock: 1 });
		const other = new Y.Doc();
		other.clientID = 78;
		Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
		other.getMap('fields').set('city', 'Leeds');
		expect(singleWriterRun(Y.encodeStateAsUpdate(other))).toBeNull();
		expect(singleWriterRun(new Uint8Array([0, 0]))).toBeNull();
		expect(singleWriterRun(new Uint8Array([1]))).toBeNull();
	});
});
