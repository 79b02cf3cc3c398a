/**
 * The cost of encryption at rest: Accord with a data key (every stored update, snapshot
 * and audit value sealed with AES-256-GCM, server/crypto/data-key.ts) against the same
 * build without one, in the same run, interleaved. The team load (200 clients over 100
 * records, 10 edits/s each) and a heavy one (40 edits/s each); the number asked for is
 * the server's CPU per update with and without a key. Audit stays on in both.
 */
import { formatDataKey, newDataKey } from '../../server/crypto/data-key.ts';
import { mergeRounds, runLive, type LiveMeasurement } from '../lib/live.ts';
import { bytes, ms, num, type ScenarioResult } from '../lib/report.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { roundOrder, startTarget, type Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import { teamClients } from './team.ts';

type Key = 'key' | 'none';
type Load = 'team' | 'heavy';

interface EncryptionRow {
	server: ServerKind;
	key: Key;
	load: Load;
	label: string;
	measurement: Omit<LiveMeasurement, 'latencies'>;
}

const LOADS: Record<Load, { editsPerSecondPerClient: number }> = { team: { editsPerSecondPerClient: 10 }, heavy: { editsPerSecondPerClient: 40 } };

export async function encryption(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const dataKey = formatDataKey(newDataKey());
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
	const variants = servers.flatMap((server) => (['key', 'none'] as Key[]).map((key) => ({ server, key })));
	const measured = new Map<string, LiveMeasurement[]>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const { server, key } of roundOrder(variants, round)) {
			ctx.log(`encryption: ${SERVER_LABELS[server]}, ${key === 'key' ? 'with a data key' : 'no data key'} (round ${round + 1}/${parameters.rounds})`);
			// An empty ACCORD_DATA_KEY is no key (whatever the bench's own environment holds).
			const target = await startTarget(ctx, server, { env: { ACCORD_DATA_KEY: key === 'key' ? dataKey : '', ACCORD_DATA_KEY_FILE: '' } });
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
					const name = `${server}/${key}/${load}`;
					measured.set(name, [...(measured.get(name) ?? []), m]);
				}
			} finally {
				await target.stop();
			}
		}
	}

	const rows: EncryptionRow[] = [];
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const { server, key } of variants) {
			const { latencies: _l, ...measurement } = mergeRounds(measured.get(`${server}/${key}/${load}`)!);
			rows.push({ server, key, load, label: `${load} (${LOADS[load].editsPerSecondPerClient}/s each): ${SERVER_LABELS[server]}, ${key === 'key' ? 'encrypted' : 'no key'}`, measurement });
		}
	}
	return {
		scenario: 'encryption',
		title: 'The cost of encryption at rest: a data key vs none (ACCORD_DATA_KEY), same run',
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table: {
			headers: ['load: server, data key', 'p50', 'p95', 'p99', 'updates/s sent', 'stored/s', 'delivered', 'server CPU', 'CPU/update', 'peak RSS', 'backlog at end'],
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
			'Both variants run the same build with sign-in, persistence and the audit log on; "encrypted" sets ACCORD_DATA_KEY: every update, snapshot and audit value stored is sealed (AES-256-GCM) and opened when read.',
			'stored/s: updates committed to the database per second in the window (the group-commit writer\'s count); sent: what the clients managed to send.',
			'CPU/update: server CPU time per update sent (each update is relayed to the record\'s other client).',
			'backlog at end: updates waiting in the group-commit writer when the window closed (growing means storage cannot keep up).'
		]
	};
}

/** What a data key costs, per server and load, in the numbers people ask about. */
function costs(rows: EncryptionRow[]): string[] {
	const findings: string[] = [];
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const server of new Set(rows.map((r) => r.server))) {
			const on = rows.find((r) => r.server === server && r.load === load && r.key === 'key')?.measurement;
			const off = rows.find((r) => r.server === server && r.load === load && r.key === 'none')?.measurement;
			if (!on || !off) continue;
			const cpu = (m: typeof on) => m.cpuMicros / Math.max(1, m.sent);
			const storedRate = (m: typeof on) => (m.stored ?? NaN) / (m.elapsedMs / 1000);
			findings.push(
				`${load} load, ${SERVER_LABELS[server]}: a data key costs ${signed(cpu(on) - cpu(off), 'µs')} CPU per update ` +
					`(${num(cpu(off), 1)} → ${num(cpu(on), 1)} µs), p50 ${ms(off.latency.p50)} → ${ms(on.latency.p50)}, ` +
					`p99 ${ms(off.latency.p99)} → ${ms(on.latency.p99)}, stored ${num(storedRate(off))} → ${num(storedRate(on))} updates/s.`
			);
		}
	}
	return findings;
}

const signed = (value: number, unit: string): string => `${value >= 0 ? '+' : ''}${num(value, 1)} ${unit}`;
