/**
 * The dashboard read through migration 16's counts (records per creation day and quarter hour,
 * forecast per close date, stays per length bucket and month or day, values through their
 * index) gives exactly what the straightforward computations give: the shared module over the
 * raw rows, and the server's own reading of every summary and every stay (`source:
 * 'summaries'`: percentile_cont over all stays in the range). Pinned on a workspace seeded to
 * make the shortcuts work hard: thousands of stays, many of length 0 (a change at creation),
 * ties on one length, stays a minute either side of month and day boundaries, values with ties
 * at the quintile boundaries; for many ranges (on and off months, days and quarter hours, one
 * day long, years long) and for an admin and an owner of private records. And the counts
 * tables always equal what the summaries and stays contribute, after rewrites and deletions.
 * On PGlite, and on Postgres when DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/database.ts';
import { createAnalyticsStore, split, splitMonths, writeSummaries, type AnalyticsStore, type DocumentSummary } from '../../server/analytics-store.ts';
import { computeDashboard, type AnalyticsOptions, type StageChange } from '../../src/lib/analytics/aggregate.ts';
import { tempDir, tempPostgresUrl, type TempDir, type TempPostgres } from '../support/databases.ts';

const WORKSPACE = 'counts';
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20);
const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'];
const OWNERS = ['ana', 'bo', null];

function generator(seed: number) {
	let state = seed >>> 0;
	const next = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
	return { next, pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)], int: (n: number) => Math.floor(next() * n) };
}

interface Generated {
	id: string;
	summary: DocumentSummary;
	isPrivate: boolean;
	changes: StageChange[];
}

const idOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function generate(count: number, seed: number): Generated[] {
	const g = generator(seed);
	return Array.from({ length: count }, (_, i) => {
		// Created on month and day boundaries, a minute either side, or anywhere.
		const month = Date.UTC(2025, 6 + g.int(16), 1);
		const created = [month, month - 60_000, month + 60_000, NOW - g.int(480) * DAY, NOW - g.int(480) * DAY - g.int(DAY)][g.int(5)];
		let at = created;
		let stage: string | null = g.pick(STAGES);
		const changes: StageChange[] = [];
		for (let c = 2 + g.int(6); c > 0; c--) {
			// Leads mostly leave at once (zero-length stays), qualified deals after exactly 3 days (ties), the rest after any time.
			const step =
				stage === 'lead' ? [0, 0, 0, g.int(20 * DAY)][g.int(4)] : stage === 'qualified' ? [3 * DAY, 3 * DAY, g.int(20 * DAY)][g.int(3)] : [0, g.int(20 * DAY), g.int(200 * DAY) + 1][g.int(3)];
			at += step;
			const to: string | null = g.pick(STAGES);
			changes.push({ recordId: idOf(i + 1), at: new Date(at).toISOString(), from: stage, to });
			stage = to;
		}
		return {
			id: idOf(i + 1),
			summary: {
				name: `Customer ${i + 1}`,
				stage,
				owner: g.pick(OWNERS),
				// Few distinct values, so the quintile boundaries fall on ties.
				value: g.next() < 0.15 ? null : [100, 250, 250, 250, 999.99, 1000, 5000][g.int(7)] * (1 + g.int(3)),
				currency: g.pick(['CNY', 'USD', null]),
				createdAt: new Date(created).toISOString(),
				archived: g.next() < 0.03,
				followUpAt: g.next() < 0.3 ? null : new Date(NOW + (g.int(400) - 200) * DAY).toISOString().slice(0, 10),
				activityMs: Array.from({ length: g.int(25) }, () => NOW - g.int(400) * DAY + g.int(20) * DAY - g.int(DAY)).sort((a, b) => a - b)
			},
			isPrivate: g.next() < 0.2,
			changes
		};
	});
}

async function write(db: Database, records: Generated[], audited: Set<string>): Promise<void> {
	const rows: unknown[][] = [];
	for (const record of records)
		for (const [index, change] of record.changes.entries()) {
			const key = `${change.recordId} ${index}`;
			if (audited.has(key)) continue;
			audited.add(key);
			rows.push([audited.size, change.recordId, change.at, change.to === null ? 'unset' : 'set', change.from, change.to]);
		}
	if (rows.length > 0)
		await db.sql.query(
			`INSERT INTO audit_log (workspace_id, seq, record_id, at, first_at, changes, actor_id, actor_name, source, path, op, before, after, prev_hash, hash)
			 SELECT $1, r.seq, r.id, r.at, r.at, 1, 'ana', 'Ana', 'ui', 'fields.stage', r.op, to_jsonb(r.f), to_jsonb(r.t), 'x', 'x'
			   FROM unnest($2::bigint[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[]) AS r(seq, id, at, op, f, t)`,
			[WORKSPACE, ...[0, 1, 2, 3, 4, 5].map((column) => rows.map((row) => row[column]))]
		);
	await db.sql.transaction((tx) =>
		writeSummaries(
			tx,
			WORKSPACE,
			records.map((r) => ({ id: r.id, seq: 0, isPrivate: r.isPrivate, summary: r.summary }))
		)
	);
}

function expected(records: Generated[], viewer: { id: string; admin: boolean }, options: AnalyticsOptions) {
	const seen = records.filter((r) => !r.isPrivate || r.summary.owner === viewer.id || viewer.admin);
	return computeDashboard(
		seen.map((r) => ({ id: r.id, ...r.summary })),
		seen.flatMap((r) => r.summary.activityMs.map((ms) => ({ recordId: r.id, at: new Date(ms).toISOString() }))),
		seen.flatMap((r) => r.changes),
		options
	);
}

/** Ranges that start and end on months, days, quarter hours and none of these; short and long. */
function ranges(): AnalyticsOptions[] {
	const g = generator(5);
	const at = (ms: number) => new Date(ms).toISOString();
	const base = { now: at(NOW), timeZone: 'Asia/Kathmandu', churnDays: 30, listLimit: 7 };
	const list = [
		{ from: at(Date.UTC(2025, 11, 1)), to: at(Date.UTC(2026, 11, 1)) },
		{ from: at(Date.UTC(2025, 6, 1)), to: at(Date.UTC(2027, 2, 1)) },
		{ from: at(Date.UTC(2026, 2, 1) - 60_000), to: at(Date.UTC(2026, 5, 1) + 60_000) },
		{ from: at(Date.UTC(2026, 2, 14)), to: at(Date.UTC(2026, 2, 15)) },
		{ from: at(Date.UTC(2026, 2, 14, 5, 15)), to: at(Date.UTC(2026, 4, 3, 22, 45)) },
		{ from: at(Date.UTC(2026, 0, 31, 23, 59, 59, 999)), to: at(Date.UTC(2026, 1, 1, 0, 0, 0, 1)) }
	];
	for (let i = 0; i < 6; i++) {
		const from = NOW - g.int(500) * DAY - g.int(DAY);
		list.push({ from: at(from), to: at(from + 1 + g.int(400) * DAY + g.int(DAY)) });
	}
	return list.map((range) => ({ ...base, ...range }));
}

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
];

