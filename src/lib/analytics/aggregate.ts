/**
 * The dashboard's numbers, as pure functions over records, their activities and their
 * stage changes. One definition of every chart, used by the browser offline (over its
 * local copies) and by the tests as the reference the server's SQL (server/analytics-store.ts)
 * must equal: the integration test compares both on one seeded workspace.
 *
 * Decisions the issue leaves open, made here once:
 * - Money is never added across currencies (no exchange rates exist): every sum is per currency.
 * - Buckets of time (month, ISO week starting Monday, weekday × hour) are taken in the
 *   person's time zone (`timeZone`, an IANA name the browser reports); `followUpAt` is a
 *   plain date and needs none.
 * - Expected close of a deal is its `followUpAt`; the forecast weights an open deal's value
 *   by its stage (STAGE_WEIGHTS). Won and lost deals are not forecast.
 * - The time range [from, to) selects: records created in it (pipeline, funnel, new
 *   customers), stage changes made in it (won/lost per month, days in stage), activities in
 *   it (heat map, frequency), expected closes in it (forecast). Churn risk looks at the
 *   whole history up to `now` instead (N days without activity), and recency too.
 */
import { STAGES } from '../model/schema.ts';
import type { SearchQuery } from '../search/query.ts';

export interface AnalyticsRecord {
	id: string;
	name: string;
	stage: string | null;
	owner: string | null;
	value: number | null;
	currency: string | null;
	/** ISO time. */
	createdAt: string;
	/** `YYYY-MM-DD`, or null. */
	followUpAt: string | null;
	archived: boolean;
}

export interface AnalyticsActivity {
	recordId: string;
	/** ISO time. */
	at: string;
}

export interface StageChange {
	recordId: string;
	/** ISO time. */
	at: string;
	from: string | null;
	to: string | null;
}

export interface AnalyticsOptions {
	/** ISO times: the range is [from, to). */
	from: string;
	to: string;
	/** ISO time the dashboard is computed at (recency and churn are measured up to it). */
	now: string;
	/** IANA time zone of the person looking. */
	timeZone: string;
	/** Churn risk: no activity for this many days. */
	churnDays: number;
	/** Rows in the top-customer and churn lists (per currency for the top list). */
	listLimit: number;
	/**
	 * A segment: only records matching this query of the shared language (src/lib/search/query.ts,
	 * the records list's `q`). The server filters by it; `computeDashboard` is given the matching
	 * records already, since matching needs the whole record (src/lib/analytics/local.ts does it offline).
	 */
	segment?: SearchQuery;
}

export interface CurrencyAmount {
	currency: string | null;
	amount: number;
}

export interface GroupTotal {
	key: string | null;
	count: number;
	totals: CurrencyAmount[];
}

export interface FunnelStep {
	stage: string;
	/** Records created in the range that reached this stage (or a later one, lost aside). */
	reached: number;
	/** reached / reached of the previous step (1 for the first; 0 when the previous is 0), to 4 decimals. */
	conversion: number;
	/** Median days a record stayed in this stage, over stays that ended in the range; null when none. */
	medianDays: number | null;
}

export interface MonthCount {
	/** `YYYY-MM` in the person's time zone. */
	month: string;
	won: number;
	lost: number;
}

export interface WeekCount {
	/** The Monday (`YYYY-MM-DD`) that starts the ISO week, in the person's time zone. */
	week: string;
	count: number;
}

export interface ForecastMonth {
	/** `YYYY-MM` of the expected close. */
	month: string;
	currency: string | null;
	/** Sum of open deal values. */
	amount: number;
	/** Sum of value × stage weight. */
	weighted: number;
	count: number;
}

export interface CustomerScore {
	id: string;
	name: string;
	value: number | null;
	currency: string | null;
	/** Days since the last activity up to `now` (whole days), null when there was none. */
	recencyDays: number | null;
	/** Activities in the range. */
	frequency: number;
	r: number;
	f: number;
	m: number;
	score: number;
}

