/**
 * `node --import tsx bench/search-engines.ts [--records 100000] [--engines accord,flexsearch,minisearch,lunr] [--rounds 20] [--out file.json]`
 *
 * Chooses the browser's search engine by measurement (issue 19): the same synthetic CRM
 * records (70% Chinese names and companies; deterministic), tokenized once by the shared
 * tokenizer (src/lib/search), indexed by each engine, and asked the same queries (narrow
 * and broad). Per engine: build time, heap growth, serialized size, load time from the
 * serialized form, query p50/p95, and (the shipped engine) the time to re-index one
 * edited record. Each engine runs in its own Node process (`--expose-gc`), so one's heap
 * does not weigh on the next. Prints a table and writes bench/results/search-engines.json.
 *
 * How each engine is asked: every term is required.
 * - accord is the shipped index (src/lib/search/index-engine.ts): the tokenizer's tokens
 *   in an inverted index, prefixes from a sorted vocabulary; the plan evaluated exactly
 *   (alternatives, long prefixes, filters), every hit ranked, the first 50 placed. Built
 *   as the worker builds it (records put, then merged into the base once); saved as the
 *   worker saves it (a structured clone of a string and typed arrays: v8.serialize here).
 * - FlexSearch 0.8 (`tokenize: 'strict'`, our encoder) indexes the same tokens plus the
 *   prefixes the server indexes (1–10 characters of each token) as terms: it has no
 *   prefix search over terms of its own. MiniSearch 7 and lunr 2.3.9 index the tokens
 *   and use their own prefix search (a radix tree, a trailing wildcard).
 * - The three take each clause's first alternative (in their favour: one query instead
 *   of a union) and answer the first 50 (FlexSearch) or all hits scored (the others:
 *   they cannot stop early).
 * Not in npm test: it runs for minutes and measures time.
 */
import { spawn } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { createReadStream, existsSync, mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CustomerRecord } from '../src/lib/model/record.ts';
import { parseQuery, recordTokens, tokenPrefixes, type SearchQuery } from '../src/lib/search/index.ts';
import { RecordSearchIndex } from '../src/lib/search/index-engine.ts';
import { percentiles, RESULTS_DIR } from './lib/report.ts';
import { prng, QUERIES, SEED, syntheticRecord } from './search-data.ts';

const ENGINES = ['accord', 'flexsearch', 'minisearch', 'lunr'] as const;
type Engine = (typeof ENGINES)[number];
const HERE = fileURLToPath(import.meta.url);

function option(name: string): string | undefined {
	const args = process.argv.slice(2);
	const at = args.indexOf(`--${name}`);
	return at >= 0 ? args[at + 1] : undefined;
}

// ------------------------------------------------------------------ data file (made once, shared by the engines' processes)

export interface Line {
	record: CustomerRecord;
	tokens: string[];
}

/** The records and their tokens in a temporary file (made once per size; bench/search-server.ts reads it too). */
export async function ensureData(count: number): Promise<{ file: string; tokenizeMs: number | null }> {
	const file = path.join(os.tmpdir(), `accord-search-bench-${count}-${SEED}.ndjson`);
	if (existsSync(file)) return { file, tokenizeMs: null };
	const rng = prng(SEED);
	const out = createWriteStream(`${file}.part`);
	let tokenizeMs = 0;
	for (let i = 0; i < count; i++) {
		const record = syntheticRecord(i, rng);
		const started = performance.now();
		const tokens = recordTokens(record);
		tokenizeMs += performance.now() - started;
		if (!out.write(`${JSON.stringify({ record, tokens } satisfies Line)}\n`)) await once(out, 'drain');
		if (i % 10_000 === 9_999) console.error(`[search bench] tokenized ${i + 1} records`);
	}
	out.end();
	await once(out, 'finish');
	const { renameSync } = await import('node:fs');
	renameSync(`${file}.part`, file);
	return { file, tokenizeMs };
}