describe('splitting a range for the counts tables', () => {
	it('covers every millisecond once, with whole steps inside and the rest at the ends', () => {
		const g = generator(11);
		for (let i = 0; i < 500; i++) {
			const from = Date.UTC(2024, 0, 1) + g.int(800) * DAY + (g.next() < 0.5 ? 0 : g.int(DAY));
			const to = from + (g.next() < 0.2 ? g.int(3) : g.int(300) * DAY + (g.next() < 0.5 ? 0 : g.int(DAY)));
			const parts = splitMonths(from, to);
			const pieces: [number, number][] = [...parts.ends];
			if (parts.months.first < parts.months.last) pieces.push([Date.UTC(1970, parts.months.first, 1), Date.UTC(1970, parts.months.last, 1)]);
			for (const days of parts.days) if (days.first < days.last) pieces.push([days.first * DAY, days.last * DAY]);
			pieces.sort((a, b) => a[0] - b[0]);
			let reached = from;
			for (const [a, b] of pieces) {
				expect(a).toBe(reached);
				expect(b).toBeGreaterThan(a);
				reached = b;
			}
			expect(reached).toBe(from < to ? to : from);
			const quarters = split(from, to, 900_000);
			expect(quarters.ends.reduce((n, [a, b]) => n + b - a, 0) + (quarters.last - quarters.first) * 900_000).toBe(Math.max(0, to - from));
		}
	});
});

