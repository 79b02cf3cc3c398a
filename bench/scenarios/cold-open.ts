/**
 * Scenario 4, cold open: a new client syncs a whole workspace (local-first: every record
 * it may see), then, after someone else changed 100 records while it was away, it
 * reconnects and catches up (warm re-sync).
 *
 * How each client opens many documents, as each project's own client does it:
 * - Accord: its SyncClient, every document on one /sync socket.
 * - Hocuspocus: one HocuspocusProviderWebsocket, one HocuspocusProvider per document.
 * - y-websocket: one WebsocketProvider (and socket) per document, 100 at a time, each
 *   closed once synced (a browser cannot hold 10,000 sockets).
 */
import path from 'node:path';
import { bytes, ms, num, type ScenarioResult, type Target as Goal } from '../lib/report.ts';
import { cpuMicros, memory } from '../lib/proc.ts';
import { SERVER_LABELS, type ServerKind } from '../lib/server-process.ts';
import { sleep, startTarget, type Context } from '../lib/targets.ts';
import type { WorkerPool } from '../lib/workers.ts';

interface SyncResult {
	ms: number;
	synced: number;
	bytesRead: number;
	bytesWritten: number;
}

export interface ColdOpenRow {
	server: ServerKind;
	label: string;
	description: string;
	records: number;
	seedMs: number;
	cold: SyncResult & { serverCpuMs: number; clientCpuMs: number; serverRssAfter: number; serverRssBefore: number };
	list?: { ms: number; rows: number; total: number; bytes: number };
	warm: SyncResult & { changesSeen: number; serverCpuMs: number; clientCpuMs: number };
}

const CHANGES = 100;