export async function readData(file: string): Promise<Line[]> {
	const lines: Line[] = [];
	for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line) lines.push(JSON.parse(line) as Line);
	return lines;
}

// ------------------------------------------------------------------ engines

interface Built {
	query(q: SearchQuery): number;
	serialize(): string | Buffer;
	load(serialized: string | Buffer): unknown;
	/** Re-indexes one record (an edit); undefined where the engine cannot (lunr's index is immutable). */
	edit?(line: Line): void;
}

/** Each clause's first alternative: its whole tokens and its prefix (the engines other than the shipped one). */
function simpleTerms(q: SearchQuery): { all: string[]; prefix: string | null }[] {
	return q.clauses.map((clause) => ({ all: clause.anyOf[0].all, prefix: clause.anyOf[0].prefix?.full ?? null }));
}

async function build(engine: Engine, lines: readonly Line[]): Promise<Built> {
	switch (engine) {
		case 'accord': {
			const index = new RecordSearchIndex();
			// As the worker's `put`: no prefixes made (the index makes them only for a record that may reach their cap).
			for (const { record, tokens } of lines) index.putEntry(record, tokens);
			index.merge();
			return {
				query: (q) => index.search(q, { limit: 50 }).total,
				serialize: () => v8.serialize(index.save(1)),
				load: (s) => RecordSearchIndex.load(v8.deserialize(s as Buffer), 1),
				edit: ({ record, tokens }) => index.putEntry(record, tokens)
			};
		}
		case 'flexsearch': {
			const { Index } = await import('flexsearch');
			const SEPARATOR = '\u0001';
			// A prefix term is marked, so that the prefix `ab` (of `abc`) is never taken for the token `ab`.
			const terms = (tokens: string[]) => [...tokens, ...tokenPrefixes(tokens).map((p) => `\u0002${p}`)].join(SEPARATOR);
			const make = (fastupdate: boolean) => new Index({ tokenize: 'strict', resolution: 1, fastupdate, encode: (text: string) => text.split(SEPARATOR) });
			const index = make(true);
			lines.forEach(({ tokens }, n) => index.add(n + 1, terms(tokens)));
			return {
				query: (q) => {
					let total = 0;
					for (const { all, prefix } of simpleTerms(q)) {
						const wanted = [...all, ...(prefix ? [`\u0002${Array.from(prefix).slice(0, 10).join('')}`] : [])];
						total = (index.search(wanted.join(SEPARATOR), { limit: 50 }) as number[]).length;
					}
					return total;
				},
				serialize: () => {
					const out: Record<string, string> = {};
					index.export((key: string | number, data: string) => {
						out[String(key)] = data;
					});
					return JSON.stringify(out);
				},
				load: (s) => {
					// FlexSearch's import restores no fastupdate register: the loaded index is built without one.
					const loaded = make(false);
					for (const [key, data] of Object.entries(JSON.parse(String(s)) as Record<string, string>)) loaded.import(key, data);
					return loaded;
				},
				edit: ({ tokens }) => index.update(1, terms(tokens))
			};
		}
		case 'minisearch': {
			const { default: MiniSearch } = await import('minisearch');
			const options = {
				fields: ['terms'],
				tokenize: (text: string) => text.split('\u0001'),
				processTerm: (term: string) => term,
				searchOptions: { tokenize: (text: string) => [text], processTerm: (term: string) => term }
			};
			const index = new MiniSearch<{ id: number; terms: string }>(options);
			lines.forEach(({ tokens }, n) => index.add({ id: n, terms: tokens.join('\u0001') }));
			return {
				query: (q) => {
					const queries = simpleTerms(q).flatMap(({ all, prefix }) => [...all.map((t) => ({ queries: [t] })), ...(prefix ? [{ queries: [prefix], prefix: true }] : [])]);
					return index.search({ combineWith: 'AND', queries }).length;
				},
				serialize: () => JSON.stringify(index),
				load: (s) => MiniSearch.loadJSON(String(s), options),
				edit: ({ tokens }) => index.replace({ id: 0, terms: tokens.join('\u0001') })
			};
		}
		case 'lunr': {
			const { default: lunr } = await import('lunr');
			const index = lunr(function () {
				this.pipeline.reset();
				this.searchPipeline.reset();
				this.ref('n');
				this.field('terms');
				lines.forEach(({ tokens }, n) => this.add({ n: String(n), terms: tokens }));
			});
			return {
				query: (q) =>
					index.query((query) => {
						for (const { all, prefix } of simpleTerms(q)) {
							for (const term of all) query.term(term, { presence: lunr.Query.presence.REQUIRED, usePipeline: false });
							if (prefix) query.term(prefix, { presence: lunr.Query.presence.REQUIRED, usePipeline: false, wildcard: lunr.Query.wildcard.TRAILING });
						}
					}).length,
				serialize: () => JSON.stringify(index),
				load: (s) => lunr.Index.load(JSON.parse(String(s)))
			};
		}
	}
}

