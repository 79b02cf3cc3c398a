/**
 * Scenario 1, fan-out: one writer and 200 watchers on one record (a manager's pipeline
 * review on the big screen, everyone watching). The cost that matters is the server's
 * CPU per update per watcher.
 */
import path from 'node:path';
import { mergeRounds, runLive, type LiveClient, type LiveMeasurement } from '../lib/live.ts';
import { ms, num, type ScenarioResult, type Target as Goal } from '../lib/report.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { roundOrder, startTarget, type Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import { backlogNotes, liveTable, type TeamRow } from './team.ts';

export async function fanout(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = {
		watchers: 200,
		writerEditsPerSecond: ctx.quick ? 20 : 40,
		notesShare: 0.4,
		warmupMs: 2_000,
		durationMs: ctx.quick ? 5_000 : 20_000,
		rounds: ctx.quick ? 1 : 2
	};
	const measured = new Map<ServerKind, LiveMeasurement[]>();
	const descriptions = new Map<ServerKind, string>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const kind of roundOrder(ctx.servers, round)) {
			ctx.log(`fan-out: ${SERVER_LABELS[kind]} (round ${round + 1}/${parameters.rounds})`);
			const target = await startTarget(ctx, kind);
			try {
				descriptions.set(kind, target.server.info.description);
				const [record] = await target.server.seed(1);
				const clients: LiveClient[] = [
					{ key: 'writer', record, worker: 0 },
					...Array.from({ length: parameters.watchers }, (_, i) => ({ key: `w${i}`, record, worker: i % pool.workers.length }))
				];
				const m = await runLive(pool, [target], {
					clients,
					writers: ['writer'],
					ratePerSecond: parameters.writerEditsPerSecond,
					notesShare: parameters.notesShare,
					warmupMs: parameters.warmupMs,
					durationMs: parameters.durationMs,
					concurrency: 50,
					profile: ctx.profileDir && round === 0 ? path.join(ctx.profileDir, `fanout-${kind}.cpuprofile`) : null
				});
				measured.set(kind, [...(measured.get(kind) ?? []), m]);
			} finally {
				await target.stop();
			}
		}
	}
	const rows: TeamRow[] = ctx.servers.map((kind) => {
		const { latencies: _l, ...measurement } = mergeRounds(measured.get(kind)!);
		return { server: kind, label: SERVER_LABELS[kind], description: descriptions.get(kind)!, measurement };
	});
	const table = liveTable(rows, parameters.watchers);
	table.headers[table.headers.indexOf('CPU/update')] = 'CPU/update/watcher';
	const goals: Goal[] = rows
		.filter((r) => r.server === 'accord' || r.server === 'accord-pg')
		.map((row) => {
			const perWatcher = row.measurement.cpuMicros / Math.max(1, row.measurement.received);
			return { name: `fan-out: ${row.label} server CPU per update per watcher ≤ 10 µs`, value: `${num(perWatcher, 1)} µs`, met: perWatcher <= 10 };
		});
	const reference = rows.find((r) => r.server === 'y-websocket');
	return {
		scenario: 'fanout',
		title: `Fan-out: 1 writer (${parameters.writerEditsPerSecond} edits/s), ${parameters.watchers} watchers on one record`,
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table,
		targets: goals,
		findings: backlogNotes(rows),
		notes: [
			'CPU/update/watcher: server CPU time in the window divided by updates delivered (edits × watchers).',
			reference ? `reference p50 ${ms(reference.measurement.latency.p50)}.` : 'reference not run.'
		]
	};
}