describe.each(engines)('dashboard from the counts tables on $name', ({ name, available }) => {
	let dir: TempDir;
	let postgres: TempPostgres | null = null;
	let db: Database;
	let analytics: AnalyticsStore;
	const records = generate(900, 3);
	const audited = new Set<string>();
	const viewers = [
		{ id: 'admin', admin: true },
		{ id: 'ana', admin: false }
	];

	beforeAll(async () => {
		if (!available) return;
		dir = await tempDir('accord-analytics-counts-');
		postgres = name === 'postgres' ? await tempPostgresUrl() : null;
		db = await openDatabase({ databaseUrl: postgres?.url, dataDir: dir.path });
		await db.sql.query('INSERT INTO workspaces (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [WORKSPACE]);
		await db.sql.query(`INSERT INTO documents (id, workspace_id) SELECT unnest($2::uuid[]), $1`, [WORKSPACE, records.map((r) => r.id)]);
		await write(db, records, audited);
		analytics = createAnalyticsStore(db.sql);
	}, 120_000);

	afterAll(async () => {
		await db?.close();
		await postgres?.drop();
		await dir?.remove();
	});

	/** Every counts row equals what the current summaries and stays contribute, counted afresh. */
	async function countsAddUp(): Promise<void> {
		const [counts] = await db.sql.query<{ wrong: string | number; rows: string | number }>(
			`WITH fresh AS (
			   SELECT s.workspace_id, x.kind, s.scope, x.at, x.key, x.currency, count(*)::int AS n, sum(x.valued)::int AS valued, sum(x.cents) AS cents, sum(x.weighted) AS weighted
			     FROM analytics_summaries s CROSS JOIN LATERAL (
			       SELECT 'stage' AS kind, floor(EXTRACT(EPOCH FROM s.created_at) / 86400)::bigint AS at, s.stage AS key, s.currency,
			              (s.value IS NOT NULL)::int AS valued, COALESCE(round(s.value * 100), 0) AS cents, 0::numeric AS weighted
			       UNION ALL SELECT 'owner', floor(EXTRACT(EPOCH FROM s.created_at) / 86400)::bigint, s.owner, s.currency, (s.value IS NOT NULL)::int, COALESCE(round(s.value * 100), 0), 0
			        WHERE s.stage IN ('lead', 'qualified', 'proposal', 'negotiation')
			       UNION ALL SELECT 'reached', floor(EXTRACT(EPOCH FROM s.created_at) / 86400)::bigint,
			              GREATEST(COALESCE(array_position(ARRAY['lead', 'qualified', 'proposal', 'negotiation', 'won'], s.stage) - 1, -1), s.furthest)::text, NULL, 0, 0, 0
			       UNION ALL SELECT 'quarter', floor(EXTRACT(EPOCH FROM s.created_at) / 900)::bigint, NULL, NULL, 0, 0, 0
			       UNION ALL SELECT 'forecast', s.follow_up_at - DATE '1970-01-01', NULL, s.currency, 1, round(s.value * 100),
			              round(round(s.value * 100) * CASE s.stage WHEN 'lead' THEN 10 WHEN 'qualified' THEN 25 WHEN 'proposal' THEN 50 ELSE 75 END / 100.0)
			        WHERE s.follow_up_at IS NOT NULL AND s.value IS NOT NULL AND s.stage IN ('lead', 'qualified', 'proposal', 'negotiation')) x
			    WHERE s.scope IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6)
			 SELECT count(*) FILTER (WHERE f.n IS DISTINCT FROM c.n OR f.valued IS DISTINCT FROM c.valued OR f.cents IS DISTINCT FROM c.cents OR f.weighted IS DISTINCT FROM c.weighted) AS wrong,
			        count(*) AS rows
			   FROM fresh f FULL JOIN (SELECT * FROM analytics_counts WHERE n <> 0) c
			     ON (f.workspace_id, f.kind, f.scope, f.at) = (c.workspace_id, c.kind, c.scope, c.at) AND f.key IS NOT DISTINCT FROM c.key AND f.currency IS NOT DISTINCT FROM c.currency`
		);
		expect(Number(counts.wrong)).toBe(0);
		expect(Number(counts.rows)).toBeGreaterThan(100);
		const [stays] = await db.sql.query<{ wrong: string | number }>(
			`WITH fresh AS (
			   SELECT s.workspace_id, s.stage, u.unit, u.at, width_bucket(s.days, $1::float8[])::smallint AS bucket, s.scope, count(*)::int AS n
			     FROM analytics_stays s CROSS JOIN LATERAL (
			       SELECT 'd'::"char" AS unit, floor(EXTRACT(EPOCH FROM s.left_at) / 86400)::bigint AS at
			       UNION ALL SELECT 'm', ((EXTRACT(YEAR FROM s.left_at AT TIME ZONE 'UTC') - 1970) * 12 + EXTRACT(MONTH FROM s.left_at AT TIME ZONE 'UTC') - 1)::bigint) u
			    GROUP BY 1, 2, 3, 4, 5, 6)
			 SELECT count(*) AS wrong FROM fresh f FULL JOIN (SELECT * FROM analytics_stay_counts WHERE n <> 0) c USING (workspace_id, stage, unit, at, bucket, scope)
			  WHERE f.n IS DISTINCT FROM c.n`,
			[(await import('../../server/store/migrations.ts')).STAY_EDGES]
		);
		expect(Number(stays.wrong)).toBe(0);
	}

	async function agree(label: string): Promise<void> {
		await countsAddUp();
		for (const viewer of viewers)
			for (const options of ranges()) {
				const want = expected(records, viewer, options);
				const got = await analytics.dashboard(WORKSPACE, viewer, options);
				const straight = await analytics.dashboard(WORKSPACE, viewer, options, 'concurrent', 'summaries');
				const where = `${label}, ${viewer.id}, ${options.from} – ${options.to}`;
				expect(got.dashboard, where).toEqual(want);
				expect(straight.dashboard, `${where}, every summary and stay read`).toEqual(want);
			}
	}

	it.skipIf(!available)('equals the straightforward computations, median days in stage and value scores included', async () => {
		// The shortcuts are exercised: zero-length stays are the middle of some stage, others are read from their bucket.
		const wide = expected(records, viewers[0], ranges()[1]);
		const medians = wide.funnel.map((step) => step.medianDays);
		expect(medians).toContain(0);
		expect(medians.some((m) => m !== null && m > 0)).toBe(true);
		expect(wide.scoreDistribution.filter((n) => n > 0).length).toBeGreaterThan(5);
		await agree('as written');
	}, 300_000);

	it.skipIf(!available)('still equals them after records change and are deleted (the counts follow every rewrite)', async () => {
		const g = generator(17);
		const changed = records.slice(0, 300);
		for (const record of changed) {
			const choice = g.int(4);
			if (choice === 0) record.summary.value = g.next() < 0.5 ? null : 250;
			else if (choice === 1) record.isPrivate = !record.isPrivate;
			else if (choice === 2) record.summary.archived = !record.summary.archived;
			else {
				const last = Date.parse(record.changes.at(-1)?.at ?? record.summary.createdAt);
				const to = g.pick(['won', 'lost', 'proposal']);
				record.changes.push({ recordId: record.id, at: new Date(last + g.int(3) * DAY).toISOString(), from: record.summary.stage, to });
				record.summary.stage = to;
			}
		}
		await write(db, changed, audited);
		// Deleting documents removes their summaries and stays (cascades), and what they counted.
		const gone = records.splice(600, 50);
		await db.sql.query('DELETE FROM documents WHERE id = ANY($1::uuid[])', [gone.map((r) => r.id)]);
		await agree('after changes');
	}, 300_000);
});
