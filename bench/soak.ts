/**
 * `npm run soak [-- --minutes 30] [--store pglite|postgres]`: a long run of the team
 * workload against one real Accord server process, to find what a 30-second benchmark
 * cannot: memory that creeps, handles that leak, edits that go missing.
 *
 * The load is the team benchmark's (bench/scenarios/team.ts): stock y-websocket clients in
 * two worker processes, two people per record, 10 edits/s each (fields and notes), with
 * presence. Unlike the benchmark the clients come and go: each worker is a group of 100
 * clients on 50 records that every cycle (60 s in a full run) stops, closes its sockets and
 * reconnects to the next 50 records (half of them new), the two groups half a cycle apart.
 * Records left behind are unloaded by the server after ACCORD_IDLE_UNLOAD_MS (30 s, the
 * default), and opened again from the database when their turn comes back. Half-way
 * through, a backup is taken through the server (`npm run accord -- backup FILE --server`),
 * as an operator would while it serves.
 *
 * The server runs with a data key (as production must) and sign-in on every socket, on
 * loopback only. Its RSS and descriptors are read from /proc; heap, handles and event-loop
 * delay over the bench's IPC channel (bench/servers/runtime.ts): nothing is exposed on a port.
 *
 * It passes only if (bounds in bench/lib/soak.ts, SOAK_BOUNDS):
 * - memory is flat after warm-up (the first third): peak RSS within 10% + 16 MB of the
 *   warm-up's peak, RSS and the heap after a full GC not climbing over the last third;
 * - no handle leaks: once every client has left and idle records were unloaded, handles and
 *   descriptors are back to what they were before any client came, no socket left;
 * - every client connected, the two copies of each record agreed when a cycle ended, and at
 *   the end the database (read back through the store, the server stopped) holds every
 *   change any client had: its Yjs state covers each client's clock, and each record's
 *   fields and notes are what its clients last saw.
 *
 * Prints a table over time and writes bench/results/soak-<store>.json. Not part of npm test.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as Y from 'yjs';
import { formatDataKey, installDataKeys, newDataKey, parseDataKeys } from '../server/crypto/data-key.ts';
import { createSqlStore } from '../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../server/store/sql.ts';
import type { Sql } from '../server/store/types.ts';
import { memory } from './lib/proc.ts';
import { bytes, machine, ms, num, percentiles, RESULTS_DIR } from './lib/report.ts';
import { ServerProcess } from './lib/server-process.ts';
import {
	DATABASE_FILES,
	decodeStateVector,
	handleChecks,
	memoryChecks,
	mergeStateVectors,
	missingChanges,
	recordContent,
	sameStateVector,
	SOAK_BOUNDS,
	type Check,
	type HandleState
} from './lib/soak.ts';
import { freshDatabase, sleep } from './lib/targets.ts';
import { WorkerPool, type ClientWorker } from './lib/workers.ts';
import type { RuntimeSample } from './servers/runtime.ts';
import type { ClientDigest, Marked } from './workers/clients.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
	options: {
		minutes: { type: 'string', default: '30' },
		store: { type: 'string', default: 'pglite' },
		'cycle-seconds': { type: 'string' },
		'sample-seconds': { type: 'string' },
		rate: { type: 'string', default: '10' },
		/**
		 * A directory: heap snapshots of the server before any client and once every client has
		 * left and records unloaded (compare with bench/heap-diff.ts). None is taken under load:
		 * writing one of a loaded server's heap stopped it for three minutes on a busy machine.
		 */
		'heap-snapshots': { type: 'string' }
	}
});
const SNAPSHOT_DIR = values['heap-snapshots'] ? path.resolve(values['heap-snapshots']) : null;
if (SNAPSHOT_DIR) mkdirSync(SNAPSHOT_DIR, { recursive: true });
const MINUTES = Number(values.minutes);
const STORE = values.store as 'pglite' | 'postgres';
if (!(MINUTES >= 1 && MINUTES <= 240)) throw new Error('--minutes must be between 1 and 240');
if (STORE !== 'pglite' && STORE !== 'postgres') throw new Error('--store must be pglite or postgres');

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const RUN_MS = MINUTES * 60_000;
/** A group's cycle: connect, edit, stop, check, close. 60 s in a 30-minute run, 20 s in a 3-minute one (longer when connecting is slow). */
const CYCLE_MS = Number(values['cycle-seconds'] ?? clamp(Math.round((MINUTES * 60) / 9), 20, 60)) * 1000;
/** How long each cycle's clients edit once connected; the rest of a cycle is connecting, checking and closing. */
const EDIT_MS = CYCLE_MS * 0.75;
/** How often the server is sampled: 20 s in a 30-minute run (90 rows), 5 s in a 3-minute one. */
const SAMPLE_MS = Number(values['sample-seconds'] ?? clamp(Math.round((MINUTES * 60) / 90), 5, 20)) * 1000;
/** Every third sample also forces a full GC first: the heap that is still referenced. */
const SETTLE_EVERY = 3;

