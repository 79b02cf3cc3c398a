/**
 * The query plan (query.ts) evaluated over plain records in the browser. It mirrors the
 * SQL the server runs over the stored tokens step by step (token sets contained, the
 * prefix looked up among the indexed prefixes and, when longer, checked against the
 * tokens; filters on the same values the list row's columns hold), so that for the same
 * records both answer with the same ids; tests/integration/search-api.test.ts checks it.
 */
import type { CustomerRecord } from '../model/record.ts';
import type { Scalar } from '../model/schema.ts';
import { compares, isIdle, type ColumnFilter, type FieldCondition, type SearchQuery, type TokenMatch } from './query.ts';
import { recordSearchEntry } from './record.ts';

/** A record made ready for matching many queries: its tokens computed once. */
export interface Searchable {
	record: CustomerRecord;
	tokens: ReadonlySet<string>;
	prefixes: ReadonlySet<string>;
}

export function searchable(record: CustomerRecord): Searchable {
	const entry = recordSearchEntry(record);
	return { record, tokens: new Set(entry.tokens), prefixes: new Set(entry.prefixes) };
}

const asSearchable = (target: CustomerRecord | Searchable): Searchable => ('tokens' in target && target.tokens instanceof Set ? (target as Searchable) : searchable(target as CustomerRecord));

function matchesAlternative(alt: TokenMatch, s: Searchable): boolean {
	for (const token of alt.all) if (!s.tokens.has(token)) return false;
	if (!alt.prefix) return true;
	if (!s.prefixes.has(alt.prefix.indexed)) return false;
	if (!alt.prefix.exact) return true;
	const full = alt.prefix.full;
	for (const token of s.tokens) if (token.startsWith(full)) return true;
	return false;
}

const text = (value: Scalar | undefined): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** The same comparisons as the SQL over the list row (see projectRecord for how the row is made). */
function matchesFilter(filter: ColumnFilter, record: CustomerRecord): boolean {
	const f = record.fields;
	switch (filter.field) {
		case 'stage':
		case 'owner':
		case 'currency':
		case 'country':
			return text(f[filter.field]) === filter.value;
		case 'tag':
			return record.tags.includes(filter.value);
		case 'value': {
			if (typeof f.value !== 'number') return false;
			const v = f.value;
			return compares(v, filter.op, filter.value);
		}
	}
}

/**
 * What a condition reads beside the record: when its row last changed (`updated`, the
 * list row's time, which the document does not hold) and the present (`idle`).
 */
export interface MatchContext {
	updatedAt?: string | null;
	now?: number;
}

const DATE_VALUE = /^\d{4}-\d{2}-\d{2}/;

/**
 * The record's last activity as the list row stores it (server/store/list-columns.ts):
 * the newest activity's time, or the record's creation when it has none.
 */
export function lastActivityOf(record: CustomerRecord): number | null {
	let last = Number.NaN;
	for (const activity of record.activities) {
		const at = typeof activity.at === 'string' ? Date.parse(activity.at) : Number.NaN;
		if (!Number.isNaN(at) && !(at <= last)) last = at;
	}
	if (Number.isNaN(last)) last = Date.parse(record.meta.createdAt);
	return Number.isNaN(last) ? null : last;
}

/**
 * All that the conditions (FieldCondition) read of a record: its times and the field
 * values they can compare. A record gives them (`conditionFacts`); the browser's index
 * keeps them per record (index-engine.ts) and asks `conditionHolds` with them, so the
 * list, the index and the palette cannot decide a condition differently.
 */
export interface ConditionFacts {
	/** The creation, in milliseconds (null when unknown). */
	createdAt: number | null;
	/** When the list row last changed (the document does not hold it; null when unknown). */
	updatedAt: number | null;
	/** lastActivityOf the record; null when it has neither activity nor creation time. */
	lastActivity: number | null;
	/** The values a condition can compare: numbers, and texts that start as a date (absent: none). */
	values?: Record<string, number | string>;
}

/** Whether a field's value is one a condition could compare (a number, or a date's text). */
const comparable = (value: Scalar | undefined): value is number | string => typeof value === 'number' || (typeof value === 'string' && DATE_VALUE.test(value));
/**
 * The fields a condition can name (query.ts: numbers of x_ fields; followup and x_ fields
 * as dates). Only theirs are kept: `value` is a column filter, read from the row.
 */
const conditionField = (key: string): boolean => key.startsWith('x_') || key === 'followUpAt';

