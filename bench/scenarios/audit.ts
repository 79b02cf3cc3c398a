/**
 * The cost of auditing: Accord with its audit log on (client ids bound, field-level
 * entries computed per transaction and staged in the transaction that stores the
 * update, sealed into the hash chain) against the same build with ACCORD_AUDIT=0, in
 * the same run, interleaved. Two loads: the team load (200 clients over 100 records,
 * 10 edits/s each: latency and CPU at a realistic rate) and a heavy one (the same
 * clients at 40 edits/s each: how many updates per second are stored).
 */
import { mergeRounds, runLive, type LiveMeasurement } from '../lib/live.ts';
import { bytes, ms, num, type ScenarioResult } from '../lib/report.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { roundOrder, startTarget, type Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import { teamClients } from './team.ts';

type Audit = 'on' | 'off';
type Load = 'team' | 'heavy';

interface AuditRow {
	server: ServerKind;
	audit: Audit;
	load: Load;
	label: string;
	measurement: Omit<LiveMeasurement, 'latencies'>;
}

const LOADS: Record<Load, { editsPerSecondPerClient: number }> = { team: { editsPerSecondPerClient: 10 }, heavy: { editsPerSecondPerClient: 40 } };

export async function audit(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const servers = ctx.servers.filter((kind): kind is 'accord' | 'accord-pg' => kind === 'accord' || kind === 'accord-pg');
	const parameters = {
		clients: 200,
		records: 100,
		loads: LOADS,
		notesShare: 0.4,
		warmupMs: ctx.quick ? 1_500 : 5_000,
		durationMs: ctx.quick ? 4_000 : 20_000,
		rounds: ctx.quick ? 1 : 2,
		servers
	};
	const variants = servers.flatMap((server) => (['on', 'off'] as Audit[]).map((audit) => ({ server, audit })));
	const measured = new Map<string, LiveMeasurement[]>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const { server, audit } of roundOrder(variants, round)) {
			ctx.log(`audit: ${SERVER_LABELS[server]}, audit ${audit} (round ${round + 1}/${parameters.rounds})`);
			const target = await startTarget(ctx, server, { env: { ACCORD_AUDIT: audit === 'on' ? '1' : '0' } });
			try {
				const ids = await target.server.seed(parameters.records);
				const clients = teamClients(ids, parameters.clients, pool.workers.length);
				for (const load of ['team', 'heavy'] as Load[]) {
					const m = await runLive(pool, [target], {
						clients,
						writers: 'all',
						ratePerSecond: LOADS[load].editsPerSecondPerClient,
						notesShare: parameters.notesShare,
						warmupMs: parameters.warmupMs,
						durationMs: parameters.durationMs,
						concurrency: 50
					});
					const key = `${server}/${audit}/${load}`;
					measured.set(key, [...(measured.get(key) ?? []), m]);
				}
			} finally {
				await target.stop();
			}
		}
	}

	const rows: AuditRow[] = [];
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const { server, audit } of variants) {
			const { latencies: _l, ...measurement } = mergeRounds(measured.get(`${server}/${audit}/${load}`)!);
			rows.push({ server, audit, load, label: `${load} (${LOADS[load].editsPerSecondPerClient}/s each): ${SERVER_LABELS[server]}, audit ${audit}`, measurement });
		}
	}
	return {
		scenario: 'audit',
		title: 'The cost of auditing: audit log on vs off (ACCORD_AUDIT=0), same run',
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table: {
			headers: ['load: server, audit', 'p50', 'p95', 'p99', 'updates/s sent', 'stored/s', 'delivered', 'server CPU', 'CPU/update', 'peak RSS', 'backlog at end'],
			rows: rows.map(({ label, measurement: m }) => {
				const seconds = m.elapsedMs / 1000;
				return [
					label,
					ms(m.latency.p50),
					ms(m.latency.p95),
					ms(m.latency.p99),
					num(m.sent / seconds),
					m.stored === undefined ? '–' : num(m.stored / seconds),
					`${num((m.received / Math.max(1, m.sent)) * 100, 1)}%`,
					`${num(m.cpuMicros / 1000 / seconds / 10, 0)}% core`,
					`${num(m.cpuMicros / Math.max(1, m.sent), 1)} µs`,
					bytes(m.peakRss),
					m.writerBacklog === undefined ? '–' : num(m.writerBacklog)
				];
			})
		},
		targets: [],
		findings: costs(rows),
		notes: [
			'Both variants run the same build with sign-in and persistence on; "audit off" is ACCORD_AUDIT=0: no client-id bindings, no entries computed, staged or sealed.',
			'stored/s: updates committed to the database per second in the window (the group-commit writer\'s count); sent: what the clients managed to send.',
			'CPU/update: server CPU time per update sent (each update is relayed to the record\'s other client).',
			'backlog at end: updates waiting in the group-commit writer when the window closed (growing means storage cannot keep up).'
		]
	};
}

/** What turning the log on costs, per server and load, in the numbers people ask about. */
function costs(rows: AuditRow[]): string[] {
	const findings: string[] = [];
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const server of new Set(rows.map((r) => r.server))) {
			const on = rows.find((r) => r.server === server && r.load === load && r.audit === 'on')?.measurement;
			const off = rows.find((r) => r.server === server && r.load === load && r.audit === 'off')?.measurement;
			if (!on || !off) continue;
			const cpu = (m: typeof on) => m.cpuMicros / Math.max(1, m.sent);
			const storedRate = (m: typeof on) => (m.stored ?? NaN) / (m.elapsedMs / 1000);
			findings.push(
				`${load} load, ${SERVER_LABELS[server]}: audit on costs ${signed(cpu(on) - cpu(off), 'µs')} CPU per update ` +
					`(${num(cpu(off), 1)} → ${num(cpu(on), 1)} µs), p50 ${ms(off.latency.p50)} → ${ms(on.latency.p50)}, ` +
					`p99 ${ms(off.latency.p99)} → ${ms(on.latency.p99)}, stored ${num(storedRate(off))} → ${num(storedRate(on))} updates/s.`
			);
		}
	}
	return findings;
}

const signed = (value: number, unit: string): string => `${value >= 0 ? '+' : ''}${num(value, 1)} ${unit}`;