const GROUPS = 2;
const RECORDS_PER_GROUP_CYCLE = 50;
const CLIENTS_PER_RECORD = 2;
/** Records each group cycles through (half of a cycle's records are new each time). */
const POOL_PER_GROUP = 200;
const STEP = RECORDS_PER_GROUP_CYCLE / 2;
/**
 * Edits per second per client: the team benchmark's 10 by default (2,000/s in all). A shared
 * machine may not sustain that for 30 minutes; then the writer's backlog grows, and with it
 * memory, and the soak fails on that, which is not what it is looking for: --rate 1 keeps
 * the same clients and churn at a tenth of the rate.
 */
const RATE = Number(values.rate);
if (!(RATE > 0 && RATE <= 50)) throw new Error('--rate must be between 0 and 50 edits per second per client');
const NOTES_SHARE = 0.4;
const CONVERGE_TIMEOUT_MS = 20_000;
const IDLE_UNLOAD_MS = 30_000;

const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The soak talks to loopback only: it must never load a machine or a database elsewhere. */
function loopbackOnly(url: string, name: string): void {
	const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
	if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`${name} must be on this machine (127.0.0.1), not ${host}: the soak runs on loopback only.`);
}

if (!existsSync(path.join(ROOT, 'build', 'handler.js'))) {
	console.error('No build/ found: run `npx vite build` first (the server serves the built app).');
	process.exit(1);
}
if (STORE === 'postgres') {
	loopbackOnly(postgresUrl, 'DATABASE_URL');
	loopbackOnly(redisUrl, 'REDIS_URL');
}

const started = performance.now();
const log = (message: string) => console.error(`[soak ${((performance.now() - started) / 1000).toFixed(0).padStart(5)} s] ${message}`);

// ----------------------------------------------------------------------------- what is observed

const HEADERS = ['min', 'sockets', 'loaded', 'RSS', 'heap', 'heap after GC', 'handles', 'fds', 'loop p99', 'loop max', 'stored/s', 'backlog', 'load', ''];

interface BackupResult {
	minute: number;
	ms: number;
	exitCode: number | null;
	bytes: number;
	output: string;
}

interface Sample {
	minute: number;
	/** Sockets the server holds (its own count). */
	clients: number;
	documentsLoaded: number;
	rss: number;
	heapUsed: number;
	external: number;
	/** After a forced full GC (every SETTLE_EVERY-th sample). */
	settledHeap: number | null;
	settledRss: number | null;
	handles: number;
	fds: number;
	eventLoop: RuntimeSample['eventLoop'];
	pendingWrites: number;
	storedUpdates: number;
	/** Updates stored per second since the previous sample. */
	storedPerSecond: number;
	load1: number;
	note: string;
}

interface CycleResult {
	group: number;
	cycle: number;
	startMinute: number;
	records: number;
	connected: number;
	failed: number;
	sent: number;
	received: number;
	errors: number;
	p50: number;
	p99: number;
	converged: number;
	convergeMs: number;
	connectMs: number;
}

function fdCount(pid: number): number {
	try {
		return readdirSync(`/proc/${pid}/fd`).length;
	} catch {
		return NaN;
	}
}