export async function coldOpen(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = { records: ctx.quick ? 1_000 : 10_000, changes: CHANGES, yWebsocketConcurrency: 100 };
	// Quick mode leaves Accord on Postgres out here (its seeding is the slow part), unless asked for.
	const servers = ctx.quick && !ctx.serversChosen ? ctx.servers.filter((s) => s !== 'accord-pg') : ctx.servers;
	const rows: ColdOpenRow[] = [];
	const [reader, writer] = pool.workers;
	for (const kind of servers) {
		ctx.log(`cold open: ${SERVER_LABELS[kind]} (${parameters.records} records)`);
		const target = await startTarget(ctx, kind);
		try {
			const accord = kind === 'accord' || kind === 'accord-pg';
			const seedStarted = performance.now();
			const ids: string[] = [];
			for (let offset = 0; offset < parameters.records; offset += 1_000) ids.push(...(await target.server.seed(Math.min(1_000, parameters.records - offset), offset)));
			const seedMs = performance.now() - seedStarted;
			const dialect = accord ? 'accord-sync' : target.dialect;
			const url = accord ? target.server.info.syncUrl! : target.url;

			const rssBefore = (await target.server.settledRss()).rss;
			let cpu = cpuMicros(target.server.pid);
			let clientCpu = cpuMicros(reader.child.pid!);
			if (ctx.profileDir) await target.server.call({ cmd: 'profileStart' });
			const cold = await reader.call<SyncResult>({ cmd: 'coldOpen', dialect, url, token: target.token, records: ids, concurrency: parameters.yWebsocketConcurrency, timeoutMs: 180_000 });
			if (ctx.profileDir) await target.server.call({ cmd: 'profileStop', file: path.join(ctx.profileDir, `cold-open-${kind}.cpuprofile`) });
			const coldCpu = (cpuMicros(target.server.pid) - cpu) / 1000;
			const coldClientCpu = (cpuMicros(reader.child.pid!) - clientCpu) / 1000;
			const rssAfter = memory(target.server.pid).rss;
			const list = accord ? await reader.call<ColdOpenRow['list']>({ cmd: 'fetchList', url: target.server.info.httpUrl, token: target.token! }) : undefined;

			// Someone else changes 100 records while this client is away.
			const changed: Record<string, string> = {};
			const step = Math.floor(ids.length / CHANGES);
			for (let i = 0; i < CHANGES; i++) changed[ids[i * step]] = `Head of Sales ${i}`;
			const done = await writer.call<number>({ cmd: 'change', dialect: target.dialect, url: target.url, token: target.token, changes: changed, timeoutMs: 30_000 });
			if (done !== CHANGES) ctx.log(`cold open: only ${done} of ${CHANGES} changes were made`);
			// Let every server store the changes (Hocuspocus stores when the last connection leaves).
			await sleep(kind === 'hocuspocus' ? 2_500 : 300);
			cpu = cpuMicros(target.server.pid);
			clientCpu = cpuMicros(reader.child.pid!);
			const warm = await reader.call<ColdOpenRow['warm']>({ cmd: 'warmResync', dialect, url, token: target.token, changed, concurrency: parameters.yWebsocketConcurrency, timeoutMs: 120_000 });
			const warmCpu = (cpuMicros(target.server.pid) - cpu) / 1000;
			const warmClientCpu = (cpuMicros(reader.child.pid!) - clientCpu) / 1000;
			await reader.call({ cmd: 'close' });
			await writer.call({ cmd: 'close' });
			rows.push({
				server: kind,
				label: SERVER_LABELS[kind],
				description: target.server.info.description,
				records: parameters.records,
				seedMs,
				cold: { ...cold, serverCpuMs: coldCpu, clientCpuMs: coldClientCpu, serverRssBefore: rssBefore, serverRssAfter: rssAfter },
				list,
				warm: { ...warm, serverCpuMs: warmCpu, clientCpuMs: warmClientCpu }
			});
		} finally {
			await target.stop();
		}
	}

	const goals: Goal[] = [];
	for (const row of rows.filter((r) => r.server === 'accord' || r.server === 'accord-pg')) {
		const full = row.records >= 10_000;
		const scaled = full ? row.cold.ms : (row.cold.ms * 10_000) / row.records;
		goals.push({
			name: `cold open: ${row.label}, 10,000 records to a usable list ≤ 1.5 s (full local sync)`,
			value: full ? ms(row.cold.ms, 0) : `${ms(row.cold.ms, 0)} for ${num(row.records)} (≈ ${ms(scaled, 0)} for 10,000)`,
			met: full ? row.cold.ms <= 1_500 && row.cold.synced === row.records : scaled <= 1_500 ? null : false,
			note: full ? undefined : 'extrapolated from the quick run'
		});
		if (row.list) goals.push({ name: `cold open: ${row.label}, first list page from the projection (today's list page)`, value: ms(row.list.ms), met: row.list.ms <= 1_500 });
		goals.push({
			name: `warm re-sync: ${row.label}, after ${CHANGES} changes ≤ 150 ms`,
			value: `${ms(row.warm.ms, 0)}${full ? '' : ` (${num(row.records)} records)`}`,
			met: row.warm.ms <= 150 && row.warm.changesSeen === CHANGES
		});
	}
	return {
		scenario: 'cold-open',
		title: `Cold open of ${num(parameters.records)} records, warm re-sync after ${CHANGES} changes`,
		mode: ctx.mode,
		parameters,
		rows: rows as unknown as Record<string, unknown>[],
		table: {
			headers: ['server', 'cold: time', 'cold: bytes', 'cold: server / client CPU', 'server RSS loaded', 'warm: time', 'warm: bytes', 'warm: server / client CPU', 'changes seen', 'first list page'],
			rows: rows.map((r) => [
				r.label,
				`${ms(r.cold.ms, 0)}${r.cold.synced < r.records ? ` (${r.cold.synced} synced)` : ''}`,
				bytes(r.cold.bytesRead + r.cold.bytesWritten),
				`${ms(r.cold.serverCpuMs, 0)} / ${ms(r.cold.clientCpuMs, 0)}`,
				`${bytes(r.cold.serverRssAfter)} (+${bytes(r.cold.serverRssAfter - r.cold.serverRssBefore)})`,
				`${ms(r.warm.ms, 0)}${r.warm.synced < r.records ? ` (${r.warm.synced} synced)` : ''}`,
				bytes(r.warm.bytesRead + r.warm.bytesWritten),
				`${ms(r.warm.serverCpuMs, 0)} / ${ms(r.warm.clientCpuMs, 0)}`,
				`${r.warm.changesSeen}/${CHANGES}`,
				r.list ? `${ms(r.list.ms)} (${bytes(r.list.bytes)})` : 'n/a'
			])
		},
		targets: goals,
		notes: [
			'cold: a new client with empty documents syncs every record; time until every document has its state; bytes both ways through its sockets.',
			'warm: the same client, away while another client changed 100 records, reconnects; time until every document is re-synced and all 100 changes are in.',
			'first list page: GET /api/records?limit=50 (the projection), which is what the record list shows today without a local copy.',
			ctx.quick ? 'quick mode: 1,000 records, Accord on PGlite only; the full run uses 10,000 and both Accord variants.' : ''
		].filter(Boolean)
	};
}