function heap(): number {
	(globalThis as { gc?: () => void }).gc?.();
	(globalThis as { gc?: () => void }).gc?.();
	return process.memoryUsage().heapUsed;
}

interface EngineResult {
	engine: Engine;
	records: number;
	buildMs: number;
	/** CPU time of the build (every thread of the process: garbage collection's helpers too); less bent by the machine's load than the wall clock. */
	buildCpuMs: number;
	/** The main thread's garbage collection pauses during the build. */
	buildGcMs: number;
	heapMB: number;
	serializedMB: number;
	loadMs: number;
	queryP50Ms: number;
	queryP95Ms: number;
	narrowP95Ms: number;
	broadP95Ms: number;
	editP50Ms: number | null;
	hits: Record<string, number>;
}

async function child(engine: Engine, file: string, rounds: number): Promise<EngineResult> {
	const lines = await readData(file);
	const queries = QUERIES.map(({ text, kind }) => {
		const parsed = parseQuery(text);
		if (!parsed.ok) throw new Error(parsed.message);
		return { text, kind, query: parsed.query };
	});
	const before = heap();
	let gcMs = 0;
	const gcs = new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) gcMs += entry.duration;
	});
	gcs.observe({ entryTypes: ['gc'] });
	const cpu = () => {
		const { user, system } = process.cpuUsage();
		return (user + system) / 1000;
	};
	const cpuStarted = cpu();
	const started = performance.now();
	const built = await build(engine, lines);
	const buildMs = performance.now() - started;
	const buildCpuMs = cpu() - cpuStarted;
	// The observer is told after the fact, from a later turn: let it hear of the build's collections before stopping it.
	await new Promise((resolve) => setTimeout(resolve, 200));
	gcs.disconnect();
	const buildGcMs = gcMs;
	const heapMB = (heap() - before) / 2 ** 20;
	const hits: Record<string, number> = {};
	for (const q of queries) hits[q.text] = built.query(q.query);
	const all: number[] = [];
	const narrow: number[] = [];
	const broad: number[] = [];
	for (let round = 0; round < rounds; round++) {
		for (const q of queries) {
			const t = performance.now();
			built.query(q.query);
			const elapsed = performance.now() - t;
			all.push(elapsed);
			(q.kind === 'narrow' ? narrow : broad).push(elapsed);
		}
	}
	let editP50Ms: number | null = null;
	if (built.edit) {
		const edits: number[] = [];
		for (let i = 0; i < 50; i++) {
			const line = lines[(i * 7919) % lines.length];
			const t = performance.now();
			built.edit(line);
			edits.push(performance.now() - t);
		}
		editP50Ms = percentiles(edits).p50;
	}
	const serialized = built.serialize();
	const serializedMB = Buffer.byteLength(serialized) / 2 ** 20;
	const loadStarted = performance.now();
	built.load(serialized);
	const loadMs = performance.now() - loadStarted;
	const p = percentiles(all);
	return { engine, records: lines.length, buildMs, buildCpuMs, buildGcMs, heapMB, serializedMB, loadMs, queryP50Ms: p.p50, queryP95Ms: p.p95, narrowP95Ms: percentiles(narrow).p95, broadP95Ms: percentiles(broad).p95, editP50Ms, hits };
}