/** Open descriptors by kind: socket, pipe, anon_inode:[eventfd]…, the database's files (under `databaseDir`), other files. */
function fdKinds(pid: number, databaseDir: string | null): Record<string, number> {
	const kinds: Record<string, number> = {};
	let entries: string[] = [];
	try {
		entries = readdirSync(`/proc/${pid}/fd`);
	} catch {
		return kinds;
	}
	for (const fd of entries) {
		let target: string;
		try {
			target = readlinkSync(`/proc/${pid}/fd/${fd}`);
		} catch {
			continue; // closed while we looked
		}
		const kind = /^(socket|pipe):/.test(target)
			? target.slice(0, target.indexOf(':'))
			: target.startsWith('anon_inode:')
				? target
				: databaseDir && target.startsWith(databaseDir)
					? DATABASE_FILES
					: target.startsWith('/dev/')
						? target
						: 'file';
		kinds[kind] = (kinds[kind] ?? 0) + 1;
	}
	return kinds;
}

/** TCP sockets whose local end is the server's port, in any state but LISTEN (0A) and TIME_WAIT (06). */
function portSockets(port: number): number {
	let count = 0;
	for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text = '';
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.split('\n').slice(1)) {
			const fields = line.trim().split(/\s+/);
			if (fields.length < 4) continue;
			const localPort = parseInt(fields[1].split(':')[1], 16);
			if (localPort === port && fields[3] !== '0A' && fields[3] !== '06') count++;
		}
	}
	return count;
}

interface ServerStats {
	memory: NodeJS.MemoryUsage;
	documentsLoaded?: number;
	connections?: number;
	pendingWrites?: number;
	storedUpdates?: number;
}

// ----------------------------------------------------------------------------- the run

const dataKey = formatDataKey(newDataKey());
const workDir = mkdtempSync(path.join(os.tmpdir(), 'accord-soak-'));
const dataDir = path.join(workDir, 'data');
const database = STORE === 'postgres' ? await freshDatabase(postgresUrl) : null;
const pool = await WorkerPool.start(GROUPS);
let server: ServerProcess | null = null;
let exitCode = 1;

