/**
 * The record schema: which fields a customer record has, their types and the
 * closed vocabularies (stages, currencies). Version 1 of the public document format.
 */

export const SCHEMA_VERSION = 1;

export type Scalar = string | number | boolean | null;

export type FieldType = 'text' | 'longtext' | 'email' | 'phone' | 'url' | 'enum' | 'money' | 'date' | 'country' | 'user';

export interface FieldSpec {
	key: string;
	type: FieldType;
	/** Maximum length of a text value, after normalisation. */
	maxLength?: number;
	options?: readonly string[];
	required?: boolean;
}

export const STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];

export const CURRENCIES = ['CNY', 'USD', 'EUR', 'GBP', 'JPY', 'HKD', 'SGD'] as const;

export const ACTIVITY_KINDS = ['call', 'email', 'meeting', 'task', 'note'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export const FIELDS: readonly FieldSpec[] = [
	{ key: 'name', type: 'text', maxLength: 200, required: true },
	{ key: 'company', type: 'text', maxLength: 200 },
	{ key: 'title', type: 'text', maxLength: 200 },
	{ key: 'email', type: 'email', maxLength: 254 },
	{ key: 'phone', type: 'phone', maxLength: 40 },
	{ key: 'website', type: 'url', maxLength: 500 },
	{ key: 'industry', type: 'text', maxLength: 100 },
	{ key: 'stage', type: 'enum', options: STAGES },
	{ key: 'owner', type: 'user', maxLength: 100 },
	{ key: 'value', type: 'money' },
	{ key: 'currency', type: 'enum', options: CURRENCIES },
	{ key: 'country', type: 'country', maxLength: 2 },
	{ key: 'city', type: 'text', maxLength: 100 },
	{ key: 'address', type: 'longtext', maxLength: 500 },
	{ key: 'followUpAt', type: 'date' }
];

export const FIELD_KEYS: readonly string[] = FIELDS.map((f) => f.key);

const specByKey = new Map(FIELDS.map((f) => [f.key, f]));

export function fieldSpec(key: string): FieldSpec | undefined {
	return specByKey.get(key);
}

/** Custom fields are allowed under this prefix, as free text. */
export const CUSTOM_FIELD_PREFIX = 'x_';

export const CONTACT_FIELDS = ['name', 'title', 'email', 'phone'] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];

export const ACTIVITY_FIELDS = ['kind', 'subject', 'at', 'done'] as const;
export type ActivityField = (typeof ACTIVITY_FIELDS)[number];

export const MAX_TAGS = 50;
export const MAX_TAG_LENGTH = 40;
export const MAX_NOTES_LENGTH = 100_000;
