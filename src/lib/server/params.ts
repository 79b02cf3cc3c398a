/**
 * Query parameters of the JSON API (and of the admin audit page), read one way: whole
 * numbers within bounds, times the database can store, free text without control
 * characters, and values from a fixed list. An odd value is answered with 400 and a
 * sentence naming the parameter before it reaches the database, where U+0000 in a
 * filter, `offset=1e300` or the year 99999 used to end in a 500.
 */
import { AUDIT_OPS, AUDIT_SOURCES, MAX_AUDIT_PAGE, type AuditParams } from '../model/audit.ts';
import { BUILTIN_SORTS, readListSort, type ListSort } from '../records/sort.ts';
import { STAGES } from '../model/schema.ts';
import type { ListQuery } from './services.ts';

export type ParsedQuery<T> = { ok: true; query: T } | { ok: false; message: string };

export const MAX_PAGE_SIZE = 500;
/** Far past any list or log, and still an integer every database and driver takes as it is. */
export const MAX_OFFSET = 1_000_000_000;
/** Ids, user names and field paths are far shorter; a filter this long is not a filter. */
export const MAX_TEXT_PARAM = 200;

/** Timestamps whose ISO form has a four-digit year: what `toISOString()` writes and Postgres reads back. */
const EARLIEST_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_MS = Date.parse('9999-12-31T23:59:59.999Z');
/** A date, or a date and time with an optional zone: the forms the README promises, nothing Date.parse merely tolerates. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** C0 and C1 controls and DEL: no filter needs them, and U+0000 cannot even reach Postgres. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `text` holds a character no identifier, filter or name of Accord needs (and U+0000, which Postgres refuses). */
export function hasControlCharacters(text: string): boolean {
	return CONTROL.test(text);
}

/**
 * What is wrong with a free-text value (a query parameter, a path segment, a text in a
 * JSON body), as a sentence naming it; null when nothing is.
 */
export function textProblem(name: string, value: string, max = MAX_TEXT_PARAM): string | null {
	if (hasControlCharacters(value)) return `${name} must not contain control characters (such as U+0000 or a line break).`;
	if (value.length > max) return `${name} can have at most ${max} characters.`;
	return null;
}

/** Thrown by a reader; `readQuery` turns it into the 400's message. */
class BadParameter extends Error {}

/** Typed readers over a query string; each throws BadParameter with a sentence a person can act on. */
export class QueryReader {
	constructor(private readonly params: URLSearchParams) {}

	/** The trimmed value, or undefined when absent or blank. */
	private raw(name: string): string | undefined {
		const value = this.params.get(name)?.trim();
		return value ? value : undefined;
	}

	/** A whole number in decimal digits, from `min` to `max`; `fallback` when absent. */
	integer(name: string, bounds: { min: number; max: number; fallback: number }): number {
		const value = this.raw(name);
		if (value === undefined) return bounds.fallback;
		const number = /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN;
		if (!(number >= bounds.min && number <= bounds.max)) {
			throw new BadParameter(`${name} must be a whole number from ${bounds.min} to ${bounds.max}, not "${shown(value)}".`);
		}
		return number;
	}

	/** Free text (a person, an owner, a field path): at most MAX_TEXT_PARAM characters, no control characters. */
	text(name: string): string | undefined {
		const value = this.raw(name);
		if (value === undefined) return undefined;
		const problem = textProblem(name, value);
		if (problem) throw new BadParameter(problem);
		return value;
	}

