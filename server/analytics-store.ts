/**
 * The dashboard's numbers on the server, as SQL aggregates over small pre-aggregated tables
 * (migration 13) rather than the raw rows: at 100,000 records and 1,000,000 activities and
 * audit entries the raw aggregates took seconds (bench/analytics.ts).
 * - `analytics_summaries`: one row per record with what every chart needs from its document
 *   (the list row's columns, expected close, activity times as a sorted array) and from its
 *   stage history (furthest funnel stage reached, times of wins and losses), and who may see it.
 * - `analytics_buckets`: counts of activities, wins and losses per quarter hour and visibility,
 *   kept equal to the sum over the summaries by the migration's triggers.
 * - `analytics_stays`: each completed stay in a stage, for the median days in stage.
 * The definitions are those of src/lib/analytics/aggregate.ts, which the browser runs over its
 * local copies; tests/integration/analytics.test.ts holds both to the same answer.
 *
 * The summaries are written here, incrementally: before each answer, the records whose
 * document moved past what was last read (`seen_seq`, found from a remembered `updated_at`
 * mark) or whose list row changed who may see it (`private`) are read again; a stage change
 * is stored with the update that makes it, so it moves the document too. One instance or
 * several: what a summary contributes to the buckets is taken from the row actually replaced,
 * so a second instance writing the same summary changes nothing.
 *
 * Buckets answer a range whose ends fall on quarter hours (every range the page asks); any
 * other range, and any segment, is answered from the summaries' arrays: the same numbers, slower.
 * Customer value reads migration 17's narrow row per record (latest and earliest activities,
 * the 5th, 10th and 20th from either end, value) and its value counts; a record whose
 * activities do not let those columns decide its scores is read from its array.
 */
import * as Y from 'yjs';
import { isRecordDoc, readRecord, newDoc } from '../src/lib/model/record.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import {
	byCurrency,
	DAY_MS,
	funnelIndex,
	FUNNEL_STAGES,
	QUARTER_HOUR,
	STAGE_WEIGHTS,
	type AnalyticsOptions,
	type ChurnRow,
	type CurrencyAmount,
	type CustomerScore,
	type Dashboard,
	type GroupTotal
} from '../src/lib/analytics/aggregate.ts';
import { STAGES } from '../src/lib/model/schema.ts';
import { searchWhere } from './store/sql-store.ts';
import { CENTS8_LIMIT, STAY_EDGES } from './store/migrations.ts';
import type { Sql, SqlTx } from './store/types.ts';
// Stored document bytes may be sealed (encryption at rest): opened here as the store opens them.
import { openBytes } from './crypto/data-key.ts';

export interface AnalyticsViewer {
	id: string;
	admin: boolean;
}

/** A question: the options, with their optional segment (records matching a query of the shared language). */
export type AnalyticsQuestion = AnalyticsOptions;

export interface AnalyticsStore {
	/** Brings the summaries up to date with the workspace's documents; returns how many records were read. */
	refresh(workspace: string): Promise<number>;
	/** `sequential` runs one aggregate at a time (to time each alone: bench/analytics.ts); by default they run together. */
	dashboard(
		workspace: string,
		viewer: AnalyticsViewer,
		options: AnalyticsQuestion,
		mode?: 'concurrent' | 'sequential',
		/** 'summaries': never the buckets (to compare both ways in tests and the benchmark). */
		source?: 'auto' | 'summaries'
	): Promise<{ dashboard: Dashboard; timings: Record<string, number>; path: 'buckets' | 'summaries' }>;
}

/** Documents read per statement while refreshing. */
const REFRESH_CHUNK = 500;
/** Documents whose `updated_at` is this close before the mark are looked at again (clocks and commit order). */
const MARK_SLACK_MS = 10_000;
/** Activities kept per record: a bound on what one record can add to the tables. */
const MAX_ACTIVITIES_PER_RECORD = 10_000;
/** The buckets' step, the shared module's: every time zone's offset is a whole number of quarter hours. */
export const QUARTER_MS = QUARTER_HOUR;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const bytes = (value: Uint8Array): Uint8Array =>
	value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const num = (value: unknown): number => Number(value);

/** What a record's document gives its summary; null when the document is not (yet) a record. */
export interface DocumentSummary {
	name: string;
	stage: string | null;
	owner: string | null;
	value: number | null;
	currency: string | null;
	createdAt: string;
	archived: boolean;
	followUpAt: string | null;
	/** Sorted epoch milliseconds. */
	activityMs: number[];
}

function readSummary(snapshot: Uint8Array | null, updates: Uint8Array[]): DocumentSummary | null {
	const doc = newDoc();
	try {
		if (snapshot) Y.applyUpdate(doc, snapshot);
		for (const update of updates) Y.applyUpdate(doc, update);
		if (!isRecordDoc(doc)) return null;
		const record = readRecord(doc, '');
		// The list row's values exactly as the projection makes them.
		const row = projectRecord(record, '');
		const follow = record.fields.followUpAt;
		const activityMs: number[] = [];
		for (const activity of record.activities) {
			if (activityMs.length >= MAX_ACTIVITIES_PER_RECORD) break;
			const at = typeof activity.at === 'string' ? Date.parse(activity.at) : NaN;
			if (Number.isFinite(at)) activityMs.push(at);
		}
		activityMs.sort((a, b) => a - b);
		const createdAt = Date.parse(row.createdAt);
		return {
			name: row.name,
			stage: row.stage,
			owner: row.owner,
			value: row.value !== null && Number.isFinite(row.value) ? row.value : null,
			currency: row.currency,
			createdAt: Number.isFinite(createdAt) ? new Date(createdAt).toISOString() : new Date(0).toISOString(),
			archived: row.archived,
			followUpAt: typeof follow === 'string' && DATE.test(follow) ? follow : null,
			activityMs
		};
	} finally {
		doc.destroy();
	}
}

/** Who may see what a record contributes (see migration 13); null: nobody. */
export function scopeOf(summary: { archived: boolean; owner: string | null } | null, isPrivate: boolean | null): string | null {
	if (!summary || summary.archived || isPrivate === null) return null;
	return isPrivate ? `p:${summary.owner ?? ''}` : '';
}

/** Every stage change (sealed and still staged) of a workspace, or of some of its records: $1 workspace, `records` a uuid[] parameter. */
const stageChanges = (records?: string) => `SELECT s.record_id, s.at, s.id, s.before #>> '{}' AS f, s.after #>> '{}' AS t FROM (
        SELECT record_id, at, id, before, after FROM audit_log WHERE workspace_id = $1 AND path = 'fields.stage' AND op IN ('set', 'unset')${records ? ` AND record_id = ANY(${records})` : ''}
        UNION ALL
        SELECT record_id, at, -id, before, after FROM audit_pending WHERE workspace_id = $1 AND path = 'fields.stage' AND op IN ('set', 'unset')${records ? ` AND record_id = ANY(${records})` : ''}
      ) AS s`;

