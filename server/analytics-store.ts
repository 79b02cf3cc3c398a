/**
 * The dashboard's numbers on the server, as SQL aggregates over the record projection
 * (`records`), the audit log's stage changes (`fields.stage` entries, sealed and still
 * open) and the analytics tables of migration 11 (expected close, activity times). The
 * definitions are those of src/lib/analytics/aggregate.ts, which the browser runs over its
 * local copies; tests/integration/analytics.test.ts holds both to the same answer.
 *
 * The analytics tables are kept here, not by the projection: before each answer, the
 * documents of the workspace whose `last_seq` moved past what was last read (found by
 * `updated_at` from a remembered mark, or all of them the first time) are read and their
 * activities and follow-up date written again. One instance or several: the rows written
 * are the same, so a second instance refreshing the same documents does no harm.
 */
import * as Y from 'yjs';
import { isRecordDoc, readRecord } from '../src/lib/model/record.ts';
import {
	byCurrency,
	FUNNEL_STAGES,
	STAGE_WEIGHTS,
	type AnalyticsOptions,
	type ChurnRow,
	type CurrencyAmount,
	type CustomerScore,
	type Dashboard,
	type GroupTotal
} from '../src/lib/analytics/aggregate.ts';
import { STAGES } from '../src/lib/model/schema.ts';
import type { Sql } from './store/types.ts';
import { openBytes } from './crypto/data-key.ts';

export interface AnalyticsViewer {
	id: string;
	admin: boolean;
}

export interface AnalyticsStore {
	/** Brings the analytics tables up to date with the workspace's documents; returns how many documents were read. */
	refresh(workspace: string): Promise<number>;
	/** `sequential` runs one aggregate at a time (to time each alone: bench/analytics.ts); by default they run together. */
	dashboard(
		workspace: string,
		viewer: AnalyticsViewer,
		options: AnalyticsOptions,
		mode?: 'concurrent' | 'sequential'
	): Promise<{ dashboard: Dashboard; timings: Record<string, number> }>;
}

/** Documents read per statement while refreshing. */
const REFRESH_CHUNK = 500;
/** Documents whose `updated_at` is this close before the mark are looked at again (clocks and commit order). */
const MARK_SLACK_MS = 10_000;
/** Activities kept per record: a bound on what one record can add to the tables. */
const MAX_ACTIVITIES_PER_RECORD = 10_000;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const bytes = (value: Uint8Array): Uint8Array =>
	value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const num = (value: unknown): number => Number(value);

/** Follow-up date and activity times of one stored document; null when it is not (yet) a record. */
function readAnalytics(snapshot: Uint8Array | null, updates: Uint8Array[]): { followUpAt: string | null; activities: string[] } | null {
	const doc = new Y.Doc();
	try {
		if (snapshot) Y.applyUpdate(doc, snapshot);
		for (const update of updates) Y.applyUpdate(doc, update);
		if (!isRecordDoc(doc)) return null;
		const record = readRecord(doc, '');
		const follow = record.fields.followUpAt;
		const activities: string[] = [];
		for (const activity of record.activities) {
			if (activities.length >= MAX_ACTIVITIES_PER_RECORD) break;
			const at = typeof activity.at === 'string' ? Date.parse(activity.at) : NaN;
			if (Number.isFinite(at)) activities.push(new Date(at).toISOString());
		}
		return { followUpAt: typeof follow === 'string' && DATE.test(follow) ? follow : null, activities };
	} finally {
		doc.destroy();
	}
}

