/**
 * The import's throughput target (issue 13): N generated rows of 15 columns (a quarter
 * of them in Chinese) as one CSV, posted to `POST /api/import?job=1` of a real Accord
 * server in its own process (API token, the body streamed as it is generated; a job, as
 * the import page sends it), on PGlite and on Postgres. Measured end to end: from the
 * first byte sent until the job is done (polled every 250 ms), rows
 * created per second, against the target of 5,000 rows/s; the server's RSS (read from
 * /proc every 100 ms) grown over its settled RSS before, against 200 MB. As the
 * physical reference, the same rows' projection (the 15 values, as text) is written
 * into the same database by plain multi-row INSERTs of 250 rows (the import's batch),
 * in the same run, and the ratio is reported. Where the time went: the CPU the server
 * process used during the import and, on Postgres, the CPU of the database's backends
 * serving it (read from /proc, sampled so that connections opened and closed meanwhile
 * count), both per row, so a run on a loaded machine still says
 * what a row costs. Then the import is undone in one action (an admin's POST …/undo:
 * every created record archived), timed. Prints a table, writes
 * bench/results/import.json. Not part of npm test.
 *
 *   node --import tsx bench/import.ts [--rows 100000] [--store pglite|postgres|both] [--profile DIR] [--no-undo]
 *
 * `--profile DIR` writes the server's CPU profile there (read it with bench/profile.ts);
 * with `--no-undo` the import is not undone, so the profile is the import's alone.
 *
 * Postgres needs DATABASE_URL (a temporary database is made and dropped).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import http from 'node:http';
import { Readable } from 'node:stream';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { ServerProcess } from './lib/server-process.ts';
import { cpuMicros, memory } from './lib/proc.ts';
import { tempPostgresUrl } from '../tests/support/databases.ts';
import { CUSTOMER_COLUMNS, csvLine, customerRow } from './lib/customers.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, store: { type: 'string', default: 'both' }, profile: { type: 'string' }, 'no-undo': { type: 'boolean', default: false } } });
const ROWS = Number(values.rows);
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error('--rows must be a whole number');
const STORES = values.store === 'both' ? ['pglite', 'postgres'] : [values.store!];
const TARGET_ROWS_PER_S = 5000;
const TARGET_RSS_MB = 200;
const BATCH = 250;
const MB = 1024 * 1024;

const COLUMNS = CUSTOMER_COLUMNS;
const row = customerRow;

/** The CSV in 1,000-line chunks, made as it is sent. */
function* csvChunks(): Generator<Buffer> {
	yield Buffer.from(`${COLUMNS.join(',')}\n`);
	for (let next = 1; next <= ROWS; ) {
		const lines: string[] = [];
		for (const end = Math.min(ROWS, next + 999); next <= end; next++) lines.push(csvLine(row(next)));
		yield Buffer.from(`${lines.join('\n')}\n`);
	}
}

