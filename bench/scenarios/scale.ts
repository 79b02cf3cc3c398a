/**
 * Scenario 3, scale: idle connections in one server process. First one connection per
 * record loads the records (in steps); then more idle connections join those records
 * (in steps). After each step the server runs a full GC and its RSS is read; per
 * record and per connection are the slopes of RSS over those steps (least squares), so
 * one noisy reading does not decide the result. The JS heap (plus off-heap buffers) is
 * fitted the same way; the target is judged on the larger of the two slopes.
 * Accord's connections are authenticated (an API token each); the peers' are not.
 */
import { bytes, num, type ScenarioResult, type Target as Goal } from '../lib/report.ts';
import { cpuMicros } from '../lib/proc.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { sleep, startTarget, type Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';
import type { ClientSpec, Dialect } from '../workers/clients.ts';

const BUDGET = 2 * 1024 ** 3;

interface Point {
	/** Records loaded or connections open at this step. */
	x: number;
	rss: number;
	js: number;
	/** Connections per second while this step connected. */
	rate: number;
}

export interface ScaleRow {
	server: ServerKind;
	label: string;
	description: string;
	records: number;
	connections: number;
	failed: number;
	setupPerSecond: number;
	/** Set-up rate of the first and the last step of joining connections. */
	setupFirstStep: number;
	setupLastStep: number;
	rss: { empty: number; records: number; connections: number };
	recordSteps: Point[];
	connectionSteps: Point[];
	perRecord: number;
	perConnection: number;
	perConnectionJs: number;
	perRecordJs: number;
	projectedIn2GB: number;
	idleCpuPercent: number;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
	const n = points.length;
	const mx = points.reduce((a, p) => a + p.x, 0) / n;
	const my = points.reduce((a, p) => a + p.y, 0) / n;
	const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
	const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
	return sxx === 0 ? NaN : sxy / sxx;
}

