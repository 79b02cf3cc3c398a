/**
 * Scenario 2, team: 200 clients over 100 records (two people per record, in different
 * client processes), each editing fields and typing notes at 10 edits/s and showing
 * presence. Accord with sign-in and every update stored; the peers as they ship.
 */
import path from 'node:path';
import { mergeRounds, runLive, type LiveClient, type LiveMeasurement } from '../lib/live.ts';
import { bytes, ms, num, type ScenarioResult, type Target as Goal } from '../lib/report.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { roundOrder, startTarget, type Context } from '../lib/targets.ts';
import { WorkerPool } from '../lib/workers.ts';

export interface TeamRow {
	server: ServerKind;
	label: string;
	description: string;
	audit?: boolean;
	measurement: Omit<LiveMeasurement, 'latencies'>;
}

export async function team(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = {
		clients: 200,
		records: 100,
		editsPerSecondPerClient: 10,
		notesShare: 0.4,
		warmupMs: ctx.quick ? 2_000 : 5_000,
		durationMs: ctx.quick ? 6_000 : 30_000,
		rounds: ctx.quick ? 1 : 2,
		clientProcesses: pool.workers.length
	};
	const measured = new Map<ServerKind, LiveMeasurement[]>();
	const descriptions = new Map<ServerKind, string>();
	let audit: boolean | undefined;
	for (let round = 0; round < parameters.rounds; round++) {
		for (const kind of roundOrder(ctx.servers, round)) {
			ctx.log(`team: ${SERVER_LABELS[kind]} (round ${round + 1}/${parameters.rounds})`);
			const target = await startTarget(ctx, kind);
			try {
				descriptions.set(kind, target.server.info.description);
				if (target.server.info.audit !== undefined) audit = target.server.info.audit;
				const ids = await target.server.seed(parameters.records);
				const clients = teamClients(ids, parameters.clients, pool.workers.length);
				const m = await runLive(pool, [target], {
					clients,
					writers: 'all',
					ratePerSecond: parameters.editsPerSecondPerClient,
					notesShare: parameters.notesShare,
					warmupMs: parameters.warmupMs,
					durationMs: parameters.durationMs,
					concurrency: 50,
					profile: ctx.profileDir && round === 0 ? path.join(ctx.profileDir, `team-${kind}.cpuprofile`) : null
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
	return {
		scenario: 'team',
		title: 'Team: 200 clients, 100 records, 10 edits/s each',
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table: liveTable(rows, (parameters.clients / parameters.records) - 1),
		targets: teamTargets(rows, audit),
		findings: backlogNotes(rows),
		notes: [
			'latency: send on one client → applied on the other client of the record (CLOCK_MONOTONIC, shared by all processes).',
			'server CPU: user+system time of the server process in the measured window (/proc), per second of wall time and per delivered update.',
			'clients / other CPU: the load generator\'s processes, and everything else on the machine (% of one core) in the window; the machine has 2 cores.',
			'wire: bytes through the clients\' socket syscalls (WebSocket frames incl. headers, presence and acknowledgements) per edit sent.',
			audit
				? 'Accord runs with API-token auth on every socket, persists every update (group commit) and writes its audit log.'
				: 'Accord runs with API-token auth on every socket and persists every update (group commit); its audit log was off (ACCORD_AUDIT=0), so "audit on" is not measured.'
		]
	};
}

/** Clients spread over the records: client i and i + records share a record and sit in different worker processes. */
export function teamClients(records: readonly string[], count: number, workers: number): LiveClient[] {
	const perWorker = count / workers;
	return Array.from({ length: count }, (_, i) => ({ key: `c${i}`, record: records[i % records.length], worker: Math.floor(i / perWorker) }));
}

export function liveTable(rows: TeamRow[], watchersPerUpdate: number): { headers: string[]; rows: string[][] } {
	return {
		headers: ['server', 'p50', 'p95', 'p99', 'max', 'updates/s sent', 'delivered', 'conn set-up/s', 'server CPU', 'CPU/update', 'peak RSS', 'wire/edit', 'clients / other CPU'],
		rows: rows.map(({ server, label, measurement: m }) => {
			const seconds = m.elapsedMs / 1000;
			const expected = m.sent * watchersPerUpdate;
			const service = m.serviceCpuMicros > 0 && server === 'accord-pg' ? ` (+${num(m.serviceCpuMicros / 1000 / seconds / 10, 0)}% db/redis)` : '';
			return [
				label,
				ms(m.latency.p50),
				ms(m.latency.p95),
				ms(m.latency.p99),
				ms(m.latency.max),
				num(m.sent / seconds),
				`${num((m.received / Math.max(1, expected)) * 100, 1)}%`,
				num(m.setupPerSecond),
				`${num(m.cpuMicros / 1000 / seconds / 10, 0)}% core${service}`,
				`${num(m.cpuMicros / Math.max(1, m.received), 1)} µs`,
				bytes(m.peakRss),
				bytes(m.bytes / Math.max(1, m.sent)),
				`${num(m.clientCpuMicros / 1000 / seconds / 10, 0)}% / ${num(m.otherCpuMicros / 1000 / seconds / 10, 0)}%`
			];
		})
	};
}

/** How far Accord's group-commit writer was behind when the window closed. */
export function backlogNotes(rows: TeamRow[]): string[] {
	return rows
		.filter((r) => r.measurement.writerBacklog !== undefined)
		.map((r) => `${r.label}: ${num(r.measurement.writerBacklog!)} updates waiting in the group-commit writer when the window closed.`);
}

function teamTargets(rows: TeamRow[], audit: boolean | undefined): Goal[] {
	const reference = rows.find((r) => r.server === 'y-websocket');
	const goals: Goal[] = [];
	for (const row of rows.filter((r) => r.server === 'accord' || r.server === 'accord-pg')) {
		const m = row.measurement;
		const name = row.label;
		const conditions = audit ? ' (auth, persistence, audit on)' : ' (auth, persistence on)';
		if (reference) {
			const ref = reference.measurement;
			goals.push({
				name: `team: ${name}${conditions} p99 ≤ reference p99`,
				value: `${ms(m.latency.p99)} vs ${ms(ref.latency.p99)}`,
				met: m.latency.p99 <= ref.latency.p99
			});
			const ratio = m.cpuMicros / ref.cpuMicros;
			goals.push({ name: `team: ${name} server CPU ≤ 1.2× reference`, value: `${ratio.toFixed(2)}×`, met: ratio <= 1.2 });
		} else {
			goals.push({ name: `team: ${name} p99 ≤ reference p99`, value: 'reference not run', met: null });
		}
		goals.push({ name: `team: ${name} p50 ≤ 5 ms`, value: ms(m.latency.p50), met: m.latency.p50 <= 5 });
	}
	if (!audit) goals.push({ name: 'team: with auth, persistence and audit on', value: 'auth + persistence on; audit log off', met: null });
	return goals;
}
