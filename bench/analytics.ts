/**
 * The dashboard's aggregates at size, on the server: 100,000 records, 1,000,000 activities
 * and 1,000,000 audit entries (a third of them stage changes), on PGlite and on Postgres
 * (when DATABASE_URL is set), each aggregate timed and the whole dashboard too. Also the
 * shared module (what the browser runs offline) over the same rows, in this process.
 *
 *   node --import tsx bench/analytics.ts [records=100000] [rounds=5]
 *
 * The rows are written with SQL straight into the tables the aggregates read (the
 * projection, the audit log, the analytics tables as the refresh leaves them), because
 * writing 100,000 documents through the sync path would take far longer than the
 * question being asked here. Prints a table; writes bench/results/analytics.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../server/store/index.ts';
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
		        $3::timestamptz, g % 50 = 0
		   FROM generate_series(1, $2::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString()]
	);
	await sql.query(
		`INSERT INTO analytics_records (record_id, workspace_id, follow_up_at, seen_seq)
		 SELECT ${uuid('g')}, $1, CASE WHEN g % 4 = 0 THEN NULL ELSE ($3::date + ((g % 300) - 60)) END, 0 FROM generate_series(1, $2::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString().slice(0, 10)]
	);
	await sql.query(
		`INSERT INTO analytics_activities (record_id, workspace_id, at)
		 SELECT ${uuid('1 + (g * 7) % $2::int')}, $1, $3::timestamptz - ((g % 400) || ' days')::interval - ((g * 37 % 1440) || ' minutes')::interval
		   FROM generate_series(1, $4::int) g`,
		[WORKSPACE, RECORDS, NOW.toISOString(), ACTIVITIES]
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
	await sql.query('ANALYZE');
}

async function readInputs(db: Database): Promise<{ records: AnalyticsRecord[]; activities: AnalyticsActivity[]; changes: StageChange[] }> {
	const sql = db.sql;
	const rows = await sql.query<{ id: string; name: string; stage: string | null; owner: string | null; value: string | null; currency: string | null; created_at: Date | string; archived: boolean; follow: string | null }>(
		`SELECT r.id::text AS id, r.name, r.stage, r.owner, r.value::text AS value, r.currency, r.created_at, r.archived, to_char(a.follow_up_at, 'YYYY-MM-DD') AS follow
		   FROM records r LEFT JOIN analytics_records a ON a.record_id = r.id WHERE r.workspace_id = $1`,
		[WORKSPACE]
	);
	const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
	const records = rows.map((r) => ({ id: r.id, name: r.name, stage: r.stage, owner: r.owner, value: r.value === null ? null : Number(r.value), currency: r.currency, createdAt: iso(r.created_at), followUpAt: r.follow, archived: r.archived }));
	const acts = await sql.query<{ id: string; at: Date | string }>('SELECT record_id::text AS id, at FROM analytics_activities WHERE workspace_id = $1', [WORKSPACE]);
	const activities = acts.map((a) => ({ recordId: a.id, at: iso(a.at) }));
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
		// Marks the tables as read (the rows were written as an up-to-date refresh leaves them).
		await db.sql.query('UPDATE analytics_records a SET seen_seq = d.last_seq FROM documents d WHERE d.id = a.record_id');
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
		const result: EngineResult = {
			engine,
			seedSeconds,
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

const engines: ('pglite' | 'postgres')[] = process.env.DATABASE_URL ? ['postgres', 'pglite'] : ['pglite'];
const results: EngineResult[] = [];
for (const engine of engines) {
	console.error(`[analytics] ${engine}: seeding ${RECORDS.toLocaleString('en-US')} records, ${ACTIVITIES.toLocaleString('en-US')} activities, ${AUDIT.toLocaleString('en-US')} audit entries…`);
	results.push(await runEngine(engine));
}

const names = Object.keys(results[0].aggregates);
const headers = ['aggregate', ...results.map((r) => `${r.engine} (ms, median of ${ROUNDS})`)];
const rows = names.map((name) => [name, ...results.map((r) => (r.aggregates[name] ?? NaN).toFixed(1))]);
rows.push(['whole dashboard (aggregates together, as served)', ...results.map((r) => r.totalMs.toFixed(1))]);
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
