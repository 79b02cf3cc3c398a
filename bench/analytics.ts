/**
 * The dashboard's aggregates at size, on the server: 100,000 records, 1,000,000 activities
 * and 1,000,000 audit entries (a third of them stage changes), on PGlite and on Postgres
 * (when DATABASE_URL is set), each aggregate timed and the whole dashboard too. Also the
 * shared module (what the browser runs offline) over the same rows, in this process.
 *
 *   node --import tsx bench/analytics.ts [records=100000] [rounds=5]
 *
 * The rows are written with SQL straight into the tables the aggregates read (the
 * projection, the audit log, the summaries and stays as the analytics store leaves them,
 * whose triggers fill the buckets and the counts), because
 * writing 100,000 documents through the sync path would take far longer than the
 * question being asked here. Prints a table; writes bench/results/analytics.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../server/database.ts';
import { createAnalyticsStore } from '../server/analytics-store.ts';
import { computeDashboard, type AnalyticsActivity, type AnalyticsRecord, type StageChange } from '../src/lib/analytics/aggregate.ts';
import { formatTable, RESULTS_DIR } from './lib/report.ts';

const RECORDS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const ACTIVITIES = RECORDS * 10;
const AUDIT = RECORDS * 10;
const STAGE_SHARE = 3; // one audit entry in three is a stage change
const WORKSPACE = 'bench';
const NOW = new Date('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

/** The same workspace on every engine: generated in SQL from generate_series, deterministic. */
async function seed(db: Database): Promise<void> {
	const sql = db.sql;
	await sql.query(`INSERT INTO workspaces (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [WORKSPACE]);
	const uuid = (expr: string) => `('00000000-0000-4000-8000-' || lpad(to_hex(${expr}), 12, '0'))::uuid`;
	// Changed long ago, as most of a large workspace is: the refresh before each answer then looks at recent changes only.
	await sql.query(
		`INSERT INTO documents (id, workspace_id, updated_at) SELECT ${uuid('g')}, $1, $3::timestamptz - ((g % 540) || ' days')::interval - interval '1 hour' FROM generate_series(1, $2::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString()]
	);
	await sql.query(
		`INSERT INTO records (id, workspace_id, name, stage, owner, value, currency, created_at, updated_at, archived)
		 SELECT ${uuid('g')}, $1, 'Customer ' || g,
		        (ARRAY['lead','qualified','proposal','negotiation','won','lost'])[1 + g % 6],
		        'owner' || (g % 12),
		        CASE WHEN g % 10 = 0 THEN NULL ELSE ((g * 7919) % 500000) / 100.0 END,
		        (ARRAY['CNY','USD','EUR'])[1 + g % 3],
		        $3::timestamptz - ((g % 540) || ' days')::interval - ((g % 24) || ' hours')::interval,
		        $3::timestamptz - ((g % 540) || ' days')::interval - interval '1 hour', g % 50 = 0
		   FROM generate_series(1, $2::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString()]
	);
	const stages = `ARRAY['lead','qualified','proposal','negotiation','won','lost']`;
	await sql.query(
		`INSERT INTO audit_log (workspace_id, seq, record_id, at, first_at, changes, actor_id, actor_name, source, path, op, before, after, prev_hash, hash)
		 SELECT $1, g, ${uuid('1 + (g * 13) % $2::int')}, $3::timestamptz - ((g % 500) || ' days')::interval, $3::timestamptz - ((g % 500) || ' days')::interval, 1,
		        'owner' || (g % 12), 'Owner', 'ui',
		        CASE WHEN g % ${STAGE_SHARE} = 0 THEN 'fields.stage' ELSE 'fields.company' END, 'set',
		        CASE WHEN g % ${STAGE_SHARE} = 0 THEN to_jsonb((${stages})[1 + g % 5]) ELSE to_jsonb('Old ' || g) END,
		        CASE WHEN g % ${STAGE_SHARE} = 0 THEN to_jsonb((${stages})[2 + g % 5]) ELSE to_jsonb('New ' || g) END,
		        'x', 'x'
		   FROM generate_series(1, $4::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString(), AUDIT]
	);
	// The summaries as the analytics store leaves them (its triggers fill the buckets), built here in SQL from the same rows.
	await sql.query(
		`INSERT INTO analytics_summaries (record_id, workspace_id, seen_seq, name, stage, owner, value, currency, created_at, follow_up_at, scope, private, furthest, activity_ms, won_ms, lost_ms)
		 SELECT r.id, r.workspace_id, d.last_seq, r.name, r.stage, r.owner, r.value, r.currency, r.created_at, f.follow,
		        CASE WHEN r.archived THEN NULL WHEN r.private THEN 'p:' || COALESCE(r.owner, '') ELSE '' END, r.private,
		        COALESCE(h.furthest, -1), COALESCE(a.ms, '{}'), COALESCE(h.won, '{}'), COALESCE(h.lost, '{}')
		   FROM records r JOIN documents d ON d.id = r.id
		   JOIN (${FOLLOW_UPS}) f ON f.id = r.id
		   LEFT JOIN (SELECT id, array_agg(ms ORDER BY ms) AS ms FROM (${ACTIVITIES_SQL}) x GROUP BY id) a ON a.id = r.id
		   LEFT JOIN (SELECT c.record_id AS id,
		                     max(GREATEST(array_position(${FUNNEL}, c.f), array_position(${FUNNEL}, c.t))) - 1 AS furthest,
		                     array_agg(c.ms ORDER BY c.ms) FILTER (WHERE c.t = 'won') AS won,
		                     array_agg(c.ms ORDER BY c.ms) FILTER (WHERE c.t = 'lost') AS lost
		                FROM (SELECT record_id, floor(EXTRACT(EPOCH FROM at) * 1000)::bigint AS ms, before #>> '{}' AS f, after #>> '{}' AS t
		                        FROM audit_log WHERE workspace_id = $1 AND path = 'fields.stage') c GROUP BY c.record_id) h ON h.id = r.id
		  WHERE r.workspace_id = $1`,
		[WORKSPACE, RECORDS, NOW.toISOString(), ACTIVITIES]
	);
	await sql.query(
		`INSERT INTO analytics_stays (record_id, workspace_id, scope, stage, left_at, days)
		 SELECT c.record_id, $1, c.scope, c.f, c.at, GREATEST(0, EXTRACT(EPOCH FROM (c.at - c.entered)))::float8 / 86400
		   FROM (SELECT c.record_id, c.before #>> '{}' AS f, c.at, a.scope, COALESCE(lag(c.at) OVER (PARTITION BY c.record_id ORDER BY c.at, c.id), a.created_at) AS entered
		           FROM audit_log c JOIN analytics_summaries a ON a.record_id = c.record_id WHERE c.workspace_id = $1 AND c.path = 'fields.stage') c
		  WHERE c.f IS NOT NULL AND c.scope IS NOT NULL`,
		[WORKSPACE]
	);
	// As autovacuum leaves a table some time after a bulk load: statistics, and the visibility map the index-only scans use.
	await sql.query('VACUUM ANALYZE');
}

