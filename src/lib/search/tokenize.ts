/**
 * The one tokenizer of Accord's search. The server stores a record's tokens with its
 * list row (and answers `GET /api/records?q=`), and the browser matches the same
 * records with the same tokens; so everything here is deterministic, pure and runs in
 * both places. If a token were made differently on either side, the same query would
 * find different records online and offline.
 *
 * What a token is (all folded: NFKC, lower case, accents stripped):
 * - Latin (and other spaced) words: runs of letters and digits.
 * - Han text: every character (unigram), every pair of neighbours over the whole run
 *   (bigram), and the words `Intl.Segmenter` finds. Bigrams over the whole run, not per
 *   segmented word: the segmenter splits names (字节跳动 → 字 节 跳动), and a fragment
 *   typed by a person must still be found.
 * - Pinyin of Han names and companies (not of notes): the whole run (`zhangwei`), its
 *   initials (`zw`), and each word's and pair's syllables (`huaxin` in 深圳华信科技).
 * - Phones in the forms people type: digits of the international number, the national
 *   number with and without its trunk prefix, and the last four digits.
 * - Emails whole, their local part and their domain (and the domain's parents);
 *   dotted names (`acme.com`, `li.na`) whole.
 * - `scope:token` copies for fielded search (`city:深圳`, `company:huaxin`).
 */
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { FIELDS } from '../model/schema.ts';

/** Which version of these rules made a stored row's tokens; raise it when they change, and rows are re-indexed. */
export const SEARCH_VERSION = 1;
/** Prefixes are indexed up to this many characters; a longer prefix is checked against the tokens. */
export const PREFIX_MAX = 10;
/** Notes beyond this many characters are not indexed: the row is rewritten on every edit, and its tokens with it. */
export const MAX_NOTES_CHARS = 20_000;
/** At most this many tokens per record (fields first, then tags, contacts, activities, notes). */
export const MAX_RECORD_TOKENS = 4_000;
/** At most this many prefix entries per record. */
export const MAX_RECORD_PREFIXES = 8_000;

/**
 * Fields searched with `field:term` through tokens of their own (scoped tokens): text
 * whose folding, Han fragments, pinyin and phone forms must behave as in free search.
 * Closed vocabularies and numbers (stage, owner, currency, country, value) are compared
 * with the list row's columns instead (see query.ts).
 */
export const COLUMN_FIELDS = ['stage', 'owner', 'currency', 'country', 'value'] as const;
export const SCOPED_FIELDS: readonly string[] = FIELDS.map((f) => f.key).filter((key) => !(COLUMN_FIELDS as readonly string[]).includes(key));

const HAN = /\p{Script=Han}/u;
const PURE_HAN = /^\p{Script=Han}+$/u;
const WORD = /[\p{L}\p{N}]+/gu;
const HAN_SPLIT = /(\p{Script=Han}+)/u;
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
const DOTTED = /[\p{L}\p{N}][\p{L}\p{N}-]*(?:\.[\p{L}\p{N}-]*[\p{L}\p{N}])+/gu;
/** A run that may be a phone number (7 to 15 digits, with the separators people use), not glued to a word. */
export const PHONE_RUN = /(?<![\p{L}\p{N}.@_:<>=+-])(?:\+|00)?\(?\d[\d\s().\-\u00a0]{5,24}\d(?![\p{L}\p{N}@])/gu;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Case, accents, width and compatibility forms folded: `Ｅｌｉｓａ`, `ÉLISA` and `elisa` are one token. */
export function fold(text: string): string {
	return (/[\ud800-\udfff]/.test(text) ? text.replace(LONE_SURROGATE, ' ') : text)
		.normalize('NFKC')
		.toLowerCase()
		.normalize('NFKD')
		.replace(/\p{M}/gu, '')
		.normalize('NFC');
}

const codePoints = (text: string): string[] => Array.from(text);

export function isPureHan(token: string): boolean {
	return PURE_HAN.test(token);
}

let segmenter: Intl.Segmenter | null | undefined;
/** Lazily, and null where the runtime lacks it (the unigrams and bigrams still find everything then). */
function zhSegmenter(): Intl.Segmenter | null {
	if (segmenter === undefined) {
		segmenter = typeof Intl !== 'undefined' && typeof Intl.Segmenter === 'function' ? new Intl.Segmenter('zh', { granularity: 'word' }) : null;
	}
	return segmenter;
}

/**
 * Segmenter words of the Han runs of a text (two characters or more: single characters
 * are unigrams anyway). One pass over the whole text: a pass per run costs more than
 * the words are worth in notes full of punctuation.
 */
function hanWords(folded: string, out: Set<string>): void {
	const seg = zhSegmenter();
	if (!seg) return;
	for (const part of seg.segment(folded)) if (part.isWordLike && part.segment.length > 1 && PURE_HAN.test(part.segment)) out.add(part.segment);
}

/** Bigrams over a whole Han run: 字节跳动 → 字节 节跳 跳动. */
export function hanBigrams(run: string): string[] {
	const chars = codePoints(run);
	const out: string[] = [];
	for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i] + chars[i + 1]);
	return out;
}

function hanTokens(run: string, out: Set<string>): void {
	for (const ch of codePoints(run)) out.add(ch);
	for (const pair of hanBigrams(run)) out.add(pair);
}

/** Words of folded text: Latin words as they are, Han runs split out of them. */
export function wordPieces(folded: string): { text: string; han: boolean }[] {
	const pieces: { text: string; han: boolean }[] = [];
	for (const match of folded.matchAll(WORD)) {
		if (!HAN.test(match[0])) pieces.push({ text: match[0], han: false });
		else for (const part of match[0].split(HAN_SPLIT)) if (part) pieces.push({ text: part, han: HAN.test(part) });
	}
	return pieces;
}

