/**
 * Scenario 4, cold open: a new client syncs a whole workspace (local-first: every record
 * it may see), then, after someone else changed 100 records while it was away, it
 * reconnects and catches up (warm re-sync).
 *
 * How each client opens many documents, as each project's own client does it:
 * - Accord, as the browser does it: WorkspaceSync over SyncClient (one /sync socket), a
 *   catch-up from the workspace position, records synced a few at a time into the local
 *   store, list rows computed from them, while its list shows the server's projection
 *   (GET /api/records, as the records page does). This is the path the targets are judged on.
 * - Accord, every record open at once on the SyncClient (the /sync endpoint's own speed).
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
import type { ColdDialect } from '../workers/clients.ts';

interface SyncResult {
	ms: number;
	synced: number;
	bytesRead: number;
	bytesWritten: number;
}

export interface ColdOpenRow {
	server: ServerKind;
	/** How the client opened the workspace. */
	client: ColdDialect;
	label: string;
	description: string;
	records: number;
	seedMs: number;
	cold: SyncResult & { listMs?: number; serverCpuMs: number; clientCpuMs: number; serverRssAfter: number; serverRssBefore: number };
	list?: { ms: number; rows: number; total: number; bytes: number };
	warm: SyncResult & { changesSeen: number; answered?: number; serverCpuMs: number; clientCpuMs: number };
}

const CHANGES = 100;