export interface ChurnRow {
	id: string;
	name: string;
	stage: string | null;
	owner: string | null;
	value: number | null;
	currency: string | null;
	/** ISO time of the last activity, null when there never was one (then creation counts). */
	lastActivityAt: string | null;
	/** Whole days since the last activity (or creation). */
	idleDays: number;
}

export interface Dashboard {
	pipelineByStage: GroupTotal[];
	pipelineByOwner: GroupTotal[];
	funnel: FunnelStep[];
	wonLost: MonthCount[];
	newCustomers: WeekCount[];
	forecast: ForecastMonth[];
	/** 7 × 24 counts: [weekday Monday=0][hour]. */
	heatmap: number[][];
	/** How many customers have each RFM score (3..15): index 0 is score 3. */
	scoreDistribution: number[];
	topCustomers: CustomerScore[];
	churn: { total: number; rows: ChurnRow[] };
	/** Totals of all unarchived records created in the range, per currency. */
	currencies: CurrencyAmount[];
}

/** The stages a deal moves through, in order; `lost` leaves the funnel. */
export const FUNNEL_STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won'] as const;
const OPEN_STAGES = ['lead', 'qualified', 'proposal', 'negotiation'] as const;

/** The chance an open deal in each stage closes: the forecast's weights. */
export const STAGE_WEIGHTS: Readonly<Record<string, number>> = { lead: 0.1, qualified: 0.25, proposal: 0.5, negotiation: 0.75 };

export const DAY_MS = 86_400_000;

/** A stage's place in FUNNEL_STAGES (-1: none, or lost). The server's summaries keep the furthest one a record's history reached. */
export const funnelIndex = (stage: string | null): number => (stage === null ? -1 : (FUNNEL_STAGES as readonly string[]).indexOf(stage));
export const MAX_CHURN_DAYS = 3650;
export const MAX_LIST_LIMIT = 100;

const cents = (value: number): number => Math.round(value * 100);
const round = (value: number, places: number): number => {
	const f = 10 ** places;
	return Math.round(value * f) / f;
};

/** Per-currency sums in hundredths (0.1 + 0.2 stays 0.3); null currency last, others by code. */
function sumByCurrency(records: readonly AnalyticsRecord[]): CurrencyAmount[] {
	const sums = new Map<string | null, number>();
	for (const r of records) {
		if (r.value === null || !Number.isFinite(r.value)) continue;
		sums.set(r.currency, (sums.get(r.currency) ?? 0) + cents(r.value));
	}
	return [...sums.entries()].map(([currency, sum]) => ({ currency, amount: sum / 100 })).sort(byCurrency);
}

export function byCurrency(a: { currency: string | null }, b: { currency: string | null }): number {
	if (a.currency === b.currency) return 0;
	if (a.currency === null) return 1;
	if (b.currency === null) return -1;
	return a.currency < b.currency ? -1 : 1;
}

const compareKeys = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);

function groupTotals(records: readonly AnalyticsRecord[], keyOf: (r: AnalyticsRecord) => string | null, order?: readonly string[]): GroupTotal[] {
	const groups = new Map<string | null, AnalyticsRecord[]>();
	for (const r of records) {
		const key = keyOf(r);
		const list = groups.get(key);
		if (list) list.push(r);
		else groups.set(key, [r]);
	}
	const rank = (key: string | null) => (order && key !== null && order.includes(key) ? order.indexOf(key) : (order?.length ?? 0));
	return [...groups.entries()]
		.map(([key, list]) => ({ key, count: list.length, totals: sumByCurrency(list) }))
		.sort((a, b) => rank(a.key) - rank(b.key) || compareKeys(a.key, b.key));
}

/** Wall-clock parts of an instant in a time zone. Formatters are costly to make: one per zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();
type ZonedParts = { year: number; month: number; day: number; hour: number; weekday: number };
/**
 * Every zone's offset is a whole number of quarter hours, so the wall-clock hour and day
 * are the same for every instant of one quarter hour: remembered per quarter hour, as
 * formatting an instant is costly and a million activities fall into far fewer of them.
 */
