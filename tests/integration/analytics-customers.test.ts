/**
 * Customer value (the R, F and M score distribution, the top list, the churn count and list)
 * read from migration 17's narrow rows gives exactly what the shared module computes, and
 * what the server gives reading every summary's array. The narrow columns decide a record's
 * scores only when its activities allow it (none after now; all before the range's end, or
 * all at or after its start); the others are read from their arrays, so the workspace here
 * is made to have both kinds for every question, and activities a millisecond either side of
 * every edge a score turns on (the range's ends, now, 8, 31, 91 and 181 days before now, the
 * churn threshold), counts of activities either side of 1, 5, 10 and 20, churn lists whose
 * last place is shared by many records with the same idle days, and records idle for long
 * whose only activities are after now. The narrow rows always equal what the summaries give,
 * counted afresh, after rewrites, archiving, privacy changes and deletions. On PGlite, and on
 * Postgres when DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/database.ts';
import { createAnalyticsStore, writeSummaries, type AnalyticsStore, type DocumentSummary } from '../../server/analytics-store.ts';
import { computeDashboard, type AnalyticsOptions } from '../../src/lib/analytics/aggregate.ts';
import { parseQuery } from '../../src/lib/search/query.ts';
import { tempDir, tempPostgresUrl, type TempDir, type TempPostgres } from '../support/databases.ts';

const WORKSPACE = 'customers';
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 9, 30, 17, 345);
const at = (ms: number) => new Date(ms).toISOString();

/** The questions: the page's default range, ranges in the past and the future, now before many activities, short and long churn. */
const QUESTIONS: AnalyticsOptions[] = [
	{ from: at(NOW - 365 * DAY), to: at(NOW + 180 * DAY), now: at(NOW), timeZone: 'Asia/Shanghai', churnDays: 30, listLimit: 5 },
	{ from: at(NOW - 200 * DAY - 1234), to: at(NOW - 60 * DAY + 777), now: at(NOW), timeZone: 'UTC', churnDays: 45, listLimit: 4 },
	{ from: at(NOW - 30 * DAY), to: at(NOW + 30 * DAY), now: at(NOW - 50 * DAY + 3), timeZone: 'Europe/Berlin', churnDays: 1, listLimit: 10 },
	{ from: at(NOW - 700 * DAY), to: at(NOW - 300 * DAY), now: at(NOW + 10 * DAY), timeZone: 'America/New_York', churnDays: 400, listLimit: 3 },
	{ from: at(NOW - 5 * DAY), to: at(NOW + 400 * DAY), now: at(NOW), timeZone: 'Asia/Kolkata', churnDays: 90, listLimit: 6 }
];

/** Every instant a score or the churn test turns on, for some question. */
const EDGES = QUESTIONS.flatMap((q) => {
	const now = Date.parse(q.now);
	return [Date.parse(q.from), Date.parse(q.to), now, ...[8, 31, 91, 181, q.churnDays].map((days) => now - days * DAY)];
});

function generator(seed: number) {
	let state = seed >>> 0;
	const next = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
	return { next, pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)], int: (n: number) => Math.floor(next() * n) };
}

interface Generated {
	id: string;
	summary: DocumentSummary;
	isPrivate: boolean;
}

const idOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** An activity time: on an edge, a millisecond either side, or anywhere in about two years around now. */
function instant(g: ReturnType<typeof generator>): number {
	if (g.next() < 0.4) return g.pick(EDGES) + g.pick([-1, 0, 1]);
	return NOW - g.int(720 * DAY) + g.int(120 * DAY);
}