try {
	log(`starting Accord (${STORE}) with a data key; ${MINUTES} min, cycles of ${CYCLE_MS / 1000} s, a sample every ${SAMPLE_MS / 1000} s`);
	server = await ServerProcess.start(STORE === 'postgres' ? 'accord-pg' : 'accord', {
		dataDir: STORE === 'pglite' ? dataDir : undefined,
		databaseUrl: database?.url,
		redisUrl: STORE === 'postgres' ? redisUrl : undefined,
		env: { ACCORD_DATA_KEY: dataKey, ACCORD_DATA_KEY_FILE: '', ACCORD_IDLE_UNLOAD_MS: String(IDLE_UNLOAD_MS) },
		// A new PGlite directory runs initdb first; the start is not what the soak measures.
		startTimeoutMs: 300_000
	});
	const srv = server;
	const { info } = srv;
	const port = Number(new URL(info.httpUrl).port);
	log(`${info.description} at ${info.httpUrl}; seeding ${GROUPS * POOL_PER_GROUP} records`);
	const ids = await srv.seed(GROUPS * POOL_PER_GROUP);
	// The backup route's module is loaded now (an editor is refused with 403), so a rebuild of
	// build/ by someone else during a long run cannot pull it from under the server.
	const warm = await fetch(new URL('/api/admin/backup', info.httpUrl), { headers: { authorization: `Bearer ${info.token}` } });
	await warm.body?.cancel();
	if (warm.status !== 403) log(`the backup route answered ${warm.status} to an editor (403 expected)`);

	const runtime = (gc = false) => srv.call<RuntimeSample>({ cmd: 'runtime', gc });
	const stats = () => srv.call<ServerStats>({ cmd: 'stats' });
	const handleState = async (): Promise<HandleState> => {
		const r = await runtime(true);
		const s = await stats();
		return {
			resources: r.resources,
			fds: fdKinds(srv.pid, STORE === 'pglite' ? dataDir : null),
			portSockets: portSockets(port),
			documentsLoaded: s.documentsLoaded ?? NaN,
			connections: s.connections ?? NaN,
			heapAfterGc: r.memory.heapUsed
		};
	};
	/** Waits until no record is loaded and nothing waits to be stored (idle records unload after IDLE_UNLOAD_MS). */
	const quiet = async (timeoutMs: number): Promise<void> => {
		const deadline = Date.now() + timeoutMs;
		while (Date.now() < deadline) {
			const s = await stats();
			if (s.documentsLoaded === 0 && s.pendingWrites === 0 && s.connections === 0) return;
			await sleep(1000);
		}
	};

	await runtime(); // starts the event-loop histogram before the baseline is counted
	await quiet(IDLE_UNLOAD_MS + 10_000);
	const baseline = await handleState();
	const baselineRss = memory(srv.pid).rss;
	log(`baseline before any client: ${Object.values(baseline.resources).reduce((a, b) => a + b, 0)} handles, descriptors ${JSON.stringify(baseline.fds)}, RSS ${bytes(baselineRss)}`);
	/** A heap snapshot of the server (with --heap-snapshots), named by when it was taken. */
	const snapshot = async (name: string): Promise<void> => {
		if (!SNAPSHOT_DIR) return;
		const file = path.join(SNAPSHOT_DIR, `soak-${STORE}-${name}.heapsnapshot`);
		const began = performance.now();
		await srv.call<string>({ cmd: 'heapSnapshot', file });
		log(`heap snapshot ${name}: ${file} (${bytes(statSync(file).size)}, ${ms(performance.now() - began, 0)})`);
	};
	await snapshot('1-baseline');

	// Per record: every change any client's copy had (merged state vectors), and what its clients last saw.
	const expected = new Map<string, { stateVector: Map<number, number>; content: string }>();
	const cycles: CycleResult[] = [];
	const samples: Sample[] = [];
	let diverged = 0;
	// Set by takeBackup (a closure: the cast keeps TypeScript from narrowing it to null here).
	let backup = null as BackupResult | null;
	const loadStart = performance.now();
	const deadline = loadStart + RUN_MS;
	const minuteNow = () => (performance.now() - loadStart) / 60_000;
	const notes: string[] = [];

	async function converge(worker: ClientWorker): Promise<{ digests: ClientDigest[]; converged: number; records: number; ms: number }> {
		const began = performance.now();
		for (;;) {
			const digests = await worker.call<ClientDigest[]>({ cmd: 'digest' });
			const byRecord = new Map<string, ClientDigest[]>();
			for (const d of digests) byRecord.set(d.record, [...(byRecord.get(d.record) ?? []), d]);
			let converged = 0;
			for (const copies of byRecord.values()) {
				const first = decodeStateVector(copies[0].stateVector);
				if (copies.every((c) => sameStateVector(first, decodeStateVector(c.stateVector)) && c.content === copies[0].content)) converged++;
			}
			const elapsed = performance.now() - began;
			if (converged === byRecord.size || elapsed > CONVERGE_TIMEOUT_MS) return { digests, converged, records: byRecord.size, ms: elapsed };
			await sleep(250);
		}
	}

	async function group(g: number): Promise<void> {
		const worker = pool.workers[g];
		const groupIds = ids.slice(g * POOL_PER_GROUP, (g + 1) * POOL_PER_GROUP);
		if (g > 0) await sleep((CYCLE_MS / GROUPS) * g);
		for (let cycle = 0; ; cycle++) {
			const cycleStart = performance.now();
			// A cycle too short to mean anything is not started.
			if (deadline - cycleStart < EDIT_MS / 2) return;
			const records = Array.from({ length: RECORDS_PER_GROUP_CYCLE }, (_, j) => groupIds[(cycle * STEP + j) % groupIds.length]);
			const clients = records.flatMap((record, j) => Array.from({ length: CLIENTS_PER_RECORD }, (_, c) => ({ key: `g${g}s${j}${'ab'[c]}`, record })));
			const startMinute = minuteNow();
			const connectStart = performance.now();
			const connect = await worker.call<{ connected: number; failed: number }>({
				cmd: 'connect',
				dialect: 'y',
				url: info.yUrl!,
				token: info.token,
				clients,
				concurrency: 25,
				presence: true,
				// Generous: on a loaded machine a connection may wait; whether it synced at all is what is checked.
				timeoutMs: 60_000
			});
			const connectMs = performance.now() - connectStart;
			await worker.call({ cmd: 'start', writers: 'all', ratePerSecond: RATE, notesShare: NOTES_SHARE });
			await worker.call({ cmd: 'reset' });
			// Every cycle edits for the same time, however long connecting took (a loaded machine).
			await sleep(Math.max(0, Math.min(performance.now() + EDIT_MS, deadline) - performance.now()));
			await worker.call({ cmd: 'stop' });
			const state = await converge(worker);
			const marked = await worker.call<Marked>({ cmd: 'mark' });
			for (const d of state.digests) {
				const entry = expected.get(d.record) ?? { stateVector: new Map<number, number>(), content: '' };
				mergeStateVectors(entry.stateVector, decodeStateVector(d.stateVector));
				entry.content = d.content;
				expected.set(d.record, entry);
			}
			diverged += state.records - state.converged;
			await worker.call({ cmd: 'close' });
			const latency = percentiles(marked.latencies);
			cycles.push({
				group: g,
				cycle,
				startMinute,
				records: state.records,
				connected: connect.connected,
				failed: connect.failed,
				sent: marked.sent,
				received: marked.received,
				errors: marked.errors,
				p50: latency.p50,
				p99: latency.p99,
				converged: state.converged,
				convergeMs: state.ms,
				connectMs
			});
			log(
				`group ${g} cycle ${cycle}: ${connect.connected} clients in ${ms(connectMs, 0)}, ${num(marked.sent)} edits sent, ` +
					`p50/p99 ${ms(latency.p50)}/${ms(latency.p99)}, copies agreed on ${state.converged}/${state.records} records after ${ms(state.ms, 0)}`
			);
			if (connect.failed > 0 || state.converged < state.records) {
				log(`group ${g} cycle ${cycle}: ${connect.failed} client(s) failed to sync, ${state.records - state.converged} record(s) whose copies disagree`);
			}
		}
	}

	async function takeBackup(): Promise<void> {
		const file = path.join(workDir, 'soak.accordbackup');
		const minute = minuteNow();
		const began = performance.now();
		log('backup through the server (npm run accord -- backup FILE --server URL)');
		const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli.ts'), 'backup', file, '--server', info.httpUrl], {
			cwd: ROOT,
			env: { ...process.env, ACCORD_TOKEN: info.adminToken ?? '', NODE_ENV: 'development' },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let output = '';
		child.stdout.on('data', (chunk: Buffer) => (output += chunk));
		child.stderr.on('data', (chunk: Buffer) => (output += chunk));
		const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
		const size = existsSync(file) ? statSync(file).size : 0;
		backup = { minute, ms: performance.now() - began, exitCode: code, bytes: size, output: output.trim().slice(0, 1000) };
		log(`backup: exit ${code}, ${bytes(size)} in ${ms(backup.ms, 0)}: ${backup.output}`);
		rmSync(file, { force: true });
	}

	let sampling = true;
	let lastStored: { at: number; count: number } | null = null;
	async function sampler(): Promise<void> {
		for (let n = 0; sampling; n++) {
			const settle = n % SETTLE_EVERY === SETTLE_EVERY - 1;
			const rss = memory(srv.pid).rss;
			const r = await runtime(false);
			let settledHeap: number | null = null;
			let settledRss: number | null = null;
			if (settle) {
				settledHeap = (await runtime(true)).memory.heapUsed;
				settledRss = memory(srv.pid).rss;
			}
			const s = await stats();
			const now = performance.now();
			const stored = s.storedUpdates ?? 0;
			const storedPerSecond = lastStored ? ((stored - lastStored.count) / (now - lastStored.at)) * 1000 : NaN;
			lastStored = { at: now, count: stored };
			const sample: Sample = {
				minute: minuteNow(),
				clients: s.connections ?? NaN,
				documentsLoaded: s.documentsLoaded ?? NaN,
				rss,
				heapUsed: r.memory.heapUsed,
				external: r.memory.external,
				settledHeap,
				settledRss,
				handles: Object.values(r.resources).reduce((a, b) => a + b, 0),
				fds: fdCount(srv.pid),
				eventLoop: r.eventLoop,
				pendingWrites: s.pendingWrites ?? NaN,
				storedUpdates: stored,
				storedPerSecond,
				load1: os.loadavg()[0],
				note: backup && Math.abs(backup.minute - minuteNow()) < SAMPLE_MS / 60_000 ? 'backup' : ''
			};
			samples.push(sample);
			console.log(row(sample).join(' | '));
			const wait = SAMPLE_MS - (performance.now() - now);
			if (wait > 0 && sampling) await sleep(wait);
		}
	}

	console.log(`\n| ${HEADERS.join(' | ')} |\n| ${HEADERS.map(() => '---').join(' | ')} |`);
	const sampling$ = sampler();
	const backup$ = sleep(RUN_MS / 2).then(takeBackup);
	await Promise.all(Array.from({ length: GROUPS }, (_, g) => group(g)));
	await backup$;
	log('every client has left; waiting for idle records to unload');
	// Idle records unload after IDLE_UNLOAD_MS; a backlog left by an overloaded server gets up to
	// ten minutes to drain (bounded: the writer-kept-up check below then fails, and says so).
	await quiet(IDLE_UNLOAD_MS + 600_000);
	sampling = false;
	await sampling$;
	await snapshot('2-after');
	const end = await handleState();
	const endRss = memory(srv.pid).rss;
	const finalStats = await stats();

	log('stopping the server; reading every record back from the database');
	// A clean shutdown stores what is still pending; it is given the time to, rather than killed
	// after the benchmarks' 30 s (which would lose those updates and blame the server for it).
	await srv.stop(600_000);
	server = null;
	const verification = await verify(expected);

	// ------------------------------------------------------------------------- the verdict
	const loadMinutes = RUN_MS / 60_000;
	const memoryPoints = samples.filter((s) => s.minute <= loadMinutes).map((s) => ({ minute: s.minute, rss: s.rss }));
	const settledPoints = samples.filter((s) => s.minute <= loadMinutes && s.settledHeap !== null).map((s) => ({ minute: s.minute, heap: s.settledHeap!, rss: s.settledRss! }));
	const sent = cycles.reduce((a, c) => a + c.sent, 0);
	const failedClients = cycles.reduce((a, c) => a + c.failed, 0);
	const checks: Check[] = [
		...memoryChecks(memoryPoints, settledPoints, loadMinutes),
		...handleChecks(baseline, end),
		{ name: 'every client connected and synced (within 60 s)', value: `${failedClients} of ${cycles.reduce((a, c) => a + c.connected + c.failed, 0)} failed`, pass: failedClients === 0 },
		{ name: "every record's copies agreed when their cycle ended", value: `${diverged} disagreeing of ${cycles.reduce((a, c) => a + c.records, 0)}`, pass: diverged === 0 },
		{
			name: 'the database holds every change the clients had (Yjs state covers every client clock)',
			value: `${verification.records} records read back; ${verification.missingClocks} change(s) missing in ${verification.recordsMissing} record(s); ${verification.absent} record(s) absent`,
			pass: verification.records === expected.size && verification.missingClocks === 0 && verification.absent === 0
		},
		{
			name: "each record's fields and notes in the database are what its clients last saw",
			value: `${verification.contentMismatches} mismatch(es)`,
			pass: verification.contentMismatches === 0
		},
		{
			name: 'the writer kept up: nothing waiting to be stored once the clients had left',
			value: `${num(finalStats.pendingWrites ?? NaN)} waiting at the end; most waiting at a sample ${num(Math.max(...samples.map((x) => x.pendingWrites).filter(Number.isFinite)))}`,
			pass: finalStats.pendingWrites === 0
		},
		{ name: 'the backup taken during the run succeeded', value: backup ? `exit ${backup.exitCode}, ${bytes(backup.bytes)}, ${ms(backup.ms, 0)}` : 'not taken', pass: backup !== null && backup.exitCode === 0 && backup.bytes > 0 }
	];
	const passed = checks.every((c) => c.pass);

	const latencies = percentiles(cycles.map((c) => c.p99).filter((v) => Number.isFinite(v)));
	console.log(`\n## Soak: Accord (${STORE}), ${MINUTES} min of the team workload with churn\n`);
	console.log(`${sent.toLocaleString('en-US')} edits sent over ${cycles.length} group cycles (${GROUPS} groups of ${RECORDS_PER_GROUP_CYCLE * CLIENTS_PER_RECORD} clients, ${RATE} edits/s each); ${expected.size} records edited; backlog at the end ${finalStats.pendingWrites ?? '–'}; RSS ${bytes(baselineRss)} before any client, ${bytes(endRss)} after all left; cycle p99 latency: median ${ms(latencies.p50)}, worst ${ms(latencies.max)}.\n`);
	console.log(`| ${HEADERS.join(' | ')} |\n| ${HEADERS.map(() => '---').join(' | ')} |`);
	// About 30 rows: one a minute in a 30-minute run.
	const every = Math.max(1, Math.ceil(samples.length / 30));
	for (const [i, s] of samples.entries()) if (i % every === 0 || i === samples.length - 1 || s.note) console.log(`| ${row(s).join(' | ')} |`);
	console.log('\n| check | measured | pass |\n| --- | --- | --- |');
	for (const c of checks) console.log(`| ${c.name} | ${c.value} | ${c.pass ? 'yes' : '**NO**'} |`);
	console.log(`\n${passed ? 'PASS' : 'FAIL'} (load average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} at the end)`);

	const file = path.join(RESULTS_DIR, `soak-${STORE}.json`);
	writeFileSync(
		file,
		JSON.stringify(
			{
				scenario: 'soak',
				store: STORE,
				command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
				at: new Date().toISOString(),
				machine: machine(),
				passed,
				parameters: {
					minutes: MINUTES,
					cycleSeconds: CYCLE_MS / 1000,
					sampleSeconds: SAMPLE_MS / 1000,
					groups: GROUPS,
					clientsPerGroup: RECORDS_PER_GROUP_CYCLE * CLIENTS_PER_RECORD,
					recordsPerGroupCycle: RECORDS_PER_GROUP_CYCLE,
					recordPool: GROUPS * POOL_PER_GROUP,
					editsPerSecondPerClient: RATE,
					notesShare: NOTES_SHARE,
					idleUnloadMs: IDLE_UNLOAD_MS,
					dataKey: true,
					bounds: SOAK_BOUNDS
				},
				server: info.description,
				baseline: { ...baseline, rss: baselineRss },
				end: { ...end, rss: endRss },
				sent,
				backup,
				verification,
				checks,
				cycles,
				samples,
				notes
			},
			null,
			'\t'
		) + '\n'
	);
	log(`wrote ${path.relative(ROOT, file)}`);
	exitCode = passed ? 0 : 1;
} catch (error) {
	log(`soak failed: ${(error as Error).stack}`);
} finally {
	await server?.stop().catch(() => {});
	await pool.stop();
	await database?.drop().catch(() => {});
	try {
		rmSync(workDir, { recursive: true, force: true });
	} catch (error) {
		log(`could not remove ${workDir}: ${(error as Error).message}`);
	}
}
process.exit(exitCode);

