/**
 * Two Accord processes on a Redis Cluster (REDIS_CLUSTER_URLS) of three masters started
 * here from the machine's own `redis-server` (tests/support/redis-cluster.ts), sharing
 * one Postgres: the bus uses sharded pub/sub with every channel of the workspace in one
 * slot, edits and presence cross instances, and when the master serving that slot is
 * killed the instances say so, keep serving their own clients, and resynchronise once it
 * is back. With no replicas nothing can take the slot over, so "back" is the same node
 * restarted with its cluster config file; a replica promoted in its place is followed
 * the same way (the bus asks the cluster where the slot is on every reconnect). A master
 * serving other slots dying changes nothing for the workspace.
 *
 * Needs DATABASE_URL (a fresh database per run), `redis-server` 7+ and `redis-cli`, and
 * the app built. Skipped without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { activitiesOf, addItem, fieldsOf } from '../../src/lib/model/record.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { eventually } from '../support/server.ts';
import { ServerProcess, createRecordVia, createTokenWithCli } from '../support/processes.ts';
import { yWebsocketClient } from '../support/sync-client.ts';
import { RedisCluster, canRunRedisCluster } from '../support/redis-cluster.ts';
import { readConfig } from '../../server/config.ts';

const DATABASE_URL = process.env.DATABASE_URL;
/** The servers' workspace (ACCORD_WORKSPACE's default): the hash tag of every bus channel. */
const WORKSPACE = 'demo';
const channelOf = (recordId: string) => `accord:{${WORKSPACE}}:doc:${recordId}`;

const subjects = (doc: Y.Doc) =>
	activitiesOf(doc)
		.toArray()
		.map((item) => String(item.get('subject')));

