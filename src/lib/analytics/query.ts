/**
 * The dashboard's question, read from `?from=&to=&tz=&churnDays=&limit=&q=` the same way by
 * the API route and by the page (which asks the server online and its local copy offline),
 * with errors a person can act on. Bounds keep one request's work finite.
 */
import { searchParam } from '../search/query.ts';
import { DAY_MS, isTimeZone, MAX_CHURN_DAYS, MAX_LIST_LIMIT, type AnalyticsOptions } from './aggregate.ts';

/** The widest range one question may cover. */
export const MAX_RANGE_DAYS = 3660;
export const DEFAULT_CHURN_DAYS = 30;
export const DEFAULT_LIST_LIMIT = 10;

export type ParsedAnalytics = { ok: true; options: AnalyticsOptions } | { ok: false; message: string };

/** The default range: the last 12 months and the next 6 (so the forecast has months to show). */
export function defaultRange(now: Date): { from: string; to: string } {
	const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1));
	const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 7, 1));
	return { from: from.toISOString(), to: to.toISOString() };
}

function readTime(value: string): number | null {
	// A bare date is midnight UTC of that day.
	const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
	return Number.isFinite(ms) ? ms : null;
}

function readInt(value: string | null, name: string, min: number, max: number, fallback: number): number | string {
	if (value === null || value === '') return fallback;
	if (!/^\d+$/.test(value)) return `${name} must be a whole number from ${min} to ${max}.`;
	const n = Number(value);
	return n < min || n > max ? `${name} must be a whole number from ${min} to ${max}.` : n;
}

export function parseAnalyticsQuery(params: URLSearchParams, now: Date = new Date()): ParsedAnalytics {
	const range = defaultRange(now);
	const fromText = params.get('from') || range.from;
	const toText = params.get('to') || range.to;
	const from = readTime(fromText);
	if (from === null) return { ok: false, message: 'from must be a date (YYYY-MM-DD) or an ISO time.' };
	const to = readTime(toText);
	if (to === null) return { ok: false, message: 'to must be a date (YYYY-MM-DD) or an ISO time.' };
	if (to <= from) return { ok: false, message: 'to must be after from.' };
	if (to - from > MAX_RANGE_DAYS * DAY_MS) return { ok: false, message: `The range may cover at most ${MAX_RANGE_DAYS} days.` };
	const timeZone = params.get('tz') || 'UTC';
	if (!isTimeZone(timeZone)) return { ok: false, message: 'tz must be an IANA time zone, such as Asia/Shanghai or Europe/Paris.' };
	const churnDays = readInt(params.get('churnDays'), 'churnDays', 1, MAX_CHURN_DAYS, DEFAULT_CHURN_DAYS);
	if (typeof churnDays === 'string') return { ok: false, message: churnDays };
	const listLimit = readInt(params.get('limit'), 'limit', 1, MAX_LIST_LIMIT, DEFAULT_LIST_LIMIT);
	if (typeof listLimit === 'string') return { ok: false, message: listLimit };
	const nowText = params.get('now');
	const nowMs = nowText ? readTime(nowText) : now.getTime();
	if (nowMs === null) return { ok: false, message: 'now must be an ISO time.' };
	// The segment: `q` in the records list's query language, read by the same parser.
	const search = searchParam(params);
	if (!search.ok) return { ok: false, message: `q: ${search.message}` };
	return {
		ok: true,
		options: {
			from: new Date(from).toISOString(),
			to: new Date(to).toISOString(),
			now: new Date(nowMs).toISOString(),
			timeZone,
			churnDays,
			listLimit,
			...(search.query ? { segment: search.query } : {})
		}
	};
}

/** The query string of a question (the page's address and the API's). */
export function analyticsSearch(options: Pick<AnalyticsOptions, 'from' | 'to' | 'timeZone' | 'churnDays'> & { now?: string; q?: string }): string {
	const params = new URLSearchParams({ from: options.from, to: options.to, tz: options.timeZone, churnDays: String(options.churnDays) });
	if (options.now) params.set('now', options.now);
	if (options.q) params.set('q', options.q);
	return params.toString();
}