// ----------------------------------------------------------------------------- helpers

function row(s: Sample): string[] {
	return [
		s.minute.toFixed(1),
		String(s.clients),
		String(s.documentsLoaded),
		bytes(s.rss),
		bytes(s.heapUsed),
		s.settledHeap === null ? '' : bytes(s.settledHeap),
		String(s.handles),
		String(s.fds),
		s.eventLoop ? ms(s.eventLoop.p99) : '–',
		s.eventLoop ? ms(s.eventLoop.max) : '–',
		num(s.storedPerSecond),
		num(s.pendingWrites),
		s.load1.toFixed(1),
		s.note
	];
}

/** Opens the database the server used (it has stopped), and compares every edited record with what its clients had. */
async function verify(expectedByRecord: Map<string, { stateVector: Map<number, number>; content: string }>): Promise<{ records: number; absent: number; recordsMissing: number; missingClocks: number; contentMismatches: number; examples: string[] }> {
	installDataKeys(parseDataKeys(dataKey));
	const sql: Sql = STORE === 'postgres' ? await openPostgres(database!.url) : await openPglite(path.join(dataDir, 'pglite'));
	const result = { records: 0, absent: 0, recordsMissing: 0, missingClocks: 0, contentMismatches: 0, examples: [] as string[] };
	try {
		const store = createSqlStore(sql);
		for (const [id, want] of expectedByRecord) {
			const stored = await store.loadDocument(id);
			if (!stored) {
				result.absent++;
				continue;
			}
			const doc = new Y.Doc();
			if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
			for (const update of stored.updates) Y.applyUpdate(doc, update);
			result.records++;
			const missing = missingChanges(Y.decodeStateVector(Y.encodeStateVector(doc)), want.stateVector);
			if (missing.clocks > 0) {
				result.recordsMissing++;
				result.missingClocks += missing.clocks;
				if (result.examples.length < 5) result.examples.push(`${id}: ${missing.clocks} change(s) of ${missing.clients} client(s) missing`);
			}
			if (recordContent(doc) !== want.content) {
				result.contentMismatches++;
				if (result.examples.length < 5) result.examples.push(`${id}: content differs`);
			}
			doc.destroy();
		}
	} finally {
		await sql.close();
	}
	return result;
}