/** Writes the summaries of some records (one transaction): rows, then their stays. Exported for tests that write summaries without documents. */
export async function writeSummaries(
	tx: SqlTx,
	workspace: string,
	docs: { id: string; seq: number; isPrivate: boolean | null; summary: DocumentSummary | null }[]
): Promise<void> {
	const ids = docs.map((doc) => doc.id);
	const changes = await tx.query<{ record_id: string; ms: string | number; f: string | null; t: string | null }>(
		`SELECT c.record_id::text AS record_id, floor(EXTRACT(EPOCH FROM c.at) * 1000)::bigint AS ms, c.f, c.t FROM (${stageChanges('$2::uuid[]')}) c ORDER BY c.at, c.id`,
		[workspace, ids]
	);
	const history = new Map<string, { furthest: number; won: number[]; lost: number[] }>();
	for (const change of changes) {
		const key = change.record_id.toLowerCase();
		const entry = history.get(key) ?? history.set(key, { furthest: -1, won: [], lost: [] }).get(key)!;
		entry.furthest = Math.max(entry.furthest, funnelIndex(change.f), funnelIndex(change.t));
		if (change.t === 'won') entry.won.push(num(change.ms));
		else if (change.t === 'lost') entry.lost.push(num(change.ms));
	}
	const columns = {
		id: [] as string[],
		seq: [] as number[],
		name: [] as string[],
		stage: [] as (string | null)[],
		owner: [] as (string | null)[],
		value: [] as (string | null)[],
		currency: [] as (string | null)[],
		created: [] as (string | null)[],
		follow: [] as (string | null)[],
		scope: [] as (string | null)[],
		private: [] as (boolean | null)[],
		furthest: [] as number[],
		activities: [] as string[],
		won: [] as string[],
		lost: [] as string[]
	};
	// Arrays of arrays of different lengths cannot be one parameter: each goes as its literal text.
	const literal = (values: number[]) => `{${values.join(',')}}`;
	for (const doc of docs) {
		const s = doc.summary;
		const h = history.get(doc.id.toLowerCase());
		columns.id.push(doc.id);
		columns.seq.push(doc.seq);
		columns.name.push(s?.name ?? '');
		columns.stage.push(s?.stage ?? null);
		columns.owner.push(s?.owner ?? null);
		columns.value.push(s?.value === null || s?.value === undefined ? null : String(s.value));
		columns.currency.push(s?.currency ?? null);
		columns.created.push(s?.createdAt ?? null);
		columns.follow.push(s?.followUpAt ?? null);
		columns.scope.push(scopeOf(s, doc.isPrivate));
		columns.private.push(doc.isPrivate);
		columns.furthest.push(h?.furthest ?? -1);
		columns.activities.push(literal(s?.activityMs ?? []));
		columns.won.push(literal(h?.won ?? []));
		columns.lost.push(literal(h?.lost ?? []));
	}
	// In id order, so two instances writing overlapping sets lock rows in one order.
	await tx.query(
		`INSERT INTO analytics_summaries AS a (record_id, workspace_id, seen_seq, name, stage, owner, value, currency, created_at, follow_up_at, scope, private, furthest, activity_ms, won_ms, lost_ms)
		 SELECT r.id, $1, r.seq, r.name, r.stage, r.owner, r.value, r.currency, r.created, r.follow, r.scope, r.private, r.furthest, r.activities::bigint[], r.won::bigint[], r.lost::bigint[]
		   FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::text[], $9::timestamptz[], $10::date[], $11::text[], $12::boolean[], $13::smallint[], $14::text[], $15::text[], $16::text[])
		        AS r(id, seq, name, stage, owner, value, currency, created, follow, scope, private, furthest, activities, won, lost)
		  ORDER BY r.id
		 ON CONFLICT (record_id) DO UPDATE SET seen_seq = EXCLUDED.seen_seq, name = EXCLUDED.name, stage = EXCLUDED.stage, owner = EXCLUDED.owner,
		   value = EXCLUDED.value, currency = EXCLUDED.currency, created_at = EXCLUDED.created_at, follow_up_at = EXCLUDED.follow_up_at,
		   scope = EXCLUDED.scope, private = EXCLUDED.private, furthest = EXCLUDED.furthest, activity_ms = EXCLUDED.activity_ms,
		   won_ms = EXCLUDED.won_ms, lost_ms = EXCLUDED.lost_ms`,
		[
			workspace,
			columns.id,
			columns.seq,
			columns.name,
			columns.stage,
			columns.owner,
			columns.value,
			columns.currency,
			columns.created,
			columns.follow,
			columns.scope,
			columns.private,
			columns.furthest,
			columns.activities,
			columns.won,
			columns.lost
		]
	);
	// The summaries' rows are locked now: a second writer of the same records waits here, then replaces these stays.
	await tx.query('DELETE FROM analytics_stays WHERE record_id = ANY($1::uuid[])', [ids]);
	await tx.query(
		`INSERT INTO analytics_stays (record_id, workspace_id, scope, stage, left_at, days)
		 SELECT c.record_id, $1, c.scope, c.f, c.at, GREATEST(0, EXTRACT(EPOCH FROM (c.at - c.entered)))::float8 / 86400
		   FROM (SELECT c.record_id, c.f, c.at, a.scope, COALESCE(lag(c.at) OVER (PARTITION BY c.record_id ORDER BY c.at, c.id), a.created_at) AS entered
		           FROM (${stageChanges('$2::uuid[]')}) c JOIN analytics_summaries a ON a.record_id = c.record_id) c
		  WHERE c.f IS NOT NULL AND c.scope IS NOT NULL`,
		[workspace, ids]
	);
}

