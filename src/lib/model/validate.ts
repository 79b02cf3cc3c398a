/**
 * Field validation and normalisation. Every value written into a record's `fields`
 * map passes through here first, in the browser, the API and import alike, so a
 * record only ever holds normalised values.
 */
import { getCountries, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/min';
import {
	ACTIVITY_KINDS,
	CUSTOM_FIELD_PREFIX,
	MAX_TAG_LENGTH,
	fieldSpec,
	type FieldSpec,
	type Scalar
} from './schema.ts';

export type Validated<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

export interface ValidationContext {
	/** ISO country of the record, used to read national phone numbers. */
	country?: string | null;
}

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

export function normalisePhone(raw: string, context: ValidationContext = {}): Validated<string> {
	const country = foldWidth(context.country ?? '').trim().toUpperCase();
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

function validateBySpec(spec: FieldSpec, raw: Scalar, context: ValidationContext): Validated<Scalar> {
	if (raw === null || raw === '') {
		if (spec.required) return fail('required', `${spec.key} is required.`);
		return ok(null);
	}
	if (spec.type === 'money') {
		const digits = typeof raw === 'number' ? null : foldWidth(String(raw)).replace(/[,\s_]/gu, '');
		// Blank once separators are removed ("  ", ","): no value, as for an empty text field, not 0 (Number('') is 0).
		if (digits === '') return spec.required ? fail('required', `${spec.key} is required.`) : ok(null);
		// Number() alone would also read "0x10" and "1e6", which nobody types as an amount.
		const value = digits === null ? (raw as number) : DECIMAL.test(digits) ? Number(digits) : Number.NaN;
		if (!Number.isFinite(value) || value < 0) return fail('money', `${spec.key} must be a number of zero or more, not "${raw}".`);
		const rounded = Math.round(value * 100) / 100;
		// Its own code: the browser's message for `money` ("a number of zero or more") would not say what is wrong.
		if (rounded > MAX_MONEY) return fail('range', `${spec.key} can be at most 9,999,999,999,999.99, not "${raw}".`);
		return ok(rounded);
	}
	if (typeof raw !== 'string') return fail('type', `${spec.key} must be text, not ${typeof raw}.`);
	let result: Validated<string>;
	switch (spec.type) {
		case 'email':
			result = normaliseEmail(raw);
			break;
		case 'phone':
			result = normalisePhone(raw, context);
			break;
		case 'url':
			result = normaliseUrl(raw);
			break;
		case 'date':
			result = normaliseDate(raw);
			break;
		case 'enum': {
			const typed = foldWidth(raw).trim().toLowerCase();
			const option = spec.options?.find((o) => o.toLowerCase() === typed);
			result = option ? ok(option) : fail('enum', `${spec.key} must be one of ${spec.options?.join(', ')}; "${raw}" is not.`);
			break;
		}
		case 'country': {
			const code = foldWidth(raw).trim().toUpperCase();
			result = isCountryCode(code) ? ok(code) : fail('country', `country must be an ISO 3166 two-letter country code such as CN or US, not "${raw}".`);
			break;
		}
		case 'longtext':
			result = ok(raw.normalize('NFC').trim());
			break;
		default:
			result = ok(collapse(raw));
	}
	if (!result.ok) return result;
	if (spec.required && result.value === '') return fail('required', `${spec.key} is required.`);
	if (spec.maxLength !== undefined && result.value.length > spec.maxLength) {
		return fail('length', `${spec.key} can have at most ${spec.maxLength} characters.`);
	}
	return result.value === '' ? ok(null) : result;
}

/** Validates and normalises one field value; unknown keys are refused unless they are custom (`x_…`). */
export function validateField(key: string, raw: unknown, context: ValidationContext = {}): Validated<Scalar> {
	if (raw !== null && typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
		return fail('type', `${key} must be a plain value (text, number or boolean).`);
	}
	const nul = typeof raw === 'string' ? refuseNul(key, raw) : null;
	if (nul) return nul;
	const spec = fieldSpec(key);
	if (spec) return validateBySpec(spec, raw, context);
	if (key.startsWith(CUSTOM_FIELD_PREFIX) && /^x_[a-z][a-z0-9_]{0,39}$/.test(key)) {
		if (typeof raw === 'number' && !Number.isFinite(raw)) return fail('type', `${key} must be a finite number.`);
		if (typeof raw !== 'string') return ok(raw);
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
	options: { requireName?: boolean; country?: string | null } = {}
): { ok: true; fields: Record<string, Scalar> } | { ok: false; errors: FieldErrors } {
	const errors: FieldErrors = {};
	const fields: Record<string, Scalar> = {};
	const countryResult = input.country === undefined ? undefined : validateField('country', input.country);
	const country = countryResult === undefined ? (options.country ?? null) : countryResult.ok ? (countryResult.value as string | null) : null;
	const context: ValidationContext = { country };
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