export async function scale(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = {
		records: ctx.quick ? 200 : 1_000,
		connections: ctx.quick ? 2_000 : 12_000,
		recordSteps: 4,
		connectionSteps: ctx.quick ? 4 : 6,
		connectConcurrencyPerWorker: 100,
		idleWindowMs: ctx.quick ? 3_000 : 10_000
	};
	// Quick mode leaves Accord on Postgres out here (its seeding is the slow part), unless asked for.
	const servers = ctx.quick && !ctx.serversChosen ? ctx.servers.filter((s) => s !== 'accord-pg') : ctx.servers;
	const rows: ScaleRow[] = [];
	for (const kind of servers) {
		ctx.log(`scale: ${SERVER_LABELS[kind]} (${num(parameters.connections)} connections over ${num(parameters.records)} records)`);
		const target = await startTarget(ctx, kind);
		try {
			const empty = await target.server.settledRss();
			const ids: string[] = [];
			for (let offset = 0; offset < parameters.records; offset += 1_000) ids.push(...(await target.server.seed(Math.min(1_000, parameters.records - offset), offset)));
			const dialect: Dialect = target.dialect === 'hocus' ? 'hocus' : 'raw-y';
			const connect = async (specs: ClientSpec[]) => {
				const started = performance.now();
				const results = await pool.all<{ connected: number; failed: number }>((_, w) => ({
					cmd: 'connect',
					dialect,
					url: target.url,
					token: target.token,
					clients: specs.filter((_, i) => i % pool.workers.length === w),
					concurrency: parameters.connectConcurrencyPerWorker,
					presence: false,
					timeoutMs: 60_000
				}));
				const ms = performance.now() - started;
				const connected = results.reduce((a, r) => a + r.connected, 0);
				return { ms, connected, failed: results.reduce((a, r) => a + r.failed, 0), rate: (connected / ms) * 1000 };
			};
			// y-websocket has no storage: seeding put every document in its memory already,
			// so its records are "loaded" from the start and its step 0 is the empty process.
			const seeded = await target.server.settledRss();
			const recordSteps: Point[] = [kind === 'y-websocket' ? { x: 0, rss: empty.rss, js: empty.js, rate: NaN } : { x: 0, rss: seeded.rss, js: seeded.js, rate: NaN }];
			let failed = 0;
			let connected = 0;
			const perRecordStep = Math.ceil(parameters.records / parameters.recordSteps);
			for (let start = 0; start < parameters.records; start += perRecordStep) {
				const batch = ids.slice(start, start + perRecordStep).map((record, i) => ({ key: `r${start + i}`, record }));
				const result = await connect(batch);
				failed += result.failed;
				connected += result.connected;
				const settled = await target.server.settledRss();
				recordSteps.push({ x: start + batch.length, rss: settled.rss, js: settled.js, rate: result.rate });
			}
			const joining = parameters.connections - parameters.records;
			const perStep = Math.ceil(joining / parameters.connectionSteps);
			const last = recordSteps[recordSteps.length - 1];
			const connectionSteps: Point[] = [{ x: connected, rss: last.rss, js: last.js, rate: NaN }];
			let joinedMs = 0;
			let joined = 0;
			for (let start = 0; start < joining; start += perStep) {
				const batch = Array.from({ length: Math.min(perStep, joining - start) }, (_, i) => ({ key: `i${start + i}`, record: ids[(start + i) % ids.length] }));
				const result = await connect(batch);
				failed += result.failed;
				connected += result.connected;
				joined += result.connected;
				joinedMs += result.ms;
				const settled = await target.server.settledRss();
				connectionSteps.push({ x: connected, rss: settled.rss, js: settled.js, rate: result.rate });
			}
			// Idle: what holding the connections costs (pings, timers).
			const cpuBefore = cpuMicros(target.server.pid);
			await sleep(parameters.idleWindowMs);
			const idleCpu = cpuMicros(target.server.pid) - cpuBefore;
			await pool.all({ cmd: 'close' });

			const perConnection = slope(connectionSteps.map((p) => ({ x: p.x, y: p.rss })));
			const perConnectionJs = slope(connectionSteps.map((p) => ({ x: p.x, y: p.js })));
			const perRecord = slope(recordSteps.map((p) => ({ x: p.x, y: p.rss }))) - perConnection;
			const perRecordJs = slope(recordSteps.map((p) => ({ x: p.x, y: p.js }))) - perConnectionJs;
			const perConnectionJudged = Math.max(perConnection, perConnectionJs);
			const base = recordSteps[0].rss;
			const headroom = BUDGET - base - parameters.records * Math.max(0, perRecord, perRecordJs);
			rows.push({
				server: kind,
				label: SERVER_LABELS[kind],
				description: target.server.info.description,
				records: parameters.records,
				connections: connected,
				failed,
				setupPerSecond: (joined / joinedMs) * 1000,
				setupFirstStep: connectionSteps[1]?.rate ?? NaN,
				setupLastStep: connectionSteps[connectionSteps.length - 1]?.rate ?? NaN,
				rss: { empty: empty.rss, records: last.rss, connections: connectionSteps[connectionSteps.length - 1].rss },
				recordSteps,
				connectionSteps,
				perRecord,
				perConnection,
				perConnectionJs,
				perRecordJs,
				projectedIn2GB: perConnectionJudged > 0 ? Math.floor(headroom / perConnectionJudged) : Infinity,
				idleCpuPercent: idleCpu / 1000 / (parameters.idleWindowMs / 1000) / 10
			});
		} finally {
			await target.stop();
		}
	}

	const goals: Goal[] = [];
	for (const row of rows.filter((r) => r.server === 'accord' || r.server === 'accord-pg')) {
		const measuredEnough = row.connections >= 10_000;
		goals.push({
			name: `scale: ${row.label} ≥ 10,000 idle authenticated connections in one process`,
			value: `${num(row.connections)} held${row.failed ? `, ${num(row.failed)} failed` : ''} at ${bytes(row.rss.connections)} RSS; ≈ ${num(row.projectedIn2GB)} in 2 GB`,
			met: measuredEnough ? row.failed === 0 && row.rss.connections <= BUDGET : row.projectedIn2GB >= 10_000 ? null : false,
			note: measuredEnough ? undefined : 'quick run: projected only'
		});
		const judged = Math.max(row.perConnection, row.perConnectionJs);
		goals.push({
			name: `scale: ${row.label} ≤ 16 KB RSS per idle connection`,
			value: `${bytes(row.perConnection)} RSS slope, ${bytes(row.perConnectionJs)} JS heap slope`,
			met: judged <= 16 * 1024
		});
	}
	return {
		scenario: 'scale',
		title: `Scale: ${num(parameters.connections)} idle connections over ${num(parameters.records)} records`,
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table: {
			headers: ['server', 'connections held', 'set-up/s (first → last step)', 'RSS empty', 'RSS records loaded', 'RSS all connected', 'per record (RSS / JS)', 'per connection (RSS / JS)', 'connections in 2 GB', 'idle CPU'],
			rows: rows.map((r) => [
				r.label,
				`${num(r.connections)}${r.failed ? ` (${num(r.failed)} failed)` : ''}`,
				`${num(r.setupPerSecond)} (${num(r.setupFirstStep)} → ${num(r.setupLastStep)})`,
				bytes(r.rss.empty),
				bytes(r.rss.records),
				bytes(r.rss.connections),
				`${bytes(r.perRecord)} / ${bytes(r.perRecordJs)}`,
				`${bytes(r.perConnection)} / ${bytes(r.perConnectionJs)}`,
				num(r.projectedIn2GB),
				`${num(r.idleCpuPercent, 1)}%`
			])
		},
		targets: goals,
		notes: [
			`memory: after a forced full GC in the server at each of ${parameters.recordSteps} record steps and ${parameters.connectionSteps} connection steps; per record and per connection are least-squares slopes (RSS, and JS heap + off-heap buffers); per record excludes its one connection.`,
			'connections in 2 GB: (2 GB − RSS with the records stored but not loaded − records × per record) / per connection, with the larger of the RSS and JS slopes.',
			'set-up/s: idle connections joining loaded records, 100 at a time per client process; first → last step shows whether set-up slows as connections accumulate.',
			'clients: a bare y-websocket handshake per connection (no provider) for Accord and y-websocket; Hocuspocus\'s own provider, one socket each.',
			ctx.quick ? 'quick mode: 2,000 connections, Accord on PGlite only; the full run holds 12,000 and runs both Accord variants.' : ''
		].filter(Boolean)
	};
}