function generate(count: number, seed: number): Generated[] {
	const g = generator(seed);
	return Array.from({ length: count }, (_, i) => {
		const kind = g.int(10);
		let activityMs: number[];
		// Counts either side of the frequency thresholds, often all in one short span (so they fall in or out of a range together).
		const n = g.pick([0, 0, 1, 2, 4, 5, 6, 9, 10, 11, 19, 20, 21, 26]);
		if (kind < 2) {
			const start = instant(g);
			activityMs = Array.from({ length: n }, (_, k) => start + k * g.int(3 * DAY));
		} else if (kind === 2) {
			// Idle since long ago, but with activities planned after now: the churn list must read these from their arrays.
			activityMs = [NOW - 1500 * DAY - g.int(100) * DAY, ...Array.from({ length: n }, () => NOW + 1 + g.int(60 * DAY))];
		} else if (kind === 3) {
			// The longest idle, all with the same idle days, so every churn list's last place is a tie broken by id.
			activityMs = [NOW - 2000 * DAY - g.int(5) * 3_600_000];
		} else activityMs = Array.from({ length: n }, () => instant(g));
		activityMs.sort((a, b) => a - b);
		const created = g.next() < 0.05 ? NOW + g.int(20 * DAY) : NOW - g.int(800 * DAY) - g.int(DAY);
		// A few values beyond a bigint's hundredths (compared as numeric), in a currency of their own, written exactly in decimal and as doubles, so their sums stay exact in JavaScript.
		const huge = g.next() < 0.04;
		return {
			id: idOf(i + 1),
			summary: {
				name: `Customer ${i + 1}`,
				stage: g.pick(['lead', 'qualified', 'proposal', 'won', 'lost', null]),
				owner: g.pick(['ana', 'bo', null]),
				// Few distinct values: ties at the quintile boundaries; zero and negative ones too.
				value: huge ? g.pick([5e16, -5e16, 1e17]) : g.next() < 0.15 ? null : g.pick([100, 250, 250, 999.99, 1000, 5000, 12.34, 0, -7.5]),
				currency: huge ? 'XAU' : g.pick(['CNY', 'USD', null]),
				createdAt: at(created),
				archived: g.next() < 0.04,
				followUpAt: null,
				activityMs
			},
			isPrivate: g.next() < 0.2
		};
	});
}

async function write(db: Database, records: Generated[]): Promise<void> {
	await db.sql.transaction((tx) =>
		writeSummaries(
			tx,
			WORKSPACE,
			records.map((r) => ({ id: r.id, seq: 0, isPrivate: r.isPrivate, summary: r.summary }))
		)
	);
	// The segment's SQL reads the list rows.
	await db.sql.query('DELETE FROM records WHERE id = ANY($1::uuid[])', [records.map((r) => r.id)]);
	await db.sql.query(
		`INSERT INTO records (id, workspace_id, name, stage, owner, value, currency, created_at, updated_at, archived, private)
		 SELECT r.id, $1, r.name, r.stage, r.owner, r.value, r.currency, r.created_at, r.created_at, r.archived, r.private
		   FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::timestamptz[], $9::boolean[], $10::boolean[])
		        AS r(id, name, stage, owner, value, currency, created_at, archived, private)`,
		[
			WORKSPACE,
			records.map((r) => r.id),
			records.map((r) => r.summary.name),
			records.map((r) => r.summary.stage),
			records.map((r) => r.summary.owner),
			records.map((r) => r.summary.value),
			records.map((r) => r.summary.currency),
			records.map((r) => r.summary.createdAt),
			records.map((r) => r.summary.archived),
			records.map((r) => r.isPrivate)
		]
	);
}

function expected(records: Generated[], viewer: { id: string; admin: boolean }, options: AnalyticsOptions, only?: (r: Generated) => boolean) {
	const seen = records.filter((r) => (!r.isPrivate || r.summary.owner === viewer.id || viewer.admin) && (!only || only(r)));
	return computeDashboard(
		seen.map((r) => ({ id: r.id, ...r.summary })),
		seen.flatMap((r) => r.summary.activityMs.map((ms) => ({ recordId: r.id, at: at(ms) }))),
		[],
		options
	);
}

/** Whether the narrow columns decide a record's scores for a question (else its array is read). */
function plain(activityMs: number[], options: AnalyticsOptions): boolean {
	if (activityMs.length === 0) return true;
	const last = activityMs.at(-1)!;
	return last <= Date.parse(options.now) && (last < Date.parse(options.to) || activityMs[0] >= Date.parse(options.from));
}

const engines = [
	{ name: 'pglite', available: true },
	{ name: 'postgres', available: Boolean(process.env.DATABASE_URL) }
];