function runChild(engine: Engine, file: string, rounds: number): Promise<EngineResult> {
	return new Promise((resolve, reject) => {
		const proc = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', HERE, '--child', engine, '--data', file, '--rounds', String(rounds)], { stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		proc.on('exit', (code) => {
			const last = out.trim().split('\n').pop() ?? '';
			if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as EngineResult);
			else reject(new Error(`${engine} exited with ${code}`));
		});
	});
}

const fixed = (value: number | null, digits = 1) => (value === null ? '–' : value.toFixed(digits));

async function main(): Promise<void> {
	const childEngine = option('child') as Engine | undefined;
	if (childEngine) {
		const result = await child(childEngine, option('data')!, Number(option('rounds') ?? 20));
		process.stdout.write(`${JSON.stringify(result)}\n`);
		return;
	}
	const count = Number(option('records') ?? 100_000);
	const rounds = Number(option('rounds') ?? 20);
	const engines = (option('engines')?.split(',') ?? [...ENGINES]) as Engine[];
	for (const engine of engines) if (!ENGINES.includes(engine)) throw new Error(`unknown engine ${engine}; one of ${ENGINES.join(', ')}`);
	console.error(`[search bench] ${count} records, ${QUERIES.length} queries × ${rounds} rounds`);
	const { file, tokenizeMs } = await ensureData(count);
	if (tokenizeMs !== null) console.error(`[search bench] tokenizing took ${(tokenizeMs / 1000).toFixed(1)} s (${(tokenizeMs / count).toFixed(2)} ms a record)`);
	const results: EngineResult[] = [];
	// The machine is shared: the load average goes with the times.
	const loads: number[] = [os.loadavg()[0]];
	for (const engine of engines) {
		console.error(`[search bench] ${engine}…`);
		try {
			const result = await runChild(engine, file, rounds);
			results.push(result);
			console.error(`[search bench] ${engine}: ${JSON.stringify({ ...result, hits: undefined })}`);
		} catch (error) {
			console.error(`[search bench] ${engine} failed: ${(error as Error).message}`);
		}
		loads.push(os.loadavg()[0]);
	}
	const header = '| engine | build | build CPU (GC pauses) | heap growth | serialized | load | query p50 | query p95 | narrow p95 | broad p95 | one edit |';
	console.log(`\n${count} records, Node ${process.version}, load average ${loads.map((l) => l.toFixed(1)).join(' → ')} on ${os.cpus().length} cores\n`);
	console.log(header);
	console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
	for (const r of results) {
		console.log(`| ${r.engine} | ${fixed(r.buildMs / 1000)} s | ${fixed(r.buildCpuMs / 1000)} s (${fixed(r.buildGcMs / 1000)} s) | ${fixed(r.heapMB, 0)} MB | ${fixed(r.serializedMB, 0)} MB | ${fixed(r.loadMs / 1000, 2)} s | ${fixed(r.queryP50Ms, 2)} ms | ${fixed(r.queryP95Ms, 1)} ms | ${fixed(r.narrowP95Ms, 1)} ms | ${fixed(r.broadP95Ms, 1)} ms | ${r.editP50Ms === null ? 'rebuild' : `${fixed(r.editP50Ms, 2)} ms`} |`);
	}
	mkdirSync(RESULTS_DIR, { recursive: true });
	const out = option('out') ?? path.join(RESULTS_DIR, 'search-engines.json');
	writeFileSync(out, `${JSON.stringify({ records: count, rounds, node: process.version, cpus: os.cpus().length, loadAverage: loads, queries: QUERIES, tokenizeMs, results }, null, 2)}\n`);
	console.error(`[search bench] wrote ${out}`);
}

// Run, unless imported for its data file (bench/search-server.ts).
if (process.argv[1] && path.resolve(process.argv[1]) === HERE) await main();
