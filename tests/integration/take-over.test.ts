/**
 * An update published before its commit is stored even when its origin never commits it,
 * with real processes sharing Postgres and Redis. The origin instance runs with a commit
 * window of ten minutes (ACCORD_COMMIT_DELAY_MS, the writer's group-commit window), so it
 * deterministically publishes and never commits; two receiving instances show the edit at
 * once, the origin is killed (SIGKILL), and both receivers, hearing no `stored` notice in
 * time (ACCORD_TAKE_OVER_MS), store the update themselves. So that both really try, the
 * test holds a lock on `update_origins` from its own connection until both said they take
 * it over (neither can store it and tell the other before); meanwhile the origin's client,
 * failed over to a receiver that already has its edit, is not told `saved`; then the
 * database holds it once, with one audit entry naming its author, and the client is told. Then the other order: an origin whose
 * commit only comes after a receiver took the update over skips it, and acknowledges it.
 *
 * Needs DATABASE_URL and REDIS_URL (each run gets a fresh database; the shared Redis
 * carries only this run's documents' channels) and the app built. Skipped without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { AuditEntry, AuditPage } from '../../src/lib/model/audit.ts';
import { fieldsOf } from '../../src/lib/model/record.ts';
import { openPostgres } from '../../server/store/sql.ts';
import type { Sql } from '../../server/store/types.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { eventually } from '../support/server.ts';
import { ServerProcess, apiJson, createRecordVia, createTokenWithCli, storedDocument } from '../support/processes.ts';
import { SyncTestClient, yWebsocketClient } from '../support/sync-client.ts';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const TAKE_OVER_MS = '1000';
const TAKE_OVER_LOG = 'storing updates another instance published but did not confirm in time';

describe.skipIf(!DATABASE_URL || !REDIS_URL)('an update published before its commit, its origin not confirming it', () => {
	let database: TempPostgres;
	let sql: Sql;
	let receivers: ServerProcess[] = [];
	const origins: ServerProcess[] = [];
	let token: string;
	const providers: WebsocketProvider[] = [];
	const clients: SyncTestClient[] = [];
	/** Ends the test's transaction holding a lock, if one is held. */
	let unlock: () => void = () => {};

	beforeAll(async () => {
		database = (await tempPostgresUrl({ migrated: true }))!;
		sql = await openPostgres(database.url);
		const options = { databaseUrl: database.url, redisUrl: REDIS_URL, env: { ACCORD_TAKE_OVER_MS: TAKE_OVER_MS } };
		[token, ...receivers] = await Promise.all([createTokenWithCli(database.url), ServerProcess.start('accord-b', options), ServerProcess.start('accord-c', options)]);
	}, 180_000);

	afterAll(async () => {
		unlock();
		for (const provider of providers) provider.destroy();
		for (const client of clients) client.disconnect();
		await Promise.all([...receivers, ...origins].map((server) => server.kill('SIGTERM')));
		await sql?.close();
		await database?.drop();
	});

	/** A record, open on every receiver and on `origin` (a raw /sync client there, which counts its acknowledgements). */
	async function openEverywhere(origin: ServerProcess, name: string): Promise<{ id: string; writer: SyncTestClient; watchers: Y.Doc[] }> {
		const id = await createRecordVia(receivers[0], token, { name });
		const writer = new SyncTestClient(origin.wsUrl, { token }, { name: 'writer', open: [id] });
		clients.push(writer);
		const watchers = receivers.map((receiver) => {
			const made = yWebsocketClient(receiver.wsUrl, { token }, id);
			providers.push(made.provider);
			return made;
		});
		await writer.connect();
		await eventually(() => watchers.every((w) => w.provider.synced), 'the watchers to sync', 15_000);
		return { id, writer, watchers: watchers.map((w) => w.doc) };
	}

	/** What the database holds of the record: update rows (the first is its creation), and the entries of `company`. */
	async function storedOnce(id: string): Promise<{ updateRows: number; takenOver: number; company: string | undefined; entries: AuditEntry[]; creator: AuditEntry['actor'] | undefined }> {
		const [rows] = await sql.query<{ n: number }>('SELECT count(*)::integer AS n FROM document_updates WHERE document_id = $1', [id]);
		const [taken] = await sql.query<{ n: number }>('SELECT count(*)::integer AS n FROM update_takeovers');
		const doc = await storedDocument(database.url, id);
		const company = await apiJson<AuditPage>(`${receivers[0].url}/api/records/${id}/history?field=company`, token);
		const all = await apiJson<AuditPage>(`${receivers[0].url}/api/records/${id}/history`, token);
		return {
			updateRows: rows.n,
			takenOver: taken.n,
			company: doc ? (fieldsOf(doc).get('company') as string | undefined) : undefined,
			entries: company.body.entries,
			creator: all.body.entries.find((entry) => entry.op === 'create')?.actor
		};
	}

	it('is stored by the instances that received it, once, attributed to its author, when its origin dies before committing', async () => {
		// The origin's writer waits ten minutes before its first commit: it publishes, and never stores.
		const origin = await ServerProcess.start('accord-a', { databaseUrl: database.url, redisUrl: REDIS_URL, env: { ACCORD_COMMIT_DELAY_MS: '600000' } });
		origins.push(origin);
		const { id, writer, watchers } = await openEverywhere(origin, 'Published Before Commit Ltd');
		const logFrom = receivers.map((receiver) => receiver.log.length);
		// Nobody stores a keyed update while the test holds this lock (the receivers' writes wait for it).
		const locked = new Promise<void>((resolve) => {
			void sql.transaction(async (tx) => {
				await tx.query('LOCK TABLE update_origins IN ACCESS EXCLUSIVE MODE');
				resolve();
				await new Promise<void>((release) => (unlock = release));
			});
		});
		await locked;

		writer.edit(id, 'company', (doc) => fieldsOf(doc).set('company', 'Stored by a receiver'));
		// On the other instances at once, while nothing is stored.
		await eventually(() => watchers.every((doc) => fieldsOf(doc).get('company') === 'Stored by a receiver'), 'the edit to reach both receivers before any commit', 5_000);
		expect(fieldsOf((await storedDocument(database.url, id))!).get('company')).toBeUndefined();
		expect(writer.acked.size).toBe(0);
		await origin.kill('SIGKILL');
		// Its client fails over to a receiver, which has the edit already: the client sends
		// nothing new, and must not be told `saved` before the receiver has stored it.
		await writer.connect(receivers[0].wsUrl);

		// Both receivers take it over; once the lock goes, one stores it and the other's attempt is skipped.
		try {
			await Promise.all(receivers.map((receiver, i) => receiver.waitForLog(TAKE_OVER_LOG, 30_000, logFrom[i])));
			await new Promise((resolve) => setTimeout(resolve, 500));
			expect(writer.acked.size, 'acknowledged while no instance could store it').toBe(0);
		} finally {
			unlock();
		}
		await eventually(async () => (await storedOnce(id)).company === 'Stored by a receiver', 'the edit to be stored', 15_000);
		await eventually(() => writer.acked.has('company'), 'the failed-over client to be told it is saved', 15_000);
		// Both attempts were waiting for the lock; the second one ends just after the first (nothing tells the test when: it looks again a moment later).
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		const stored = await storedOnce(id);
		expect(stored.updateRows).toBe(2);
		expect(stored.takenOver).toBe(1);
		expect(stored.entries.map((entry) => [entry.op, entry.path, entry.after])).toEqual([['set', 'fields.company', 'Stored by a receiver']]);
		expect(stored.creator).toBeDefined();
		expect(stored.entries[0].actor).toEqual(stored.creator);
	}, 120_000);

	it("is skipped by its origin when it commits only after the receivers took it over, and acknowledged then", async () => {
		// Commits come 15 s after an update arrives: well after the receivers' deadline.
		const origin = await ServerProcess.start('accord-a2', { databaseUrl: database.url, redisUrl: REDIS_URL, env: { ACCORD_COMMIT_DELAY_MS: '15000' } });
		origins.push(origin);
		const { id, writer, watchers } = await openEverywhere(origin, 'Slow Commit GmbH');
		const takenBefore = (await storedOnce(id)).takenOver;
		const logFrom = receivers.map((receiver) => receiver.log.length);

		writer.edit(id, 'company', (doc) => fieldsOf(doc).set('company', 'Stored before its origin'));
		await eventually(() => watchers.every((doc) => fieldsOf(doc).get('company') === 'Stored before its origin'), 'the edit to reach both receivers', 5_000);
		await eventually(async () => (await storedOnce(id)).company === 'Stored before its origin', 'a receiver to store the edit', 15_000);
		await eventually(() => writer.acked.has('company'), 'the origin to acknowledge the edit once its own commit found it stored', 30_000);

		const stored = await storedOnce(id);
		expect(stored.updateRows).toBe(2);
		expect(stored.takenOver).toBe(takenBefore + 1);
		expect(stored.entries.map((entry) => [entry.op, entry.path, entry.after])).toEqual([['set', 'fields.company', 'Stored before its origin']]);
		expect(stored.entries[0].actor).toEqual(stored.creator);
		// A receiver said it took over another instance's updates (this origin is new to them).
		expect(receivers.some((receiver, i) => receiver.log.slice(logFrom[i]).includes(TAKE_OVER_LOG))).toBe(true);
	}, 120_000);
});
