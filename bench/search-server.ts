/**
 * `node --import tsx bench/search-server.ts [--records 100000] [--rounds 10] [--store pglite|postgres] [--explain 3]`
 *
 * The server's `GET /api/records?q=` at size (issue 19: p95 ≤ 30 ms on Postgres and on
 * PGlite): the same synthetic records and queries as bench/search-engines.ts (tokenized
 * once, by the shared tokenizer, into the same temporary file), written as list rows
 * with their search tokens and prefixes (and their list columns, as wide as a real row),
 * then each query asked through the store's
 * listRecords, as the API asks it (a member's list: not archived, others' private
 * records left out, the first page of 50, newest first, and the count). The GIN indexes
 * are made after the rows are in (one bulk build, as a long-running server's would be
 * after its pending lists are merged), then VACUUM ANALYZE. Prints a table, the plans of
 * the slowest queries (EXPLAIN ANALYZE), and writes bench/results/search-server-<store>.json
 * with the load average. With `--previous N` (default 2) it also asks each query N times
 * as listRecords asked it before the count was capped (an exact count, then the page
 * ordered `updated_at DESC NULLS LAST`), interleaved with the current rounds on the same
 * data: the before and after of one run, under the same load. Not in npm test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSqlStore, searchWhere } from '../server/store/sql-store.ts';
import { openPglite, openPostgres } from '../server/store/sql.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import { LIST_COLUMNS_VERSION, listColumnsOf } from '../server/store/list-columns.ts';
import { parseQuery, SEARCH_VERSION, tokenPrefixes, type SearchQuery } from '../src/lib/search/index.ts';
import { tempPostgresUrl } from '../tests/support/databases.ts';
import { percentiles, RESULTS_DIR } from './lib/report.ts';
import { QUERIES } from './search-data.ts';
import { ensureData, readData } from './search-engines.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '10' }, previous: { type: 'string', default: '2' }, store: { type: 'string' }, explain: { type: 'string', default: '3' }, out: { type: 'string' } } });
const PREVIOUS_ROUNDS = Number(values.previous);
const COUNT = Number(values.records);
const ROUNDS = Number(values.rounds);
const STORE = values.store ?? (process.env.DATABASE_URL ? 'postgres' : 'pglite');
const TARGET_MS = 30;
const WORKSPACE = 'bench';

const loads: number[] = [];
const noteLoad = () => loads.push(Math.round(os.loadavg()[0] * 10) / 10);

const { file } = await ensureData(COUNT);
const lines = await readData(file);
const data = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-search-'));
const temp = STORE === 'postgres' ? await tempPostgresUrl() : null;
if (STORE === 'postgres' && !temp) throw new Error('--store postgres needs DATABASE_URL');
const sql = temp ? await openPostgres(temp.url) : await openPglite(path.join(data, 'pglite'));
const store = createSqlStore(sql);
try {
	noteLoad();
	await store.migrate();
	await store.ensureWorkspace(WORKSPACE, WORKSPACE);
	const started = performance.now();
	for (const statement of ['DROP INDEX records_search_tokens', 'DROP INDEX records_search_prefixes']) await sql.query(statement);
	const CHUNK = 500;
	for (let start = 0; start < lines.length; start += CHUNK) {
		const batch = lines.slice(start, start + CHUNK);
		await sql.query(`INSERT INTO documents (id, workspace_id, last_seq) SELECT unnest($1::uuid[]), $2, 0`, [batch.map((l) => l.record.id), WORKSPACE]);
		const rows = batch.map(({ record, tokens }, i) => {
			const row = projectRecord(record, new Date(Date.UTC(2026, 0, 1) + (start + i) * 60_000).toISOString());
			// The list columns too, as the projection writes them: they make the row as wide as a real one.
			const list = listColumnsOf(record);
			return { ...row, tokens, prefixes: tokenPrefixes(tokens), list };
		});
		await sql.query(
			`INSERT INTO records (id, workspace_id, name, company, email, phone, stage, owner, value, currency, country, city, tags, created_at, updated_at, search_tokens, search_prefixes, search_version, list_fields, list_sort, last_activity_at, list_version)
			 SELECT v.id, $2, v.name, v.company, v.email, v.phone, v.stage, v.owner, v.value, v.currency, v.country, v.city,
			        ARRAY(SELECT jsonb_array_elements_text(v.tags)), v.at, v.at,
			        ARRAY(SELECT jsonb_array_elements_text(v.tokens)), ARRAY(SELECT jsonb_array_elements_text(v.prefixes)), $3,
			        v.fields, v.sort, coalesce(v.last, v.at), $4
			   FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, name text, company text, email text, phone text, stage text, owner text, value numeric, currency text, country text, city text, tags jsonb, at timestamptz, tokens jsonb, prefixes jsonb, fields jsonb, sort jsonb, last timestamptz)`,
			[
				JSON.stringify(rows.map((r) => ({ id: r.id, name: r.name, company: r.company, email: r.email, phone: r.phone, stage: r.stage, owner: r.owner, value: r.value, currency: r.currency, country: r.country, city: r.city, tags: r.tags, at: r.updatedAt, tokens: r.tokens, prefixes: r.prefixes, fields: r.list.fields, sort: r.list.sort, last: r.list.lastActivityAt }))),
				WORKSPACE,
				SEARCH_VERSION,
				LIST_COLUMNS_VERSION
			]
		);
		if ((start / CHUNK) % 20 === 19) console.error(`[search server] ${start + CHUNK} rows`);
	}
	for (const statement of ['CREATE INDEX records_search_tokens ON records USING gin (search_tokens)', 'CREATE INDEX records_search_prefixes ON records USING gin (search_prefixes)', 'VACUUM ANALYZE records']) await sql.query(statement);
	const loadSeconds = (performance.now() - started) / 1000;
	console.error(`[search server] ${lines.length} rows written and indexed in ${loadSeconds.toFixed(0)} s on ${STORE}`);
	noteLoad();

	const queries = QUERIES.map(({ text, kind }) => {
		const parsed = parseQuery(text);
		if (!parsed.ok) throw new Error(parsed.message);
		return { text, kind, query: parsed.query };
	});
	const ask = (search: SearchQuery) => store.listRecords({ workspace: WORKSPACE, search, limit: 50, offset: 0, viewer: { id: 'alice', admin: false } });
	/** The SQL listRecords ran before this change: every match counted, and the page ordered with NULLS LAST (not the index's order). */
	const askPrevious = async (search: SearchQuery) => {
		const params: unknown[] = [WORKSPACE, 'alice'];
		const filter = ['workspace_id = $1', 'NOT archived', '(NOT private OR owner = $2)', ...searchWhere(search, params, Date.now())].join(' AND ');
		const [count] = await sql.query<{ total: number }>(`SELECT count(*) AS total FROM records WHERE ${filter}`, params);
		await sql.query(`SELECT id FROM records WHERE ${filter} ORDER BY updated_at DESC NULLS LAST, id ASC LIMIT 50 OFFSET 0`, params);
		return Number(count.total);
	};
	// Warm-up, untimed: the database's caches.
	for (const q of queries) await ask(q.query);
	const times = new Map<string, number[]>(queries.map((q) => [q.text, []]));
	const previousTimes = new Map<string, number[]>(queries.map((q) => [q.text, []]));
	const totals = new Map<string, { total: number; capped: boolean }>();
	const exactTotals = new Map<string, number>();
	for (let round = 0; round < ROUNDS; round++) {
		for (const q of queries) {
			const t = performance.now();
			const page = await ask(q.query);
			times.get(q.text)!.push(performance.now() - t);
			totals.set(q.text, { total: page.total, capped: page.totalCapped === true });
			if (round < PREVIOUS_ROUNDS) {
				const before = performance.now();
				exactTotals.set(q.text, await askPrevious(q.query));
				previousTimes.get(q.text)!.push(performance.now() - before);
			}
		}
	}
	noteLoad();
	const all = [...times.values()].flat();
	const of = (kind: string) => queries.filter((q) => q.kind === kind).flatMap((q) => times.get(q.text)!);
	const perQuery = queries.map((q) => ({
		text: q.text,
		kind: q.kind,
		total: totals.get(q.text)!.total,
		totalCapped: totals.get(q.text)!.capped,
		exactTotal: exactTotals.get(q.text) ?? null,
		p50: percentiles(times.get(q.text)!).p50,
		p95: percentiles(times.get(q.text)!).p95,
		previousP50: PREVIOUS_ROUNDS > 0 ? percentiles(previousTimes.get(q.text)!).p50 : null,
		previousP95: PREVIOUS_ROUNDS > 0 ? percentiles(previousTimes.get(q.text)!).p95 : null
	}));
	const previousAll = [...previousTimes.values()].flat();

	// The plans of the slowest: the count and the page, as listRecords runs them (its SQL, logged through the store's own builder).
	const slowest = [...perQuery].sort((a, b) => b.p95 - a.p95).slice(0, Number(values.explain));
	const plans: { text: string; plan: string }[] = [];
	for (const q of slowest) {
		// listRecords' statements as it runs them, through sql.query or inside its transaction (whose planner settings are replayed).
		const seen: { text: string; params: unknown[] }[] = [];
		const original = { query: sql.query.bind(sql), transaction: sql.transaction.bind(sql) };
		sql.query = (async (text: string, params?: unknown[]) => {
			seen.push({ text, params: params ?? [] });
			return original.query(text, params);
		}) as typeof sql.query;
		sql.transaction = (async (fn: Parameters<typeof sql.transaction>[0]) =>
			original.transaction((tx) =>
				fn({
					exec: (text: string) => tx.exec(text),
					query: (async (text: string, params?: unknown[]) => {
						seen.push({ text, params: params ?? [] });
						return tx.query(text, params);
					}) as typeof tx.query
				})
			)) as typeof sql.transaction;
		await ask(queries.find((x) => x.text === q.text)!.query);
		Object.assign(sql, original);
		const lines: string[] = [];
		await sql.transaction(async (tx) => {
			for (const statement of seen) {
				if (statement.text.startsWith('SELECT set_config')) {
					await tx.query(statement.text, statement.params);
					lines.push(`-- ${statement.text}`);
					continue;
				}
				const rows = await tx.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`, statement.params);
				lines.push(...rows.map((r) => Object.values(r)[0]), '');
			}
		});
		plans.push({ text: q.text, plan: lines.join('\n') });
	}

	const p = percentiles(all);
	const result = {
		store: STORE,
		records: lines.length,
		rounds: ROUNDS,
		loadAverage: { samples: loads, cpus: os.cpus().length },
		loadSeconds,
		queryP50Ms: p.p50,
		queryP95Ms: p.p95,
		narrowP95Ms: percentiles(of('narrow')).p95,
		broadP95Ms: percentiles(of('broad')).p95,
		targetMs: TARGET_MS,
		met: p.p95 <= TARGET_MS,
		previous: PREVIOUS_ROUNDS > 0 ? { rounds: PREVIOUS_ROUNDS, queryP50Ms: percentiles(previousAll).p50, queryP95Ms: percentiles(previousAll).p95 } : null,
		perQuery,
		plans
	};
	console.log(`\n${lines.length} records on ${STORE}, load average ${loads.join(' → ')} on ${os.cpus().length} cores\n`);
	console.log('| store | query p50 | query p95 | narrow p95 | broad p95 | target | before (same run) p50 / p95 |');
	console.log('| --- | --- | --- | --- | --- | --- | --- |');
	const before = result.previous ? `${result.previous.queryP50Ms.toFixed(1)} / ${result.previous.queryP95Ms.toFixed(1)} ms (${PREVIOUS_ROUNDS} rounds)` : '—';
	console.log(`| ${STORE} | ${p.p50.toFixed(1)} ms | ${p.p95.toFixed(1)} ms | ${result.narrowP95Ms.toFixed(1)} ms | ${result.broadP95Ms.toFixed(1)} ms | p95 ≤ ${TARGET_MS} ms: ${result.met ? 'met' : 'missed'} | ${before} |`);
	console.log('\n| query | kind | hits (count shown) | p50 | p95 | before p50 / p95 |\n| --- | --- | --- | --- | --- | --- |');
	for (const q of perQuery) {
		const hits = q.totalCapped ? `${q.exactTotal ?? '?'} (${q.total}+)` : String(q.total);
		const was = q.previousP50 === null ? '—' : `${q.previousP50.toFixed(1)} / ${q.previousP95!.toFixed(1)} ms`;
		console.log(`| \`${q.text}\` | ${q.kind} | ${hits} | ${q.p50.toFixed(1)} ms | ${q.p95.toFixed(1)} ms | ${was} |`);
	}
	for (const plan of plans) console.log(`\n--- EXPLAIN ANALYZE \`${plan.text}\`\n${plan.plan}`);
	mkdirSync(RESULTS_DIR, { recursive: true });
	const out = values.out ?? path.join(RESULTS_DIR, `search-server-${STORE}.json`);
	writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
	console.error(`[search server] wrote ${out}`);
} finally {
	await store.close();
	await temp?.drop();
	rmSync(data, { recursive: true, force: true });
}
