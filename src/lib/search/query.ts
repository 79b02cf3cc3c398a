/**
 * Accord's query language, read once into a plan that both the server (as SQL over the
 * stored tokens, server/store/sql-store.ts) and the browser (match.ts) evaluate, so the
 * two cannot disagree on what a query means:
 *
 *   acme 华为            every term is required
 *   acme*               a prefix; the last bare term is one too while typing (unless followed by a space)
 *   "acme corp"         a phrase: its words, with characters that are otherwise syntax
 *   stage:won owner:bob tag:vip currency:cny country:cn      the list row's columns
 *   city:深圳 company:huaxin name:zw contact:li.na@huaxin.cn x_region:华东   a field's own tokens
 *   value>100000 value<=5000 value:2500 value:1000..5000       comparisons on the value, and ranges
 *   created>2026-01-01 updated<2026-06 followup:2026-03..2026-06 x_close:2026   dates: a day, a month or a
 *                       year is the span it names; `a..b` from the start of a to the end of b (either end open)
 *   x_budget>1000 x_score:3..5                                 numbers of a workspace's own fields
 *   idle>30             no activity (the newest activity, or the creation when none) in more than 30 days
 *   lead_source:web 渠道:web                                    a workspace field by its label, when one field has it
 *
 * Reading never throws: any text gives a plan or `{ok: false, message}`. The text is
 * bounded (MAX_QUERY_LENGTH), lone surrogates and control characters become spaces.
 */
import { CURRENCIES, FIELDS, STAGES, type FieldDefinition, type Stage } from '../model/schema.ts';
import { normaliseTag } from '../model/validate.ts';
import { COLUMN_FIELDS, PREFIX_MAX, PHONE_RUN, SCOPED_FIELDS, countDigits, fold, hanBigrams, wordPieces } from './tokenize.ts';

/** Characters of a query read; the rest is ignored (and `truncated` says so). */
export const MAX_QUERY_LENGTH = 500;
/** Terms and filters of a query; more are ignored (`truncated`), so the SQL stays small. */
export const MAX_TERMS = 16;

export type ComparisonOp = '=' | '>' | '>=' | '<' | '<=';

/** Whether `value op target` holds (`value>100000`): one reading of a comparison for every matcher. */
export function compares(value: number, op: ComparisonOp, target: number): boolean {
	switch (op) {
		case '=':
			return value === target;
		case '>':
			return value > target;
		case '>=':
			return value >= target;
		case '<':
			return value < target;
		case '<=':
			return value <= target;
	}
}

/** A filter on the list row's columns. */
export type ColumnFilter =
	| { field: 'stage'; value: Stage }
	| { field: 'owner'; value: string }
	| { field: 'tag'; value: string }
	| { field: 'currency'; value: string }
	| { field: 'country'; value: string }
	| { field: 'value'; op: ComparisonOp; value: number };

/**
 * A condition on what the list row's columns alone do not hold: dates (the creation, the
 * last change, a date field's value), numbers of a workspace's own fields, and how long a
 * record has gone without activity. Kept apart from `filters`, which the browser's index
 * (index-engine.ts) answers from the columns it keeps; these need the record itself.
 *
 * Dates are spans of whole UTC days, half-open: `from` (inclusive) to `before`
 * (exclusive), each `YYYY-MM-DD` or absent; a value is in the span when its day is.
 */
export type FieldCondition =
	| { kind: 'date'; field: 'created' | 'updated' | string; from?: string; before?: string }
	| { kind: 'number'; field: string; op: ComparisonOp; value: number }
	| { kind: 'idle'; op: ComparisonOp; days: number };

/** Longest idle period asked for (a century): past it, the cut-off leaves the dates a database stores. */
export const MAX_IDLE_DAYS = 36_500;
const DAY_MS = 86_400_000;

/** The instant before which the last activity must fall (or after which, for `<`) for `idle op days`, at `now`. */
export function idleCutoff(days: number, now: number): number {
	return now - days * DAY_MS;
}

/** Whether a record whose last activity was at `last` (ms) is idle `op days` at `now` (ms). */
export function isIdle(last: number, op: ComparisonOp, days: number, now: number): boolean {
	// Idle for more than N days ⇔ the last activity is before the cut-off; the reverse for `<`.
	const cutoff = idleCutoff(days, now);
	switch (op) {
		case '>':
			return last < cutoff;
		case '>=':
		case '=':
			return last <= cutoff;
		case '<':
			return last > cutoff;
		case '<=':
			return last >= cutoff;
	}
}