const FUNNEL = `ARRAY['lead','qualified','proposal','negotiation','won']::text[]`;
const uuidOf = (expr: string) => `('00000000-0000-4000-8000-' || lpad(to_hex(${expr}), 12, '0'))::uuid`;
/** Every activity: $2 records, $3 now, $4 activities. */
const ACTIVITIES_SQL = `SELECT ${uuidOf('1 + (g * 7) % $2::int')} AS id,
        floor(EXTRACT(EPOCH FROM $3::timestamptz - ((g % 400) || ' days')::interval - ((g * 37 % 1440) || ' minutes')::interval) * 1000)::bigint AS ms
   FROM generate_series(1, $4::int) g`;
/** Every record's expected close: $2 records, $3 now. */
const FOLLOW_UPS = `SELECT ${uuidOf('g')} AS id, CASE WHEN g % 4 = 0 THEN NULL ELSE ($3::date + ((g % 300) - 60)) END AS follow FROM generate_series(1, $2::int) g`;

/**
 * ANALYTICS_BENCH_EXPLAIN=1: the profile behind the table. Answers the dashboard once (warm),
 * then once more with every query it sends run under EXPLAIN ANALYZE, and prints each plan.
 */
async function explainEach(db: Database, store: ReturnType<typeof createAnalyticsStore>): Promise<void> {
	await store.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options);
	let printing = false;
	const explaining = createAnalyticsStore({
		kind: db.sql.kind,
		transaction: (fn) => db.sql.transaction(fn),
		close: () => db.sql.close(),
		async query<T>(text: string, params?: unknown[]): Promise<T[]> {
			if (printing && /^\s*(SELECT|WITH)/i.test(text)) {
				const plan = await db.sql.query<Record<string, string>>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
				console.log(`\n--- ${text.replace(/\s+/g, ' ').slice(0, 140)}…\n${plan.map((row) => Object.values(row)[0]).join('\n')}`);
			}
			return db.sql.query<T>(text, params);
		}
	});
	// The first answer of a new store reads every summary's freshness once; the profile is of the next.
	await explaining.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options, 'sequential');
	printing = true;
	await explaining.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options, 'sequential');
}