/** A kept value by its field's key (own keys only: a key is a record's text). */
const valueOf = (facts: ConditionFacts, key: string): number | string | undefined => (facts.values && Object.hasOwn(facts.values, key) ? facts.values[key] : undefined);

/** A record's ConditionFacts; `updatedAt` is the row's (see MatchContext). */
export function conditionFacts(record: CustomerRecord, updatedAt?: string | null): ConditionFacts {
	let values: Record<string, number | string> | undefined;
	for (const [key, value] of Object.entries(record.fields)) if (conditionField(key) && comparable(value)) (values ??= {})[key] = value;
	const time = (text: string | null | undefined): number | null => {
		const at = Date.parse(text ?? '');
		return Number.isNaN(at) ? null : at;
	};
	return { createdAt: time(record.meta.createdAt), updatedAt: time(updatedAt), lastActivity: lastActivityOf(record), ...(values ? { values } : {}) };
}

/** The same comparisons as the SQL over the row's times and stored values (see conditionSql in list-columns.ts). */
export function conditionHolds(condition: FieldCondition, facts: ConditionFacts, now: number): boolean {
	switch (condition.kind) {
		case 'idle':
			return facts.lastActivity !== null && isIdle(facts.lastActivity, condition.op, condition.days, now);
		case 'number': {
			const value = valueOf(facts, condition.field);
			return typeof value === 'number' && compares(value, condition.op, condition.value);
		}
		case 'date': {
			if (condition.field === 'created' || condition.field === 'updated') {
				const at = condition.field === 'created' ? facts.createdAt : facts.updatedAt;
				if (at === null) return false;
				if (condition.from !== undefined && at < Date.parse(`${condition.from}T00:00:00Z`)) return false;
				return condition.before === undefined || at < Date.parse(`${condition.before}T00:00:00Z`);
			}
			// Stored dates are YYYY-MM-DD (or an ISO time): their text orders as their days do.
			const value = valueOf(facts, condition.field);
			if (typeof value !== 'string' || !DATE_VALUE.test(value)) return false;
			if (condition.from !== undefined && value < condition.from) return false;
			return condition.before === undefined || value < condition.before;
		}
	}
}

/** One condition over a record (see conditionHolds). */
export function matchesCondition(condition: FieldCondition, record: CustomerRecord, context: MatchContext = {}): boolean {
	return conditionHolds(condition, conditionFacts(record, context.updatedAt), context.now ?? Date.now());
}

/** Whether the record matches every clause, filter and condition of the query (archived and private are the caller's to filter). */
export function matches(query: SearchQuery, target: CustomerRecord | Searchable, context?: MatchContext): boolean {
	const s = asSearchable(target);
	for (const filter of query.filters) if (!matchesFilter(filter, s.record)) return false;
	if (query.conditions.length > 0) {
		const facts = conditionFacts(s.record, context?.updatedAt);
		const now = context?.now ?? Date.now();
		for (const condition of query.conditions) if (!conditionHolds(condition, facts, now)) return false;
	}
	for (const clause of query.clauses) if (!clause.anyOf.some((alt) => matchesAlternative(alt, s))) return false;
	return true;
}

/** Weight of a hit by where it is: a name or company hit ranks above one in the notes. */
const SCOPE_WEIGHT: Record<string, number> = { name: 8, company: 4, contact: 2, email: 2, phone: 2 };

/**
 * How well a matching record answers the query, for ordering hits (higher first); 0 when
 * it does not match. Per clause, the best of its alternatives: tokens found in a
 * weighted field count more, a whole word more than a prefix.
 */
export function score(query: SearchQuery, target: CustomerRecord | Searchable, context?: MatchContext): number {
	const s = asSearchable(target);
	if (!matches(query, s, context)) return 0;
	let total = 1;
	for (const clause of query.clauses) {
		let best = 0;
		for (const alt of clause.anyOf) {
			if (!matchesAlternative(alt, s)) continue;
			let points = alt.all.length;
			for (const token of alt.all) {
				for (const [scope, weight] of Object.entries(SCOPE_WEIGHT)) if (!token.includes(':') && s.tokens.has(`${scope}:${token}`)) points += weight;
			}
			if (alt.prefix && !alt.prefix.full.includes(':')) {
				const full = alt.prefix.full;
				points += s.tokens.has(full) ? 2 : 1;
				for (const [scope, weight] of Object.entries(SCOPE_WEIGHT)) if (s.prefixes.has(`${scope}:${alt.prefix.indexed}`)) points += weight;
			}
			best = Math.max(best, points);
		}
		total += best;
	}
	return total;
}
