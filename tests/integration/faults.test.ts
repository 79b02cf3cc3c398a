/**
 * Faults, with real processes: an Accord server killed with SIGKILL in the middle of a
 * burst of edits; Redis restarted under two running instances; Postgres unreachable
 * for a while. The shared Redis and Postgres of the machine are never touched: the Redis
 * test runs its own redis-server on a free port, and the Postgres test cuts a TCP proxy
 * between Accord and Postgres.
 *
 * Needs DATABASE_URL (each test gets a fresh database) and the app built; the Redis test
 * also needs `redis-server` on the PATH. Skipped without them.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { activitiesOf, addItem, contactsOf, fieldsOf } from '../../src/lib/model/record.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { eventually } from '../support/server.ts';
import { RedisProcess, ServerProcess, TcpProxy, apiJson, createRecordVia, createTokenWithCli, storedDocument, viaPort } from '../support/processes.ts';
import { SyncTestClient, yWebsocketClient } from '../support/sync-client.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const hasRedisServer = (() => {
	try {
		execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
})();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ids of the activities (their subjects) and contacts (their names) in a document. */
function itemsOf(doc: Y.Doc): { activities: string[]; contacts: string[] } {
	return {
		activities: activitiesOf(doc)
			.toArray()
			.map((item) => String(item.get('subject'))),
		contacts: contactsOf(doc)
			.toArray()
			.map((item) => String(item.get('name')))
	};
}

function allItems(doc: Y.Doc): string[] {
	const { activities, contacts } = itemsOf(doc);
	return [...activities, ...contacts];
}

/** Cleanup registered by each test, run even when it fails. */
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		try {
			await cleanup();
		} catch {
			// best effort
		}
	}
});

async function freshDatabase(): Promise<TempPostgres> {
	// Servers migrate it first thing: a copy of the migrated template will do.
	const database = (await tempPostgresUrl({ migrated: true }))!;
	cleanups.push(() => database.drop());
	return database;
}

async function startServer(name: string, options: Parameters<typeof ServerProcess.start>[1]): Promise<ServerProcess> {
	const server = await ServerProcess.start(name, options);
	cleanups.push(() => server.kill('SIGKILL'));
	return server;
}

