/**
 * What one setting costs: Accord with it and without it, in the same run, interleaved
 * (odd rounds reverse the order), under the team load (200 clients over 100 records,
 * 10 edits/s each: latency and CPU at a realistic rate) and a heavy one (the same clients
 * at 40 edits/s each: how many updates per second are stored). The audit log
 * (scenarios/audit.ts) and the data key (scenarios/encryption.ts) are measured this way;
 * each says only which variants it compares, the environment each runs with, and its words.
 */
import { mergeRounds, runLive, type LiveMeasurement } from './live.ts';
import { bytes, ms, num, type ScenarioResult } from './report.ts';
import { SERVER_LABELS, type ServerKind } from './server-process.ts';
import { roundOrder, startTarget, type Context } from './targets.ts';
import type { WorkerPool } from './workers.ts';
import { teamClients } from '../scenarios/team.ts';

export type Load = 'team' | 'heavy';
export const AB_LOADS: Record<Load, { editsPerSecondPerClient: number }> = { team: { editsPerSecondPerClient: 10 }, heavy: { editsPerSecondPerClient: 40 } };

export interface AbSpec<V extends string> {
	scenario: string;
	title: string;
	/** The variant that has the setting first, the one without second: findings say what the first costs over the second. */
	variants: readonly [V, V];
	/** The row field that names the variant in the JSON (`audit`, `key`). */
	field: string;
	/** Accord's environment for a variant. */
	env(variant: V): Record<string, string>;
	/** How a row names its variant ("audit on", "encrypted"). */
	label(variant: V): string;
	/** The first table column's header ("load: server, audit"). */
	column: string;
	/** "audit on costs", "a data key costs". */
	costs: string;
	/** The first note: what the variants are. */
	what: string;
}

export interface AbRow<V extends string> {
	server: ServerKind;
	variant: V;
	load: Load;
	label: string;
	measurement: Omit<LiveMeasurement, 'latencies'>;
}

export async function abScenario<V extends string>(ctx: Context, pool: WorkerPool, spec: AbSpec<V>): Promise<ScenarioResult> {
	const servers = ctx.servers.filter((kind): kind is 'accord' | 'accord-pg' => kind === 'accord' || kind === 'accord-pg');
	const parameters = {
		clients: 200,
		records: 100,
		loads: AB_LOADS,
		notesShare: 0.4,
		warmupMs: ctx.quick ? 1_500 : 5_000,
		durationMs: ctx.quick ? 4_000 : 20_000,
		rounds: ctx.quick ? 1 : 2,
		servers
	};
	const variants = servers.flatMap((server) => spec.variants.map((variant) => ({ server, variant })));
	const measured = new Map<string, LiveMeasurement[]>();
	for (let round = 0; round < parameters.rounds; round++) {
		for (const { server, variant } of roundOrder(variants, round)) {
			ctx.log(`${spec.scenario}: ${SERVER_LABELS[server]}, ${spec.label(variant)} (round ${round + 1}/${parameters.rounds})`);
			const target = await startTarget(ctx, server, { env: spec.env(variant) });
			try {
				const ids = await target.server.seed(parameters.records);
				const clients = teamClients(ids, parameters.clients, pool.workers.length);
				for (const load of ['team', 'heavy'] as Load[]) {
					const m = await runLive(pool, [target], {
						clients,
						writers: 'all',
						ratePerSecond: AB_LOADS[load].editsPerSecondPerClient,
						notesShare: parameters.notesShare,
						warmupMs: parameters.warmupMs,
						durationMs: parameters.durationMs,
						concurrency: 50
					});
					const key = `${server}/${variant}/${load}`;
					measured.set(key, [...(measured.get(key) ?? []), m]);
				}
			} finally {
				await target.stop();
			}
		}
	}

	const rows: AbRow<V>[] = [];
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const { server, variant } of variants) {
			const { latencies: _l, ...measurement } = mergeRounds(measured.get(`${server}/${variant}/${load}`)!);
			rows.push({ server, variant, load, label: `${load} (${AB_LOADS[load].editsPerSecondPerClient}/s each): ${SERVER_LABELS[server]}, ${spec.label(variant)}`, measurement });
		}
	}
	return {
		scenario: spec.scenario,
		title: spec.title,
		mode: ctx.mode,
		parameters,
		// Each row names its variant under the scenario's own field, as the JSON always had it.
		rows: rows.map(({ variant, ...row }) => ({ ...row, [spec.field]: variant })),
		table: {
			headers: [spec.column, 'p50', 'p95', 'p99', 'updates/s sent', 'stored/s', 'delivered', 'server CPU', 'CPU/update', 'peak RSS', 'backlog at end'],
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
		findings: costs(rows, spec),
		notes: [
			spec.what,
			'stored/s: updates committed to the database per second in the window (the group-commit writer\'s count); sent: what the clients managed to send.',
			'CPU/update: server CPU time per update sent (each update is relayed to the record\'s other client).',
			'backlog at end: updates waiting in the group-commit writer when the window closed (growing means storage cannot keep up).'
		]
	};
}

/** What the setting costs, per server and load, in the numbers people ask about. */
function costs<V extends string>(rows: AbRow<V>[], spec: AbSpec<V>): string[] {
	const findings: string[] = [];
	const [withIt, without] = spec.variants;
	for (const load of ['team', 'heavy'] as Load[]) {
		for (const server of new Set(rows.map((r) => r.server))) {
			const on = rows.find((r) => r.server === server && r.load === load && r.variant === withIt)?.measurement;
			const off = rows.find((r) => r.server === server && r.load === load && r.variant === without)?.measurement;
			if (!on || !off) continue;
			const cpu = (m: typeof on) => m.cpuMicros / Math.max(1, m.sent);
			const storedRate = (m: typeof on) => (m.stored ?? NaN) / (m.elapsedMs / 1000);
			findings.push(
				`${load} load, ${SERVER_LABELS[server]}: ${spec.costs} ${signed(cpu(on) - cpu(off), 'µs')} CPU per update ` +
					`(${num(cpu(off), 1)} → ${num(cpu(on), 1)} µs), p50 ${ms(off.latency.p50)} → ${ms(on.latency.p50)}, ` +
					`p99 ${ms(off.latency.p99)} → ${ms(on.latency.p99)}, stored ${num(storedRate(off))} → ${num(storedRate(on))} updates/s.`
			);
		}
	}
	return findings;
}

const signed = (value: number, unit: string): string => `${value >= 0 ? '+' : ''}${num(value, 1)} ${unit}`;