/** Every suffix of a dotted name with two labels or more: mail.huaxin.cn → itself, huaxin.cn. */
function dottedSuffixes(name: string): string[] {
	const labels = name.split('.');
	const out: string[] = [];
	for (let i = 0; i + 1 < labels.length; i++) out.push(labels.slice(i).join('.'));
	return out;
}

const lastLabelHasLetter = (name: string): boolean => /\p{L}/u.test(name.slice(name.lastIndexOf('.') + 1));

/** The digits of a phone number in every form a person may type it; `country` reads national numbers. */
export function phoneForms(raw: string, country?: string | null): string[] {
	const digits = raw.replace(/\D/g, '');
	if (digits.length < 4) return [];
	const forms = new Set<string>([digits, digits.slice(-4)]);
	const trimmed = raw.trim();
	if (trimmed.startsWith('00')) forms.add(digits.slice(2));
	const region = country && isSupportedCountry(country.toUpperCase()) ? country.toUpperCase() : undefined;
	try {
		const phone = parsePhoneNumberFromString(trimmed.startsWith('00') ? `+${digits.slice(2)}` : trimmed, region as Parameters<typeof parsePhoneNumberFromString>[1]);
		if (phone) {
			forms.add(phone.number.replace(/\D/g, ''));
			forms.add(String(phone.nationalNumber));
			forms.add(phone.formatNational().replace(/\D/g, ''));
			forms.add(String(phone.nationalNumber).slice(-4));
		}
	} catch {
		// Not a number libphonenumber can read: its digits are still tokens.
	}
	return [...forms].filter((form) => form.length >= 4);
}

/** The syllables of a Han run, without tones (ü as v); `surname` reads the first character as a family name. */
export type PinyinOf = (han: string, surname: boolean) => string[];
let pinyinOf: PinyinOf | null = null;

/**
 * Provides the pinyin converter (pinyin.ts does, with pinyin-pro). Kept out of this
 * module so that reading a query, which needs no pinyin, does not load its dictionary
 * (some 140 kB gzipped) into every page of the app.
 */
export function usePinyin(convert: PinyinOf): void {
	pinyinOf = convert;
}

/** Pinyin of every Han run of `text`: whole (zhangwei), initials (zw), and each word's and pair's syllables. */
function pinyinTokens(folded: string, surname: boolean, out: Set<string>): void {
	// Tokens without pinyin would silently make the browser and the server disagree.
	if (!pinyinOf) throw new Error('pinyin is not loaded: import $lib/search/pinyin.ts (record.ts does)');
	for (const piece of wordPieces(folded)) {
		if (!piece.han) continue;
		const syllables = pinyinOf(piece.text, surname).map((s) => fold(s).replace(/[^a-z]/g, ''));
		if (syllables.length === 0 || syllables.some((s) => s === '')) continue;
		out.add(syllables.join(''));
		out.add(syllables.map((s) => s[0]).join(''));
		for (let i = 0; i + 1 < syllables.length; i++) out.add(syllables[i] + syllables[i + 1]);
		const chars = codePoints(piece.text);
		if (chars.length > 2) {
			// Each segmented word's syllables, from the run's own reading (so heteronyms read in context).
			let at = 0;
			const seg = zhSegmenter();
			if (seg) {
				for (const part of seg.segment(piece.text)) {
					const length = codePoints(part.segment).length;
					if (part.isWordLike && length > 1) out.add(syllables.slice(at, at + length).join(''));
					at += length;
				}
			}
		}
	}
}

export interface TokenOptions {
	/** Add pinyin of Han runs (names and companies). */
	pinyin?: boolean;
	/** Read the first Han character as a surname (单 → shan): person names. */
	surname?: boolean;
	/** The record's country, to read national phone numbers. */
	country?: string | null;
	/** The value is a phone number: all its forms, whatever it looks like. */
	phone?: boolean;
}

/** Adds the tokens of one text to `out`. */
export function addTokens(text: string, out: Set<string>, options: TokenOptions = {}): void {
	const folded = fold(text);
	if (!folded.trim()) return;
	// Each pattern only where it can match: the scans cost more than the tokens otherwise.
	if (folded.includes('@')) for (const match of folded.matchAll(EMAIL)) {
		const email = match[0].replace(/^[._%+-]+/, '');
		out.add(email);
		out.add(email.slice(0, email.indexOf('@')));
		for (const suffix of dottedSuffixes(email.slice(email.indexOf('@') + 1))) out.add(suffix);
	}
	if (folded.includes('.')) for (const match of folded.matchAll(DOTTED)) {
		if (lastLabelHasLetter(match[0])) for (const suffix of dottedSuffixes(match[0])) out.add(suffix);
	}
	if (options.phone) for (const form of phoneForms(folded, options.country)) out.add(form);
	if (/\d/.test(folded)) for (const match of folded.matchAll(PHONE_RUN)) {
		if (countDigits(match[0]) >= 7) for (const form of phoneForms(match[0], options.country)) out.add(form);
	}
	let han = false;
	for (const piece of wordPieces(folded)) {
		if (piece.han) {
			han = true;
			hanTokens(piece.text, out);
		} else out.add(piece.text);
	}
	if (han) hanWords(folded, out);
	if (options.pinyin) pinyinTokens(folded, options.surname === true, out);
}

export const countDigits = (text: string): number => text.replace(/\D/g, '').length;

/** The tokens of a text, in the order they were found (the shared rules above). */
export function tokenize(text: string, options: TokenOptions = {}): string[] {
	const out = new Set<string>();
	addTokens(text, out, options);
	return [...out];
}