describe.each(engines)('customer value from the narrow rows on $name', ({ name, available }) => {
	let dir: TempDir;
	let postgres: TempPostgres | null = null;
	let db: Database;
	let analytics: AnalyticsStore;
	const records = generate(700, 23);
	const viewers = [
		{ id: 'admin', admin: true },
		{ id: 'ana', admin: false }
	];

	beforeAll(async () => {
		if (!available) return;
		dir = await tempDir('accord-analytics-customers-');
		postgres = name === 'postgres' ? await tempPostgresUrl() : null;
		db = await openDatabase({ databaseUrl: postgres?.url, dataDir: dir.path });
		await db.sql.query('INSERT INTO workspaces (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [WORKSPACE]);
		await db.sql.query(`INSERT INTO documents (id, workspace_id) SELECT unnest($2::uuid[]), $1`, [WORKSPACE, records.map((r) => r.id)]);
		await write(db, records);
		analytics = createAnalyticsStore(db.sql);
	}, 120_000);

	afterAll(async () => {
		await db?.close();
		await postgres?.drop();
		await dir?.remove();
	});

	/** Every narrow row equals what its summary gives, computed afresh here, and there is one per visible summary. */
	async function rowsAddUp(): Promise<void> {
		const rows = await db.sql.query<{ id: string; since: string | null; last: string | null; first: string | null; marks: string; lost: boolean; scope: string; currency: string | null; cents: string | null }>(
			`SELECT record_id::text AS id, since_ms::text AS since, last_ms::text AS last, first_ms::text AS first,
			        concat_ws(',', l5, l10, l20, e5, e10, e20) AS marks, lost, scope, currency, cents::text AS cents
			   FROM analytics_customers WHERE workspace_id = $1`,
			[WORKSPACE]
		);
		const got = new Map(rows.map((row) => [row.id, row]));
		const visible = records.filter((r) => !r.summary.archived);
		expect(got.size).toBe(visible.length);
		const MIN = '-9223372036854775808';
		const MAX = '9223372036854775807';
		for (const r of visible) {
			const a = r.summary.activityMs;
			const row = got.get(r.id);
			const latest = (k: number) => (a.length >= k ? String(a[a.length - k]) : MIN);
			const earliest = (k: number) => (a.length >= k ? String(a[k - 1]) : MAX);
			expect(row, r.id).toEqual({
				id: r.id,
				since: String(a.at(-1) ?? Date.parse(r.summary.createdAt)),
				last: a.length ? String(a.at(-1)) : null,
				first: a.length ? String(a[0]) : null,
				marks: [latest(5), latest(10), latest(20), earliest(5), earliest(10), earliest(20)].join(','),
				lost: r.summary.stage === 'lost',
				scope: r.isPrivate ? `p:${r.summary.owner ?? ''}` : '',
				currency: r.summary.currency,
				cents: r.summary.value === null ? null : String(Math.round(r.summary.value * 100))
			});
		}
		// The value counts per bucket equal a fresh count, and buckets never decrease as values grow.
		const [counts] = await db.sql.query<{ wrong: string | number; rows: string | number; big: string | number; falling: string | number }>(
			`WITH fresh AS (SELECT workspace_id, currency, vbucket, scope, count(*)::int AS n FROM analytics_customers WHERE cents IS NOT NULL GROUP BY 1, 2, 3, 4)
			 SELECT (SELECT count(*) FROM fresh f FULL JOIN (SELECT * FROM analytics_value_counts WHERE n <> 0) v
			           ON f.workspace_id = v.workspace_id AND f.currency IS NOT DISTINCT FROM v.currency AND f.vbucket = v.vbucket AND f.scope = v.scope
			          WHERE f.n IS DISTINCT FROM v.n) AS wrong,
			        (SELECT count(*) FROM fresh) AS rows,
			        (SELECT count(*) FROM analytics_customers WHERE cents IS NOT NULL AND cents8 IS NULL) AS big,
			        (SELECT count(*) FROM (SELECT vbucket, lag(vbucket) OVER (ORDER BY cents) AS before FROM analytics_customers WHERE cents IS NOT NULL) x WHERE x.vbucket < x.before) AS falling`
		);
		expect(Number(counts.wrong)).toBe(0);
		expect(Number(counts.rows)).toBeGreaterThan(10);
		expect(Number(counts.big)).toBeGreaterThan(0);
		expect(Number(counts.falling)).toBe(0);
	}

	async function agree(label: string): Promise<void> {
		await rowsAddUp();
		for (const viewer of viewers)
			for (const options of QUESTIONS) {
				const want = expected(records, viewer, options);
				const where = `${label}, ${viewer.id}, from ${options.from} to ${options.to} at ${options.now}, ${options.churnDays} days`;
				const got = await analytics.dashboard(WORKSPACE, viewer, options);
				expect(got.dashboard, where).toEqual(want);
				const straight = await analytics.dashboard(WORKSPACE, viewer, options, 'concurrent', 'summaries');
				expect(straight.dashboard, `${where}, every array read`).toEqual(want);
			}
	}

	it.skipIf(!available)('equals the shared module and every array read, for records the columns decide and those they do not', async () => {
		// The workspace works both ways for every question, and the lists are not trivial.
		for (const options of QUESTIONS) {
			const visible = records.filter((r) => !r.summary.archived);
			const columns = visible.filter((r) => plain(r.summary.activityMs, options)).length;
			expect(columns, options.from).toBeGreaterThan(50);
			expect(visible.length - columns, options.from).toBeGreaterThan(20);
			const d = expected(records, viewers[0], options);
			expect(d.scoreDistribution.filter((n) => n > 0).length).toBeGreaterThan(4);
			expect(d.churn.total).toBeGreaterThan(options.listLimit);
		}
		// Each churn list ends inside a run of equal idle days; a longer one holds records whose activities are all after now but one long ago.
		for (const options of QUESTIONS) {
			const list = expected(records, viewers[0], options).churn.rows;
			const longer = expected(records, viewers[0], { ...options, listLimit: 100 }).churn.rows;
			const lastIdle = list.at(-1)!.idleDays;
			expect(longer.filter((row) => row.idleDays === lastIdle).length).toBeGreaterThan(list.filter((row) => row.idleDays === lastIdle).length);
			const planned = (id: string) => (records.find((r) => r.id === id)?.summary.activityMs.at(-1) ?? 0) > Date.parse(options.now);
			expect(longer.some((row) => planned(row.id))).toBe(true);
		}
		await agree('as written');
		for (const options of QUESTIONS)
			expect((await analytics.dashboard(WORKSPACE, viewers[0], { ...options, listLimit: 100 })).dashboard, options.from).toEqual(expected(records, viewers[0], { ...options, listLimit: 100 }));
	}, 300_000);

	it.skipIf(!available)('with a segment, equals the shared module over the matching records', async () => {
		const parsed = parseQuery('owner:ana');
		if (!parsed.ok) throw new Error(parsed.message);
		for (const options of QUESTIONS) {
			const got = await analytics.dashboard(WORKSPACE, viewers[0], { ...options, segment: parsed.query });
			expect(got.dashboard, options.from).toEqual(expected(records, viewers[0], options, (r) => r.summary.owner === 'ana'));
		}
	}, 120_000);

	it.skipIf(!available)('still equals them after records change and are deleted (the narrow rows follow every rewrite)', async () => {
		const g = generator(31);
		const changed = records.slice(0, 250);
		for (const record of changed) {
			const choice = g.int(5);
			if (choice === 0) record.summary.activityMs = [...record.summary.activityMs, instant(g)].sort((a, b) => a - b);
			else if (choice === 1) record.isPrivate = !record.isPrivate;
			else if (choice === 2) record.summary.archived = !record.summary.archived;
			else if (choice === 3) record.summary.stage = record.summary.stage === 'lost' ? 'won' : 'lost';
			else record.summary.value = g.next() < 0.5 ? null : 250;
		}
		await write(db, changed);
		const gone = records.splice(500, 40);
		await db.sql.query('DELETE FROM documents WHERE id = ANY($1::uuid[])', [gone.map((r) => r.id)]);
		await agree('after changes');
	}, 300_000);
});
