/**
 * A record's search tokens (every field, tags, contacts, activities, notes; pinyin of
 * names and companies) and their indexed prefixes: what the server stores with the
 * record's list row, and what the browser matches a query against. Importing this
 * module loads the pinyin dictionary (pinyin.ts); reading queries (query.ts) does not.
 */
import './pinyin.ts';
import type { CustomerRecord } from '../model/record.ts';
import { FIELDS, type Scalar } from '../model/schema.ts';
import { MAX_NOTES_CHARS, MAX_RECORD_PREFIXES, MAX_RECORD_TOKENS, PREFIX_MAX, SCOPED_FIELDS, tokenize, type TokenOptions } from './tokenize.ts';

/** Pinyin is made for these only: names are what people type in pinyin; notes would drown in it. */
const PINYIN_FIELDS = new Set(['name', 'company']);
const PURE_HAN = /^\p{Script=Han}+$/u;
const ASCII = /^[\x00-\x7f]*$/;
const SENTENCE_END = /(?<=[\n。！？!?；;])/u;
const codePoints = (text: string): string[] => Array.from(text);

/** Texts longer than this are tokenized afresh every time rather than remembered. */
const CACHED_TEXT_MAX = 4_000;
const CACHE_ENTRIES = 5_000;
const cache = new Map<string, string[]>();

/**
 * `tokenize`, remembered (least recently used first out). A record's row is re-made
 * after every change, and a change touches one field or one sentence of the notes: the
 * rest is read from here instead of being segmented and converted to pinyin again.
 */
function cachedTokens(text: string, options: TokenOptions): string[] {
	if (text.length > CACHED_TEXT_MAX) return tokenize(text, options);
	const key = `${options.pinyin ? 'p' : ''}${options.surname ? 's' : ''}${options.phone ? 't' : ''}${options.country ?? ''}\u0001${text}`;
	const hit = cache.get(key);
	if (hit) {
		cache.delete(key);
		cache.set(key, hit);
		return hit;
	}
	const tokens = tokenize(text, options);
	cache.set(key, tokens);
	if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
	return tokens;
}

const scalarText = (value: Scalar | undefined): string => (value === null || value === undefined ? '' : String(value));

/** A record's tokens, each field's also under its scope (`company:huaxin`), bounded (MAX_RECORD_TOKENS). */
export function recordTokens(record: CustomerRecord): string[] {
	const out = new Set<string>();
	const country = typeof record.fields.country === 'string' ? record.fields.country : null;
	const add = (text: string, options: TokenOptions, scope?: string) => {
		const own = cachedTokens(text, { ...options, country });
		for (const token of own) out.add(token);
		if (scope) for (const token of own) out.add(`${scope}:${token}`);
	};
	const keys = [...FIELDS.map((f) => f.key).filter((key) => key in record.fields), ...Object.keys(record.fields).filter((key) => !FIELDS.some((f) => f.key === key)).sort()];
	for (const key of keys) {
		const scope = SCOPED_FIELDS.includes(key) || key.startsWith('x_') ? key.toLowerCase() : undefined;
		add(scalarText(record.fields[key]), { pinyin: PINYIN_FIELDS.has(key), surname: key === 'name', phone: key === 'phone' }, scope);
	}
	for (const tag of record.tags) add(tag, {});
	for (const contact of record.contacts) {
		if (contact.name) add(contact.name, { pinyin: true, surname: true }, 'contact');
		if (contact.title) add(contact.title, {}, 'contact');
		if (contact.email) add(contact.email, {}, 'contact');
		if (contact.phone) add(contact.phone, { phone: true }, 'contact');
	}
	for (const activity of record.activities) if (typeof activity.subject === 'string') add(activity.subject, {});
	// Sentence by sentence: typing changes one, and only that one is tokenized again. No
	// token spans these marks (words, Han runs, emails and phones all stop at them).
	if (record.notes) for (const sentence of record.notes.slice(0, MAX_NOTES_CHARS).split(SENTENCE_END)) add(sentence, {});
	return [...out].slice(0, MAX_RECORD_TOKENS);
}

/**
 * The indexed prefixes of tokens: 1 to PREFIX_MAX characters of each (of the part after
 * `scope:` for scoped ones). Han tokens have none: a Han query is matched by its
 * characters and pairs, never as a prefix.
 */
export function tokenPrefixes(tokens: readonly string[]): string[] {
	const out = new Set<string>();
	for (const token of tokens) {
		const colon = token.indexOf(':');
		const scope = colon >= 0 ? token.slice(0, colon + 1) : '';
		const rest = colon >= 0 ? token.slice(colon + 1) : token;
		if (rest.length === 0 || PURE_HAN.test(rest)) continue;
		// By characters, not UTF-16 units, as Postgres's left() counts them (ASCII: the same, and quicker).
		const value = ASCII.test(rest) ? null : codePoints(rest);
		const length = value ? value.length : rest.length;
		for (let k = 1; k <= Math.min(length, PREFIX_MAX); k++) out.add(scope + (value ? value.slice(0, k).join('') : rest.slice(0, k)));
		if (out.size >= MAX_RECORD_PREFIXES) break;
	}
	return [...out].slice(0, MAX_RECORD_PREFIXES);
}

/**
 * Whether `tokens` may have MAX_RECORD_PREFIXES indexed prefixes or more: a bound (each
 * token counted as up to PREFIX_MAX of its UTF-16 units, never fewer than its characters),
 * so that the browser's index makes a record's prefixes (hundreds of short strings, only
 * to learn whether the cap applies) just for a record that may reach the cap.
 */
export function mayCapPrefixes(tokens: readonly string[]): boolean {
	let most = 0;
	for (const token of tokens) {
		most += Math.min(token.length - token.indexOf(':') - 1, PREFIX_MAX);
		if (most >= MAX_RECORD_PREFIXES) return true;
	}
	return false;
}

/** What the list row stores for search: the tokens and their indexed prefixes. */
export function recordSearchEntry(record: CustomerRecord): { tokens: string[]; prefixes: string[] } {
	const tokens = recordTokens(record);
	return { tokens, prefixes: tokenPrefixes(tokens) };
}
