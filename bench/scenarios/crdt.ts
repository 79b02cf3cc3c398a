/**
 * The CRDT choice: the same CRM workload in Yjs and in Automerge, each in processes of
 * its own: create records (15 fields), field edits, notes typed one keystroke at a time;
 * then encoded size, load time and memory.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CrdtLoadResult, CrdtParams, CrdtResult } from '../crdt/worker.ts';
import { bytes, ms, num, type ScenarioResult } from '../lib/report.ts';
import { roundOrder, type Context } from '../lib/targets.ts';

const WORKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../crdt/worker.ts');

function runWorker<T>(args: string[]): Promise<T> {
	return new Promise((resolve, reject) => {
		const child = fork(WORKER, args, { execArgv: ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
		let result: T | undefined;
		child.once('message', (message) => (result = message as T));
		child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`CRDT worker ${args.slice(0, 2).join(' ')} exited with ${code}`))));
	});
}

type Row = CrdtResult & { load: CrdtLoadResult };

export async function crdt(ctx: Context): Promise<ScenarioResult> {
	const params: CrdtParams = ctx.quick
		? { records: 2_000, fieldEdits: 20_000, typedRecords: 20, keystrokes: 1_000 }
		: { records: 10_000, fieldEdits: 100_000, typedRecords: 100, keystrokes: 1_000 };
	const rounds = ctx.quick ? 1 : 2;
	const dir = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-crdt-'));
	const results = new Map<string, Row[]>();
	try {
		for (let round = 0; round < rounds; round++) {
			for (const library of roundOrder(['yjs', 'automerge'], round)) {
				ctx.log(`crdt: ${library} (round ${round + 1}/${rounds})`);
				const file = path.join(dir, `${library}.bin`);
				const workload = await runWorker<CrdtResult>([library, 'workload', JSON.stringify(params), file]);
				const load = await runWorker<CrdtLoadResult>([library, 'load', file]);
				results.set(library, [...(results.get(library) ?? []), { ...workload, load }]);
			}
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	const mean = (rows: Row[], pick: (r: Row) => number) => rows.reduce((a, r) => a + pick(r), 0) / rows.length;
	const rows = ['yjs', 'automerge'].map((library) => {
		const runs = results.get(library)!;
		return {
			...runs[0],
			createMs: mean(runs, (r) => r.createMs),
			createChunksMs: runs[0].createChunksMs.map((_, i) => mean(runs, (r) => r.createChunksMs[i])),
			fieldEditsMs: mean(runs, (r) => r.fieldEditsMs),
			typingMs: mean(runs, (r) => r.typingMs),
			encodeMs: mean(runs, (r) => r.encodeMs),
			load: { loadMs: mean(runs, (r) => r.load.loadMs), rss: mean(runs, (r) => r.load.rss) },
			rssAfterWorkload: mean(runs, (r) => r.rssAfterWorkload)
		};
	});
	const [y, a] = rows;
	const keystrokes = params.typedRecords * params.keystrokes;
	return {
		scenario: 'crdt',
		title: `CRDT choice: ${num(params.records)} records × 15 fields, ${num(params.fieldEdits)} field edits, ${num(keystrokes)} keystrokes of notes`,
		mode: ctx.mode,
		parameters: { ...params, rounds },
		rows: rows as unknown as Record<string, unknown>[],
		table: {
			headers: ['library', 'create', 'first → last 1,000', 'field edits', 'per edit', 'typing', 'per keystroke', 'bytes/edit', 'bytes/keystroke', 'encoded (all)', 'typed record', 'encode', 'load all', 'memory loaded', 'memory after workload'],
			rows: rows.map((r) => [
				`${r.library} ${r.version}`,
				ms(r.createMs, 0),
				`${ms(r.createChunksMs[0], 0)} → ${ms(r.createChunksMs[r.createChunksMs.length - 1], 0)}`,
				ms(r.fieldEditsMs, 0),
				`${num((r.fieldEditsMs * 1000) / params.fieldEdits, 1)} µs`,
				ms(r.typingMs, 0),
				`${num((r.typingMs * 1000) / keystrokes, 1)} µs`,
				bytes(r.fieldEditBytes),
				bytes(r.keystrokeBytes),
				bytes(r.encodedBytes),
				bytes(r.typedRecordBytes / params.typedRecords),
				ms(r.encodeMs, 0),
				ms(r.load.loadMs, 0),
				bytes(r.load.rss),
				bytes(r.rssAfterWorkload)
			])
		},
		targets: [],
		findings: [
			`Automerge vs Yjs: field edits ${(a.fieldEditsMs / y.fieldEditsMs).toFixed(1)}×, typing ${(a.typingMs / y.typingMs).toFixed(1)}×, encoded size ${(a.encodedBytes / y.encodedBytes).toFixed(2)}×, load ${(a.load.loadMs / y.load.loadMs).toFixed(1)}×, memory loaded ${(a.load.rss / y.load.rss).toFixed(1)}×.`
		],
		notes: [
			`each edit and each keystroke is its own Yjs transaction / Automerge change, as a person makes them; bytes/edit is what goes on the wire to others (the Yjs update, the Automerge change).`,
			'memory loaded: RSS growth of a fresh process holding every document loaded from its encoding, after GC.',
			'first → last 1,000: time to create the first and the last 1,000 documents, all alive in one process (how a server holds a workspace\'s records).'
		]
	};
}