/** POSTs the CSV as it is made and reads the answer; node:http, which has no time limit on a slow answer (fetch gives up after 300 s). */
function postCsv(url: string, token: string): Promise<{ status: number; text: string }> {
	return new Promise((resolve, reject) => {
		const request = http.request(url, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` } }, (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
			response.on('error', reject);
		});
		request.on('error', reject);
		Readable.from(csvChunks()).pipe(request);
	});
}

interface Query {
	query(text: string, params?: unknown[]): Promise<unknown>;
	close(): Promise<void>;
}

/** Plain multi-row INSERTs of the rows' 15 values into a table of their own in the same database: what writing the rows costs at the least. */
async function referenceInsert(db: Query): Promise<number> {
	await db.query(`DROP TABLE IF EXISTS bench_import_reference`);
	await db.query(`CREATE TABLE bench_import_reference (${COLUMNS.map((c) => `${c} text`).join(', ')})`);
	const started = performance.now();
	for (let first = 1; first <= ROWS; first += BATCH) {
		const count = Math.min(BATCH, ROWS - first + 1);
		const params: string[] = [];
		const tuples: string[] = [];
		for (let k = 0; k < count; k++) {
			const values = row(first + k);
			tuples.push(`(${values.map((_, c) => `$${k * COLUMNS.length + c + 1}`).join(', ')})`);
			params.push(...values);
		}
		await db.query(`INSERT INTO bench_import_reference (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
	}
	const seconds = (performance.now() - started) / 1000;
	await db.query('DROP TABLE bench_import_reference');
	return seconds;
}

interface StoreResult {
	store: string;
	rows: number;
	created: number;
	rejected: number;
	seconds: number;
	rowsPerSecond: number;
	rssBeforeMB: number;
	rssPeakMB: number;
	rssGrowthMB: number;
	referenceSeconds: number;
	referenceRowsPerSecond: number;
	/** Import time over the reference INSERTs' time. */
	ratio: number;
	rateMet: boolean;
	memoryMet: boolean;
	/** CPU the server process used during the import (PGlite's database included: it runs in the process). */
	serverCpuSeconds: number;
	/** On Postgres, CPU of the database's backends connected to the import's database during it (null on PGlite). */
	databaseCpuSeconds: number | null;
	/** Server plus database CPU per created row. */
	cpuMsPerRow: number;
	/** Undoing the whole import afterwards (POST …/undo, an admin): its seconds, and records archived per second. */
	undoSeconds: number | null;
	undoRecordsPerSecond: number | null;
	loadAverage: { start: number[]; end: number[] };
}

/**
 * The CPU of a database's Postgres backends over a span: their pids are looked up every
 * 200 ms and each one's CPU read from /proc, so connections the pool opens and closes
 * meanwhile (it drops those idle for 10 s) count too, up to their last reading.
 */
async function backendCpu(url: string): Promise<{ stop(): Promise<number> }> {
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	const pids = async () => (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
	const before = new Map((await pids()).map((pid) => [pid, cpuMicros(pid)]));
	const latest = new Map<number, number>();
	const read = async () => {
		for (const pid of await pids()) {
			const micros = cpuMicros(pid);
			if (micros > 0) latest.set(pid, micros);
		}
	};
	let sampling = Promise.resolve();
	const timer = setInterval(() => (sampling = sampling.then(read).catch(() => undefined)), 200);
	return {
		async stop() {
			clearInterval(timer);
			await sampling;
			await read();
			await client.end();
			let micros = 0;
			for (const [pid, last] of latest) micros += last - (before.get(pid) ?? 0);
			return micros / 1e6;
		}
	};
}

const load = () => os.loadavg().map((n) => Math.round(n * 10) / 10);

async function measure(store: string): Promise<StoreResult> {
	const loadStart = load();
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-import-'));
	const temp = store === 'postgres' ? await tempPostgresUrl() : null;
	if (store === 'postgres' && !temp) throw new Error('--store postgres needs DATABASE_URL');
	try {
		const server = await ServerProcess.start(store === 'postgres' ? 'accord-pg' : 'accord', {
			databaseUrl: temp?.url,
			dataDir,
			startTimeoutMs: 180_000,
			nodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`] : []
		});
		let imported: { created: number; rejected: number; rowsRead: number };
		let seconds: number;
		let before: number;
		let peak: number;
		let serverCpu: number;
		let databaseCpu: number | null = null;
		let undoSeconds: number | null = null;
		try {
			before = (await server.settledRss()).rss;
			peak = before;
			const sampler = setInterval(() => (peak = Math.max(peak, memory(server.child.pid!).rss)), 100);
			const backends = temp ? await backendCpu(temp.url) : null;
			const cpuBefore = cpuMicros(server.child.pid!);
			const started = performance.now();
			// As the import page sends it: a job (the upload spooled, then imported on the server), followed until it is done.
			const { status, text } = await postCsv(`${server.info.httpUrl}/api/import?format=csv&policy=create&job=1&name=bench.csv`, server.info.token!);
			if (status !== 202) throw new Error(`the import answered ${status}: ${text.slice(0, 500)}`);
			const { id } = JSON.parse(text) as { id: string };
			let job: { status: string; report: typeof imported | null };
			for (;;) {
				await new Promise((resolve) => setTimeout(resolve, 250));
				const polled = await fetch(`${server.info.httpUrl}/api/import/jobs/${id}`, { headers: { authorization: `Bearer ${server.info.token}` } });
				job = (await polled.json()) as typeof job;
				if (job.status !== 'running') break;
			}
			seconds = (performance.now() - started) / 1000;
			serverCpu = (cpuMicros(server.child.pid!) - cpuBefore) / 1e6;
			if (backends) databaseCpu = await backends.stop();
			clearInterval(sampler);
			peak = Math.max(peak, memory(server.child.pid!).rss);
			if (job.status !== 'done' || !job.report) throw new Error(`the import job ended ${job.status}: ${JSON.stringify(job.report).slice(0, 500)}`);
			imported = job.report;
			// Undone in one action, as an admin does from the import page.
			if (!values['no-undo']) {
				const undoStarted = performance.now();
				const undone = await fetch(`${server.info.httpUrl}/api/import/jobs/${id}/undo`, { method: 'POST', headers: { authorization: `Bearer ${server.info.adminToken}` } });
				const undoAnswer = (await undone.json()) as { archived?: number; message?: string };
				undoSeconds = (performance.now() - undoStarted) / 1000;
				if (!undone.ok || undoAnswer.archived !== imported.created) throw new Error(`the undo answered ${undone.status}: ${JSON.stringify(undoAnswer).slice(0, 300)}`);
			}
		} finally {
			await server.stop();
		}
		// The same database, now that the server has let go of it.
		const db: Query =
			store === 'postgres'
				? await (async () => {
						const client = new pg.Client({ connectionString: temp!.url });
						await client.connect();
						return { query: (text: string, params?: unknown[]) => client.query(text, params), close: () => client.end() };
					})()
				: await (async () => {
						const lite = await PGlite.create(path.join(dataDir, 'pglite'));
						return { query: (text: string, params?: unknown[]) => lite.query(text, params), close: () => lite.close() };
					})();
		let referenceSeconds: number;
		try {
			referenceSeconds = await referenceInsert(db);
		} finally {
			await db.close();
		}
		const rowsPerSecond = Math.round(imported.created / seconds);
		const growth = Math.round((peak - before) / MB);
		return {
			store,
			rows: ROWS,
			created: imported.created,
			rejected: imported.rejected,
			seconds: Math.round(seconds * 10) / 10,
			rowsPerSecond,
			rssBeforeMB: Math.round(before / MB),
			rssPeakMB: Math.round(peak / MB),
			rssGrowthMB: growth,
			referenceSeconds: Math.round(referenceSeconds * 10) / 10,
			referenceRowsPerSecond: Math.round(ROWS / referenceSeconds),
			ratio: Math.round((seconds / referenceSeconds) * 10) / 10,
			serverCpuSeconds: Math.round(serverCpu * 10) / 10,
			databaseCpuSeconds: databaseCpu === null ? null : Math.round(databaseCpu * 10) / 10,
			cpuMsPerRow: Math.round(((serverCpu + (databaseCpu ?? 0)) * 1000 * 100) / Math.max(1, imported.created)) / 100,
			undoSeconds: undoSeconds === null ? null : Math.round(undoSeconds * 10) / 10,
			undoRecordsPerSecond: undoSeconds === null ? null : Math.round(imported.created / undoSeconds),
			rateMet: rowsPerSecond >= TARGET_ROWS_PER_S,
			memoryMet: growth <= TARGET_RSS_MB,
			loadAverage: { start: loadStart, end: load() }
		};
	} finally {
		await temp?.drop();
		rmSync(dataDir, { recursive: true, force: true });
	}
}

const results: StoreResult[] = [];
for (const store of STORES) results.push(await measure(store));

const headers = ['store', 'rows', 'created', 'time', 'rows/s', `≥ ${TARGET_ROWS_PER_S} rows/s`, 'RSS growth', `≤ ${TARGET_RSS_MB} MB`, 'plain INSERT', 'import / INSERT', 'CPU server + db', 'CPU ms/row', 'undo (records/s)', 'load (start → end)'];
console.log(`\nImport of ${ROWS} CSV rows (15 columns, a quarter Chinese) through POST /api/import, ${os.cpus().length} cores:\n`);
console.log(`| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|`);
for (const r of results) {
	console.log(
		`| ${[
			r.store,
			r.rows,
			r.created,
			`${r.seconds} s`,
			r.rowsPerSecond,
			r.rateMet ? 'met' : 'missed',
			`${r.rssGrowthMB} MB (${r.rssBeforeMB} → ${r.rssPeakMB})`,
			r.memoryMet ? 'met' : 'missed',
			`${r.referenceSeconds} s (${r.referenceRowsPerSecond} rows/s)`,
			`${r.ratio}×`,
			`${r.serverCpuSeconds} s + ${r.databaseCpuSeconds ?? '–'} s`,
			r.cpuMsPerRow,
			r.undoSeconds === null ? 'not run' : `${r.undoSeconds} s (${r.undoRecordsPerSecond})`,
			`${r.loadAverage.start[0]} → ${r.loadAverage.end[0]}`
		].join(' | ')} |`
	);
}
const dir = path.resolve(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(
	path.join(dir, 'import.json'),
	`${JSON.stringify({ rows: ROWS, targets: { rowsPerSecond: TARGET_ROWS_PER_S, rssGrowthMB: TARGET_RSS_MB }, machine: { cpus: os.cpus().length, node: process.version }, results, finishedAt: new Date().toISOString() }, null, 2)}\n`
);
