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
 *   value>100000 value<=5000 value:2500                        comparisons on the value
 *
 * Reading never throws: any text gives a plan or `{ok: false, message}`. The text is
 * bounded (MAX_QUERY_LENGTH), lone surrogates and control characters become spaces.
 */
import { CURRENCIES, FIELDS, STAGES, type Stage } from '../model/schema.ts';
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
	/** Part of the text (past MAX_QUERY_LENGTH, or terms past MAX_TERMS) was ignored. */
	truncated: boolean;
}

export type ParsedSearch = { ok: true; query: SearchQuery } | { ok: false; message: string };

/** Whether a query asks for anything (an empty one lists everything). */
export function isEmptyQuery(query: SearchQuery): boolean {
	return query.clauses.length === 0 && query.filters.length === 0;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Quotation marks people type, in English and Chinese input methods. */
const QUOTES = /[\u201c\u201d\u201e\u300c\u300d\u300e\u300f\uff02]/g;
const FIELD_TERM = /^([A-Za-z_][A-Za-z0-9_]*)(>=|<=|:|>|<|=)(.*)$/s;
const EMAILISH = /@/;
const DOTTED_TERM = /^[\p{L}\p{N}][\p{L}\p{N}-]*(?:\.[\p{L}\p{N}-]*[\p{L}\p{N}])+$/u;

const lowerKeys = new Map<string, string>([...FIELDS.map((f) => [f.key.toLowerCase(), f.key] as const), ['tag', 'tag'], ['tags', 'tag'], ['contact', 'contact']]);
const KNOWN_FIELDS_TEXT = `${FIELDS.map((f) => f.key).join(', ')}, tag, contact, or a custom field (x_…)`;

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
export function searchParam(params: URLSearchParams): { ok: true; query: SearchQuery | undefined } | { ok: false; message: string } {
	const text = params.get('q');
	if (text === null || text.trim() === '') return { ok: true, query: undefined };
	const parsed = parseQuery(text);
	if (!parsed.ok) return parsed;
	return { ok: true, query: isEmptyQuery(parsed.query) ? undefined : parsed.query };
}

/** Reads `text` as a query. Never throws. */
export function parseQuery(input: unknown): ParsedSearch {
	if (typeof input !== 'string') return { ok: false, message: 'The search must be text.' };
	let truncated = input.length > MAX_QUERY_LENGTH;
	const text = input.slice(0, MAX_QUERY_LENGTH).replace(LONE_SURROGATE, ' ').replace(CONTROL, ' ').normalize('NFKC').replace(QUOTES, '"');
	const lexed = lex(text);
	if (!lexed.ok) return lexed;
	const clauses: Clause[] = [];
	const filters: ColumnFilter[] = [];
	for (const term of lexed.terms) {
		if (clauses.length + filters.length >= MAX_TERMS) {
			truncated = true;
			break;
		}
		if (term.field === undefined || term.field === 'contact' || SCOPED_FIELDS.includes(term.field) || term.field.startsWith('x_')) {
			if (term.op !== undefined && term.op !== ':' && term.op !== '=') {
				return { ok: false, message: `Only value can be compared with ${term.op}; write ${term.field}:${term.text}.` };
			}
			const anyOf = termMatches(term.text, term.prefix, term.field?.toLowerCase());
			if (anyOf.length > 0) clauses.push({ term: term.field ? `${term.field}:${term.text}` : term.text, anyOf });
			continue;
		}
		const filter = columnFilter(term);
		if (!filter.ok) return filter;
		filters.push(filter.filter);
	}
	return { ok: true, query: { text: text.trim(), clauses, filters, truncated } };
}

/** Splits the text into terms: words, "phrases", field:value and value>n. */
function lex(source: string): { ok: true; terms: RawTerm[] } | { ok: false; message: string } {
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
			const key = lowerKeys.get(name.toLowerCase()) ?? (/^x_[a-z][a-z0-9_]{0,39}$/i.test(name) ? name.toLowerCase() : undefined);
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
