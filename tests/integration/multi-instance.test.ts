/**
 * Two Accord processes on two ports sharing one Postgres and one Redis (REDIS_URL), as
 * in production: no instance is told about the other, no sticky sessions. Clients are
 * the stock y-websocket client and the /sync test client.
 *
 * Needs DATABASE_URL (a Postgres server; each run gets a fresh database) and REDIS_URL,
 * and the app built (`npx vite build`). Skipped without them.
 *
 * The last test waits for the awareness timeout (y-protocols' outdatedTimeout, 30 s):
 * presence of a client whose instance died is only removed by that timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { activitiesOf, addItem, fieldsOf, notesOf, readRecord } from '../../src/lib/model/record.ts';
import { STAGES } from '../../src/lib/model/schema.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { eventually } from '../support/server.ts';
import { ServerProcess, apiJson, createRecordVia, createTokenWithCli, storedDocument } from '../support/processes.ts';
import { SyncTestClient, moveProvider, yWebsocketClient } from '../support/sync-client.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
/** y-protocols' awareness outdatedTimeout. */
const AWARENESS_TIMEOUT_MS = 30_000;

/** The record as JSON with sorted keys: replicas may hold map entries in different orders. */
function canonical(doc: Y.Doc, id: string): string {
	return JSON.stringify(readRecord(doc, id), (_key, value: unknown) =>
		value && typeof value === 'object' && !Array.isArray(value)
			? Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)))
			: value
	);
}