export function createAnalyticsStore(sql: Sql): AnalyticsStore {
	/** Per workspace: the latest `updated_at` read, so the next refresh looks only at documents changed since. */
	const marks = new Map<string, number>();
	/** One refresh per workspace at a time; callers meanwhile wait for it. */
	const running = new Map<string, Promise<number>>();

	async function refreshNow(workspace: string): Promise<number> {
		const mark = marks.get(workspace);
		const since = mark === undefined ? null : new Date(mark - MARK_SLACK_MS).toISOString();
		const stale = await sql.query<{ id: string; updated_at: Date | string }>(
			`SELECT d.id::text AS id, d.updated_at
			   FROM documents d LEFT JOIN analytics_records a ON a.record_id = d.id
			  WHERE d.workspace_id = $1 AND ($2::timestamptz IS NULL OR d.updated_at >= $2::timestamptz)
			    AND (a.record_id IS NULL OR a.seen_seq <> d.last_seq)`,
			[workspace, since]
		);
		let latest = mark ?? 0;
		if (since !== null) {
			// Nothing stale still moves the mark forward, so the next look starts later.
			const [row] = await sql.query<{ max: Date | string | null }>('SELECT max(updated_at) AS max FROM documents WHERE workspace_id = $1', [workspace]);
			if (row?.max) latest = Math.max(latest, Date.parse(iso(row.max)));
		}
		for (const row of stale) latest = Math.max(latest, Date.parse(iso(row.updated_at)));
		for (let start = 0; start < stale.length; start += REFRESH_CHUNK) {
			const ids = stale.slice(start, start + REFRESH_CHUNK).map((row) => row.id);
			const docs = await sql.query<{ id: string; snapshot: Uint8Array | null; last_seq: string | number; updates: Uint8Array[] | null }>(
				`SELECT d.id::text AS id, d.snapshot, d.last_seq,
				        (SELECT array_agg(u.update ORDER BY u.seq) FROM document_updates u
				          WHERE u.document_id = d.id AND u.seq > d.snapshot_seq AND u.seq <= d.last_seq) AS updates
				   FROM documents d WHERE d.id = ANY($1::uuid[])`,
				[ids]
			);
			const recordIds: string[] = [];
			const follow: (string | null)[] = [];
			const seqs: number[] = [];
			const activityIds: string[] = [];
			const activityAts: string[] = [];
			for (const doc of docs) {
				const read = readAnalytics(doc.snapshot ? openBytes(bytes(doc.snapshot)) : null, (doc.updates ?? []).map((update) => openBytes(bytes(update))));
				recordIds.push(doc.id);
				follow.push(read?.followUpAt ?? null);
				seqs.push(num(doc.last_seq));
				for (const at of read?.activities ?? []) {
					activityIds.push(doc.id);
					activityAts.push(at);
				}
			}
			await sql.transaction(async (tx) => {
				await tx.query('DELETE FROM analytics_activities WHERE record_id = ANY($1::uuid[])', [recordIds]);
				if (activityIds.length > 0) {
					await tx.query(
						`INSERT INTO analytics_activities (record_id, workspace_id, at)
						 SELECT a.id, $1, a.at FROM unnest($2::uuid[], $3::timestamptz[]) AS a(id, at)`,
						[workspace, activityIds, activityAts]
					);
				}
				await tx.query(
					`INSERT INTO analytics_records (record_id, workspace_id, follow_up_at, seen_seq)
					 SELECT r.id, $1, r.follow, r.seq FROM unnest($2::uuid[], $3::date[], $4::bigint[]) AS r(id, follow, seq)
					 ON CONFLICT (record_id) DO UPDATE SET follow_up_at = EXCLUDED.follow_up_at, seen_seq = EXCLUDED.seen_seq`,
					[workspace, recordIds, follow, seqs]
				);
			});
		}
		if (latest > 0) marks.set(workspace, latest);
		return stale.length;
	}

	function refresh(workspace: string): Promise<number> {
		const current = running.get(workspace);
		if (current) return current;
		const next = refreshNow(workspace).finally(() => running.delete(workspace));
		running.set(workspace, next);
		return next;
	}

	async function dashboard(workspace: string, viewer: AnalyticsViewer, options: AnalyticsOptions, mode: 'concurrent' | 'sequential' = 'concurrent') {
		const timings: Record<string, number> = {};
		let queue: Promise<unknown> = Promise.resolve();
		const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
			if (mode === 'sequential') {
				const previous = queue;
				let done!: () => void;
				queue = new Promise<void>((resolve) => (done = resolve));
				await previous;
				try {
					const started = performance.now();
					const value = await run();
					timings[name] = performance.now() - started;
					return value;
				} finally {
					done();
				}
			}
			const started = performance.now();
			try {
				return await run();
			} finally {
				timings[name] = performance.now() - started;
			}
		};
		await timed('refresh', () => refresh(workspace));

		// $1 workspace, $2 from, $3 to, $4 viewer, $5 admin: the records this person may see, unarchived.
		const base = [workspace, options.from, options.to, viewer.id, viewer.admin];
		const VISIBLE = `SELECT r.id, r.name, r.stage, r.owner, r.value, r.currency, r.created_at FROM records r
		                  WHERE r.workspace_id = $1 AND NOT r.archived AND (NOT r.private OR r.owner = $4 OR $5::boolean)`;
		const CREATED = `${VISIBLE} AND r.created_at >= $2::timestamptz AND r.created_at < $3::timestamptz`;
		const STAGE_CHANGES = `SELECT s.record_id, s.at, s.id, s.before #>> '{}' AS f, s.after #>> '{}' AS t FROM (
		        SELECT record_id, at, id, before, after FROM audit_log WHERE workspace_id = $1 AND path = 'fields.stage' AND op IN ('set', 'unset')
		        UNION ALL
		        SELECT record_id, at, -id, before, after FROM audit_pending WHERE workspace_id = $1 AND path = 'fields.stage' AND op IN ('set', 'unset')
		      ) AS s`;
		const funnelArray = `ARRAY[${FUNNEL_STAGES.map((s) => `'${s}'`).join(', ')}]::text[]`;
		const weightCase = `CASE v.stage ${Object.entries(STAGE_WEIGHTS)
			.map(([stage, weight]) => `WHEN '${stage}' THEN ${Math.round(weight * 100)}`)
			.join(' ')} END`;

		type Group = { key: string | null; currency: string | null; n: string | number; valued: string | number; cents: string | null };
		const groupsOf = (rows: Group[], order?: readonly string[]): GroupTotal[] => {
			const groups = new Map<string | null, GroupTotal>();
			for (const row of rows) {
				const group = groups.get(row.key) ?? groups.set(row.key, { key: row.key, count: 0, totals: [] }).get(row.key)!;
				group.count += num(row.n);
				if (num(row.valued) > 0) group.totals.push({ currency: row.currency, amount: num(row.cents) / 100 });
			}
			const rank = (key: string | null) => (order && key !== null && order.includes(key) ? order.indexOf(key) : (order?.length ?? 0));
			const compare = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);
			return [...groups.values()]
				.map((g) => ({ ...g, totals: g.totals.sort(byCurrency) }))
				.sort((a, b) => rank(a.key) - rank(b.key) || compare(a.key, b.key));
		};
		const GROUP_COLUMNS = `count(*) AS n, count(v.value) AS valued, sum(round(v.value * 100)) AS cents`;

		const [byStage, byOwner, reachedRows, stayRows, wonLostRows, weekRows, forecastRows, heatRows, customerRows, currencyRows] = await Promise.all([
			timed('pipelineByStage', () =>
				sql.query<Group>(`SELECT v.stage AS key, v.currency, ${GROUP_COLUMNS} FROM (${CREATED}) v GROUP BY v.stage, v.currency`, base)
			),
			timed('pipelineByOwner', () =>
				sql.query<Group>(
					`SELECT v.owner AS key, v.currency, ${GROUP_COLUMNS} FROM (${CREATED}) v
					  WHERE v.stage IN ('lead', 'qualified', 'proposal', 'negotiation') GROUP BY v.owner, v.currency`,
					base
				)
			),
			timed('funnel', () =>
				sql.query<{ i: number; n: string | number }>(
					`WITH v AS (${CREATED}),
					      furthest AS (
					        SELECT v.id, GREATEST(array_position(${funnelArray}, v.stage), max(array_position(${funnelArray}, c.f)), max(array_position(${funnelArray}, c.t))) - 1 AS idx
					          FROM v LEFT JOIN (${STAGE_CHANGES}) c ON c.record_id = v.id GROUP BY v.id, v.stage)
					 SELECT s.i, count(*) AS n FROM furthest JOIN generate_series(0, ${FUNNEL_STAGES.length - 1}) AS s(i) ON furthest.idx >= s.i GROUP BY s.i`,
					base
				)
			),
			timed('daysInStage', () =>
				sql.query<{ stage: string; median: string | number }>(
					`WITH v AS (${VISIBLE}),
					      c AS (SELECT c.f, c.at, COALESCE(lag(c.at) OVER (PARTITION BY c.record_id ORDER BY c.at, c.id), v.created_at) AS entered
					              FROM (${STAGE_CHANGES}) c JOIN v ON v.id = c.record_id)
					 SELECT c.f AS stage,
					        percentile_cont(0.5) WITHIN GROUP (ORDER BY GREATEST(0, EXTRACT(EPOCH FROM (c.at - c.entered)))::float8 / 86400) AS median
					   FROM c WHERE c.f IS NOT NULL AND c.at >= $2::timestamptz AND c.at < $3::timestamptz GROUP BY c.f`,
					base
				)
			),
			timed('wonLost', () =>
				sql.query<{ month: string; won: string | number; lost: string | number }>(
					`SELECT to_char(c.at AT TIME ZONE $6, 'YYYY-MM') AS month, count(*) FILTER (WHERE c.t = 'won') AS won, count(*) FILTER (WHERE c.t = 'lost') AS lost
					   FROM (${STAGE_CHANGES}) c JOIN (${VISIBLE}) v ON v.id = c.record_id
					  WHERE c.t IN ('won', 'lost') AND c.at >= $2::timestamptz AND c.at < $3::timestamptz GROUP BY 1 ORDER BY 1`,
					[...base, options.timeZone]
				)
			),
			timed('newCustomers', () =>
				sql.query<{ week: string; n: string | number }>(
					`SELECT to_char(date_trunc('week', v.created_at AT TIME ZONE $6), 'YYYY-MM-DD') AS week, count(*) AS n FROM (${CREATED}) v GROUP BY 1 ORDER BY 1`,
					[...base, options.timeZone]
				)
			),
			timed('forecast', () =>
				sql.query<{ month: string; currency: string | null; cents: string | number; weighted: string | number; n: string | number }>(
					`SELECT to_char(a.follow_up_at, 'YYYY-MM') AS month, v.currency, sum(round(v.value * 100)) AS cents,
					        sum(round(round(v.value * 100) * ${weightCase} / 100.0)) AS weighted, count(*) AS n
					   FROM (${VISIBLE}) v JOIN analytics_records a ON a.record_id = v.id
					  WHERE v.stage IN ('lead', 'qualified', 'proposal', 'negotiation') AND v.value IS NOT NULL
					    AND a.follow_up_at >= $2::date AND a.follow_up_at < $3::date
					  GROUP BY 1, 2`,
					// The range's ends as dates: a close date is in the range when its day is.
					[workspace, options.from.slice(0, 10), options.to.slice(0, 10), viewer.id, viewer.admin]
				)
			),
			timed('heatmap', () =>
				sql.query<{ d: number; h: number; n: string | number }>(
					`SELECT (EXTRACT(ISODOW FROM a.at AT TIME ZONE $6) - 1)::int AS d, EXTRACT(HOUR FROM a.at AT TIME ZONE $6)::int AS h, count(*) AS n
					   FROM analytics_activities a JOIN (${VISIBLE}) v ON v.id = a.record_id
					  WHERE a.workspace_id = $1 AND a.at >= $2::timestamptz AND a.at < $3::timestamptz GROUP BY 1, 2`,
					[...base, options.timeZone]
				)
			),
			timed('customers', () =>
				sql.query<{
					part: string;
					id: string | null;
					name: string | null;
					stage: string | null;
					owner: string | null;
					value: string | null;
					currency: string | null;
					last_at: Date | string | null;
					freq: string | number | null;
					recency: string | number | null;
					r: number | null;
					f: number | null;
					m: number | null;
					idle: string | number | null;
					n: string | number | null;
				}>(
					`WITH v AS (${VISIBLE}),
					      act AS (SELECT a.record_id, max(a.at) FILTER (WHERE a.at <= $6::timestamptz) AS last_at,
					                     count(*) FILTER (WHERE a.at >= $2::timestamptz AND a.at < $3::timestamptz) AS freq
					                FROM analytics_activities a WHERE a.workspace_id = $1 GROUP BY a.record_id),
					      base AS (SELECT v.*, act.last_at, COALESCE(act.freq, 0) AS freq,
					                      floor(EXTRACT(EPOCH FROM ($6::timestamptz - act.last_at)) / 86400)::bigint AS recency,
					                      floor(EXTRACT(EPOCH FROM ($6::timestamptz - COALESCE(act.last_at, v.created_at))) / 86400)::bigint AS idle,
					                      CASE WHEN v.value IS NULL THEN 1 ELSE LEAST(5, 1 + floor(5.0 * (rank() OVER (PARTITION BY v.currency, v.value IS NULL ORDER BY round(v.value * 100)) - 1)
					                            / count(*) OVER (PARTITION BY v.currency, v.value IS NULL)))::int END AS m
					                 FROM v LEFT JOIN act ON act.record_id = v.id),
					      scored AS (SELECT base.*,
					                        CASE WHEN recency IS NULL THEN 1 WHEN recency <= 7 THEN 5 WHEN recency <= 30 THEN 4 WHEN recency <= 90 THEN 3 WHEN recency <= 180 THEN 2 ELSE 1 END AS r,
					                        CASE WHEN freq >= 20 THEN 5 WHEN freq >= 10 THEN 4 WHEN freq >= 5 THEN 3 WHEN freq >= 1 THEN 2 ELSE 1 END AS f
					                   FROM base),
					      top AS (SELECT *, row_number() OVER (PARTITION BY currency ORDER BY round(value * 100) DESC, r + f + m DESC, id) AS place FROM scored WHERE value IS NOT NULL)
					 SELECT 'dist' AS part, NULL::text AS id, NULL::text AS name, NULL::text AS stage, NULL::text AS owner, NULL::text AS value, NULL::text AS currency,
					        NULL::timestamptz AS last_at, NULL::bigint AS freq, NULL::bigint AS recency, NULL::int AS r, NULL::int AS f, (r + f + m)::int AS m, NULL::bigint AS idle, count(*) AS n
					   FROM scored GROUP BY r + f + m
					 UNION ALL
					 SELECT 'top', id::text, name, stage, owner, value::text, currency, last_at, freq, recency, r, f, m, idle, NULL FROM top WHERE place <= $7
					 UNION ALL
					 SELECT * FROM (SELECT 'churn', id::text, name, stage, owner, value::text, currency, last_at, freq, recency, r, f, m, idle, count(*) OVER () AS n
					   FROM scored WHERE stage IS DISTINCT FROM 'lost' AND idle >= $8 ORDER BY idle DESC, id LIMIT $7) AS churn
					 UNION ALL
					 SELECT 'churnTotal', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*) FROM scored WHERE stage IS DISTINCT FROM 'lost' AND idle >= $8`,
					[...base, options.now, options.listLimit, options.churnDays]
				)
			),
			timed('currencies', () =>
				sql.query<{ currency: string | null; cents: string | number }>(
					`SELECT v.currency, sum(round(v.value * 100)) AS cents FROM (${CREATED}) v WHERE v.value IS NOT NULL GROUP BY v.currency`,
					base
				)
			)
		]);

		const reached = new Map(reachedRows.map((row) => [num(row.i), num(row.n)]));
		const medians = new Map(stayRows.map((row) => [row.stage, num(row.median)]));
		const funnel = FUNNEL_STAGES.map((stage, i) => {
			const here = reached.get(i) ?? 0;
			const before = reached.get(i - 1) ?? 0;
			const median = medians.get(stage);
			return {
				stage,
				reached: here,
				conversion: i === 0 ? 1 : before === 0 ? 0 : Math.round((here / before) * 10_000) / 10_000,
				medianDays: median === undefined ? null : Math.round(median * 100) / 100
			};
		});

		const heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
		for (const row of heatRows) heatmap[num(row.d)][num(row.h)] = num(row.n);

		const scoreDistribution = new Array<number>(13).fill(0);
		const topCustomers: CustomerScore[] = [];
		const churnRows: ChurnRow[] = [];
		let churnTotal = 0;
		const value = (text: string | null) => (text === null ? null : Number(text));
		for (const row of customerRows) {
			if (row.part === 'dist') scoreDistribution[num(row.m) - 3] = num(row.n);
			else if (row.part === 'churnTotal') churnTotal = num(row.n);
			else if (row.part === 'top')
				topCustomers.push({
					id: row.id!,
					name: row.name ?? '',
					value: value(row.value),
					currency: row.currency,
					recencyDays: row.recency === null ? null : num(row.recency),
					frequency: num(row.freq),
					r: num(row.r),
					f: num(row.f),
					m: num(row.m),
					score: num(row.r) + num(row.f) + num(row.m)
				});
			else if (row.part === 'churn')
				churnRows.push({
					id: row.id!,
					name: row.name ?? '',
					stage: row.stage,
					owner: row.owner,
					value: value(row.value),
					currency: row.currency,
					lastActivityAt: row.last_at === null ? null : iso(row.last_at),
					idleDays: num(row.idle)
				});
		}
		topCustomers.sort((a, b) => byCurrency(a, b) || (b.value ?? 0) - (a.value ?? 0) || b.score - a.score || (a.id < b.id ? -1 : 1));
		churnRows.sort((a, b) => b.idleDays - a.idleDays || (a.id < b.id ? -1 : 1));

		const currencies: CurrencyAmount[] = currencyRows.map((row) => ({ currency: row.currency, amount: num(row.cents) / 100 })).sort(byCurrency);
		const result: Dashboard = {
			pipelineByStage: groupsOf(byStage, STAGES),
			pipelineByOwner: groupsOf(byOwner),
			funnel,
			wonLost: wonLostRows.map((row) => ({ month: row.month, won: num(row.won), lost: num(row.lost) })),
			newCustomers: weekRows.map((row) => ({ week: row.week, count: num(row.n) })),
			forecast: forecastRows
				.map((row) => ({ month: row.month, currency: row.currency, amount: num(row.cents) / 100, weighted: num(row.weighted) / 100, count: num(row.n) }))
				.sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : byCurrency(a, b))),
			heatmap,
			scoreDistribution,
			topCustomers,
			churn: { total: churnTotal, rows: churnRows },
			currencies
		};
		return { dashboard: result, timings };
	}

	return { refresh, dashboard };
}