export const QUARTER_HOUR = 900_000;
const partsCache = new Map<string, Map<number, ZonedParts>>();
export function zonedParts(iso: string | number, timeZone: string): ZonedParts {
	const ms = typeof iso === 'number' ? iso : Date.parse(iso);
	const quarter = Math.floor(ms / QUARTER_HOUR);
	let cache = partsCache.get(timeZone);
	if (!cache) partsCache.set(timeZone, (cache = new Map()));
	const known = cache.get(quarter);
	if (known) return known;
	const parts = formatParts(quarter * QUARTER_HOUR, timeZone);
	if (cache.size > 200_000) cache.clear();
	cache.set(quarter, parts);
	return parts;
}

function formatParts(ms: number, timeZone: string): ZonedParts {
	let format = formatters.get(timeZone);
	if (!format) {
		format = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit'
		});
		formatters.set(timeZone, format);
	}
	const parts: Record<string, string> = {};
	for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
	const year = Number(parts.year);
	const month = Number(parts.month);
	const day = Number(parts.day);
	// Monday = 0 … Sunday = 6, from the wall-clock date itself.
	const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
	return { year, month, day, hour: Number(parts.hour) % 24, weekday };
}

const pad = (n: number) => String(n).padStart(2, '0');
export const monthOf = (iso: string, timeZone: string): string => {
	const p = zonedParts(iso, timeZone);
	return `${p.year}-${pad(p.month)}`;
};
/** The Monday starting the ISO week of an instant, in a time zone. */
export const weekOf = (iso: string, timeZone: string): string => {
	const p = zonedParts(iso, timeZone);
	const monday = new Date(Date.UTC(p.year, p.month - 1, p.day) - p.weekday * DAY_MS);
	return monday.toISOString().slice(0, 10);
};

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
	if (timeZone.length === 0 || timeZone.length > 64) return false;
	try {
		new Intl.DateTimeFormat('en-US', { timeZone });
		return true;
	} catch {
		return false;
	}
}

function median(values: number[]): number | null {
	if (values.length === 0) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = sorted.length >> 1;
	return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const inRange = (ms: number, from: number, to: number) => ms >= from && ms < to;

/** Recency score: 5 within a week, 4 within 30 days, 3 within 90, 2 within 180, else (or never) 1. */
export function recencyScore(days: number | null): number {
	if (days === null) return 1;
	return days <= 7 ? 5 : days <= 30 ? 4 : days <= 90 ? 3 : days <= 180 ? 2 : 1;
}
/** Frequency score from activities in the range: 20+ → 5, 10+ → 4, 5+ → 3, 1+ → 2, none → 1. */
export function frequencyScore(count: number): number {
	return count >= 20 ? 5 : count >= 10 ? 4 : count >= 5 ? 3 : count >= 1 ? 2 : 1;
}
/** Monetary score: 1 + ⌊5 × (values of the same currency strictly smaller) / (values of that currency)⌋; no value: 1. */
function monetaryScores(records: readonly AnalyticsRecord[]): Map<string, number> {
	const byCur = new Map<string | null, number[]>();
	for (const r of records) if (r.value !== null) (byCur.get(r.currency) ?? byCur.set(r.currency, []).get(r.currency)!).push(cents(r.value));
	for (const list of byCur.values()) list.sort((a, b) => a - b);
	const scores = new Map<string, number>();
	for (const r of records) {
		if (r.value === null) {
			scores.set(r.id, 1);
			continue;
		}
		const list = byCur.get(r.currency)!;
		const v = cents(r.value);
		let lo = 0;
		let hi = list.length;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (list[mid] < v) lo = mid + 1;
			else hi = mid;
		}
		scores.set(r.id, Math.min(5, 1 + Math.floor((5 * lo) / list.length)));
	}
	return scores;
}

