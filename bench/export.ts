/**
 * Import and export at size: N generated customers (15 columns, a quarter of them in
 * Chinese) imported from a CSV through the import service (the code behind POST
 * /api/import and the CLI), then exported in each format through the export service
 * (the code behind GET /api/export), on Postgres (DATABASE_URL) or PGlite. Prints a
 * table and writes bench/results/export.json. Not part of npm test.
 *
 *   node --import tsx bench/export.ts [--records 100000] [--store pglite|postgres]
 *
 * Peak RSS is sampled every 20 ms in this process, which holds the store's client (and,
 * on PGlite, the database itself); "growth" is peak minus the RSS before the step.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../server/database.ts';
import { createImportService } from '../server/import/service.ts';
import { createExportService } from '../server/export/service.ts';
import { EXPORT_FORMATS } from '../src/lib/io/formats.ts';
import { tempPostgresUrl } from '../tests/support/databases.ts';
import { CUSTOMER_COLUMNS, csvLine, customerRow } from './lib/customers.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, store: { type: 'string' } } });
const COUNT = Number(values.records);
const STORE = values.store ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const MB = 1024 * 1024;

/** One generated customer as a CSV line (the rows bench/import.ts reads too). */
const customer = (i: number): string => csvLine(customerRow(i));

const HEADER = `${CUSTOMER_COLUMNS.join(',')}\n`;

async function* csvBytes(): AsyncGenerator<Uint8Array> {
	const encoder = new TextEncoder();
	yield encoder.encode(HEADER);
	let chunk: string[] = [];
	for (let i = 1; i <= COUNT; i++) {
		chunk.push(customer(i));
		if (chunk.length === 1000) {
			yield encoder.encode(`${chunk.join('\n')}\n`);
			chunk = [];
		}
	}
	if (chunk.length > 0) yield encoder.encode(`${chunk.join('\n')}\n`);
}

function sampler(): { stop(): { peakGrowthMB: number; peakMB: number } } {
	const start = process.memoryUsage().rss;
	let peak = start;
	const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
	return {
		stop() {
			clearInterval(timer);
			peak = Math.max(peak, process.memoryUsage().rss);
			return { peakGrowthMB: Math.round((peak - start) / MB), peakMB: Math.round(peak / MB) };
		}
	};
}

const data = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-io-'));
const temp = STORE === 'postgres' ? await tempPostgresUrl() : null;
if (STORE === 'postgres' && !temp) throw new Error('--store postgres needs DATABASE_URL');
const database = await openDatabase({ databaseUrl: temp?.url, dataDir: data });
const workspace = 'bench';
const actor = { id: 'bench', name: 'Bench', workspace, role: 'admin' as const };
const rows: string[][] = [];
const results: Record<string, unknown> = { store: STORE, records: COUNT, machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadAverage: os.loadavg().map((n) => Math.round(n * 10) / 10), node: process.version } };
try {
	const imports = createImportService({ workspace, store: database.documents, announce: null });
	const memory = sampler();
	const started = performance.now();
	const report = await imports.run(actor, csvBytes(), { format: 'csv', dryRun: false });
	const seconds = (performance.now() - started) / 1000;
	const mem = memory.stop();
	results.import = { seconds, rowsPerSecond: Math.round(report.created / seconds), created: report.created, rejected: report.rejected, ...mem };
	rows.push(['import CSV', String(report.created), `${seconds.toFixed(1)} s`, `${Math.round(report.created / seconds)} rows/s`, '', `${mem.peakGrowthMB} MB`, `${mem.peakMB} MB`]);

	const exports = createExportService({ store: database.documents, workspace });
	for (const format of EXPORT_FORMATS) {
		const memory = sampler();
		const begun = performance.now();
		let firstByte = 0;
		let bytes = 0;
		for await (const chunk of exports.open(actor, { format }).body) {
			if (bytes === 0) firstByte = performance.now() - begun;
			bytes += chunk.byteLength;
		}
		const seconds = (performance.now() - begun) / 1000;
		const mem = memory.stop();
		results[`export-${format}`] = { seconds, firstByteMs: Math.round(firstByte), bytes, recordsPerSecond: Math.round(COUNT / seconds), ...mem };
		rows.push([`export ${format}`, String(COUNT), `${seconds.toFixed(1)} s`, `${Math.round(COUNT / seconds)} records/s`, `${Math.round(firstByte)} ms`, `${mem.peakGrowthMB} MB`, `${mem.peakMB} MB`, `${(bytes / MB).toFixed(1)} MB`]);
	}
} finally {
	await database.close();
	await temp?.drop();
	rmSync(data, { recursive: true, force: true });
}
const headers = ['step', 'records', 'time', 'rate', 'first byte', 'peak RSS growth', 'peak RSS', 'file'];
console.log(`Import and export, ${COUNT} records on ${STORE} (load average at start ${(results.machine as { loadAverage: number[] }).loadAverage.join(', ')}):\n`);
console.log(`| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${[...row, ...Array(headers.length - row.length).fill('')].join(' | ')} |`);
const dir = path.resolve(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'export.json'), `${JSON.stringify({ ...results, finishedAt: new Date().toISOString() }, null, 2)}\n`);