	/** One of `choices`, exactly; undefined when absent. */
	choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
		const value = this.raw(name);
		if (value === undefined) return undefined;
		if (!(choices as readonly string[]).includes(value)) throw new BadParameter(`${name} must be one of ${choices.join(', ')}.`);
		return value as T;
	}

	/** A date or time (2025-03-01, 2025-03-01T09:00:00Z) on a real calendar day, years 0001–9999; as ISO in UTC. */
	time(name: string): string | undefined {
		const value = this.raw(name);
		if (value === undefined) return undefined;
		const match = ISO_TIME.exec(value);
		const ms = match ? Date.parse(value) : Number.NaN;
		const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
		// Date.parse rolls impossible days over (2025-02-30 → 2025-03-02); the calendar check does not.
		const calendar = new Date(0);
		calendar.setUTCFullYear(year, month - 1, day);
		const realDay = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
		if (!match || !realDay || !(ms >= EARLIEST_MS && ms <= LATEST_MS)) {
			throw new BadParameter(`${name} must be a date or time such as 2025-03-01 or 2025-03-01T09:00:00Z, in the years 0001 to 9999; "${shown(value)}" is not.`);
		}
		return new Date(ms).toISOString();
	}

	/** Stops reading with `message` as the 400's. */
	fail(message: string): never {
		throw new BadParameter(message);
	}

	/** `1` means yes; anything else no (as the list's `archived=1`). */
	flag(name: string): boolean {
		return this.raw(name) === '1';
	}
}

/** A value echoed in a message: short, and without characters that would garble it. */
function shown(value: string): string {
	const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '�');
	return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean;
}

/** Runs `read` over the query string: its result, or the first odd parameter's message. */
export function readQuery<T>(params: URLSearchParams, read: (query: QueryReader) => T): ParsedQuery<T> {
	try {
		return { ok: true, query: read(new QueryReader(params)) };
	} catch (error) {
		if (error instanceof BadParameter) return { ok: false, message: error.message };
		throw error;
	}
}

/** `GET /api/records`: `stage`, `owner`, `sort`, `dir`, `limit`, `offset`, `archived=1`. */
export function parseRecordQuery(params: URLSearchParams): ParsedQuery<ListQuery> {
	return readQuery(params, (q) => {
		// Any field: a built-in key, a time, or a workspace's own x_ field.
		const sortText = q.text('sort');
		const sort: ListSort | undefined = sortText === undefined ? 'updatedAt' : readListSort(sortText);
		if (sort === undefined) return q.fail(`sort must be one of ${BUILTIN_SORTS.join(', ')} or a custom field (x_…), not "${shown(sortText ?? '')}".`);
		const dir = q.choice('dir', ['asc', 'desc'] as const) ?? (sort === 'updatedAt' ? 'desc' : 'asc');
		return {
			stage: q.choice('stage', STAGES),
			owner: q.text('owner'),
			includeArchived: q.flag('archived'),
			sort,
			descending: dir === 'desc',
			limit: q.integer('limit', { min: 1, max: MAX_PAGE_SIZE, fallback: 50 }),
			offset: q.integer('offset', { min: 0, max: MAX_OFFSET, fallback: 0 })
		};
	});
}

/** The filters of `GET /api/records/:id/history`, `GET /api/audit` and the admin audit page. */
export function auditFilters(q: QueryReader): AuditParams {
	return {
		field: q.text('field'),
		person: q.text('person'),
		op: q.choice('op', AUDIT_OPS),
		record: q.text('record'),
		source: q.choice('source', AUDIT_SOURCES),
		from: q.time('from'),
		to: q.time('to'),
		limit: q.integer('limit', { min: 1, max: MAX_AUDIT_PAGE, fallback: 50 }),
		offset: q.integer('offset', { min: 0, max: MAX_OFFSET, fallback: 0 })
	};
}

export function parseAuditQuery(params: URLSearchParams): ParsedQuery<AuditParams> {
	return readQuery(params, auditFilters);
}

/** `GET /api/audit`: the filters, and `format` (json, the default, or csv). */
export function parseAuditLogQuery(params: URLSearchParams): ParsedQuery<{ filters: AuditParams; format: 'json' | 'csv' }> {
	return readQuery(params, (q) => ({ filters: auditFilters(q), format: q.choice('format', ['json', 'csv'] as const) ?? 'json' }));
}

/**
 * A path's segments, decoded as the router decodes them into route parameters, hold no
 * control characters (no API path has any); false also for a path that does not decode.
 */
export function isPlainPath(pathname: string): boolean {
	try {
		return !hasControlCharacters(decodeURIComponent(pathname));
	} catch {
		return false;
	}
}