/** The whole dashboard. Archived records count for nothing; activities and changes of unknown records are ignored. */
export function computeDashboard(
	allRecords: readonly AnalyticsRecord[],
	activities: readonly AnalyticsActivity[],
	stageChanges: readonly StageChange[],
	options: AnalyticsOptions
): Dashboard {
	const from = Date.parse(options.from);
	const to = Date.parse(options.to);
	const now = Date.parse(options.now);
	const tz = options.timeZone;
	const records = allRecords.filter((r) => !r.archived);
	const byId = new Map(records.map((r) => [r.id, r]));
	const created = records.filter((r) => inRange(Date.parse(r.createdAt), from, to));

	// Pipeline: records created in the range, by stage (pipeline order) and, open deals only, by owner.
	const pipelineByStage = groupTotals(created, (r) => r.stage, STAGES);
	const pipelineByOwner = groupTotals(
		created.filter((r) => r.stage !== null && (OPEN_STAGES as readonly string[]).includes(r.stage)),
		(r) => r.owner
	);

	// Stage history per record, in time order.
	const changesOf = new Map<string, StageChange[]>();
	for (const c of stageChanges) {
		if (!byId.has(c.recordId)) continue;
		(changesOf.get(c.recordId) ?? changesOf.set(c.recordId, []).get(c.recordId)!).push(c);
	}
	// Sorted by time (ISO strings of one form sort as their instants do; parsed only when they differ in form).
	for (const list of changesOf.values()) list.sort((a, b) => (a.at.length === b.at.length ? (a.at < b.at ? -1 : a.at > b.at ? 1 : 0) : Date.parse(a.at) - Date.parse(b.at)));

	// Funnel: the furthest funnel stage each record created in the range reached (now or ever).
	const reached = FUNNEL_STAGES.map(() => 0);
	for (const r of created) {
		let furthest = funnelIndex(r.stage);
		for (const c of changesOf.get(r.id) ?? []) furthest = Math.max(furthest, funnelIndex(c.from), funnelIndex(c.to));
		for (let i = 0; i <= furthest; i++) reached[i]++;
	}
	// Days in stage: each completed stay (entered at creation or by a change, left by the next change) ending in the range.
	const stays = new Map<string, number[]>();
	for (const [id, list] of changesOf) {
		let enteredAt = Date.parse(byId.get(id)!.createdAt);
		for (const c of list) {
			const left = Date.parse(c.at);
			if (c.from !== null && inRange(left, from, to)) (stays.get(c.from) ?? stays.set(c.from, []).get(c.from)!).push(Math.max(0, left - enteredAt) / DAY_MS);
			enteredAt = left;
		}
	}
	const funnel: FunnelStep[] = FUNNEL_STAGES.map((stage, i) => {
		const m = median(stays.get(stage) ?? []);
		return {
			stage,
			reached: reached[i],
			conversion: i === 0 ? 1 : reached[i - 1] === 0 ? 0 : round(reached[i] / reached[i - 1], 4),
			medianDays: m === null ? null : round(m, 2)
		};
	});

	// Won and lost per month: changes into `won` / `lost` made in the range.
	const months = new Map<string, MonthCount>();
	for (const list of changesOf.values()) {
		for (const c of list) {
			if ((c.to !== 'won' && c.to !== 'lost') || !inRange(Date.parse(c.at), from, to)) continue;
			const month = monthOf(c.at, tz);
			const entry = months.get(month) ?? months.set(month, { month, won: 0, lost: 0 }).get(month)!;
			entry[c.to]++;
		}
	}
	const wonLost = [...months.values()].sort((a, b) => (a.month < b.month ? -1 : 1));

	// New customers per ISO week of creation.
	const weeks = new Map<string, number>();
	for (const r of created) {
		const week = weekOf(r.createdAt, tz);
		weeks.set(week, (weeks.get(week) ?? 0) + 1);
	}
	const newCustomers = [...weeks.entries()].map(([week, count]) => ({ week, count })).sort((a, b) => (a.week < b.week ? -1 : 1));

	// Forecast: open deals with a value whose expected close (followUpAt) falls in the range, by month and currency.
	const forecastCells = new Map<string, { month: string; currency: string | null; amount: number; weighted: number; count: number }>();
	for (const r of records) {
		const weight = r.stage === null ? undefined : STAGE_WEIGHTS[r.stage];
		if (weight === undefined || r.value === null || r.followUpAt === null) continue;
		const close = Date.parse(`${r.followUpAt}T00:00:00Z`);
		if (!Number.isFinite(close)) continue;
		// The range's ends as dates: a close date is in the range when its day is.
		if (r.followUpAt < options.from.slice(0, 10) || r.followUpAt >= options.to.slice(0, 10)) continue;
		const month = r.followUpAt.slice(0, 7);
		const key = `${month} ${r.currency ?? ''}`;
		const cell = forecastCells.get(key) ?? forecastCells.set(key, { month, currency: r.currency, amount: 0, weighted: 0, count: 0 }).get(key)!;
		cell.amount += cents(r.value);
		// Weighted in hundredths rounded per deal, so the sum is the same in any order and in SQL.
		cell.weighted += Math.round((cents(r.value) * Math.round(weight * 100)) / 100);
		cell.count++;
	}
	const forecast = [...forecastCells.values()]
		.map((c) => ({ ...c, amount: c.amount / 100, weighted: c.weighted / 100 }))
		.sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : byCurrency(a, b)));

	// Activities: heat map and frequency over the range; last activity up to now for recency and churn.
	const heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
	const frequency = new Map<string, number>();
	const lastAt = new Map<string, number>();
	for (const a of activities) {
		if (!byId.has(a.recordId)) continue;
		const at = Date.parse(a.at);
		if (!Number.isFinite(at)) continue;
		if (inRange(at, from, to)) {
			const p = zonedParts(at, tz);
			heatmap[p.weekday][p.hour]++;
			frequency.set(a.recordId, (frequency.get(a.recordId) ?? 0) + 1);
		}
		if (at <= now && at > (lastAt.get(a.recordId) ?? -Infinity)) lastAt.set(a.recordId, at);
	}

	// Customer value (RFM) over every unarchived record.
	const monetary = monetaryScores(records);
	const scores: CustomerScore[] = records.map((r) => {
		const last = lastAt.get(r.id);
		const recencyDays = last === undefined ? null : Math.floor((now - last) / DAY_MS);
		const f = frequency.get(r.id) ?? 0;
		const rs = recencyScore(recencyDays);
		const fs = frequencyScore(f);
		const ms = monetary.get(r.id) ?? 1;
		return { id: r.id, name: r.name, value: r.value, currency: r.currency, recencyDays, frequency: f, r: rs, f: fs, m: ms, score: rs + fs + ms };
	});
	const scoreDistribution = new Array<number>(13).fill(0);
	for (const s of scores) scoreDistribution[s.score - 3]++;
	// Top customers: by value within each currency (never compared across currencies), then score, then id.
	const topCustomers: CustomerScore[] = [];
	const perCurrency = new Map<string | null, CustomerScore[]>();
	for (const s of scores) if (s.value !== null) (perCurrency.get(s.currency) ?? perCurrency.set(s.currency, []).get(s.currency)!).push(s);
	for (const [, list] of [...perCurrency.entries()].sort((a, b) => byCurrency({ currency: a[0] }, { currency: b[0] }))) {
		list.sort((a, b) => cents(b.value!) - cents(a.value!) || b.score - a.score || (a.id < b.id ? -1 : 1));
		topCustomers.push(...list.slice(0, options.listLimit));
	}

	// Churn risk: customers still in play (not lost) idle for churnDays or more, longest idle first.
	const churnRows: ChurnRow[] = [];
	for (const r of records) {
		if (r.stage === 'lost') continue;
		const last = lastAt.get(r.id);
		const since = last ?? Date.parse(r.createdAt);
		const idleDays = Math.floor((now - since) / DAY_MS);
		if (idleDays < options.churnDays) continue;
		churnRows.push({
			id: r.id,
			name: r.name,
			stage: r.stage,
			owner: r.owner,
			value: r.value,
			currency: r.currency,
			lastActivityAt: last === undefined ? null : new Date(last).toISOString(),
			idleDays
		});
	}
	churnRows.sort((a, b) => b.idleDays - a.idleDays || (a.id < b.id ? -1 : 1));

	return {
		pipelineByStage,
		pipelineByOwner,
		funnel,
		wonLost,
		newCustomers,
		forecast,
		heatmap,
		scoreDistribution,
		topCustomers,
		churn: { total: churnRows.length, rows: churnRows.slice(0, options.listLimit) },
		currencies: sumByCurrency(created)
	};
}