/** The UTC month (months since 1970) an instant falls in, and the instant a month starts. */
const monthOf = (ms: number): number => {
	const date = new Date(ms);
	return (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
};
const monthStart = (month: number): number => Date.UTC(1970, month, 1);

/**
 * [from, to) for analytics_stay_counts: the whole UTC months inside it, the whole days of its
 * partial months, and what is left at its ends (read from the stays themselves).
 */
export function splitMonths(fromMs: number, toMs: number): { months: { first: number; last: number }; days: { first: number; last: number }[]; ends: [number, number][] } {
	const first = monthOf(fromMs) + (monthStart(monthOf(fromMs)) === fromMs ? 0 : 1);
	const last = monthOf(toMs);
	if (first >= last) {
		const days = split(fromMs, toMs, DAY_MS);
		return { months: { first: 0, last: 0 }, days: [days], ends: days.ends };
	}
	const head = split(fromMs, monthStart(first), DAY_MS);
	const tail = split(monthStart(last), toMs, DAY_MS);
	return { months: { first, last }, days: [head, tail], ends: [...head.ends, ...tail.ends] };
}

/**
 * [from, to) as the whole steps inside it (`first` ≤ step < `last`, read from a counts table) and
 * the partial steps at its ends (`ends`, read from the rows themselves); no whole step: all ends.
 */
export function split(fromMs: number, toMs: number, step: number): { first: number; last: number; ends: [number, number][] } {
	const first = Math.ceil(fromMs / step);
	const last = Math.floor(toMs / step);
	if (first >= last) return { first: 0, last: 0, ends: fromMs < toMs ? [[fromMs, toMs]] : [] };
	const ends: [number, number][] = [
		[fromMs, first * step],
		[last * step, toMs]
	];
	return { first, last, ends: ends.filter(([a, b]) => a < b) };
}

export function createAnalyticsStore(sql: Sql): AnalyticsStore {
	/** Per workspace: the latest `updated_at` read, so the next refresh looks only at documents changed since. */
	const marks = new Map<string, number>();
	/** One refresh per workspace at a time; callers meanwhile wait for it. */
	const running = new Map<string, Promise<number>>();

	async function refreshNow(workspace: string): Promise<number> {
		const mark = marks.get(workspace);
		const since = mark === undefined ? null : new Date(mark - MARK_SLACK_MS).toISOString();
		// Documents that moved, and list rows whose privacy the summary has not seen.
		const stale = await sql.query<{ id: string; updated_at: Date | string }>(
			`SELECT d.id::text AS id, d.updated_at
			   FROM documents d LEFT JOIN analytics_summaries a ON a.record_id = d.id
			  WHERE d.workspace_id = $1 AND ($2::timestamptz IS NULL OR d.updated_at >= $2::timestamptz)
			    AND (a.record_id IS NULL OR a.seen_seq <> d.last_seq)
			 UNION
			 SELECT r.id::text, NULL FROM records r LEFT JOIN analytics_summaries a ON a.record_id = r.id
			  WHERE r.workspace_id = $1 AND ($2::timestamptz IS NULL OR r.updated_at >= $2::timestamptz)
			    AND a.private IS DISTINCT FROM r.private`,
			[workspace, since]
		);
		let latest = mark ?? 0;
		// The mark moves forward even when nothing was stale (the first look included), so the next look starts later.
		const [newest] = await sql.query<{ max: Date | string | null }>('SELECT max(updated_at) AS max FROM documents WHERE workspace_id = $1', [workspace]);
		if (newest?.max) latest = Math.max(latest, Date.parse(iso(newest.max)));
		const ids = [...new Set(stale.map((row) => row.id.toLowerCase()))];
		for (const row of stale) if (row.updated_at !== null) latest = Math.max(latest, Date.parse(iso(row.updated_at)));
		for (let start = 0; start < ids.length; start += REFRESH_CHUNK) {
			const chunk = ids.slice(start, start + REFRESH_CHUNK);
			const docs = await sql.query<{ id: string; snapshot: Uint8Array | null; last_seq: string | number; private: boolean | null; updates: Uint8Array[] | null }>(
				`SELECT d.id::text AS id, d.snapshot, d.last_seq, r.private,
				        (SELECT array_agg(u.update ORDER BY u.seq) FROM document_updates u
				          WHERE u.document_id = d.id AND u.seq > d.snapshot_seq AND u.seq <= d.last_seq) AS updates
				   FROM documents d LEFT JOIN records r ON r.id = d.id WHERE d.id = ANY($1::uuid[]) AND d.workspace_id = $2`,
				[chunk, workspace]
			);
			const read = docs.map((doc) => ({
				id: doc.id,
				seq: num(doc.last_seq),
				isPrivate: doc.private,
				summary: readSummary(doc.snapshot ? openBytes(bytes(doc.snapshot)) : null, (doc.updates ?? []).map((update) => openBytes(bytes(update))))
			}));
			if (read.length > 0) await sql.transaction((tx) => writeSummaries(tx, workspace, read));
		}
		if (latest > 0) marks.set(workspace, latest);
		return ids.length;
	}

	function refresh(workspace: string): Promise<number> {
		const current = running.get(workspace);
		if (current) return current;
		const next = refreshNow(workspace).finally(() => running.delete(workspace));
		running.set(workspace, next);
		return next;
	}

	async function dashboard(workspace: string, viewer: AnalyticsViewer, options: AnalyticsQuestion, mode: 'concurrent' | 'sequential' = 'concurrent', source: 'auto' | 'summaries' = 'auto') {
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

		const fromMs = Date.parse(options.from);
		const toMs = Date.parse(options.to);
		const nowMs = Date.parse(options.now);
		/** Each statement's parameters, typed where they are used (a statement takes only those it uses). */
		type Bind = (value: unknown, type: string) => string;
		const ask = <T>(build: (bind: Bind, params: unknown[]) => string): Promise<T[]> => {
			const params: unknown[] = [];
			const bind: Bind = (value, type) => `$${params.push(value)}::${type}`;
			return sql.query<T>(build(bind, params), params);
		};
		const hasSegment = options.segment ? searchWhere(options.segment, [], nowMs).length > 0 : false;
		/** Buckets answer ranges that start and end on quarter hours, for everyone's records or a person's; a segment needs the records. */
		const fromBuckets = source === 'auto' && !hasSegment && fromMs % QUARTER_MS === 0 && toMs % QUARTER_MS === 0;
		/** The counts tables (migration 16) answer any range; a segment needs the records themselves. */
		const fromCounts = source === 'auto' && !hasSegment;
		/** `column` in one of the [from, to) millisecond ranges. */
		const within = (bind: Bind, column: string, ends: [number, number][]) =>
			ends.length === 0
				? 'false'
				: `(${ends.map(([a, b]) => `(${column} >= ${bind(new Date(a).toISOString(), 'timestamptz')} AND ${column} < ${bind(new Date(b).toISOString(), 'timestamptz')})`).join(' OR ')})`;
		/** Rows of table alias `alias` this person may see. */
		const sees = (bind: Bind, alias = 's') => `(${alias}.scope = '' OR ${alias}.scope = 'p:' || ${bind(viewer.id, 'text')} OR ${bind(viewer.admin, 'boolean')})`;
		const inSegment = (bind: Bind, params: unknown[], alias = 's') => {
			if (!options.segment || !hasSegment) return '';
			const conditions = searchWhere(options.segment, params, nowMs);
			return ` AND ${alias}.record_id IN (SELECT id FROM records WHERE workspace_id = ${bind(workspace, 'text')} AND ${conditions.join(' AND ')})`;
		};
		/** The summaries this person may see (in the segment), optionally with one of their arrays unnested as `ms`. */
		const visible = (bind: Bind, params: unknown[], unnest?: 'activity_ms' | 'won_ms' | 'lost_ms') =>
			`analytics_summaries s${unnest ? ` CROSS JOIN LATERAL unnest(s.${unnest}) AS ms` : ''}
			  WHERE s.workspace_id = ${bind(workspace, 'text')} AND s.scope IS NOT NULL AND ${sees(bind)}${inSegment(bind, params)}`;
		const funnelArray = `ARRAY[${FUNNEL_STAGES.map((s) => `'${s}'`).join(', ')}]::text[]`;
		const weightCase = `CASE s.stage ${Object.entries(STAGE_WEIGHTS)
			.map(([stage, weight]) => `WHEN '${stage}' THEN ${Math.round(weight * 100)}`)
			.join(' ')} END`;
		const OPEN = `s.stage IN ('lead', 'qualified', 'proposal', 'negotiation')`;
		/** A quarter hour's local time in the person's zone: weekday, hour and month are the same for every instant in it. */
		const local = (bind: Bind, quarter: string) => `(to_timestamp((${quarter})::bigint * 900) AT TIME ZONE ${bind(options.timeZone, 'text')})`;
		const quarterOf = (ms: string) => `floor(${ms} / ${QUARTER_MS}.0)`;
		const range = (bind: Bind, column: string) => `${column} >= ${bind(options.from, 'timestamptz')} AND ${column} < ${bind(options.to, 'timestamptz')}`;
		const msRange = (bind: Bind, column: string) => `${column} >= ${bind(fromMs, 'bigint')} AND ${column} < ${bind(toMs, 'bigint')}`;
		const quarterRange = (bind: Bind) => `s.quarter >= ${quarterOf(bind(fromMs, 'bigint'))} AND s.quarter < ${quarterOf(bind(toMs, 'bigint'))}`;

		type CustomerRow = {
			part: 'dist' | 'top' | 'churn';
			id: string | null;
			name: string | null;
			stage: string | null;
			owner: string | null;
			value: string | null;
			currency: string | null;
			last_ms: string | number | null;
			freq: string | number | null;
			recency: string | number | null;
			r: number | null;
			f: number | null;
			m: number | null;
			idle: string | number | null;
			n: string | number | null;
			/** Of a score's customers, those idle for churnDays or more (not lost). */
			churned: string | number | null;
			/** The total score (3 to 15) whose customers `n` counts. */
			score: number | null;
		};
		type Part = { part: string; key: string | null; currency: string | null; n: string | number; valued: string | number; cents: string | null; weighted: string | null };
		type Group = Pick<Part, 'key' | 'currency' | 'n' | 'valued' | 'cents'>;
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
		const CENTS = `round(s.value * 100)`;
		const GROUP = `count(*) AS n, count(s.value) AS valued, sum(${CENTS}) AS cents, NULL::numeric AS weighted`;

		const [partRows, stayRows, wonLostRows, heatRows, customerRows] = await Promise.all([
			// One pass over the summaries for every per-record total: records created in the range
			// by stage, by owner (open deals), per currency, per week and by furthest funnel stage; the forecast.
			timed('records', () =>
				ask<Part>((bind, params) => {
					const tz = bind(options.timeZone, 'text');
					if (fromCounts) {
						// Whole UTC days (quarter hours for weeks, close dates for the forecast) from the counts the
						// triggers keep; the records created in the range's partial days at either end from their summaries.
						const days = split(fromMs, toMs, DAY_MS);
						const quarters = split(fromMs, toMs, QUARTER_MS);
						const counts = (kinds: string, first: number, last: number) =>
							`analytics_counts s WHERE s.workspace_id = ${bind(workspace, 'text')} AND s.kind IN (${kinds}) AND ${sees(bind)}
							   AND s.at >= ${bind(first, 'bigint')} AND s.at < ${bind(last, 'bigint')}`;
						const atEnds = (ends: [number, number][]) => `${visible(bind, params)} AND ${within(bind, 's.created_at', ends)}`;
						return `SELECT p.part, p.key, p.currency, sum(p.n) AS n, sum(p.valued) AS valued, sum(p.cents) AS cents, sum(p.weighted) AS weighted FROM (
						   SELECT s.kind AS part, s.key, s.currency, s.n, s.valued, s.cents, NULL::numeric AS weighted FROM ${counts(`'stage', 'owner', 'reached'`, days.first, days.last)}
						   UNION ALL
						   SELECT 'week', to_char(date_trunc('week', to_timestamp(s.at * 900) AT TIME ZONE ${tz}), 'YYYY-MM-DD'), NULL, s.n, 0, NULL, NULL
						     FROM ${counts(`'quarter'`, quarters.first, quarters.last)}
						   UNION ALL
						   SELECT 'forecast', to_char(DATE '1970-01-01' + s.at::int, 'YYYY-MM'), s.currency, s.n, s.n, s.cents, s.weighted
						     FROM ${counts(`'forecast'`, Math.floor(fromMs / DAY_MS), Math.floor(toMs / DAY_MS))}
						   UNION ALL
						   SELECT 'stage', s.stage, s.currency, 1, (s.cents IS NOT NULL)::int, COALESCE(s.cents, 0), NULL FROM ${atEnds(days.ends)}
						   UNION ALL
						   SELECT 'owner', s.owner, s.currency, 1, (s.cents IS NOT NULL)::int, COALESCE(s.cents, 0), NULL FROM ${atEnds(days.ends)} AND ${OPEN}
						   UNION ALL
						   SELECT 'reached', GREATEST(COALESCE(array_position(${funnelArray}, s.stage) - 1, -1), s.furthest)::text, NULL, 1, 0, 0, NULL FROM ${atEnds(days.ends)}
						   UNION ALL
						   SELECT 'week', to_char(date_trunc('week', s.created_at AT TIME ZONE ${tz}), 'YYYY-MM-DD'), NULL, 1, 0, NULL, NULL FROM ${atEnds(quarters.ends)}
						 ) AS p
						 GROUP BY 1, 2, 3 HAVING sum(p.n) <> 0`;
					}
					return `WITH s AS MATERIALIZED (
					   SELECT s.stage, s.owner, s.value, s.currency, s.follow_up_at, (${range(bind, 's.created_at')}) AS created_in,
					          CASE WHEN ${range(bind, 's.created_at')} THEN to_char(date_trunc('week', s.created_at AT TIME ZONE ${tz}), 'YYYY-MM-DD') END AS week,
					          GREATEST(COALESCE(array_position(${funnelArray}, s.stage) - 1, -1), s.furthest) AS reached
					     FROM ${visible(bind, params)})
					 SELECT 'stage' AS part, s.stage AS key, s.currency, ${GROUP} FROM s WHERE s.created_in GROUP BY s.stage, s.currency
					 UNION ALL
					 SELECT 'owner', s.owner, s.currency, ${GROUP} FROM s WHERE s.created_in AND ${OPEN} GROUP BY s.owner, s.currency
					 UNION ALL
					 SELECT 'week', s.week, NULL, count(*), 0, NULL, NULL FROM s WHERE s.created_in GROUP BY s.week
					 UNION ALL
					 SELECT 'reached', s.reached::text, NULL, count(*), 0, NULL, NULL FROM s WHERE s.created_in GROUP BY s.reached
					 UNION ALL
					 SELECT 'forecast', to_char(s.follow_up_at, 'YYYY-MM'), s.currency, count(*), count(*), sum(${CENTS}),
					        sum(round(${CENTS} * ${weightCase} / 100.0))
					   FROM s WHERE ${OPEN} AND s.value IS NOT NULL
					    AND s.follow_up_at >= ${bind(options.from.slice(0, 10), 'date')} AND s.follow_up_at < ${bind(options.to.slice(0, 10), 'date')}
					  GROUP BY 2, 3`;
				})
			),
			timed('daysInStage', async () => {
				if (!fromCounts)
					return ask<{ stage: string; median: string | number }>(
						(bind, params) =>
							`SELECT s.stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.days) AS median
							   FROM analytics_stays s
							  WHERE s.workspace_id = ${bind(workspace, 'text')} AND ${sees(bind)} AND ${range(bind, 's.left_at')}${inSegment(bind, params)}
							  GROUP BY s.stage`
					);
				// The median without reading every stay: how many stays of each length bucket ended in the range
				// (whole UTC days from analytics_stay_counts, the partial days at the ends from the stays), which
				// bucket holds the middle one or two, then only that bucket's stays in order, through their index.
				// One statement, so the counts and the stays are of one snapshot.
				const rows = await ask<{ stage: string; k: string | number; days: number | string }>((bind) => {
					const parts = splitMonths(fromMs, toMs);
					const edges = `ARRAY[${STAY_EDGES.join(', ')}]::float8[]`;
					const at = (unit: string, span: { first: number; last: number }) =>
						`(s.unit = '${unit}' AND s.at >= ${bind(span.first, 'bigint')} AND s.at < ${bind(span.last, 'bigint')})`;
					return `WITH hist AS (
					   SELECT x.stage, x.bucket, sum(x.n)::bigint AS n FROM (
					     SELECT s.stage, s.bucket, s.n FROM analytics_stay_counts s
					      WHERE s.workspace_id = ${bind(workspace, 'text')} AND ${sees(bind)}
					        AND (${[at('m', parts.months), ...parts.days.map((days) => at('d', days))].join(' OR ')})
					     UNION ALL
					     SELECT s.stage, width_bucket(s.days, ${edges})::smallint, 1 FROM analytics_stays s
					      WHERE s.workspace_id = ${bind(workspace, 'text')} AND ${sees(bind)} AND ${within(bind, 's.left_at', parts.ends)}
					   ) AS x GROUP BY 1, 2 HAVING sum(x.n) <> 0),
					 cum AS (SELECT h.stage, h.bucket, h.n, (sum(h.n) OVER (PARTITION BY h.stage ORDER BY h.bucket))::bigint - h.n AS before,
					                (sum(h.n) OVER (PARTITION BY h.stage))::bigint AS total FROM hist h),
					 want AS (SELECT DISTINCT c.stage, c.bucket, c.before, t.k FROM cum c CROSS JOIN LATERAL (VALUES ((c.total - 1) / 2), (c.total / 2)) AS t(k)
					           WHERE t.k >= c.before AND t.k < c.before + c.n),
					 buckets AS MATERIALIZED (SELECT stage, bucket, before, min(k) AS first, max(k) AS last FROM want GROUP BY 1, 2, 3),
					 -- Bucket 0 holds stays of length 0 only; any other is read from its first wanted place to its last.
					 found AS MATERIALIZED (SELECT b.stage, b.bucket, b.first + row_number() OVER (PARTITION BY b.stage, b.bucket ORDER BY v.days) - 1 AS k, v.days
					   FROM buckets b
					  CROSS JOIN LATERAL (SELECT s.days FROM analytics_stays s
					         WHERE b.bucket > 0 AND s.workspace_id = ${bind(workspace, 'text')} AND s.stage = b.stage
					           AND s.days >= (ARRAY[${STAY_EDGES.join(', ')}]::float8[])[b.bucket]
					           AND s.days < (ARRAY[${STAY_EDGES.join(', ')}, 'Infinity']::float8[])[b.bucket + 1]
					           AND ${sees(bind)} AND ${range(bind, 's.left_at')}
					         ORDER BY s.days OFFSET b.first - b.before LIMIT b.last - b.first + 1) AS v
					 UNION ALL
					 SELECT w.stage, w.bucket, w.k, 0 FROM want w WHERE w.bucket = 0)
					 SELECT w.stage, w.k, f.days FROM want w JOIN found f ON f.stage = w.stage AND f.bucket = w.bucket AND f.k = w.k
					 ORDER BY w.stage, w.k`;
				});
				const middle = new Map<string, number[]>();
				for (const row of rows) (middle.get(row.stage) ?? middle.set(row.stage, []).get(row.stage)!).push(num(row.days));
				// The shared module's median: the middle value, or the mean of the middle two.
				return [...middle].map(([stage, values]) => ({ stage, median: values.length === 1 ? values[0] : (values[0] + values[1]) / 2 }));
			}),
			timed('wonLost', () =>
				ask<{ month: string; won: string | number | null; lost: string | number | null }>((bind, params) =>
					fromBuckets
						? `SELECT to_char(${local(bind, 's.quarter')}, 'YYYY-MM') AS month, sum(s.n) FILTER (WHERE s.kind = 'won') AS won, sum(s.n) FILTER (WHERE s.kind = 'lost') AS lost
						     FROM analytics_buckets s
						    WHERE s.workspace_id = ${bind(workspace, 'text')} AND s.kind IN ('won', 'lost') AND ${sees(bind)} AND ${quarterRange(bind)}
						    GROUP BY 1 HAVING sum(s.n) <> 0 ORDER BY 1`
						: `SELECT to_char(${local(bind, quarterOf('c.ms'))}, 'YYYY-MM') AS month, count(*) FILTER (WHERE c.kind = 'won') AS won, count(*) FILTER (WHERE c.kind = 'lost') AS lost
						     FROM (SELECT 'won' AS kind, ms FROM ${visible(bind, params, 'won_ms')}
						           UNION ALL
						           SELECT 'lost', ms FROM ${visible(bind, params, 'lost_ms')}) c
						    WHERE ${msRange(bind, 'c.ms')}
						    GROUP BY 1 ORDER BY 1`
				)
			),
			timed('heatmap', () =>
				ask<{ d: number; h: number; n: string | number }>((bind, params) =>
					fromBuckets
						? `SELECT (EXTRACT(ISODOW FROM ${local(bind, 's.quarter')}) - 1)::int AS d, EXTRACT(HOUR FROM ${local(bind, 's.quarter')})::int AS h, sum(s.n) AS n
						     FROM analytics_buckets s
						    WHERE s.workspace_id = ${bind(workspace, 'text')} AND s.kind = 'activity' AND ${sees(bind)} AND ${quarterRange(bind)}
						    GROUP BY 1, 2`
						: `SELECT (EXTRACT(ISODOW FROM ${local(bind, 'a.quarter')}) - 1)::int AS d, EXTRACT(HOUR FROM ${local(bind, 'a.quarter')})::int AS h, count(*) AS n
						     FROM (SELECT ${quarterOf('ms')} AS quarter FROM ${visible(bind, params, 'activity_ms')} AND ${msRange(bind, 'ms')}) a
						    GROUP BY 1, 2`
				)
			),
			timed('customers', () => {
				const now = (bind: Bind) => bind(nowMs, 'bigint');
				/**
				 * Per summary `s`: its last activity up to now and activities in the range (binary search in the
				 * sorted times: width_bucket counts the times ≤ a bound), days since then (recency) and idle days;
				 * with `t` its currency's quintile boundaries, the R, F and M scores too.
				 */
				const scores = (bind: Bind, t?: string) => `CROSS JOIN LATERAL (SELECT s.activity_ms[NULLIF(width_bucket(${now(bind)}, s.activity_ms), 0)] AS last_ms,
				          width_bucket(${bind(toMs - 1, 'bigint')}, s.activity_ms) - width_bucket(${bind(fromMs - 1, 'bigint')}, s.activity_ms) AS freq OFFSET 0) AS a
				   CROSS JOIN LATERAL (SELECT (${now(bind)} - a.last_ms) / ${DAY_MS} AS recency,
				          floor((${now(bind)} - COALESCE(a.last_ms, floor(EXTRACT(EPOCH FROM s.created_at) * 1000)::bigint))::float8 / ${DAY_MS})::bigint AS idle OFFSET 0) AS b${
						t
							? `
				   CROSS JOIN LATERAL (SELECT CASE WHEN b.recency IS NULL THEN 1 WHEN b.recency <= 7 THEN 5 WHEN b.recency <= 30 THEN 4 WHEN b.recency <= 90 THEN 3 WHEN b.recency <= 180 THEN 2 ELSE 1 END AS r,
				          CASE WHEN a.freq >= 20 THEN 5 WHEN a.freq >= 10 THEN 4 WHEN a.freq >= 5 THEN 3 WHEN a.freq >= 1 THEN 2 ELSE 1 END AS f,
				          CASE WHEN s.cents IS NULL THEN 1 ELSE 1 + (s.cents > ${t}.t1)::int + (s.cents > ${t}.t2)::int + (s.cents > ${t}.t3)::int + (s.cents > ${t}.t4)::int END AS m
				          OFFSET 0) AS x`
							: ''
					}`;
				const valued = (bind: Bind, params: unknown[]) => `${visible(bind, params)} AND s.cents IS NOT NULL`;
				// The value of a currency's `k`-th fifth: its ⌈k·n/5⌉-th smallest, read through the values' index (no sort).
				// M is then 1 + the boundaries a value exceeds, which is the shared module's 1 + ⌊5 × (values smaller) / n⌋.
				const boundary = (bind: Bind, params: unknown[], k: number) => `COALESCE(
				     (SELECT s.cents FROM ${valued(bind, params)} AND s.currency = c.currency ORDER BY s.cents OFFSET (${k} * c.n + 4) / 5 - 1 LIMIT 1),
				     (SELECT s.cents FROM ${valued(bind, params)} AND c.currency IS NULL AND s.currency IS NULL ORDER BY s.cents OFFSET (${k} * c.n + 4) / 5 - 1 LIMIT 1))`;
				const NONE = `NULL::text AS id, NULL::text AS name, NULL::text AS stage, NULL::text AS owner, NULL::text AS value, NULL::text AS currency, NULL::bigint AS last_ms, NULL::bigint AS freq, NULL::bigint AS recency`;
				/**
				 * Each currency's boundaries (`th`: `key` the currency, '' for none, which the projection never stores as
				 * a currency; `ta` the boundaries + 1 as bigints, clamped to cents8's range, for width_bucket) and its
				 * first few by value (`top`). The boundaries from every visible summary's value in order (a segment, or
				 * the reference reading), or from the value counts per bucket and one bucket's values (`counted`).
				 */
				const boundaries = (bind: Bind, params: unknown[], limit: string, counted = false) => {
					const ws = counted ? bind(workspace, 'text') : '';
					const thresholds = counted
						? `h AS (SELECT v.currency, v.vbucket, sum(v.n)::bigint AS n FROM analytics_value_counts v WHERE v.workspace_id = ${ws} AND ${sees(bind, 'v')} GROUP BY 1, 2 HAVING sum(v.n) > 0),
					      hc AS (SELECT h.currency, h.vbucket, h.n, (sum(h.n) OVER (PARTITION BY h.currency ORDER BY h.vbucket))::bigint - h.n AS before, (sum(h.n) OVER (PARTITION BY h.currency))::bigint AS total FROM h),
					      -- The bucket holding each ⌈k·n/5⌉-th smallest value, and its place there.
					      want AS (SELECT hc.currency, j.k, hc.vbucket, (j.k * hc.total + 4) / 5 - 1 - hc.before AS off
					                 FROM hc CROSS JOIN (VALUES (1), (2), (3), (4)) AS j(k)
					                WHERE (j.k * hc.total + 4) / 5 - 1 >= hc.before AND (j.k * hc.total + 4) / 5 - 1 < hc.before + hc.n),
					      bound AS (SELECT w.currency, w.k, COALESCE(
					                  (SELECT c.cents FROM analytics_customers c WHERE c.workspace_id = ${ws} AND c.currency = w.currency AND c.vbucket = w.vbucket AND c.cents IS NOT NULL AND ${sees(bind, 'c')} ORDER BY c.cents OFFSET w.off LIMIT 1),
					                  (SELECT c.cents FROM analytics_customers c WHERE c.workspace_id = ${ws} AND w.currency IS NULL AND c.currency IS NULL AND c.vbucket = w.vbucket AND c.cents IS NOT NULL AND ${sees(bind, 'c')} ORDER BY c.cents OFFSET w.off LIMIT 1)) AS t
					                  FROM want w),
					      t0 AS (SELECT b.currency, ${[1, 2, 3, 4].map((k) => `max(b.t) FILTER (WHERE b.k = ${k}) AS t${k}`).join(', ')} FROM bound b GROUP BY b.currency)`
						: `c AS (SELECT s.currency, count(*) AS n FROM ${valued(bind, params)} GROUP BY s.currency),
					      t0 AS (SELECT c.currency, ${[1, 2, 3, 4].map((k) => `${boundary(bind, params, k)} AS t${k}`).join(', ')} FROM c)`;
					const clamp = (t: string) => `LEAST(GREATEST(${t}, -${CENTS8_LIMIT}), ${CENTS8_LIMIT})::bigint + 1`;
					return `${thresholds},
					      th AS MATERIALIZED (SELECT t0.*, COALESCE(t0.currency, '') AS key, ARRAY[${[1, 2, 3, 4].map((k) => clamp(`t0.t${k}`)).join(', ')}] AS ta FROM t0),
					      -- The first few of each currency through the index, ties on value included, then ordered by score.
					      top AS (SELECT t.* FROM th CROSS JOIN LATERAL (
					                SELECT s.record_id, s.name, s.stage, s.owner, s.value, s.currency, a.last_ms, a.freq, b.recency, x.r, x.f, x.m, b.idle
					                  FROM ((SELECT s.* FROM ${valued(bind, params)} AND s.currency = th.currency ORDER BY s.cents DESC FETCH FIRST (${limit}) ROWS WITH TIES)
					                        UNION ALL
					                        (SELECT s.* FROM ${valued(bind, params)} AND th.currency IS NULL AND s.currency IS NULL ORDER BY s.cents DESC FETCH FIRST (${limit}) ROWS WITH TIES)) AS s
					                  ${scores(bind, 'th')}
					                 ORDER BY s.cents DESC, x.r + x.f + x.m DESC, s.record_id LIMIT ${limit}) AS t)`;
				};
				const TOP = `SELECT 'top', record_id::text, name, stage, owner, value::text, currency, last_ms, freq, recency, r, f, m, idle, NULL, NULL, NULL FROM top`;

				if (source === 'summaries') {
					// Every summary's array read (the reference the narrow rows are tested against): one pass for the
					// distribution and the churn count, one more for the churn list (a top-N sort).
					const scored = ask<CustomerRow>((bind, params) => {
						const limit = bind(options.listLimit, 'int');
						return `WITH ${boundaries(bind, params, limit)}
						 SELECT 'dist' AS part, ${NONE}, NULL::int AS r, NULL::int AS f, NULL::int AS m, NULL::bigint AS idle, count(*) AS n,
						        count(*) FILTER (WHERE s.stage IS DISTINCT FROM 'lost' AND b.idle >= ${bind(options.churnDays, 'int')}) AS churned, x.r + x.f + x.m AS score
						   FROM (SELECT s.* FROM ${visible(bind, params)}) AS s
						   LEFT JOIN th AS t ON t.key = COALESCE(s.currency, '')
						   ${scores(bind, 't')}
						  GROUP BY x.r + x.f + x.m
						 UNION ALL
						 ${TOP}`;
					});
					const churn = ask<CustomerRow>(
						(bind, params) =>
							`SELECT 'churn' AS part, s.record_id::text AS id, s.name, s.stage, s.owner, s.value::text AS value, s.currency, a.last_ms, a.freq, b.recency,
							        NULL::int AS r, NULL::int AS f, NULL::int AS m, b.idle, NULL::bigint AS n, NULL::bigint AS churned, NULL::int AS score
							   FROM (SELECT s.* FROM ${visible(bind, params)}) AS s ${scores(bind)}
							  WHERE s.stage IS DISTINCT FROM 'lost' AND b.idle >= ${bind(options.churnDays, 'int')}
							  ORDER BY b.idle DESC, s.record_id LIMIT ${bind(options.listLimit, 'int')}`
					);
					return Promise.all([scored, churn]).then(([a, b]) => [...a, ...b]);
				}

				// From the narrow rows (migration 17): R, F, M and idle days from plain columns for every record whose
				// activities allow it (none after now; all before the range's end, or all at or after its start), from
				// the summary's array for the others, which the index on since_ms finds (their latest activity is after
				// now or at or after the range's end). Exactly the shared module's scores either way.
				/** The narrow rows this person may see (in the segment) as `c`. */
				const rows = (bind: Bind, params: unknown[], join = '') =>
					`analytics_customers c ${join} WHERE c.workspace_id = ${bind(workspace, 'text')} AND ${sees(bind, 'c')}${inSegment(bind, params, 'c')}`;
				const scored = ask<CustomerRow>((bind, params) => {
					const limit = bind(options.listLimit, 'int');
					const at = (ms: number) => bind(ms, 'bigint');
					const [nowAt, from, to] = [at(nowMs), at(fromMs), at(toMs)];
					// The column decides when: no activity, or the latest is not after now and either all are before the range's end or all are at or after its start.
					const plain = `(c.last_ms IS NULL OR (c.last_ms <= ${nowAt} AND (c.last_ms < ${to} OR c.first_ms >= ${from})))`;
					// Recency ≤ d days ⟺ the last activity is after now − (d + 1) days (whole days, floored): R is 1 + the
					// edges now − 181, 91, 31 and 8 days (+ 1 ms) at or before it; none (no activity) is 1.
					const edges = bind(`{${[181, 91, 31, 8].map((days) => nowMs - days * DAY_MS + 1).join(',')}}`, 'bigint[]');
					const r = `1 + COALESCE(width_bucket(c.last_ms, ${edges}), 0)`;
					// At least k in the range ⟺ the k-th latest is at or after its start (all before its end), or the k-th earliest is before its end (all at or after its start).
					const f = `CASE WHEN c.last_ms IS NULL THEN 1
					                WHEN c.last_ms < ${to} THEN 1 + (c.last_ms >= ${from})::int + (c.l5 >= ${from})::int + (c.l10 >= ${from})::int + (c.l20 >= ${from})::int
					                ELSE 1 + (c.first_ms < ${to})::int + (c.e5 < ${to})::int + (c.e10 < ${to})::int + (c.e20 < ${to})::int END`;
					// M: 1 + the boundaries below the value (as bigints when it fits them, else as numeric).
					const m = `CASE WHEN c.cents8 IS NOT NULL THEN 1 + width_bucket(c.cents8, t.ta) WHEN c.cents IS NULL THEN 1
					                ELSE 1 + (c.cents > t.t1)::int + (c.cents > t.t2)::int + (c.cents > t.t3)::int + (c.cents > t.t4)::int END`;
					const churnDays = bind(options.churnDays, 'int');
					return `WITH ${boundaries(bind, params, limit, !hasSegment)},
					      scored AS (
					        SELECT ${r} + ${f} + ${m} AS score, NOT c.lost AND c.since_ms <= ${at(nowMs - options.churnDays * DAY_MS)} AS churned
					          FROM ${rows(bind, params, `LEFT JOIN th AS t ON t.key = COALESCE(c.currency, '')`)} AND ${plain}
					        UNION ALL
					        SELECT x.r + x.f + x.m, s.stage IS DISTINCT FROM 'lost' AND b.idle >= ${churnDays}
					          FROM (SELECT c.record_id FROM ${rows(bind, params)} AND c.since_ms >= ${at(Math.min(nowMs + 1, toMs))} AND NOT ${plain}) AS c
					          JOIN analytics_summaries s ON s.record_id = c.record_id
					          LEFT JOIN th AS t ON t.key = COALESCE(s.currency, '')
					          ${scores(bind, 't')})
					 SELECT 'dist' AS part, ${NONE}, NULL::int AS r, NULL::int AS f, NULL::int AS m, NULL::bigint AS idle, count(*) AS n,
					        count(*) FILTER (WHERE churned) AS churned, score
					   FROM scored GROUP BY score
					 UNION ALL
					 ${TOP}`;
				});
				// The churn list in idle order: the first few whose idle days the columns give (since_ms up to now),
				// through the index, with every other of the last one's idle days (ties are ordered by id), and
				// those whose latest activity is after now, from their arrays.
				const churn = ask<CustomerRow>((bind, params) => {
					const limit = bind(options.listLimit, 'int');
					const nowAt = bind(nowMs, 'bigint');
					return `WITH settled AS (SELECT c.since_ms FROM ${rows(bind, params)} AND NOT c.lost AND c.since_ms <= ${bind(nowMs - options.churnDays * DAY_MS, 'bigint')}
					                          ORDER BY c.since_ms LIMIT ${limit}),
					      idle AS (
					        SELECT c.record_id, (${nowAt} - c.since_ms) / ${DAY_MS} AS idle, c.last_ms
					          FROM ${rows(bind, params)} AND NOT c.lost
					           AND c.since_ms <= ${nowAt} - (${nowAt} - (SELECT max(since_ms) FROM settled)) / ${DAY_MS} * ${DAY_MS}
					        UNION ALL
					        SELECT s.record_id, b.idle, a.last_ms
					          FROM (SELECT c.record_id FROM ${rows(bind, params)} AND NOT c.lost AND c.since_ms > ${nowAt}) AS c
					          JOIN analytics_summaries s ON s.record_id = c.record_id
					          ${scores(bind)}
					         WHERE b.idle >= ${bind(options.churnDays, 'int')}
					        ORDER BY 2 DESC, 1 LIMIT ${limit})
					 SELECT 'churn' AS part, s.record_id::text AS id, s.name, s.stage, s.owner, s.value::text AS value, s.currency, i.last_ms, NULL::bigint AS freq, NULL::bigint AS recency,
					        NULL::int AS r, NULL::int AS f, NULL::int AS m, i.idle, NULL::bigint AS n, NULL::bigint AS churned, NULL::int AS score
					   FROM idle i JOIN analytics_summaries s ON s.record_id = i.record_id`;
				});
				return Promise.all([scored, churn]).then(([a, b]) => [...a, ...b]);
			})
		]);

		const parts = (name: string) => partRows.filter((row) => row.part === name);
		const reachedAt = new Map(parts('reached').map((row) => [num(row.key), num(row.n)]));
		// Records whose furthest stage is i or later reached step i.
		const reached = FUNNEL_STAGES.map((_, i) => [...reachedAt.entries()].reduce((sum, [index, n]) => (index >= i ? sum + n : sum), 0));
		const medians = new Map(stayRows.map((row) => [row.stage, num(row.median)]));
		const funnel = FUNNEL_STAGES.map((stage, i) => {
			const here = reached[i];
			const before = i === 0 ? 0 : reached[i - 1];
			const median = medians.get(stage);
			return {
				stage,
				reached: here,
				conversion: i === 0 ? 1 : before === 0 ? 0 : Math.round((here / before) * 10_000) / 10_000,
				medianDays: median === undefined ? null : Math.round(median * 100) / 100
			};
		});

		const heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
		for (const row of heatRows) heatmap[num(row.d)][num(row.h)] += num(row.n);

		const scoreDistribution = new Array<number>(13).fill(0);
		const topCustomers: CustomerScore[] = [];
		const churnRows: ChurnRow[] = [];
		let churnTotal = 0;
		const value = (text: string | null) => (text === null ? null : Number(text));
		for (const row of customerRows) {
			if (row.part === 'dist') {
				scoreDistribution[num(row.score) - 3] += num(row.n);
				churnTotal += num(row.churned);
			}
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
					lastActivityAt: row.last_ms === null ? null : new Date(num(row.last_ms)).toISOString(),
					idleDays: num(row.idle)
				});
		}
		topCustomers.sort((a, b) => byCurrency(a, b) || (b.value ?? 0) - (a.value ?? 0) || b.score - a.score || (a.id < b.id ? -1 : 1));
		churnRows.sort((a, b) => b.idleDays - a.idleDays || (a.id < b.id ? -1 : 1));

		const stageRows = parts('stage');
		const currencyTotals = new Map<string | null, number>();
		for (const row of stageRows) if (num(row.valued) > 0) currencyTotals.set(row.currency, (currencyTotals.get(row.currency) ?? 0) + num(row.cents));
		const currencies: CurrencyAmount[] = [...currencyTotals.entries()].map(([currency, cents]) => ({ currency, amount: cents / 100 })).sort(byCurrency);
		const result: Dashboard = {
			pipelineByStage: groupsOf(stageRows, STAGES),
			pipelineByOwner: groupsOf(parts('owner')),
			funnel,
			wonLost: wonLostRows.map((row) => ({ month: row.month, won: num(row.won ?? 0), lost: num(row.lost ?? 0) })),
			newCustomers: parts('week')
				.map((row) => ({ week: row.key!, count: num(row.n) }))
				.sort((a, b) => (a.week < b.week ? -1 : 1)),
			forecast: parts('forecast')
				.map((row) => ({ month: row.key!, currency: row.currency, amount: num(row.cents) / 100, weighted: num(row.weighted) / 100, count: num(row.n) }))
				.sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : byCurrency(a, b))),
			heatmap,
			scoreDistribution,
			topCustomers,
			churn: { total: churnTotal, rows: churnRows },
			currencies
		};
		return { dashboard: result, timings, path: fromBuckets ? ('buckets' as const) : ('summaries' as const) };
	}

	return { refresh, dashboard };
}
