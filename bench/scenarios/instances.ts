/**
 * Scenario 5, two instances through Redis versus one: the two people on a record are
 * connected to different Accord instances (sharing Postgres, updates crossing Redis),
 * against both on one instance (same Postgres and Redis bus). Two loads on the same
 * servers: light (20 clients, 1 edit/s each: what crossing costs by itself) and the
 * team load (100 or 200 clients at 10 edits/s each). With `--cluster`, a third layout:
 * the two instances on a three-master Redis Cluster of local redis-server processes
 * (REDIS_CLUSTER_URLS, sharded pub/sub, the workspace's channels in one slot), started
 * here and stopped after.
 */
import { mergeRounds, runLive, type LiveClient, type LiveMeasurement } from '../lib/live.ts';
import { ms, type ScenarioResult, type Target as Goal } from '../lib/report.ts';
import { roundOrder, startTarget, type Context, type Target } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import { backlogNotes, liveTable, type TeamRow } from './team.ts';
import { RedisCluster } from '../../tests/support/redis-cluster.ts';

type Layout = 'one' | 'two' | 'cluster';
const LAYOUT_LABELS: Record<Layout, string> = {
	one: 'one instance',
	two: 'two instances via Redis',
	cluster: 'two instances via Redis Cluster'
};
type Load = 'light' | 'team';

export async function instances(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const loads: Record<Load, { clients: number; records: number; editsPerSecondPerClient: number }> = {
		light: { clients: 20, records: 10, editsPerSecondPerClient: 1 },
		team: { clients: ctx.quick ? 100 : 200, records: ctx.quick ? 50 : 100, editsPerSecondPerClient: 10 }
	};
	const parameters = {
		loads,
		notesShare: 0.4,
		warmupMs: ctx.quick ? 2_000 : 5_000,
		durationMs: ctx.quick ? 5_000 : 20_000,
		rounds: ctx.quick ? 1 : 2
	};
	const layouts: Layout[] = ctx.cluster ? ['one', 'two', 'cluster'] : ['one', 'two'];
	const measured = new Map<string, LiveMeasurement[]>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const layout of roundOrder<Layout>(layouts, round)) {
			ctx.log(`two instances: ${LAYOUT_LABELS[layout]} (round ${round + 1}/${parameters.rounds})`);
			const cluster = layout === 'cluster' ? await RedisCluster.start(3) : null;
			const redisClusterUrls = cluster?.urls;
			const first = await startTarget(ctx, 'accord-pg', { redisClusterUrls }).catch(async (error: unknown) => {
				await cluster?.stop();
				throw error;
			});
			const targets: Target[] = [first];
			try {
				if (layout !== 'one') targets.push(await startTarget(ctx, 'accord-pg', { databaseUrl: first.databaseUrl, redisClusterUrls }));
				for (const load of ['light', 'team'] as Load[]) {
					const { clients: count, records, editsPerSecondPerClient } = loads[load];
					const ids = await first.server.seed(records, load === 'light' ? 0 : loads.light.records);
					const perWorker = count / pool.workers.length;
					const clients: LiveClient[] = Array.from({ length: count }, (_, i) => ({
						key: `${load}${i}`,
						record: ids[i % records],
						worker: Math.floor(i / perWorker),
						// The two people on a record: one on each instance.
						instance: layout === 'one' ? 0 : Math.floor(i / records) % 2
					}));
					const m = await runLive(pool, targets, {
						clients,
						writers: 'all',
						ratePerSecond: editsPerSecondPerClient,
						notesShare: parameters.notesShare,
						warmupMs: parameters.warmupMs,
						durationMs: parameters.durationMs,
						concurrency: 50
					});
					const key = `${layout}/${load}`;
					measured.set(key, [...(measured.get(key) ?? []), m]);
				}
			} finally {
				// The second instance first: the first one's stop drops the shared database.
				for (const target of targets.reverse()) await target.stop();
				await cluster?.stop();
			}
		}
	}
	const rows: TeamRow[] = [];
	const goals: Goal[] = [];
	for (const load of ['light', 'team'] as Load[]) {
		const [one, ...others] = layouts.map((layout) => {
			const { latencies: _l, ...measurement } = mergeRounds(measured.get(`${layout}/${load}`)!);
			const row: TeamRow = {
				server: 'accord-pg',
				label: `${load === 'light' ? 'light' : 'team'}: ${LAYOUT_LABELS[layout]}`,
				description: `Accord (Postgres + ${layout === 'cluster' ? 'Redis Cluster, sharded pub/sub' : 'Redis'}), API-token auth, every update stored`,
				measurement
			};
			rows.push(row);
			return measurement;
		});
		const { clients, records, editsPerSecondPerClient } = loads[load];
		others.forEach((crossing, n) => {
			const added = crossing.latency.p50 - one.latency.p50;
			const via = layouts[n + 1] === 'cluster' ? 'a Redis Cluster' : 'Redis';
			goals.push({
				name: `two instances (${load} load: ${clients} clients, ${records} records, ${editsPerSecondPerClient} edit${editsPerSecondPerClient > 1 ? 's' : ''}/s each): crossing ${via} adds ≤ 2 ms at p50`,
				value: `${added >= 0 ? '+' : ''}${ms(added, 2)} (${ms(one.latency.p50, 2)} → ${ms(crossing.latency.p50, 2)})`,
				met: added <= 2
			});
		});
	}
	const table = liveTable(rows, 1);
	table.headers[table.headers.indexOf('server CPU')] = 'servers CPU';
	table.headers[0] = 'load: layout';
	return {
		scenario: 'instances',
		title: 'Two instances through Redis vs one (Accord on Postgres + Redis)',
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table,
		targets: goals,
		findings: backlogNotes(rows),
		notes: [
			'Both layouts use the same Postgres and the Redis bus; in "two", each record\'s two clients sit on different instances, so every update crosses Redis.',
			...(ctx.cluster ? ['"via Redis Cluster": the same two instances on a three-master cluster of local redis-server processes (REDIS_CLUSTER_URLS), SSUBSCRIBE/SPUBLISH, every channel of the workspace in one slot; its three redis-server processes are in "+db/redis".'] : []),
			'servers CPU and peak RSS are summed over the instances.'
		]
	};
}
