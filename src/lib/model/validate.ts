/**
 * Field validation and normalisation. Every value written into a record's `fields`
 * map passes through here first, in the browser, the API and import alike, so a
 * record only ever holds normalised values.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';
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
	const email = raw.trim().toLowerCase();
	if (!EMAIL.test(email)) return fail('email', `"${raw}" is not an email address; expected something like name@example.com.`);
	return ok(email);
}

export function normalisePhone(raw: string, context: ValidationContext = {}): Validated<string> {
	const country = (context.country ?? '').toUpperCase();
	const phone = parsePhoneNumberFromString(raw.trim(), /^[A-Z]{2}$/.test(country) ? (country as CountryCode) : undefined);
	if (!phone || !phone.isPossible()) {
		return fail(
			'phone',
			`"${raw}" is not a phone number we can read; include the country code, for example +86 138 0013 8000 or +1 415 555 0100.`
		);
	}
	return ok(phone.number);
}

export function normaliseUrl(raw: string): Validated<string> {
	const text = raw.trim();
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

export function normaliseDate(raw: string): Validated<string> {
	const text = raw.trim();
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
		const digits = typeof raw === 'number' ? null : String(raw).replace(/[,\s_]/g, '');
		// Blank once separators are removed ("  ", ","): no value, as for an empty text field, not 0 (Number('') is 0).
		if (digits === '') return spec.required ? fail('required', `${spec.key} is required.`) : ok(null);
		const value = digits === null ? (raw as number) : Number(digits);
		if (!Number.isFinite(value) || value < 0) return fail('money', `${spec.key} must be a number of zero or more, not "${raw}".`);
		return ok(Math.round(value * 100) / 100);
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
			const option = spec.options?.find((o) => o.toLowerCase() === raw.trim().toLowerCase());
			result = option ? ok(option) : fail('enum', `${spec.key} must be one of ${spec.options?.join(', ')}; "${raw}" is not.`);
			break;
		}
		case 'country': {
			const code = raw.trim().toUpperCase();
			result = /^[A-Z]{2}$/.test(code) ? ok(code) : fail('country', `country must be a two-letter ISO code such as CN or US, not "${raw}".`);
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
		return typeof raw === 'string' ? ok(collapse(raw).slice(0, 1000) || null) : ok(raw);
	}
	return fail('unknown-field', `"${key}" is not a field of a customer record.`);
}

export interface FieldErrors {
	[key: string]: string;
}

/**
 * Validates a whole set of field values (as sent to the API or read from an import).
 * The country is read first, since phone numbers are interpreted in it.
 */
export function validateFields(
	input: Record<string, unknown>,
	options: { requireName?: boolean } = {}
): { ok: true; fields: Record<string, Scalar> } | { ok: false; errors: FieldErrors } {
	const errors: FieldErrors = {};
	const fields: Record<string, Scalar> = {};
	const countryResult = input.country === undefined ? undefined : validateField('country', input.country);
	const context: ValidationContext = { country: countryResult?.ok ? (countryResult.value as string | null) : null };
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