export async function coldOpen(ctx: Context, pool: WorkerPool): Promise<ScenarioResult> {
	const parameters = { records: ctx.quick ? 1_000 : 10_000, changes: CHANGES, yWebsocketConcurrency: 100 };
	// Quick mode leaves Accord on Postgres out here (its seeding is the slow part), unless asked for.
	const servers = ctx.quick && !ctx.serversChosen ? ctx.servers.filter((s) => s !== 'accord-pg') : ctx.servers;
	const rows: ColdOpenRow[] = [];
	const [reader, writer] = pool.workers;
	type Variant = { kind: ServerKind; dialect: ColdDialect | null };
	const variants: Variant[] = servers.flatMap((kind): Variant[] =>
		kind === 'accord' || kind === 'accord-pg' ? [{ kind, dialect: 'accord-workspace' }, { kind, dialect: 'accord-sync' }] : [{ kind, dialect: null }]
	);
	for (const { kind, dialect: variant } of variants) {
		const label = variant === 'accord-workspace' ? `${SERVER_LABELS[kind]}, WorkspaceSync` : variant === 'accord-sync' ? `${SERVER_LABELS[kind]}, all open` : SERVER_LABELS[kind];
		ctx.log(`cold open: ${label} (${parameters.records} records)`);
		// A fresh server for each variant: nothing loaded by the one before.
		const target = await startTarget(ctx, kind);
		try {
			const accord = variant !== null;
			const seedStarted = performance.now();
			const ids: string[] = [];
			for (let offset = 0; offset < parameters.records; offset += 1_000) ids.push(...(await target.server.seed(Math.min(1_000, parameters.records - offset), offset)));
			const seedMs = performance.now() - seedStarted;
			const dialect: ColdDialect = variant ?? target.dialect;
			const url = accord ? target.server.info.syncUrl! : target.url;

			const rssBefore = (await target.server.settledRss()).rss;
			let cpu = cpuMicros(target.server.pid);
			let clientCpu = cpuMicros(reader.child.pid!);
			if (ctx.profileDir) await target.server.call({ cmd: 'profileStart' });
			const coldOpen = reader.call<SyncResult>({ cmd: 'coldOpen', dialect, url, token: target.token, records: ids, concurrency: parameters.yWebsocketConcurrency, timeoutMs: 180_000 });
			// The list page a new client shows, asked for while its documents stream in (from the other worker process).
			const list =
				variant === 'accord-workspace'
					? await sleep(50).then(() => writer.call<ColdOpenRow['list']>({ cmd: 'fetchList', url: target.server.info.httpUrl, token: target.token! }))
					: undefined;
			const cold = await coldOpen;
			if (ctx.profileDir) await target.server.call({ cmd: 'profileStop', file: path.join(ctx.profileDir, `cold-open-${kind}.cpuprofile`) });
			const coldCpu = (cpuMicros(target.server.pid) - cpu) / 1000;
			const coldClientCpu = (cpuMicros(reader.child.pid!) - clientCpu) / 1000;
			const rssAfter = memory(target.server.pid).rss;

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
				client: dialect,
				label,
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
	const findings: string[] = [];
	for (const row of rows.filter((r) => r.client === 'accord-workspace')) {
		const full = row.records >= 10_000;
		// What a new client shows first is the projection's list page; documents stream in behind it.
		if (row.list) {
			goals.push({
				name: `cold open: ${SERVER_LABELS[row.server]}, ${num(row.records)} records, new client to a usable list ≤ 1.5 s (first page from the projection while documents stream in)`,
				value: ms(row.list.ms),
				met: row.list.ms <= 1_500,
				note: full ? undefined : 'quick run: 1,000 records'
			});
		}
		const copied = row.cold.listMs ?? row.cold.ms;
		findings.push(
			`${row.label}: the whole workspace in the local store (offline-ready, every list row made) after ${ms(copied, 0)} for ${num(row.records)} records` +
				(full ? '.' : ` (≈ ${ms((copied * 10_000) / row.records, 0)} for 10,000 at that rate).`)
		);
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
			headers: ['server, client', 'cold: all synced', 'cold: list rows', 'cold: bytes', 'cold: server / client CPU', 'server RSS loaded', 'warm: time', 'warm: bytes', 'warm: server / client CPU', 'changes seen', 'first list page'],
			rows: rows.map((r) => [
				r.label,
				`${ms(r.cold.ms, 0)}${r.cold.synced < r.records ? ` (${r.cold.synced} synced)` : ''}`,
				r.cold.listMs !== undefined ? ms(r.cold.listMs, 0) : '–',
				bytes(r.cold.bytesRead + r.cold.bytesWritten),
				`${ms(r.cold.serverCpuMs, 0)} / ${ms(r.cold.clientCpuMs, 0)}`,
				`${bytes(r.cold.serverRssAfter)} (+${bytes(r.cold.serverRssAfter - r.cold.serverRssBefore)})`,
				`${ms(r.warm.ms, 0)}${r.warm.answered !== undefined ? ` (${num(r.warm.answered)} re-synced)` : r.warm.synced < r.records ? ` (${r.warm.synced} synced)` : ''}`,
				bytes(r.warm.bytesRead + r.warm.bytesWritten),
				`${ms(r.warm.serverCpuMs, 0)} / ${ms(r.warm.clientCpuMs, 0)}`,
				`${r.warm.changesSeen}/${CHANGES}`,
				r.list ? `${ms(r.list.ms)} (${bytes(r.list.bytes)})` : 'n/a'
			])
		},
		targets: goals,
		findings,
		notes: [
			'cold: a new client with no local copy syncs every record; all synced: every document has the server\'s state; list rows: (WorkspaceSync) every record also has its local list row; bytes both ways through its sockets.',
			'warm: the same client, away while another client changed 100 records, reconnects; time until all 100 changes are in (WorkspaceSync: via catch-up, only what changed is re-synced; the others re-run the state-vector exchange for every document).',
			'WorkspaceSync is the browser\'s background sync (src/lib/sync/workspace-sync.ts, its default of 4 records at a time) over a memory local store; "all open" opens every record at once on one SyncClient.',
			'first list page: GET /api/records?limit=50 (the server\'s projection), what a client without a local copy shows first, asked for 50 ms after the cold sync started, while it runs.',
			ctx.quick ? 'quick mode: 1,000 records, Accord on PGlite only (unless --servers names it); the full run uses 10,000 and both Accord stores.' : ''
		].filter(Boolean)
	};
}