describe.skipIf(!DATABASE_URL || !canRunRedisCluster())('two Accord processes on a three-master Redis Cluster (sharded pub/sub)', () => {
	let cluster: RedisCluster;
	let database: TempPostgres;
	let a: ServerProcess;
	let b: ServerProcess;
	let token: string;
	const providers: WebsocketProvider[] = [];

	function client(server: ServerProcess, recordId: string): { doc: Y.Doc; provider: WebsocketProvider } {
		const made = yWebsocketClient(server.wsUrl, { token }, recordId);
		providers.push(made.provider);
		return made;
	}

	beforeAll(async () => {
		[cluster, database] = await Promise.all([RedisCluster.start(3), tempPostgresUrl().then((made) => made!)]);
		// REDIS_URL is removed from the children's environment by ServerProcess; only the cluster is named.
		const options = { databaseUrl: database.url, env: { REDIS_CLUSTER_URLS: cluster.urls, ACCORD_IDLE_UNLOAD_MS: '300' } };
		a = await ServerProcess.start('accord-a', options); // first alone: it runs the migrations
		[token, b] = await Promise.all([createTokenWithCli(database.url), ServerProcess.start('accord-b', options)]);
	});

	afterAll(async () => {
		for (const provider of providers) provider.destroy();
		await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
		await Promise.all([cluster?.stop(), database?.drop()]);
	});

	it('edits and presence cross instances over sharded channels, all of the workspace in one slot', async () => {
		expect((await a.health()).bus).toBe('redis-cluster');
		expect((await b.health()).bus).toBe('redis-cluster');
		const first = await createRecordVia(a, token, { name: 'Sharded One' });
		const second = await createRecordVia(b, token, { name: 'Sharded Two' });
		const onA = client(a, first);
		const onB = client(b, first);
		const secondOnA = client(a, second);
		const secondOnB = client(b, second);
		await eventually(() => [onA, onB, secondOnA, secondOnB].every((c) => c.provider.synced), 'the clients to sync', 15_000);

		// Both instances hold a sharded subscription to each record's channel, on the master of
		// the workspace's slot; nothing is on plain pub/sub.
		const owner = await cluster.ownerOf(`{${WORKSPACE}}`);
		for (const id of [first, second]) {
			expect((await cluster.ownerOf(channelOf(id))).port).toBe(owner.port);
			await eventually(async () => (await cluster.shardSubscribers(channelOf(id))) === 2, `both instances to subscribe to ${channelOf(id)}`);
			expect(await cluster.plainSubscribers(`accord:doc:${id}`)).toBe(0);
		}

		fieldsOf(onA.doc).set('company', 'written on A');
		fieldsOf(onB.doc).set('city', 'written on B');
		addItem(activitiesOf(secondOnB.doc), { kind: 'note', subject: 'second-from-b', at: '' });
		await eventually(
			() =>
				fieldsOf(onB.doc).get('company') === 'written on A' &&
				fieldsOf(onA.doc).get('city') === 'written on B' &&
				subjects(secondOnA.doc).includes('second-from-b'),
			'each edit to reach the client on the other instance'
		);

		// Concurrent edits from both sides converge.
		for (let i = 0; i < 20; i++) {
			addItem(activitiesOf(onA.doc), { kind: 'note', subject: `a-${i}`, at: '' });
			addItem(activitiesOf(onB.doc), { kind: 'note', subject: `b-${i}`, at: '' });
		}
		await eventually(
			// Array order is the same on every replica once merged; the first edit ('before' the burst) is not an activity.
			() => subjects(onA.doc).length === 40 && subjects(onA.doc).join() === subjects(onB.doc).join(),
			'the clients of both instances to converge'
		);

		onA.provider.awareness.setLocalStateField('field', 'fields.company');
		await eventually(
			() => onB.provider.awareness.getStates().get(onA.doc.clientID)?.field === 'fields.company',
			'presence set on A to reach the client on B'
		);
	});

	it('the master of the workspace slot killed: both instances report it, keep serving their clients, and resynchronise when it is back', async () => {
		const id = await createRecordVia(a, token, { name: 'Shard Outage' });
		const onA = client(a, id);
		const onB = client(b, id);
		const alsoOnA = client(a, id);
		await eventually(() => [onA, onB, alsoOnA].every((c) => c.provider.synced), 'the clients to sync', 15_000);
		addItem(activitiesOf(onA.doc), { kind: 'note', subject: 'before', at: '' });
		await eventually(() => subjects(onB.doc).includes('before'), 'an edit to cross before the outage');

		const owner = await cluster.ownerOf(`{${WORKSPACE}}`);
		const logFrom = { a: a.log.length, b: b.log.length };
		await owner.kill('SIGKILL');
		await Promise.all([a.waitForLog('redis connection lost', 10_000, logFrom.a), b.waitForLog('redis connection lost', 10_000, logFrom.b)]);
		expect((await a.health()).status).toBe('degraded');
		expect((await b.health()).status).toBe('degraded');

		// Without the slot's master: clients of one instance still see each other; nothing crosses.
		for (let i = 1; i <= 3; i++) {
			addItem(activitiesOf(onA.doc), { kind: 'note', subject: `a-${i}`, at: '' });
			addItem(activitiesOf(onB.doc), { kind: 'note', subject: `b-${i}`, at: '' });
		}
		await eventually(() => subjects(alsoOnA.doc).includes('a-3'), 'edits to flow between clients of one instance during the outage');
		expect(subjects(onB.doc)).not.toContain('a-3');

		await owner.start(); // the same node (same cluster config file), with the same slots
		await cluster.waitUntilOk();
		await Promise.all([
			a.waitForLog('redis connection back; resynchronising open documents', 20_000, logFrom.a),
			b.waitForLog('redis connection back; resynchronising open documents', 20_000, logFrom.b)
		]);
		const expected = ['before', 'a-1', 'a-2', 'a-3', 'b-1', 'b-2', 'b-3'];
		await eventually(
			() => [onA, onB, alsoOnA].every((c) => expected.every((s) => subjects(c.doc).includes(s)) && subjects(c.doc).length === expected.length),
			'the clients of both instances to converge after the master is back',
			10_000
		);
		expect((await a.health()).status).toBe('ok');
		expect((await b.health()).status).toBe('ok');

		addItem(activitiesOf(onB.doc), { kind: 'note', subject: 'after', at: '' });
		await eventually(() => subjects(onA.doc).includes('after'), 'a new edit to cross after the master is back');
	});

	it('a master serving other slots killed: the workspace on its own shard goes on, though the cluster says it is failing', async () => {
		const id = await createRecordVia(a, token, { name: 'Other Shard Down' });
		const onA = client(a, id);
		const onB = client(b, id);
		await eventually(() => [onA, onB].every((c) => c.provider.synced), 'the clients to sync', 15_000);
		const owner = await cluster.ownerOf(`{${WORKSPACE}}`);
		const elsewhere = cluster.nodes.find((node) => node.port !== owner.port)!;
		const logFrom = { a: a.log.length, b: b.log.length };
		await elsewhere.kill('SIGKILL');
		try {
			await eventually(async () => (await owner.clusterInfo()).cluster_state === 'fail', 'the cluster to notice the dead master', 15_000);
			addItem(activitiesOf(onA.doc), { kind: 'note', subject: 'while-another-shard-is-down', at: '' });
			await eventually(() => subjects(onB.doc).includes('while-another-shard-is-down'), 'an edit to cross while another master is down');
			expect((await a.health()).status).toBe('ok');
			expect((await b.health()).status).toBe('ok');
			expect(a.log.slice(logFrom.a) + b.log.slice(logFrom.b)).not.toContain('redis connection lost');
		} finally {
			await elsewhere.start();
			await cluster.waitUntilOk();
		}
	});
});

describe('REDIS_CLUSTER_URLS', () => {
	it('is read as a list of node addresses, refused beside REDIS_URL, and a malformed entry is named', () => {
		expect(readConfig({ REDIS_CLUSTER_URLS: 'redis://node-a:7001, redis://node-b:7001' }).redisClusterUrls).toEqual(['redis://node-a:7001', 'redis://node-b:7001']);
		expect(readConfig({}).redisClusterUrls).toBeUndefined();
		expect(() => readConfig({ REDIS_CLUSTER_URLS: 'redis://node-a:7001', REDIS_URL: 'redis://single:6379' })).toThrow(/not both/);
		expect(() => readConfig({ REDIS_CLUSTER_URLS: 'redis://node-a:7001,node-b:7001' })).toThrow(/"node-b:7001"/);
		expect(() => readConfig({ REDIS_CLUSTER_URLS: 'http://node-a:7001' })).toThrow(/redis:\/\/host:port/);
	});
});