/** The shared module's inputs, from the raw rows (not the summaries): the list rows, the generated activities and follow-ups, the audit log. */
async function readInputs(db: Database): Promise<{ records: AnalyticsRecord[]; activities: AnalyticsActivity[]; changes: StageChange[] }> {
	const sql = db.sql;
	const rows = await sql.query<{ id: string; name: string; stage: string | null; owner: string | null; value: string | null; currency: string | null; created_at: Date | string; archived: boolean; follow: string | null }>(
		`SELECT r.id::text AS id, r.name, r.stage, r.owner, r.value::text AS value, r.currency, r.created_at, r.archived, to_char(f.follow, 'YYYY-MM-DD') AS follow
		   FROM records r JOIN (${FOLLOW_UPS}) f ON f.id = r.id WHERE r.workspace_id = $1`,
		[WORKSPACE, RECORDS, NOW.toISOString()]
	);
	const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
	const records = rows.map((r) => ({ id: r.id, name: r.name, stage: r.stage, owner: r.owner, value: r.value === null ? null : Number(r.value), currency: r.currency, createdAt: iso(r.created_at), followUpAt: r.follow, archived: r.archived }));
	const acts = await sql.query<{ id: string; ms: string }>(`SELECT id::text AS id, ms FROM (${ACTIVITIES_SQL}) a WHERE $1::text IS NOT NULL`, [WORKSPACE, RECORDS, NOW.toISOString(), ACTIVITIES]);
	const activities = acts.map((a) => ({ recordId: a.id, at: new Date(Number(a.ms)).toISOString() }));
	const ch = await sql.query<{ id: string; at: Date | string; f: string | null; t: string | null }>(
		`SELECT record_id::text AS id, at, before #>> '{}' AS f, after #>> '{}' AS t FROM audit_log WHERE workspace_id = $1 AND path = 'fields.stage' ORDER BY at, id`,
		[WORKSPACE]
	);
	const changes = ch.map((c) => ({ recordId: c.id, at: iso(c.at), from: c.f, to: c.t }));
	return { records, activities, changes };
}

const options = {
	from: new Date(NOW.getTime() - 365 * DAY).toISOString(),
	to: new Date(NOW.getTime() + 180 * DAY).toISOString(),
	now: NOW.toISOString(),
	timeZone: 'Asia/Shanghai',
	churnDays: 30,
	listLimit: 10
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

interface EngineResult {
	engine: string;
	seedSeconds: number;
	/** Median over the rounds, per aggregate, each run alone. */
	aggregates: Record<string, number>;
	totalMs: number;
	totals: number[];
	/** The whole dashboard from the summaries' arrays, not the buckets (ranges off quarter hours, segments). */
	summariesOnlyMs: number;
	/** 1, 5 and 15 minutes, when the engine's rounds ended: the machine is shared. */
	loadAverage: number[];
	sharedModuleMs?: number;
	equal?: boolean;
}

async function runEngine(engine: 'pglite' | 'postgres'): Promise<EngineResult> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'accord-bench-analytics-'));
	let dropDb: (() => Promise<void>) | null = null;
	let databaseUrl: string | undefined;
	if (engine === 'postgres') {
		const server = process.env.DATABASE_URL!;
		const name = `accord_bench_${randomBytes(4).toString('hex')}`;
		const admin = new pg.Client({ connectionString: server });
		await admin.connect();
		await admin.query(`CREATE DATABASE "${name}"`);
		await admin.end();
		const url = new URL(server);
		url.pathname = `/${name}`;
		databaseUrl = url.toString();
		dropDb = async () => {
			const c = new pg.Client({ connectionString: server });
			await c.connect();
			await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
			await c.end();
		};
	}
	const db = await openDatabase({ databaseUrl, dataDir: dir });
	try {
		const seeded = performance.now();
		await seed(db);
		const seedSeconds = (performance.now() - seeded) / 1000;
		const store = createAnalyticsStore(db.sql);
		if (process.env.ANALYTICS_BENCH_EXPLAIN) await explainEach(db, store);
		const perAggregate: Record<string, number[]> = {};
		const totals: number[] = [];
		let last = null as Awaited<ReturnType<typeof store.dashboard>>['dashboard'] | null;
		for (let round = 0; round <= ROUNDS; round++) {
			const started = performance.now();
			const { dashboard, timings } = await store.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options);
			const total = performance.now() - started;
			last = dashboard;
			if (round === 0) continue; // the first round warms caches and plans
			totals.push(total);
			void timings;
			// Each aggregate alone (concurrent timings would include waiting for the others).
			const alone = await store.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options, 'sequential');
			for (const [name, value] of Object.entries(alone.timings)) (perAggregate[name] ??= []).push(value);
		}
		// The same question answered from the summaries' arrays only, as a range off quarter hours or a segment is.
		const slow: number[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			const started = performance.now();
			const answer = await store.dashboard(WORKSPACE, { id: 'owner1', admin: true }, options, 'concurrent', 'summaries');
			slow.push(performance.now() - started);
			if (JSON.stringify(answer.dashboard) !== JSON.stringify(last)) throw new Error('the summaries and the buckets disagree');
		}
		const result: EngineResult = {
			engine,
			seedSeconds,
			summariesOnlyMs: median(slow),
			loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
			aggregates: Object.fromEntries(Object.entries(perAggregate).map(([k, v]) => [k, median(v)])),
			totalMs: median(totals),
			totals
		};
		if (engine === 'pglite' || !process.env.ANALYTICS_BENCH_SKIP_MODULE) {
			const inputs = await readInputs(db);
			const started = performance.now();
			const shared = computeDashboard(inputs.records, inputs.activities, inputs.changes, options);
			result.sharedModuleMs = performance.now() - started;
			result.equal = JSON.stringify(shared) === JSON.stringify(last);
		}
		return result;
	} finally {
		await db.close();
		await dropDb?.();
		rmSync(dir, { recursive: true, force: true });
	}
}

