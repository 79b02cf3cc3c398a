/**
 * Field validation and normalisation: the one module that decides whether a value may be
 * stored in a field, and in which form. Every value written into a record's `fields` map
 * passes through here first (the record page, the new-record dialog, the REST API, the
 * live sync path's shape guard, offline-created records and import alike), checked
 * against the field's definition: a built-in one, or one the workspace added
 * (src/lib/model/fields.ts), so a record only ever holds normalised values.
 */
import { getCountries, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { ACTIVITY_KINDS, BUILTIN_DEFINITIONS, CUSTOM_FIELD_PREFIX, MAX_TAG_LENGTH, STAGE_NAMES, type FieldDefinition, type Scalar, type Stage } from './schema.ts';

export type Validated<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/**
 * Who a person field (the built-in `owner`, or one the workspace added) may name: the
 * workspace's members by id. The browser builds it from the people it was given; the
 * server's (server/fields.ts) follows the membership table.
 */
export interface MemberLookup {
	has(id: string): boolean;
}

/** Finds a field's definition by key: the workspace's current list (fields.ts `FieldCatalog`), or the built-ins. */
export interface FieldLookup {
	get(key: string): FieldDefinition | undefined;
	/**
	 * The workspace's members, when whoever holds the definitions also knows them (the
	 * server's live catalog does), so every writer that validates against the live
	 * definitions checks person values too without being told separately.
	 */
	readonly members?: MemberLookup;
}

export interface ValidationContext {
	/** ISO country of the record, used to read national phone numbers. */
	country?: string | null;
	/** The workspace's field definitions; the built-in fields alone when absent. */
	definitions?: FieldLookup;
	/**
	 * Whom a person field may name; `definitions.members` when absent, and unchecked (any
	 * id of the right shape) when neither says, as when nobody knows the members yet.
	 */
	members?: MemberLookup;
}

/** A member list from people as the browser has them (`data.people`). */
export function membersOf(people: readonly { id: string }[]): MemberLookup {
	const ids = new Set(people.map((person) => person.id));
	return { has: (id) => ids.has(id) };
}

const builtinByKey = new Map(BUILTIN_DEFINITIONS.map((definition) => [definition.key, definition]));
/** The built-in definitions alone: what validates when no workspace list is given. */
export const BUILTIN_LOOKUP: FieldLookup = { get: (key) => builtinByKey.get(key) };

/**
 * Full-width forms as Chinese (and Japanese) input methods type them: `１２３，４５６`,
 * `＋８６`, `ＣＮ`, `．`, the ideographic space, and the ideographic full stop `。` that
 * the "." key types in Chinese punctuation mode. Folded to their ASCII forms in every
 * numeric and coded field (money, phone, country, date, email, URL, options), where
 * they can only be a slip of the input method; never in free text, where `（集团）`
 * is what the person meant. Nothing else changes (unlike NFKC, which would also read
 * `10²` as `102`).
 */
export function foldWidth(text: string): string {
	return text
		.replace(/[\uFF01-\uFF5E]/gu, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
		.replace(/\u3000/gu, ' ')
		.replace(/[\u3002\uFF61]/gu, '.');
}

/**
 * ISO 3166-1 alpha-2, from the country list libphonenumber-js already ships and keeps
 * up to date (one maintained source shared with phone reading, rather than a
 * hand-kept list). That list is of telephone regions, so it is corrected by two small
 * sets: regions with phone numbers that are not ISO countries, and ISO countries
 * without a numbering plan of their own.
 */
const PHONE_REGIONS_NOT_IN_ISO = new Set([
	'AC', // Ascension Island: exceptionally reserved, part of SH
	'TA', // Tristan da Cunha: exceptionally reserved, part of SH
	'XK' // Kosovo: a user-assigned code, not (yet) in ISO 3166-1
]);
const ISO_WITHOUT_PHONE_REGION = [
	'AQ', // Antarctica
	'BV', // Bouvet Island
	'GS', // South Georgia and the South Sandwich Islands
	'HM', // Heard Island and McDonald Islands
	'PN', // Pitcairn (shares New Zealand's numbering)
	'TF', // French Southern Territories
	'UM' // United States Minor Outlying Islands
];
const COUNTRIES: ReadonlySet<string> = new Set([...getCountries().filter((code) => !PHONE_REGIONS_NOT_IN_ISO.has(code)), ...ISO_WITHOUT_PHONE_REGION]);

/** Whether `code` is an ISO 3166-1 alpha-2 country code, exactly as stored (upper case). */
export function isCountryCode(code: string): boolean {
	return COUNTRIES.has(code);
}

/** Largest amount kept: beyond it a double no longer holds every cent exactly. */
const MAX_MONEY = 9_999_999_999_999.99;
/** An amount once separators are removed: digits with an optional decimal part (no signs, exponents or hex). */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;
/** Longest text of a custom (`x_…`) field. */
const MAX_CUSTOM_TEXT = 1000;

const ok = <T>(value: T): Validated<T> => ({ ok: true, value });
const fail = (code: string, message: string): Validated<never> => ({ ok: false, code, message });

const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]{2,}$/u;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * U+0000 cannot be stored: Postgres refuses it in text and in JSON, so a record holding it
 * would fail every write of its list row and audit entries. No writer gets past here with it.
 */
export function refuseNul(key: string, text: string): Extract<Validated<never>, { ok: false }> | null {
	if (!text.includes('\u0000')) return null;
	return { ok: false, code: 'nul', message: `${key} contains the invisible character U+0000 (NUL), which cannot be stored; remove it.` };
}

function collapse(text: string): string {
	return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

export function normaliseEmail(raw: string): Validated<string> {
	const email = foldWidth(raw).normalize('NFC').trim().toLowerCase();
	if (!EMAIL.test(email)) return fail('email', `"${raw}" is not an email address; expected something like name@example.com.`);
	return ok(email);
}

/** Phones read lately, by country and text: parsing one costs tens of microseconds, and the same few are read again and again. */
const PHONES_REMEMBERED = 2_000;
const phonesRead = new Map<string, Validated<string>>();

export function normalisePhone(raw: string, context: ValidationContext = {}): Validated<string> {
	const country = foldWidth(context.country ?? '').trim().toUpperCase();
	// The live path checks a record's phone at every change of the record's fields, and
	// its duplicate keys are derived again at every refresh of its row: remembered (the
	// answer depends on nothing else; results are frozen, so sharing them is safe).
	const key = `${country}\u0001${raw}`;
	const known = phonesRead.get(key);
	if (known) return known;
	const answer = Object.freeze(readPhone(raw, country));
	if (phonesRead.size >= PHONES_REMEMBERED) phonesRead.delete(phonesRead.keys().next().value as string);
	phonesRead.set(key, answer);
	return answer;
}

function readPhone(raw: string, country: string): Validated<string> {
	// A country without a numbering plan (Antarctica) reads only international numbers.
	const phone = parsePhoneNumberFromString(foldWidth(raw).trim(), isSupportedCountry(country) ? country : undefined);
	if (!phone || !phone.isPossible()) {
		return fail(
			'phone',
			`"${raw}" is not a phone number we can read; include the country code, for example +86 138 0013 8000 or +1 415 555 0100.`
		);
	}
	return ok(phone.number);
}

/**
 * Stored form: the URL as the WHATWG URL parser writes it (`href`), so an
 * internationalised host is stored in punycode (`https://xn--0zwm56d.xn--fiqs8s`):
 * one form however it was typed (Unicode, `。`, full-width, upper case, punycode),
 * the form every record already holds, and the one links and HTTP clients use. It is
 * shown in Unicode through `displayUrl`.
 */
export function normaliseUrl(raw: string): Validated<string> {
	const text = foldWidth(raw).trim();
	const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
	try {
		const url = new URL(withScheme);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('url', `"${raw}" must be an http or https address.`);
		if (!url.hostname.includes('.')) return fail('url', `"${raw}" is not a web address; expected something like example.com.`);
		return ok(url.href.replace(/\/$/, ''));
	} catch {
		return fail('url', `"${raw}" is not a web address; expected something like example.com.`);
	}
}

/**
 * Decodes one punycode label (RFC 3492, the part after `xn--`); null if it is not valid
 * punycode. Browsers have no toUnicode of their own and the URL parser only encodes,
 * so the decoder lives here, next to the one normaliser, for the browser and server alike.
 */
function decodePunycode(input: string): string | null {
	const base = 36;
	const delimiter = input.lastIndexOf('-');
	const output: number[] = [];
	for (let i = 0; i < Math.max(delimiter, 0); i++) {
		const code = input.charCodeAt(i);
		if (code >= 0x80) return null;
		output.push(code);
	}
	let n = 128;
	let bias = 72;
	let i = 0;
	for (let at = delimiter > 0 ? delimiter + 1 : 0; at < input.length; ) {
		const oldi = i;
		for (let w = 1, k = base; ; k += base) {
			if (at >= input.length) return null;
			const c = input.charCodeAt(at++);
			const digit = c >= 48 && c <= 57 ? c - 22 : c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 97 : base;
			if (digit >= base) return null;
			i += digit * w;
			const t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
			if (digit < t) break;
			w *= base - t;
			if (i > 0x10ffff * 64) return null;
		}
		// Bias adaptation (RFC 3492, section 6.1).
		let delta = oldi === 0 ? Math.floor((i - oldi) / 700) : Math.floor((i - oldi) / 2);
		delta += Math.floor(delta / (output.length + 1));
		let k = 0;
		for (; delta > ((base - 1) * 26) >> 1; k += base) delta = Math.floor(delta / (base - 1));
		bias = Math.floor(k + (base * delta) / (delta + 38));
		n += Math.floor(i / (output.length + 1));
		i %= output.length + 1;
		if (n > 0x10ffff) return null;
		output.splice(i++, 0, n);
	}
	return String.fromCodePoint(...output);
}

/** Runs of percent-escapes of non-ASCII bytes (what the URL parser makes of `/产品`). */
const ESCAPED_NON_ASCII = /(?:%[89a-f][0-9a-f])+/giu;

/**
 * How a stored URL is shown (the record page, and anywhere else a URL is read by a
 * person): the host in Unicode (`https://测试.中国`, not its punycode), and escapes
 * of letters and digits typed in another script (`/产品`) as those characters.
 * Only non-ASCII escapes are decoded, and only to letters, marks and digits, so what
 * is shown reads back through `normaliseUrl` to exactly the stored value. Anything
 * that cannot be read is shown as stored.
 */
export function displayUrl(stored: string): string {
	let url: URL;
	try {
		url = new URL(stored);
	} catch {
		return stored;
	}
	const labels = url.hostname.split('.').map((label) => (label.startsWith('xn--') ? decodePunycode(label.slice(4)) : label));
	if (labels.some((label) => label === null)) return stored;
	const hostAt = stored.indexOf(url.hostname, stored.indexOf('//') + 2);
	if (hostAt < 0) return stored;
	const rest = stored.slice(hostAt + url.hostname.length).replace(ESCAPED_NON_ASCII, (escaped) => {
		try {
			const text = decodeURIComponent(escaped);
			return /^[\p{L}\p{M}\p{N}]+$/u.test(text) ? text : escaped;
		} catch {
			return escaped;
		}
	});
	return `${stored.slice(0, hostAt)}${labels.join('.')}${rest}`;
}

export function normaliseDate(raw: string): Validated<string> {
	const text = foldWidth(raw).trim();
	const [y, m, d] = text.slice(0, 10).split('-').map(Number);
	// Date.parse rolls impossible days over (2026-02-30 → 2026-03-02), so check the calendar day too.
	if (!ISO_DATE.test(text) || Number.isNaN(Date.parse(text)) || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) {
		return fail('date', `"${raw}" is not a date; use the form 2026-12-31.`);
	}
	return ok(text.length === 10 ? text : new Date(text).toISOString());
}

export function normaliseTag(raw: string): Validated<string> {
	const nul = refuseNul('A tag', raw);
	if (nul) return nul;
	const tag = collapse(raw).toLowerCase();
	if (tag.length === 0) return fail('tag', 'A tag cannot be empty.');
	if (tag.length > MAX_TAG_LENGTH) return fail('tag', `A tag can have at most ${MAX_TAG_LENGTH} characters.`);
	return ok(tag);
}

/** Longest text of a custom text field, and of a long text (notes-like) one, when the definition sets none. */
const MAX_CUSTOM_LONG_TEXT = 10_000;
/** Largest magnitude of a number field: beyond it a double no longer holds every integer. */
const MAX_NUMBER = 1e15;
/** Most options one multi-select value may hold. */
const MAX_PICKED = 50;
/** Option keys: what multi-select values are joined from, so they never hold the separator. */
export const OPTION_KEY = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const SIGNED_DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/;
/** ISO 4217 codes the runtime knows (every current browser and Node); three capital letters where it cannot say. */
const CURRENCY_CODES: ReadonlySet<string> | null = (() => {
	try {
		const list = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('currency');
		return list && list.length > 0 ? new Set(list) : null;
	} catch {
		return null;
	}
})();

/** Whether `code` is an ISO 4217 currency code, exactly as stored (upper case). */
export function isCurrencyCode(code: string): boolean {
	return /^[A-Z]{3}$/.test(code) && (CURRENCY_CODES === null || CURRENCY_CODES.has(code));
}

/** A number typed by a person or sent by a program: full-width folded, group separators dropped. */
function readNumber(raw: Scalar): number | null | undefined {
	if (typeof raw === 'number') return raw;
	if (typeof raw !== 'string') return undefined;
	const digits = foldWidth(raw).replace(/[,\s_]/gu, '');
	if (digits === '') return null;
	return SIGNED_DECIMAL.test(digits) ? Number(digits) : undefined;
}

/** The option a person means by `typed`: its key or either label, in any case and width. */
function findOption(definition: FieldDefinition, typed: string): FieldDefinition['options'][number] | undefined {
	const wanted = foldWidth(typed).normalize('NFC').trim().toLowerCase();
	const named = (label: { en: string; zh: string }) => (label.en !== '' && label.en.toLowerCase() === wanted) || (label.zh !== '' && label.zh === typed.trim());
	return (
		definition.options.find((option) => option.key.toLowerCase() === wanted) ??
		definition.options.find((option) => named(option.label)) ??
		// A built-in stage named as the app names it, in either language ("已确认", "Won").
		(definition.builtin && definition.key === 'stage' ? definition.options.find((option) => option.key in STAGE_NAMES && named(STAGE_NAMES[option.key as Stage])) : undefined)
	);
}

function pickOption(definition: FieldDefinition, typed: string): Validated<string> {
	const option = findOption(definition, typed);
	if (!option) {
		const offered = definition.options.filter((o) => !o.retired).map((o) => o.key);
		return fail('enum', `${definition.key} must be one of ${offered.join(', ')}; "${typed}" is not.`);
	}
	if (option.retired) return fail('retired-option', `${definition.key}: the option "${option.key}" is retired and can no longer be chosen.`);
	return ok(option.key);
}

/**
 * Validates and normalises one value for a field definition: the one place that decides.
 * `raw` is what a person typed or a program sent; the result is what a record stores
 * (null: no value, the key is removed).
 */
export function validateValue(definition: FieldDefinition, raw: Scalar | readonly string[], context: ValidationContext = {}): Validated<Scalar> {
	const name = definition.key;
	const empty = raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0);
	if (empty) return definition.required ? fail('required', `${name} is required.`) : ok(null);
	if (Array.isArray(raw)) {
		if (definition.type !== 'multiselect') return fail('type', `${name} must be a plain value (text, number or boolean), not a list.`);
		if (!raw.every((item) => typeof item === 'string')) return fail('type', `${name} must be a list of option names.`);
		return validateValue(definition, raw.join(','), context);
	}
	const value = raw as Scalar;
	switch (definition.type) {
		case 'money': {
			const amount = readNumber(value);
			// Blank once separators are removed ("  ", ","): no value, as for an empty text field, not 0 (Number('') is 0).
			if (amount === null) return definition.required ? fail('required', `${name} is required.`) : ok(null);
			// Number() alone would also read "0x10" and "1e6", which nobody types as an amount.
			if (amount === undefined || !Number.isFinite(amount) || amount < 0 || (typeof value === 'string' && foldWidth(value).includes('-'))) {
				return fail('money', `${name} must be a number of zero or more, not "${value}".`);
			}
			const rounded = Math.round(amount * 100) / 100;
			// Its own code: the browser's message for `money` ("a number of zero or more") would not say what is wrong.
			if (rounded > MAX_MONEY) return fail('range', `${name} can be at most 9,999,999,999,999.99, not "${value}".`);
			return ok(rounded);
		}
		case 'number': {
			const number = readNumber(value);
			if (number === null) return ok(null);
			if (number === undefined || !Number.isFinite(number)) return fail('number', `${name} must be a number, not "${value}".`);
			if (Math.abs(number) > MAX_NUMBER) return fail('range', `${name} can be at most 1,000,000,000,000,000 either side of zero, not "${value}".`);
			return ok(number);
		}
		case 'rating': {
			const number = readNumber(value);
			if (number === null) return ok(null);
			if (number === undefined || !Number.isInteger(number) || number < 1 || number > 5) return fail('rating', `${name} is a rating from 1 to 5, not "${value}".`);
			return ok(number);
		}
		case 'yesno': {
			if (typeof value === 'boolean') return ok(value);
			const word = typeof value === 'string' ? foldWidth(value).trim().toLowerCase() : String(value);
			if (['yes', 'true', 'y', '1', '是'].includes(word)) return ok(true);
			if (['no', 'false', 'n', '0', '否'].includes(word)) return ok(false);
			return fail('yesno', `${name} is yes or no (true or false), not "${value}".`);
		}
		default:
			break;
	}
	if (typeof value !== 'string') return fail('type', `${name} must be text, not ${typeof value}.`);
	let result: Validated<string>;
	switch (definition.type) {
		case 'email':
			result = normaliseEmail(value);
			break;
		case 'phone':
			result = normalisePhone(value, context);
			break;
		case 'url':
			result = normaliseUrl(value);
			break;
		case 'date':
			result = normaliseDate(value);
			break;
		case 'datetime': {
			const text = foldWidth(value).trim();
			const time = ISO_DATE_TIME.test(text) ? Date.parse(text) : Number.NaN;
			const dated = normaliseDate(text.slice(0, 10));
			result = Number.isNaN(time) || !dated.ok ? fail('datetime', `"${value}" is not a date and time; use the form 2026-12-31T09:30 (UTC) or 2026-12-31T09:30+08:00.`) : ok(new Date(time).toISOString());
			break;
		}
		case 'select':
			result = pickOption(definition, value);
			break;
		case 'multiselect': {
			const picked: string[] = [];
			for (const part of foldWidth(value).split(/[,\u3001]/u)) {
				if (part.trim() === '') continue;
				const option = pickOption(definition, part);
				if (!option.ok) return option;
				if (!picked.includes(option.value)) picked.push(option.value);
			}
			if (picked.length > MAX_PICKED) return fail('length', `${name} can hold at most ${MAX_PICKED} options.`);
			// Stored in the options' own order, so one choice has one spelling whatever order it was picked in.
			const order = definition.options.map((o) => o.key);
			result = ok(picked.sort((a, b) => order.indexOf(a) - order.indexOf(b)).join(','));
			break;
		}
		case 'country': {
			const code = foldWidth(value).trim().toUpperCase();
			result = isCountryCode(code) ? ok(code) : fail('country', `${name} must be an ISO 3166 two-letter country code such as CN or US, not "${value}".`);
			break;
		}
		case 'longtext':
			result = ok(value.normalize('NFC').trim());
			break;
		default:
			// text and person (a member's id).
			result = ok(collapse(value));
	}
	if (!result.ok) return result;
	if (definition.required && result.value === '') return fail('required', `${name} is required.`);
	const max = definition.maxLength ?? (definition.type === 'longtext' ? MAX_CUSTOM_LONG_TEXT : definition.type === 'person' ? 100 : MAX_CUSTOM_TEXT);
	if (result.value.length > max) return fail('length', `${name} can have at most ${max} characters.`);
	if (result.value === '') return ok(null);
	const members = context.members ?? context.definitions?.members;
	if (definition.type === 'person' && members && !members.has(result.value)) {
		return fail('member', `${name} must name a member of this workspace (by their id); "${result.value.slice(0, 100)}" is not one.`);
	}
	return result;
}

/** A custom key as format v1 allows them: `x_` and a lower-case name. */
export const CUSTOM_KEY = /^x_[a-z][a-z0-9_]{0,39}$/;

/**
 * Validates and normalises one field value against the field's definition (the
 * workspace's, given `context.definitions`; the built-ins otherwise). A custom (`x_…`)
 * key nobody has defined yet is read as format v1 read it: plain text, a number or
 * yes/no, so a value written before definitions existed (or by a client that does not
 * know them) is kept, and the workspace defines the field as text on first sight
 * (fields.ts `adoptLegacyKeys`). Any other unknown key is refused.
 */
export function validateField(key: string, raw: unknown, context: ValidationContext = {}): Validated<Scalar> {
	const definition = (context.definitions ?? BUILTIN_LOOKUP).get(key) ?? (context.definitions ? BUILTIN_LOOKUP.get(key) : undefined);
	const list = Array.isArray(raw) && definition?.type === 'multiselect';
	if (!list && raw !== null && typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
		return fail('type', `${key} must be a plain value (text, number or boolean).`);
	}
	if (typeof raw === 'number' && !Number.isFinite(raw)) return fail('type', `${key} must be a finite number.`);
	const nul = typeof raw === 'string' ? refuseNul(key, raw) : list ? refuseNul(key, (raw as string[]).join('')) : null;
	if (nul) return nul;
	if (definition) return validateValue(definition, raw as Scalar | string[], context);
	if (key.startsWith(CUSTOM_FIELD_PREFIX) && CUSTOM_KEY.test(key)) {
		if (typeof raw !== 'string') return ok(raw as Scalar);
		// Refused, not cut: the live path keeps a valid value as written, so a cut here would let any length through there.
		const text = collapse(raw);
		if (text.length > MAX_CUSTOM_TEXT) return fail('length', `${key} can have at most ${MAX_CUSTOM_TEXT} characters.`);
		return ok(text || null);
	}
	return fail('unknown-field', `"${key}" is not a field of a customer record.`);
}

export interface FieldErrors {
	[key: string]: string;
}

/**
 * Validates a whole set of field values (as sent to the API or read from an import).
 * The country is read first, since phone numbers are interpreted in it; when the set
 * does not change the country, `options.country` (the stored record's) is used.
 */
export function validateFields(
	input: Record<string, unknown>,
	options: { requireName?: boolean; country?: string | null; definitions?: FieldLookup; members?: MemberLookup } = {}
): { ok: true; fields: Record<string, Scalar> } | { ok: false; errors: FieldErrors } {
	const errors: FieldErrors = {};
	const fields: Record<string, Scalar> = {};
	const countryResult = input.country === undefined ? undefined : validateField('country', input.country, { definitions: options.definitions });
	const country = countryResult === undefined ? (options.country ?? null) : countryResult.ok ? (countryResult.value as string | null) : null;
	const context: ValidationContext = { country, definitions: options.definitions, members: options.members };
	for (const [key, raw] of Object.entries(input)) {
		const result = key === 'country' && countryResult ? countryResult : validateField(key, raw, context);
		if (result.ok) fields[key] = result.value;
		else errors[key] = result.message;
	}
	if (options.requireName && (fields.name === undefined || fields.name === null) && !errors.name) {
		errors.name = 'name is required.';
	}
	return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, fields };
}

export function isActivityKind(kind: unknown): kind is (typeof ACTIVITY_KINDS)[number] {
	return typeof kind === 'string' && (ACTIVITY_KINDS as readonly string[]).includes(kind);
}
