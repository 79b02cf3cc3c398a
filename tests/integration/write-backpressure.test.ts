/**
 * Storage slower than the edits coming in must push back on the senders, not become the
 * server's memory (the rule that every queue an outsider can grow has a bound). With the
 * database cut away, a client keeps editing: the updates waiting to be stored stop at
 * ACCORD_MAX_PENDING_WRITES (the socket is no longer read; TCP holds the rest on the
 * client's side), and once the database is back every edit is stored and acknowledged.
 * The socket stays open meanwhile: the keep-alive, pinging far more often here than the
 * database is away, does not take the unread answers for a dead client.
 * Real processes: an Accord server on Postgres through a TCP proxy the test can cut.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { activitiesOf, addItem } from '../../src/lib/model/record.ts';
import { tempPostgresUrl } from '../support/databases.ts';
import { eventually } from '../support/server.ts';
import { ServerProcess, TcpProxy, createRecordVia, createTokenWithCli, storedDocument, viaPort } from '../support/processes.ts';
import { SyncTestClient } from '../support/sync-client.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const BOUND = 20;
const EDITS = 150;
/** Keep-alive pings this often: the database stays away for about ten of them. */
const PING_MS = 250;

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!DATABASE_URL)('the update writer is bounded', () => {
	it('stops reading sockets while ACCORD_MAX_PENDING_WRITES updates wait to be stored, and stores every edit once the database is back', async () => {
		const database = (await tempPostgresUrl({ migrated: true }))!;
		cleanups.push(() => database.drop());
		const target = new URL(database.url);
		const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
		cleanups.push(() => proxy.close());
		const server = await ServerProcess.start('accord', { databaseUrl: viaPort(database.url, proxy.port), env: { ACCORD_MAX_PENDING_WRITES: String(BOUND), ACCORD_PING_INTERVAL_MS: String(PING_MS) } });
		cleanups.push(() => server.kill('SIGKILL'));
		const token = await createTokenWithCli(database.url);
		const id = await createRecordVia(server, token, { name: 'Slow Storage GmbH' });
		const client = new SyncTestClient(server.wsUrl, { token }, { name: 'writer', open: [id] });
		cleanups.push(() => client.disconnect());
		await client.connect();

		await proxy.cut();
		const made: string[] = [];
		let mostWaiting = 0;
		const watch = setInterval(() => {
			void fetch(`${server.url}/healthz`)
				.then((response) => response.json() as Promise<{ pendingWrites: number }>)
				.then((health) => (mostWaiting = Math.max(mostWaiting, health.pendingWrites)))
				.catch(() => undefined);
		}, 20);
		cleanups.push(() => clearInterval(watch));
		// One edit at a time, a few milliseconds apart, so each reaches the server as its own read.
		for (let i = 0; i < EDITS; i++) {
			const subject = `edit-${i}`;
			client.edit(id, subject, (doc) => addItem(activitiesOf(doc), { kind: 'note', subject, at: new Date().toISOString() }));
			made.push(subject);
			await sleep(8);
		}
		await sleep(1_500);
		clearInterval(watch);
		expect(mostWaiting, 'updates waiting to be stored reached the bound').toBeGreaterThanOrEqual(BOUND);
		// The bound, and what the socket had already read when it was paused (a few frames at most).
		expect(mostWaiting, `updates waiting to be stored, with ${EDITS} sent while the database was away`).toBeLessThanOrEqual(BOUND + 10);
		expect(made.filter((s) => client.acked.has(s)), 'nothing acknowledged while the database is away').toEqual([]);

		expect(client.connected, `the socket is still open after ${EDITS} edits and about 10 keep-alive intervals without storage`).toBe(true);
		await proxy.restore();
		await eventually(() => made.every((s) => client.acked.has(s)), 'every edit to be acknowledged once the database is back', 60_000);
		const stored = activitiesOf((await storedDocument(database.url, id))!)
			.toArray()
			.map((item) => String(item.get('subject')));
		expect(stored.sort()).toEqual([...made].sort());
		expect(client.connected, 'the socket is still open once storage caught up').toBe(true);
	});
});