const engines: ('pglite' | 'postgres')[] = (process.env.DATABASE_URL ? ['postgres', 'pglite'] : ['pglite']).filter(
	(engine) => !process.env.ANALYTICS_BENCH_ENGINES || process.env.ANALYTICS_BENCH_ENGINES.split(',').includes(engine)
) as ('pglite' | 'postgres')[];
const results: EngineResult[] = [];
for (const engine of engines) {
	console.error(`[analytics] ${engine}: seeding ${RECORDS.toLocaleString('en-US')} records, ${ACTIVITIES.toLocaleString('en-US')} activities, ${AUDIT.toLocaleString('en-US')} audit entries…`);
	results.push(await runEngine(engine));
}

const names = Object.keys(results[0].aggregates);
const headers = ['aggregate', ...results.map((r) => `${r.engine} (ms, median of ${ROUNDS})`)];
const rows = names.map((name) => [name, ...results.map((r) => (r.aggregates[name] ?? NaN).toFixed(1))]);
rows.push(['whole dashboard (aggregates together, as served)', ...results.map((r) => r.totalMs.toFixed(1))]);
rows.push(['whole dashboard from the summaries only (range off quarter hours, or a segment)', ...results.map((r) => r.summariesOnlyMs.toFixed(1))]);
rows.push(['load average (1, 5, 15 min) at the end', ...results.map((r) => r.loadAverage.join(' / '))]);
rows.push(['shared module in Node, same rows', ...results.map((r) => (r.sharedModuleMs === undefined ? '–' : r.sharedModuleMs.toFixed(0)))]);
rows.push(['server = shared module', ...results.map((r) => (r.equal === undefined ? '–' : r.equal ? 'yes' : 'NO'))]);
console.log(`\nDashboard aggregates: ${RECORDS.toLocaleString('en-US')} records, ${ACTIVITIES.toLocaleString('en-US')} activities, ${AUDIT.toLocaleString('en-US')} audit entries (${Math.round(AUDIT / STAGE_SHARE).toLocaleString('en-US')} stage changes)\n`);
console.log(formatTable(headers, rows));
mkdirSync(RESULTS_DIR, { recursive: true });
const file = path.join(RESULTS_DIR, 'analytics.json');
writeFileSync(
	file,
	JSON.stringify(
		{
			scenario: 'analytics',
			parameters: { records: RECORDS, activities: ACTIVITIES, auditEntries: AUDIT, stageChanges: Math.round(AUDIT / STAGE_SHARE), rounds: ROUNDS, options },
			machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 1024 ** 3), node: process.version },
			results,
			table: { headers, rows },
			finishedAt: new Date().toISOString()
		},
		null,
		2
	)
);
console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