describe.skipIf(!DATABASE_URL)('faults', () => {
	it('a server killed with SIGKILL during a burst of edits, then restarted, loses no acknowledged edit and duplicates nothing', async () => {
		const database = await freshDatabase();
		const server = await startServer('accord', { databaseUrl: database.url });
		const token = await createTokenWithCli(database.url);
		const id = await createRecordVia(server, token, { name: 'Burst & Co' });

		const clients = ['ana', 'ben', 'chen', 'dara'].map((name) => new SyncTestClient(server.wsUrl, { token }, { name, open: [id] }));
		cleanups.push(() => clients.forEach((c) => c.disconnect()));
		await Promise.all(clients.map((c) => c.connect()));

		// Every client adds activities and contacts, each with a unique name, as fast as it can.
		const made: string[] = [];
		let running = true;
		const bursts = clients.map(async (client) => {
			for (let i = 0; running; i++) {
				const name = `${client.name}-${i}`;
				made.push(name);
				client.edit(id, name, (doc) => {
					if (i % 3 === 2) addItem(contactsOf(doc), { name, email: `${name}@example.com` });
					else addItem(activitiesOf(doc), { kind: 'call', subject: name, at: new Date().toISOString(), by: client.name });
					fieldsOf(doc).set('stage', name);
				});
				await sleep(1 + Math.random() * 3);
			}
		});
		// Kill it mid-burst, once a good number of edits has been acknowledged.
		await eventually(() => clients.reduce((n, c) => n + c.acked.size, 0) >= 40, 'some edits to be acknowledged', 15_000);
		await sleep(50 + Math.random() * 100);
		await server.kill('SIGKILL');

		// What anyone had confirmation of when the server died: acknowledged as stored, or seen by another client.
		const acknowledged = new Set(clients.flatMap((c) => [...c.acked]));
		const seenByOthers = new Set(clients.flatMap((c) => allItems(c.doc(id)).filter((name) => !name.startsWith(`${c.name}-`))));
		await sleep(200); // the clients keep editing offline
		running = false;
		await Promise.all(bursts);

		await server.start();
		// Before any client is back: every acknowledged edit is in the restarted server's record.
		const { body } = await apiJson<{ activities: Array<{ subject: string }>; contacts: Array<{ name: string }> }>(`${server.url}/api/records/${id}`, token);
		const served = new Set([...body.activities.map((a) => a.subject), ...body.contacts.map((c) => c.name)]);
		expect([...acknowledged].filter((name) => !served.has(name)), 'acknowledged before the kill, missing after the restart').toEqual([]);

		// The clients reconnect (as they would, by themselves) and send what the server lacks.
		await Promise.all(clients.map((c) => c.connect(server.wsUrl)));
		await eventually(() => clients.every((c) => allItems(c.doc(id)).length === made.length), 'every client to hold every edit', 15_000);
		for (const client of clients) {
			const items = allItems(client.doc(id));
			expect(new Set(items).size, `${client.name}: no duplicate activities or contacts`).toBe(items.length);
			expect(new Set(items)).toEqual(new Set(made));
		}
		expect([...seenByOthers].filter((name) => !made.includes(name))).toEqual([]);

		// And once the clients have their acknowledgements, the database holds every edit, once.
		await eventually(() => clients.every((c) => made.every((name) => !name.startsWith(`${c.name}-`) || c.acked.has(name))), 'every edit to be acknowledged', 15_000);
		const stored = (await storedDocument(database.url, id))!;
		const storedItems = allItems(stored);
		expect(storedItems.length).toBe(made.length);
		expect(new Set(storedItems)).toEqual(new Set(made));
		console.info(`SIGKILL test: ${made.length} edits made, ${acknowledged.size} acknowledged and ${seenByOthers.size} seen by another client before the kill; all present after restart`);
	});

	it.skipIf(!hasRedisServer)('Redis restarted under two instances: they reconnect, resynchronise open documents and say so', async () => {
		const redis = await RedisProcess.start();
		cleanups.push(() => redis.kill('SIGKILL'));
		const database = await freshDatabase();
		const options = { databaseUrl: database.url, redisUrl: redis.url };
		const a = await startServer('accord-a', options);
		const [token, b] = await Promise.all([createTokenWithCli(database.url), startServer('accord-b', options)]);
		const providers: WebsocketProvider[] = [];
		cleanups.push(() => providers.forEach((p) => p.destroy()));
		const open = (server: ServerProcess, id: string) => {
			const made = yWebsocketClient(server.wsUrl, { token }, id);
			providers.push(made.provider);
			return made;
		};
		const activities = (doc: Y.Doc) => itemsOf(doc).activities;

		const first = await createRecordVia(a, token, { name: 'Before the outage' });
		const onA = open(a, first);
		const onB = open(b, first);
		const alsoOnA = open(a, first);
		await eventually(() => onA.provider.synced && onB.provider.synced && alsoOnA.provider.synced, 'the clients to sync');
		addItem(activitiesOf(onA.doc), { kind: 'note', subject: 'a-0', at: '' });
		await eventually(() => activities(onB.doc).includes('a-0'), 'an edit to cross instances');

		const logFrom = { a: a.log.length, b: b.log.length };
		await redis.kill('SIGKILL');
		await Promise.all([a.waitForLog('redis connection lost', 10_000, logFrom.a), b.waitForLog('redis connection lost', 10_000, logFrom.b)]);
		expect((await a.health()).status).toBe('degraded');

		// While Redis is away: edits on both sides, and a record created and opened on both.
		for (let i = 1; i <= 5; i++) {
			addItem(activitiesOf(onA.doc), { kind: 'note', subject: `a-${i}`, at: '' });
			addItem(activitiesOf(onB.doc), { kind: 'note', subject: `b-${i}`, at: '' });
		}
		const second = await createRecordVia(b, token, { name: 'Opened during the outage' });
		const secondOnA = open(a, second);
		const secondOnB = open(b, second);
		await eventually(() => secondOnA.provider.synced && secondOnB.provider.synced, 'the new record to open on both instances');
		addItem(activitiesOf(secondOnA.doc), { kind: 'note', subject: 'second-a', at: '' });
		addItem(activitiesOf(secondOnB.doc), { kind: 'note', subject: 'second-b', at: '' });
		await eventually(() => activities(alsoOnA.doc).includes('a-5'), 'edits to flow between clients of one instance without Redis');
		await sleep(300);
		expect(activities(onB.doc)).not.toContain('a-5'); // nothing crosses without Redis

		await redis.start();
		await Promise.all([
			a.waitForLog('redis connection back; resynchronising open documents', 15_000, logFrom.a),
			b.waitForLog('redis connection back; resynchronising open documents', 15_000, logFrom.b)
		]);
		const expected = ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'b-1', 'b-2', 'b-3', 'b-4', 'b-5'];
		await eventually(
			() => [onA, onB].every((c) => expected.every((s) => activities(c.doc).includes(s))),
			'the clients of both instances to converge on the first record',
			10_000
		);
		await eventually(
			() => [secondOnA, secondOnB].every((c) => ['second-a', 'second-b'].every((s) => activities(c.doc).includes(s))),
			'the clients of both instances to converge on the record opened during the outage',
			10_000
		);
		for (const c of [onA, onB]) expect(activities(c.doc)).toHaveLength(expected.length);
		expect((await a.health()).status).toBe('ok');
		expect((await b.health()).status).toBe('ok');

		// Live again: edits and presence cross at once.
		addItem(activitiesOf(onB.doc), { kind: 'note', subject: 'b-after', at: '' });
		onB.provider.awareness.setLocalStateField('field', 'fields.company');
		await eventually(() => activities(onA.doc).includes('b-after'), 'a new edit to cross after the restart');
		await eventually(() => onA.provider.awareness.getStates().get(onB.doc.clientID)?.field === 'fields.company', 'presence to cross after the restart');
	});

	it('Postgres unreachable for a while: edits keep flowing, storing retries, nothing is acknowledged before it is stored', async () => {
		const database = await freshDatabase();
		const target = new URL(database.url);
		const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
		cleanups.push(() => proxy.close());
		const server = await startServer('accord', { databaseUrl: viaPort(database.url, proxy.port) });
		const token = await createTokenWithCli(database.url);
		const id = await createRecordVia(server, token, { name: 'Offline Database AG' });

		// `one` and `two` write before the outage; `three` is connected but writes for the first time during it.
		const [one, two, three] = ['one', 'two', 'three'].map((name) => new SyncTestClient(server.wsUrl, { token }, { name, open: [id] }));
		cleanups.push(() => [one, two, three].forEach((c) => c.disconnect()));
		await Promise.all([one.connect(), two.connect(), three.connect()]);
		const add = (client: SyncTestClient, subject: string) =>
			client.edit(id, subject, (doc) => addItem(activitiesOf(doc), { kind: 'note', subject, at: new Date().toISOString() }));
		for (let i = 0; i < 3; i++) add(i === 1 ? two : one, `before-${i}`);
		await eventually(() => one.acked.size === 2 && two.acked.size === 1, 'the edits before the outage to be acknowledged');

		const logFrom = server.log.length;
		await proxy.cut();
		const during: string[] = [];
		for (let i = 0; i < 8; i++) {
			for (const client of [one, two]) {
				const subject = `during-${client.name}-${i}`;
				add(client, subject);
				during.push(subject);
			}
			await sleep(50);
		}
		add(three, 'during-three');
		// Between the connected clients, edits keep flowing.
		await eventually(
			() => [one, two, three].every((c) => during.every((s) => itemsOf(c.doc(id)).activities.includes(s))),
			'edits to flow between the clients while the database is away'
		);
		// Also from a client whose first edit comes during the outage.
		let firstEditFlowed = true;
		await eventually(() => itemsOf(one.doc(id)).activities.includes('during-three'), "the first edit of 'three' to reach the others", 3_000).catch(() => {
			firstEditFlowed = false;
		});
		expect.soft(firstEditFlowed, `a first edit made while the database is away reaches the other clients (three ${three.connected ? 'is still connected' : 'was disconnected'})`).toBe(true);
		if (firstEditFlowed) during.push('during-three');
		await server.waitForLog('storing updates failed; will retry', 10_000, logFrom);
		const health = await fetch(`${server.url}/healthz`);
		expect(health.status).toBe(503);
		await sleep(1_500);
		// Nothing made during the outage is acknowledged, and none of it is stored.
		expect(during.filter((s) => [one, two, three].some((c) => c.acked.has(s)))).toEqual([]);
		const storedDuring = itemsOf((await storedDocument(database.url, id))!).activities;
		expect(during.filter((s) => storedDuring.includes(s))).toEqual([]);

		await proxy.restore();
		// From now on, whatever is acknowledged must already be in the database.
		const violations: string[] = [];
		await eventually(
			async () => {
				const acknowledged = [one, two, three].flatMap((c) => [...c.acked]);
				const stored = itemsOf((await storedDocument(database.url, id))!).activities;
				violations.push(...acknowledged.filter((s) => !stored.includes(s)));
				return during.every((s) => [one, two, three].some((c) => c.acked.has(s)));
			},
			'every edit made during the outage to be acknowledged once stored',
			15_000
		).catch((error: Error) => {
			const unacknowledged = during.filter((s) => ![one, two, three].some((c) => c.acked.has(s)));
			throw new Error(`${error.message}; not acknowledged: ${unacknowledged.join(', ')}\n${server.log.slice(logFrom)}`);
		});
		expect(violations, 'acknowledged but not in the database').toEqual([]);
		await server.waitForLog('persistence recovered', 5_000, logFrom);
		const stored = itemsOf((await storedDocument(database.url, id))!).activities;
		expect(stored.sort()).toEqual([...during, 'before-0', 'before-1', 'before-2'].sort());
		await eventually(async () => (await fetch(`${server.url}/healthz`)).status === 200, 'the instance to report itself healthy again');
	});
});
