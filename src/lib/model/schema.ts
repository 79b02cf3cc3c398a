/**
 * The record schema: the built-in fields a customer record has, their types and the
 * closed vocabularies (stages, currencies), and the shape of a field definition: the
 * built-in fields are definitions like the ones a workspace adds (src/lib/model/fields.ts
 * keeps a workspace's list live). Version 1 of the public document format.
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
/**
 * The built-in stages' names as people write them, the app's own words for them
 * (src/lib/i18n has the same; a unit test keeps the two equal). The built-in options
 * carry no label of their own, so without these a file exported from a Chinese
 * spreadsheet, or a REST client, could name a stage only by its key.
 */
export const STAGE_NAMES: Readonly<Record<Stage, { en: string; zh: string }>> = {
	lead: { en: 'Lead', zh: '线索' },
	qualified: { en: 'Qualified', zh: '已确认' },
	proposal: { en: 'Proposal', zh: '方案' },
	negotiation: { en: 'Negotiation', zh: '谈判' },
	won: { en: 'Won', zh: '赢单' },
	lost: { en: 'Lost', zh: '输单' }
};

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

// ---------------------------------------------------------------- field definitions

/** The kinds of value a field may hold; each has one validator in validate.ts (`validateValue`). */
export const DEFINITION_TYPES = [
	'text',
	'longtext',
	'number',
	'money',
	'date',
	'datetime',
	'select',
	'multiselect',
	'yesno',
	'email',
	'phone',
	'url',
	'country',
	'person',
	'rating'
] as const;
export type DefinitionType = (typeof DEFINITION_TYPES)[number];

/** A label in each language of the app; empty means "the app's own words" (built-in fields and options). */
export interface LocalisedLabel {
	en: string;
	zh: string;
}

/** The colours an option may have (named, so the app's palette decides how each looks in light and dark). */
export const OPTION_COLOURS = ['grey', 'blue', 'green', 'yellow', 'orange', 'red', 'purple', 'pink'] as const;
export type OptionColour = (typeof OPTION_COLOURS)[number];

export interface FieldOption {
	/** What a record stores; never changes once the option exists. */
	key: string;
	label: LocalisedLabel;
	colour: OptionColour;
	/** Retired: no longer offered; values holding it are kept and shown as retired. */
	retired: boolean;
}

export interface FieldDefinition {
	/** The key in a record's `fields` map; never changes once the field exists (built-ins keep format v1's keys). */
	key: string;
	label: LocalisedLabel;
	type: DefinitionType;
	/** select and multi-select only. */
	options: FieldOption[];
	/** Retired: hidden everywhere a person picks or edits fields; every value is kept. */
	retired: boolean;
	/** Position in the record page and the column chooser (ascending). */
	order: number;
	/** One of the fields every workspace has (keys as in document format v1). */
	builtin: boolean;
	required?: boolean;
	/** A custom field the new-record dialog asks for (besides the built-ins it always asks). */
	askOnCreate?: boolean;
	/** Longest text after normalisation (text-like types). */
	maxLength?: number;
	/** money: the ISO 4217 currency of every amount of this field… */
	currency?: string;
	/** …or the field holding each record's currency (the built-in `value` reads `currency`). */
	currencyField?: string;
}

const NO_LABEL: LocalisedLabel = { en: '', zh: '' };

function builtinOptions(keys: readonly string[], colours: readonly OptionColour[] = []): FieldOption[] {
	return keys.map((key, index) => ({ key, label: { ...NO_LABEL }, colour: colours[index] ?? 'grey', retired: false }));
}

/** The built-in fields as definitions, in the order the record page has always shown them. */
export const BUILTIN_DEFINITIONS: readonly FieldDefinition[] = FIELDS.map((spec, index): FieldDefinition => {
	const base = { key: spec.key, label: { ...NO_LABEL }, options: [] as FieldOption[], retired: false, order: index + 1, builtin: true };
	const extra = { ...(spec.required ? { required: true } : {}), ...(spec.maxLength !== undefined ? { maxLength: spec.maxLength } : {}) };
	switch (spec.type) {
		case 'enum':
			return {
				...base,
				type: 'select',
				options: spec.key === 'stage' ? builtinOptions(STAGES, ['grey', 'blue', 'purple', 'orange', 'green', 'red']) : builtinOptions(spec.options ?? [])
			};
		case 'user':
			return { ...base, ...extra, type: 'person' };
		case 'money':
			return { ...base, type: 'money', currencyField: 'currency' };
		default:
			return { ...base, ...extra, type: spec.type };
	}
});
