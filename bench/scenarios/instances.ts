/**
 * Scenario 5, two instances through Redis versus one: the team workload where the two
 * people on a record are connected to different Accord instances (sharing Postgres,
 * updates crossing Redis), against both on one instance (same Postgres and Redis bus).
 */
import { mergeRounds, runLive, type LiveClient, type LiveMeasurement } from '../lib/live.ts';
import { ms, type ScenarioResult } from '../lib/report.ts';
import { roundOrder, startTarget, type Context, type Target } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import { backlogNotes, liveTable, type TeamRow } from './team.ts';

type Layout = 'one' | 'two';

export async function instances(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = {
		clients: ctx.quick ? 100 : 200,
		records: ctx.quick ? 50 : 100,
		editsPerSecondPerClient: 10,
		notesShare: 0.4,
		warmupMs: ctx.quick ? 2_000 : 5_000,
		durationMs: ctx.quick ? 6_000 : 20_000,
		rounds: ctx.quick ? 1 : 2
	};
	const measured = new Map<Layout, LiveMeasurement[]>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const layout of roundOrder<Layout>(['one', 'two'], round)) {
			ctx.log(`two instances: ${layout === 'one' ? 'one instance' : 'two instances through Redis'} (round ${round + 1}/${parameters.rounds})`);
			const first = await startTarget(ctx, 'accord-pg');
			const targets: Target[] = [first];
			try {
				if (layout === 'two') targets.push(await startTarget(ctx, 'accord-pg', { databaseUrl: first.databaseUrl }));
				const ids = await first.server.seed(parameters.records);
				const perWorker = parameters.clients / pool.workers.length;
				const clients: LiveClient[] = Array.from({ length: parameters.clients }, (_, i) => ({
					key: `c${i}`,
					record: ids[i % parameters.records],
					worker: Math.floor(i / perWorker),
					// The two people on a record: one on each instance.
					instance: layout === 'two' ? Math.floor(i / parameters.records) % 2 : 0
				}));
				const m = await runLive(pool, targets, {
					clients,
					writers: 'all',
					ratePerSecond: parameters.editsPerSecondPerClient,
					notesShare: parameters.notesShare,
					warmupMs: parameters.warmupMs,
					durationMs: parameters.durationMs,
					concurrency: 50
				});
				measured.set(layout, [...(measured.get(layout) ?? []), m]);
			} finally {
				// The second instance first: the first one's stop drops the shared database.
				for (const target of targets.reverse()) await target.stop();
			}
		}
	}
	const rows: TeamRow[] = (['one', 'two'] as Layout[]).map((layout) => {
		const { latencies: _l, ...measurement } = mergeRounds(measured.get(layout)!);
		return {
			server: 'accord-pg',
			label: layout === 'one' ? 'Accord, one instance' : 'Accord, two instances via Redis',
			description: 'Accord (Postgres + Redis), API-token auth, every update stored',
			measurement
		};
	});
	const [one, two] = rows.map((r) => r.measurement);
	const added = two.latency.p50 - one.latency.p50;
	const table = liveTable(rows, parameters.clients / parameters.records - 1);
	table.headers[table.headers.indexOf('server CPU')] = 'servers CPU';
	return {
		scenario: 'instances',
		title: `Two instances through Redis vs one: ${parameters.clients} clients, ${parameters.records} records, 10 edits/s each`,
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table,
		targets: [{ name: 'two instances: crossing Redis adds ≤ 2 ms at p50', value: `${added >= 0 ? '+' : ''}${ms(added, 2)} (${ms(one.latency.p50, 2)} → ${ms(two.latency.p50, 2)})`, met: added <= 2 }],
		notes: [...backlogNotes(rows), 'Both layouts use the same Postgres and the Redis bus; in "two", each record\'s two clients sit on different instances, so every update crosses Redis.', 'servers CPU and peak RSS are summed over the instances.']
	};
}