/** A prefix requirement: some token starts with `full`; `indexed` is what the prefix index holds for it. */
export interface PrefixMatch {
	full: string;
	/** `full` cut to PREFIX_MAX characters (after any `scope:`). */
	indexed: string;
	/** Longer than what is indexed: the tokens themselves must be checked. */
	exact: boolean;
}

/** One way a term can match: the record has every token of `all`, and a token starting with `prefix`. */
export interface TokenMatch {
	all: string[];
	prefix?: PrefixMatch;
}

/** One term: the record matches if any of its alternatives does. */
export interface Clause {
	/** The term as typed (for display and highlighting). */
	term: string;
	anyOf: TokenMatch[];
}

export interface SearchQuery {
	/** The text as read (bounded, cleaned). */
	text: string;
	/** Every clause is required. */
	clauses: Clause[];
	filters: ColumnFilter[];
	/** Conditions on dates, numbers of custom fields and idleness (see FieldCondition); every one required. */
	conditions: FieldCondition[];
	/** Part of the text (past MAX_QUERY_LENGTH, or terms past MAX_TERMS) was ignored. */
	truncated: boolean;
}

export type ParsedSearch = { ok: true; query: SearchQuery } | { ok: false; message: string };

/** Whether a query asks for anything (an empty one lists everything). */
export function isEmptyQuery(query: SearchQuery): boolean {
	return query.clauses.length === 0 && query.filters.length === 0 && query.conditions.length === 0;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Quotation marks people type, in English and Chinese input methods. */
const QUOTES = /[\u201c\u201d\u201e\u300c\u300d\u300e\u300f\uff02]/g;
const FIELD_TERM = /^([\p{L}_][\p{L}\p{N}_]*)(>=|<=|:|>|<|=)(.*)$/su;
const ASCII_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EMAILISH = /@/;
const DOTTED_TERM = /^[\p{L}\p{N}][\p{L}\p{N}-]*(?:\.[\p{L}\p{N}-]*[\p{L}\p{N}])+$/u;

const lowerKeys = new Map<string, string>([
	...FIELDS.map((f) => [f.key.toLowerCase(), f.key] as const),
	['tag', 'tag'],
	['tags', 'tag'],
	['contact', 'contact'],
	['followup', 'followUpAt'],
	['created', 'created'],
	['createdat', 'created'],
	['updated', 'updated'],
	['updatedat', 'updated'],
	['idle', 'idle']
]);
const KNOWN_FIELDS_TEXT = `${FIELDS.map((f) => f.key).join(', ')}, tag, contact, created, updated, idle, or a custom field (x_… or its label)`;
/** Fields read as dates when compared or given a range. */
const DATE_FIELDS = new Set(['created', 'updated', 'followUpAt']);

/** What a query may know of the workspace: its field definitions, to read a field named by its label. */
export interface QueryOptions {
	fields?: readonly FieldDefinition[];
}

/** A label as a field name is typed: folded, spaces and dashes as `_` (`Lead source` → `lead_source`). */
const labelName = (label: string): string => fold(label).trim().replace(/[\s-]+/g, '_');

/**
 * The key of the workspace's field whose English or Chinese label is `name` (as
 * labelName writes it); undefined when none has it, `{ambiguous}` when several do.
 */
function keyOfLabel(name: string, fields: readonly FieldDefinition[] | undefined): string | { ambiguous: string[] } | undefined {
	if (!fields) return undefined;
	const wanted = labelName(name);
	const keys = new Set<string>();
	for (const field of fields) {
		for (const label of [field.label.en, field.label.zh]) if (label && labelName(label) === wanted) keys.add(field.key);
	}
	if (keys.size === 0) return undefined;
	if (keys.size > 1) return { ambiguous: [...keys].sort() };
	const [key] = keys;
	return lowerKeys.get(key.toLowerCase()) ?? key.toLowerCase();
}

interface RawTerm {
	field?: string;
	op?: ComparisonOp | ':';
	text: string;
	prefix: boolean;
	phrase: boolean;
}

/**
 * `q` of a query string (the API's and the list page's): undefined when absent or blank,
 * else the parsed query or the message to answer 400 with.
 */
export function searchParam(params: URLSearchParams, options: QueryOptions = {}): { ok: true; query: SearchQuery | undefined } | { ok: false; message: string } {
	const text = params.get('q');
	if (text === null || text.trim() === '') return { ok: true, query: undefined };
	const parsed = parseQuery(text, options);
	if (!parsed.ok) return parsed;
	return { ok: true, query: isEmptyQuery(parsed.query) ? undefined : parsed.query };
}

/** Reads `text` as a query. Never throws. */
export function parseQuery(input: unknown, options: QueryOptions = {}): ParsedSearch {
	if (typeof input !== 'string') return { ok: false, message: 'The search must be text.' };
	let truncated = input.length > MAX_QUERY_LENGTH;
	const text = input.slice(0, MAX_QUERY_LENGTH).replace(LONE_SURROGATE, ' ').replace(CONTROL, ' ').normalize('NFKC').replace(QUOTES, '"');
	const lexed = lex(text, options);
	if (!lexed.ok) return lexed;
	const clauses: Clause[] = [];
	const filters: ColumnFilter[] = [];
	const conditions: FieldCondition[] = [];
	for (const term of lexed.terms) {
		if (clauses.length + filters.length + conditions.length >= MAX_TERMS) {
			truncated = true;
			break;
		}
		const condition = conditionsOf(term);
		if (condition) {
			if (!condition.ok) return condition;
			filters.push(...condition.filters);
			conditions.push(...condition.conditions);
			continue;
		}
		if (term.field === undefined || term.field === 'contact' || SCOPED_FIELDS.includes(term.field) || term.field.startsWith('x_')) {
			if (term.op !== undefined && term.op !== ':' && term.op !== '=') {
				return { ok: false, message: `Only value, dates, idle and numbers of x_ fields can be compared with ${term.op}; write ${term.field}:${term.text}.` };
			}
			const anyOf = termMatches(term.text, term.prefix, term.field?.toLowerCase());
			if (anyOf.length > 0) clauses.push({ term: term.field ? `${term.field}:${term.text}` : term.text, anyOf });
			continue;
		}
		const filter = columnFilter(term);
		if (!filter.ok) return filter;
		filters.push(filter.filter);
	}
	return { ok: true, query: { text: text.trim(), clauses, filters, conditions, truncated } };
}

/** Splits the text into terms: words, "phrases", field:value and value>n. */
function lex(source: string, options: QueryOptions): { ok: true; terms: RawTerm[] } | { ok: false; message: string } {
	// A phone number typed with spaces is one term (138 0013 8000), not three.
	const text = source.replace(PHONE_RUN, (run) => (countDigits(run) >= 7 ? run.trim().replace(/\s+/g, '-') : run));
	const terms: RawTerm[] = [];
	let i = 0;
	while (i < text.length) {
		if (/\s/.test(text[i])) {
			i++;
			continue;
		}
		if (text[i] === '"') {
			const end = text.indexOf('"', i + 1);
			// An unbalanced quote runs to the end of the text.
			const phrase = end < 0 ? text.slice(i + 1) : text.slice(i + 1, end);
			terms.push({ text: phrase, prefix: false, phrase: true });
			i = end < 0 ? text.length : end + 1;
			continue;
		}
		let j = i;
		while (j < text.length && !/\s/.test(text[j]) && text[j] !== '"') j++;
		let word = text.slice(i, j);
		const field = FIELD_TERM.exec(word);
		if (field && !(field[2] === ':' && field[3].startsWith('//'))) {
			const [, name, op] = field;
			let value = field[3];
			// field:"a quoted value"
			if (value === '' && text[j] === '"') {
				const end = text.indexOf('"', j + 1);
				value = end < 0 ? text.slice(j + 1) : text.slice(j + 1, end);
				j = end < 0 ? text.length : end + 1;
			}
			const byLabel = lowerKeys.has(name.toLowerCase()) || /^x_/i.test(name) ? undefined : keyOfLabel(name, options.fields);
			if (typeof byLabel === 'object') return { ok: false, message: `Several fields are called "${name}" (${byLabel.ambiguous.join(', ')}); name one by its key.` };
			const key = lowerKeys.get(name.toLowerCase()) ?? (/^x_[a-z][a-z0-9_]{0,39}$/i.test(name) ? name.toLowerCase() : byLabel);
			if (key === undefined && !ASCII_NAME.test(name)) {
				// Not a field's name in any script: `备注:下午` is text to search for, as it was before labels.
				const prefix = word.endsWith('*');
				terms.push({ text: word.replace(/\*+$/, ''), prefix, phrase: false });
				i = j;
				continue;
			}
			if (key === undefined) return { ok: false, message: `There is no field "${name}" to search in; use ${KNOWN_FIELDS_TEXT}.` };
			if (value.trim() === '') return { ok: false, message: `${name}${op} needs a value, as in ${example(key)}.` };
			const prefix = value.endsWith('*');
			terms.push({ field: key, op: op as RawTerm['op'], text: value.replace(/\*+$/, ''), prefix, phrase: false });
			i = j;
			continue;
		}
		const prefix = word.endsWith('*');
		word = word.replace(/\*+$/, '');
		terms.push({ text: word, prefix, phrase: false });
		i = j;
	}
	// As-you-type: the last bare term is a prefix unless a space was typed after it.
	const last = terms[terms.length - 1];
	if (last && last.field === undefined && !last.phrase && !/\s$/.test(source)) last.prefix = true;
	return { ok: true, terms };
}

function example(key: string): string {
	switch (key) {
		case 'stage':
			return 'stage:won';
		case 'value':
			return 'value>100000';
		case 'tag':
			return 'tag:vip';
		case 'owner':
			return 'owner:alice';
		case 'created':
		case 'updated':
		case 'followUpAt':
			return `${key === 'followUpAt' ? 'followup' : key}:2026-03..2026-06`;
		case 'idle':
			return 'idle>30';
		default:
			return `${key}:深圳`;
	}
}

function prefixMatch(value: string, scope?: string): PrefixMatch {
	const chars = Array.from(value);
	const at = scope ? `${scope}:` : '';
	return { full: at + value, indexed: at + chars.slice(0, PREFIX_MAX).join(''), exact: chars.length > PREFIX_MAX };
}

/**
 * The ways one term can match, in tokens made by the same rules as the record's:
 * an email, a dotted name or a phone number whole (a phone also as its separate
 * numbers), else its words (Han runs of three characters or more as their pairs).
 */
export function termMatches(raw: string, prefix: boolean, scope?: string): TokenMatch[] {
	const folded = fold(raw).trim();
	const scoped = (tokens: string[]): string[] => (scope ? tokens.map((t) => `${scope}:${t}`) : tokens);
	const whole = (token: string): TokenMatch => (prefix ? { all: [], prefix: prefixMatch(token, scope) } : { all: scoped([token]) });
	const alternatives: TokenMatch[] = [];
	if (EMAILISH.test(folded)) {
		const email = folded.replace(/^[^\p{L}\p{N}@]+|[^\p{L}\p{N}]+$/gu, '');
		const target = email.startsWith('@') ? email.replace(/^@+/, '') : email;
		if (/[\p{L}\p{N}]/u.test(target) && !/\s/.test(target)) return [whole(target)];
	}
	if (DOTTED_TERM.test(folded) && /\p{L}/u.test(folded.slice(folded.lastIndexOf('.') + 1))) return [whole(folded)];
	const digits = folded.replace(/\D/g, '');
	if (digits.length >= 7 && /^[+\d\s().-]+$/.test(folded)) {
		alternatives.push(whole(folded.startsWith('00') ? digits.slice(2) : digits));
	}
	const pieces = wordPieces(folded);
	const all: string[] = [];
	let last: string | undefined;
	pieces.forEach((piece, index) => {
		if (!piece.han) {
			if (prefix && index === pieces.length - 1) last = piece.text;
			else all.push(piece.text);
			return;
		}
		const chars = Array.from(piece.text);
		if (chars.length <= 2) all.push(piece.text);
		else all.push(...hanBigrams(piece.text));
	});
	if (all.length > 0 || last !== undefined) {
		const words: TokenMatch = { all: scoped([...new Set(all)]) };
		if (last !== undefined) words.prefix = prefixMatch(last, scope);
		if (!alternatives.some((alt) => sameMatch(alt, words))) alternatives.push(words);
	}
	return alternatives;
}

const sameMatch = (a: TokenMatch, b: TokenMatch): boolean =>
	a.all.join('\u0000') === b.all.join('\u0000') && a.prefix?.full === b.prefix?.full;

function columnFilter(term: RawTerm): { ok: true; filter: ColumnFilter } | { ok: false; message: string } {
	const value = term.text.trim();
	const field = term.field as (typeof COLUMN_FIELDS)[number] | 'tag';
	if (field === 'value') {
		const op: ComparisonOp = term.op === ':' || term.op === undefined ? '=' : term.op;
		const plain = value.replace(/[,_\s]/g, '');
		if (!/^-?\d{1,15}(?:\.\d{1,6})?$/.test(plain)) return { ok: false, message: `value${term.op ?? ':'} needs a number, as in value>100000; "${shown(value)}" is not one.` };
		return { ok: true, filter: { field: 'value', op, value: Number(plain) } };
	}
	if (term.op !== ':' && term.op !== '=') return { ok: false, message: `Only value can be compared with ${term.op}; write ${field}:${shown(value)}.` };
	switch (field) {
		case 'stage': {
			const stage = fold(value);
			if (!(STAGES as readonly string[]).includes(stage)) return { ok: false, message: `stage must be one of ${STAGES.join(', ')}.` };
			return { ok: true, filter: { field: 'stage', value: stage as Stage } };
		}
		case 'owner':
			return { ok: true, filter: { field: 'owner', value } };
		case 'tag': {
			const tag = normaliseTag(value);
			if (!tag.ok) return { ok: false, message: tag.message };
			return { ok: true, filter: { field: 'tag', value: tag.value } };
		}
		case 'currency': {
			const currency = value.toUpperCase();
			if (!(CURRENCIES as readonly string[]).includes(currency)) return { ok: false, message: `currency must be one of ${CURRENCIES.join(', ')}.` };
			return { ok: true, filter: { field: 'currency', value: currency } };
		}
		case 'country': {
			const country = value.toUpperCase();
			if (!/^[A-Z]{2}$/.test(country)) return { ok: false, message: 'country takes a two-letter code, as in country:cn.' };
			return { ok: true, filter: { field: 'country', value: country } };
		}
	}
}

/** A value echoed in a message: short. */
function shown(value: string): string {
	return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

const DATE_SPEC = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/;
const NUMBER_SPEC = /^-?\d{1,15}(?:\.\d{1,6})?$/;
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const day = (date: Date): string => `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;

/** The span of days a date names (`2026` a year, `2026-03` a month, `2026-03-05` a day): its first day and the day after its last. */
export function dateSpan(text: string): { start: string; end: string } | null {
	const m = DATE_SPEC.exec(text.trim());
	if (!m) return null;
	const year = Number(m[1]);
	if (year < 1) return null;
	const month = m[2] === undefined ? null : Number(m[2]);
	const date = m[3] === undefined ? null : Number(m[3]);
	if (month !== null && (month < 1 || month > 12)) return null;
	const start = new Date(Date.UTC(year, (month ?? 1) - 1, date ?? 1));
	start.setUTCFullYear(year);
	// A day that the month does not have (2026-02-30) rolls over: refused, not read as another day.
	if (date !== null && start.getUTCDate() !== date) return null;
	const end = new Date(start);
	if (date !== null) end.setUTCDate(end.getUTCDate() + 1);
	else if (month !== null) end.setUTCMonth(end.getUTCMonth() + 1);
	else end.setUTCFullYear(end.getUTCFullYear() + 1);
	if (end.getUTCFullYear() > 9999) return null;
	return { start: day(start), end: day(end) };
}

/** `a..b`, `a..`, `..b`: the two ends as typed (an open end is ''); null when the text is no range. */
function rangeEnds(text: string): [string, string] | null {
	const at = text.indexOf('..');
	if (at < 0) return null;
	return [text.slice(0, at).trim(), text.slice(at + 2).trim()];
}

const readNumber = (text: string): number | null => {
	const plain = text.replace(/[,_\s]/g, '');
	return NUMBER_SPEC.test(plain) ? Number(plain) : null;
};

type ConditionResult = { ok: true; filters: ColumnFilter[]; conditions: FieldCondition[] } | { ok: false; message: string };

/**
 * The filters and conditions a fielded term stands for when it compares or gives a range
 * (created, updated, idle; value, date and number fields with `>` `<` or `a..b`); null
 * for a term that is a search for words (`city:深圳`, `x_region:华东`) or a column filter.
 */
function conditionsOf(term: RawTerm): ConditionResult | null {
	const field = term.field;
	if (field === undefined) return null;
	const value = term.text.trim();
	const op = term.op ?? ':';
	const range = rangeEnds(value);
	const compared = op !== ':' && op !== '=';
	if (field === 'idle') {
		const days = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
		if (!(days >= 0 && days <= MAX_IDLE_DAYS)) return { ok: false, message: `idle takes a number of days from 0 to ${MAX_IDLE_DAYS}, as in idle>30; "${shown(value)}" is not one.` };
		return { ok: true, filters: [], conditions: [{ kind: 'idle', op: compared ? (op as ComparisonOp) : '>=', days }] };
	}
	const isDateField = DATE_FIELDS.has(field);
	if (field === 'created' || field === 'updated' || ((isDateField || field.startsWith('x_') || field === 'value') && (compared || range))) {
		if (field === 'value') {
			if (!range) return null;
			return numberRange(field, range);
		}
		const ends = range ?? [value, value];
		const dates = ends.map((end) => (end === '' ? null : dateSpan(end)));
		const numbers = ends.map((end) => (end === '' ? null : readNumber(end)));
		const allDates = ends.every((end, k) => end === '' || dates[k] !== null);
		const name = field === 'followUpAt' ? 'followup' : field;
		if (range && ends[0] === '' && ends[1] === '') return { ok: false, message: `${name}:.. needs at least one end, as in ${example(field)}.` };
		if (allDates) {
			const condition: FieldCondition = { kind: 'date', field };
			if (range) {
				if (dates[0]) condition.from = dates[0].start;
				if (dates[1]) condition.before = dates[1].end;
			} else {
				const span = dates[0]!;
				if (op === '>') condition.from = span.end;
				else if (op === '>=') condition.from = span.start;
				else if (op === '<') condition.before = span.start;
				else if (op === '<=') condition.before = span.end;
				else Object.assign(condition, { from: span.start, before: span.end });
			}
			if (condition.from !== undefined && condition.before !== undefined && condition.from >= condition.before) {
				return { ok: false, message: `${name}${op}${shown(value)} ends before it starts.` };
			}
			return { ok: true, filters: [], conditions: [condition] };
		}
		if (!isDateField && field.startsWith('x_') && ends.every((end, k) => end === '' || numbers[k] !== null)) {
			if (range) return numberRange(field, range);
			return { ok: true, filters: [], conditions: [{ kind: 'number', field, op: op as ComparisonOp, value: numbers[0]! }] };
		}
		return {
			ok: false,
			message: isDateField
				? `${name}${op} needs a date (2026, 2026-03 or 2026-03-05), as in ${example(field)}; "${shown(value)}" is not one.`
				: `${name}${op} needs a number or a date, as in ${name}>100 or ${name}:2026-03..2026-06; "${shown(value)}" is neither.`
		};
	}
	return null;
}

/** `a..b` on a number field: at least a, at most b (either end open). */
function numberRange(field: string, [low, high]: [string, string]): ConditionResult {
	const lowValue = low === '' ? null : readNumber(low);
	const highValue = high === '' ? null : readNumber(high);
	if ((low === '' && high === '') || (low !== '' && lowValue === null) || (high !== '' && highValue === null)) {
		return { ok: false, message: `${field}:${shown(`${low}..${high}`)} needs numbers, as in ${field}:1000..5000.` };
	}
	const bounds: [ComparisonOp, number][] = [];
	if (lowValue !== null) bounds.push(['>=', lowValue]);
	if (highValue !== null) bounds.push(['<=', highValue]);
	if (field === 'value') return { ok: true, filters: bounds.map(([op, value]) => ({ field: 'value', op, value })), conditions: [] };
	return { ok: true, filters: [], conditions: bounds.map(([op, value]) => ({ kind: 'number', field, op, value })) };
}