function activityIds(doc: Y.Doc): string[] {
	return activitiesOf(doc)
		.toArray()
		.map((item) => String(item.get('subject')));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!DATABASE_URL || !REDIS_URL)('two Accord processes sharing Postgres and Redis', () => {
	let database: TempPostgres;
	let a: ServerProcess;
	let b: ServerProcess;
	let token: string;
	const providers: WebsocketProvider[] = [];
	const syncClients: SyncTestClient[] = [];

	function client(server: ServerProcess, recordId: string): { doc: Y.Doc; provider: WebsocketProvider } {
		const made = yWebsocketClient(server.wsUrl, { token }, recordId);
		providers.push(made.provider);
		return made;
	}

	async function synced(...clients: Array<{ provider: WebsocketProvider }>): Promise<void> {
		await eventually(() => clients.every((c) => c.provider.synced), 'the clients to sync', 15_000);
	}

	beforeAll(async () => {
		database = (await tempPostgresUrl({ migrated: true }))!;
		const options = { databaseUrl: database.url, redisUrl: REDIS_URL, env: { ACCORD_IDLE_UNLOAD_MS: '300' } };
		// One after the other: the first one runs the migrations.
		a = await ServerProcess.start('accord-a', options);
		[token, b] = await Promise.all([createTokenWithCli(database.url), ServerProcess.start('accord-b', options)]);
	});

	afterAll(async () => {
		for (const provider of providers) provider.destroy();
		for (const sync of syncClients) sync.disconnect();
		await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
		await database?.drop();
	});

	it('an edit and a presence change on one instance reach clients on the other', async () => {
		expect((await a.health()).bus).toBe('redis');
		expect((await b.health()).bus).toBe('redis');
		const id = await createRecordVia(a, token, { name: 'Cross Instance Ltd' });
		const onA = client(a, id);
		const onB = client(b, id);
		await synced(onA, onB);
		expect(fieldsOf(onB.doc).get('name')).toBe('Cross Instance Ltd');

		fieldsOf(onA.doc).set('company', 'written on A');
		fieldsOf(onB.doc).set('city', 'written on B');
		await eventually(
			() => fieldsOf(onB.doc).get('company') === 'written on A' && fieldsOf(onA.doc).get('city') === 'written on B',
			'each edit to reach the client on the other instance'
		);

		onA.provider.awareness.setLocalStateField('field', 'fields.company');
		await eventually(
			() => onB.provider.awareness.getStates().get(onA.doc.clientID)?.field === 'fields.company',
			'presence set on A to reach the client on B'
		);
		onA.provider.awareness.setLocalStateField('field', 'fields.city');
		await eventually(
			() => onB.provider.awareness.getStates().get(onA.doc.clientID)?.field === 'fields.city',
			'a presence change on A to reach the client on B'
		);

		// A /sync client on B gets the edit made on A, and its own edit is acknowledged as stored.
		const sync = new SyncTestClient(b.wsUrl, { token }, { name: 'sync-on-b', open: [id] });
		syncClients.push(sync);
		await sync.connect();
		expect(fieldsOf(sync.doc(id)).get('company')).toBe('written on A');
		sync.edit(id, 'stage', (doc) => fieldsOf(doc).set('stage', 'proposal'));
		await eventually(() => sync.acked.has('stage'), 'the edit on B to be acknowledged');
		await eventually(() => fieldsOf(onA.doc).get('stage') === 'proposal', 'the /sync edit on B to reach A');
		expect(fieldsOf((await storedDocument(database.url, id))!).get('stage')).toBe('proposal');
	});

	it('clients on both instances converge under concurrent edits, and both instances serve the merged record', async () => {
		const id = await createRecordVia(b, token, { name: 'Concurrent Co' });
		const clients = [client(a, id), client(a, id), client(b, id), client(b, id)];
		await synced(...clients);
		const editsEach = 40;
		await Promise.all(
			clients.map(async ({ doc }, n) => {
				for (let i = 0; i < editsEach; i++) {
					doc.transact(() => {
						fieldsOf(doc).set('stage', STAGES[(n + i) % STAGES.length]); // the same field, everybody
						fieldsOf(doc).set(`x_field${n}`, i); // a custom field each (the live path refuses unknown keys)
						notesOf(doc).insert(0, `${n}.${i} `);
						addItem(activitiesOf(doc), { kind: 'note', subject: `c${n}-${i}`, at: new Date().toISOString() });
					});
					await sleep(Math.random() * 6);
				}
			})
		);
		await eventually(
			() => clients.every((c) => canonical(c.doc, id) === canonical(clients[0].doc, id)) && activityIds(clients[0].doc).length === 4 * editsEach,
			'all four clients to hold the same record',
			20_000
		);
		const merged = readRecord(clients[0].doc, id);
		for (let n = 0; n < 4; n++) expect(merged.fields[`x_field${n}`]).toBe(editsEach - 1);
		expect(new Set(activityIds(clients[0].doc)).size).toBe(4 * editsEach);

		// Both instances serve the same merged record, and it is what the database holds.
		for (const server of [a, b]) {
			await eventually(async () => {
				const { body } = await apiJson<{ fields: Record<string, unknown>; activities: unknown[] }>(`${server.url}/api/records/${id}`, token);
				return body.fields.stage === merged.fields.stage && body.activities.length === 4 * editsEach;
			}, `${server.name} to serve the merged record`);
		}
		await eventually(async () => {
			const stored = await storedDocument(database.url, id);
			return stored !== null && canonical(stored, id) === canonical(clients[0].doc, id);
		}, 'the database to hold the merged record');
	});

	it('an instance that opens a record while another one is writing to it loses nothing in between', async () => {
		// The second instance subscribes, loads from Postgres, then applies what arrived in
		// between; edits published on the first before the load but stored after it must
		// reach it too. Several tries, opening at different moments of a burst.
		const failures: string[] = [];
		for (let attempt = 0; attempt < 5; attempt++) {
			const id = await createRecordVia(a, token, { name: `Gap ${attempt}` });
			const writer = client(a, id);
			await synced(writer);
			let stop = false;
			const burst = (async () => {
				for (let i = 0; !stop; i++) {
					writer.doc.transact(() => {
						fieldsOf(writer.doc).set('x_counter', i);
						addItem(activitiesOf(writer.doc), { kind: 'call', subject: `gap-${i}`, at: new Date().toISOString() });
					});
					await sleep(2);
				}
			})();
			await sleep(20 + attempt * 10);
			const reader = client(b, id); // B loads the record while A's writes are in flight
			await synced(reader);
			await sleep(100);
			stop = true;
			await burst;
			try {
				await eventually(() => canonical(reader.doc, id) === canonical(writer.doc, id), 'the reader on B to catch up', 3_000);
			} catch {
				failures.push(
					`attempt ${attempt}: writer on A has counter=${fieldsOf(writer.doc).get('x_counter')} and ${activityIds(writer.doc).length} activities, ` +
						`reader on B has counter=${fieldsOf(reader.doc).get('x_counter')} and ${activityIds(reader.doc).length}` +
						(reader.doc.store.pendingStructs ? ' (updates waiting for a missing one)' : '')
				);
			}
			writer.provider.destroy();
			reader.provider.destroy();
		}
		expect(failures).toEqual([]);
	});

	it('when an instance dies its clients reconnect to the other and lose nothing; its presence goes within the awareness timeout', async () => {
		const id = await createRecordVia(a, token, { name: 'Failover GmbH' });
		const onA = client(a, id);
		const movers = [client(b, id), client(b, id)];
		const ghost = client(b, id); // stays away after B dies: its presence must go
		const syncMover = new SyncTestClient(b.wsUrl, { token }, { name: 'sync-mover', open: [id] }); // counts what is acknowledged as stored
		syncClients.push(syncMover);
		await Promise.all([synced(onA, ...movers, ghost), syncMover.connect()]);
		ghost.provider.awareness.setLocalStateField('field', 'fields.city');
		movers[0].provider.awareness.setLocalStateField('field', 'notes');
		await eventually(
			() => onA.provider.awareness.getStates().get(ghost.doc.clientID)?.field === 'fields.city',
			'the presence of a client on B to reach A'
		);

		const made: string[] = [];
		const edit = (doc: Y.Doc, subject: string) => {
			addItem(activitiesOf(doc), { kind: 'note', subject, at: new Date().toISOString() });
			made.push(subject);
		};
		for (let i = 0; i < 10; i++) movers.forEach((m, n) => edit(m.doc, `before-${n}-${i}`));
		edit(onA.doc, 'on-a-before');
		for (let i = 0; i < 5; i++) syncMover.edit(id, `sync-${i}`, (doc) => edit(doc, `sync-${i}`));
		await eventually(() => activityIds(onA.doc).includes('sync-4'), 'the last edit on B to reach A');

		await b.kill('SIGKILL');
		const killedAt = Date.now();
		ghost.provider.disconnect();
		// The clients of B keep working offline, then a load balancer sends them to A.
		for (let i = 0; i < 10; i++) movers.forEach((m, n) => edit(m.doc, `offline-${n}-${i}`));
		edit(onA.doc, 'on-a-meanwhile');
		for (const m of movers) moveProvider(m.provider, a.wsUrl);
		syncMover.disconnect();
		await syncMover.connect(a.wsUrl);
		await eventually(() => movers.every((m) => m.provider.wsconnected && m.provider.synced), "B's clients to reconnect to A", 15_000);
		for (let i = 0; i < 5; i++) movers.forEach((m, n) => edit(m.doc, `after-${n}-${i}`));

		const everyone = [onA.doc, ...movers.map((m) => m.doc), syncMover.doc(id)];
		await eventually(
			() => everyone.every((doc) => activityIds(doc).length === made.length && canonical(doc, id) === canonical(onA.doc, id)),
			'every client to hold every edit',
			15_000
		);
		expect(new Set(activityIds(onA.doc))).toEqual(new Set(made));
		expect(activityIds(onA.doc)).toHaveLength(made.length); // no duplicates

		// Whatever A acknowledges to the /sync client as stored is in the database.
		await eventually(() => syncMover.acked.size === 5, "A to acknowledge the /sync client's edits", 10_000);
		await sleep(500);
		const stored = (await storedDocument(database.url, id))!;
		const missing = made.filter((subject) => !activityIds(stored).includes(subject));
		expect.soft(missing.filter((subject) => syncMover.acked.has(subject)), 'acknowledged as stored, yet not in the database').toEqual([]);
		expect.soft(missing, 'edits held by every client but not stored').toEqual([]);

		// The presence of the client that stayed away vanishes once the awareness timeout
		// passes without renewal, on the clients of A and on A itself (a newcomer does not
		// get it); the client that moved is present again.
		await eventually(
			() => !onA.provider.awareness.getStates().has(ghost.doc.clientID),
			"the dead instance's client to leave the presence of A's clients",
			AWARENESS_TIMEOUT_MS + 10_000 - (Date.now() - killedAt)
		);
		const newcomer = client(a, id);
		await synced(newcomer);
		await eventually(() => newcomer.provider.awareness.getStates().has(movers[0].doc.clientID), 'the moved client to be present on A');
		expect(newcomer.provider.awareness.getStates().has(ghost.doc.clientID)).toBe(false);
		expect(Date.now() - killedAt).toBeLessThan(AWARENESS_TIMEOUT_MS + 10_000);
	}, 70_000);
});
