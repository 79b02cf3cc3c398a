/**
 * A workspace's field definitions as data: which fields its records have, in which
 * order, with which labels and options, and which are retired. They live in one shared
 * Yjs document per workspace (the definitions document, read and written here; served by
 * `/sync` like a record, so every open tab sees a change at once), and the record
 * validator (validate.ts) reads them through a `FieldCatalog`.
 *
 * The definitions document (format version 1):
 *   definitions  Y.Map<object>  field key → a FieldDefinition as plain JSON, replaced whole
 *   meta         Y.Map<Scalar>  schema (1), workspace
 * The built-in fields are definitions like the others; the document holds them once an
 * admin changes one (a label, the order, retired) and the built-in list supplies them
 * until then, so a workspace with an empty document still has every built-in field.
 *
 * The rules of a change (`checkChange`), the same for the admin API and the live path:
 * a key, once defined, is never removed and never changes type or currency (values are
 * stored under it); options are never removed, only retired; labels are not empty.
 */
import * as Y from 'yjs';
import {
	BUILTIN_DEFINITIONS,
	DEFINITION_TYPES,
	OPTION_COLOURS,
	type DefinitionType,
	type FieldDefinition,
	type FieldOption,
	type LocalisedLabel,
	type OptionColour,
	type Scalar
} from './schema.ts';
import { CUSTOM_KEY, OPTION_KEY, isCurrencyCode, type FieldLookup, type MemberLookup, type Validated } from './validate.ts';
import { workspaceDocumentId } from './workspace-document.ts';

export const DEFINITIONS_SCHEMA_VERSION = 1;
/** Bounds on what an admin (or anyone who can write the document) can grow. */
export const MAX_FIELDS = 200;
export const MAX_OPTIONS = 100;
export const MAX_LABEL_LENGTH = 80;

export const definitionsOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap<unknown>('definitions');
export const definitionsMetaOf = (doc: Y.Doc): Y.Map<Scalar> => doc.getMap<Scalar>('meta');

const ok = <T>(value: T): Validated<T> => ({ ok: true, value });
const fail = (code: string, message: string): Validated<never> => ({ ok: false, code, message });

/** The definitions document's id, derived from the workspace (see workspace-document.ts). */
export const fieldsDocumentId = (workspace: string): string => workspaceDocumentId('fields', workspace);

/** The field list of a workspace at one moment: lookup by key, and the order people see. */
export class FieldCatalog implements FieldLookup {
	private readonly byKey: Map<string, FieldDefinition>;
	/** Every definition, retired ones too, in display order. */
	readonly all: readonly FieldDefinition[];

	/** `members`: whom person fields may name, when the holder of the catalog knows (the server's live one does). */
	constructor(
		definitions: readonly FieldDefinition[],
		readonly members?: MemberLookup
	) {
		this.all = [...definitions].sort((a, b) => a.order - b.order || a.key.localeCompare(b.key));
		this.byKey = new Map(this.all.map((definition) => [definition.key, definition]));
	}

	get(key: string): FieldDefinition | undefined {
		return this.byKey.get(key);
	}

	/** The fields offered to people: not retired, in order. */
	get active(): FieldDefinition[] {
		return this.all.filter((definition) => !definition.retired);
	}
}

export const BUILTIN_CATALOG = new FieldCatalog(BUILTIN_DEFINITIONS);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function readLabel(value: unknown): LocalisedLabel | null {
	if (!isObject(value)) return null;
	const { en, zh } = value;
	if (typeof en !== 'string' || typeof zh !== 'string') return null;
	return { en, zh };
}

function readOption(value: unknown): FieldOption | null {
	if (!isObject(value) || typeof value.key !== 'string') return null;
	const label = readLabel(value.label);
	if (!label) return null;
	const colour = (OPTION_COLOURS as readonly string[]).includes(String(value.colour)) ? (value.colour as OptionColour) : 'grey';
	return { key: value.key, label, colour, retired: value.retired === true };
}

/**
 * Reads one definition as stored (untrusted: from the document or an HTTP body) into
 * its typed form, or says what is wrong with it. Checks the shape and each value's
 * bounds; the rules between definitions (clashing keys, changed types) are `checkChange`'s.
 */
export function parseDefinition(value: unknown): Validated<FieldDefinition> {
	if (!isObject(value)) return fail('definition', 'A field definition must be an object.');
	const key = value.key;
	if (typeof key !== 'string' || key.length === 0 || key.length > 60) return fail('key', 'A field needs a key of at most 60 characters.');
	const type = value.type;
	if (typeof type !== 'string' || !(DEFINITION_TYPES as readonly string[]).includes(type)) {
		return fail('type', `${key}: the type must be one of ${DEFINITION_TYPES.join(', ')}.`);
	}
	const label = readLabel(value.label);
	if (!label) return fail('label', `${key}: the label must be {"en": "…", "zh": "…"}.`);
	const cleanLabel = { en: label.en.normalize('NFC').replace(/\s+/gu, ' ').trim(), zh: label.zh.normalize('NFC').replace(/\s+/gu, ' ').trim() };
	if (cleanLabel.en.length > MAX_LABEL_LENGTH || cleanLabel.zh.length > MAX_LABEL_LENGTH) return fail('label', `${key}: a label has at most ${MAX_LABEL_LENGTH} characters.`);
	const rawOptions = value.options ?? [];
	if (!Array.isArray(rawOptions)) return fail('options', `${key}: options must be a list.`);
	if (rawOptions.length > MAX_OPTIONS) return fail('options', `${key}: a field has at most ${MAX_OPTIONS} options.`);
	const options: FieldOption[] = [];
	for (const raw of rawOptions) {
		const option = readOption(raw);
		if (!option) return fail('options', `${key}: each option needs a key and a label {"en", "zh"}.`);
		options.push({ ...option, label: { en: option.label.en.replace(/\s+/gu, ' ').trim(), zh: option.label.zh.replace(/\s+/gu, ' ').trim() } });
	}
	const order = typeof value.order === 'number' && Number.isFinite(value.order) ? value.order : 0;
	const definition: FieldDefinition = {
		key,
		label: cleanLabel,
		type: type as DefinitionType,
		options: type === 'select' || type === 'multiselect' ? options : [],
		retired: value.retired === true,
		order,
		builtin: value.builtin === true
	};
	if (value.required === true) definition.required = true;
	if (value.askOnCreate === true) definition.askOnCreate = true;
	if (typeof value.maxLength === 'number' && Number.isInteger(value.maxLength) && value.maxLength > 0 && value.maxLength <= 100_000) definition.maxLength = value.maxLength;
	if (typeof value.currency === 'string') definition.currency = value.currency;
	if (typeof value.currencyField === 'string') definition.currencyField = value.currencyField;
	return ok(definition);
}

/** Reads the workspace's definitions from its document: the built-ins (as the document changed them), then the custom fields. */
export function readDefinitions(doc: Y.Doc): FieldDefinition[] {
	const stored = new Map<string, FieldDefinition>();
	for (const [key, value] of definitionsOf(doc).entries()) {
		const parsed = parseDefinition(value);
		if (parsed.ok && parsed.value.key === key) stored.set(key, parsed.value);
	}
	const list: FieldDefinition[] = [];
	for (const builtin of BUILTIN_DEFINITIONS) {
		const changed = stored.get(builtin.key);
		// A built-in's type, options' keys and rules are the app's; a workspace changes its words, order, colours and retirement.
		list.push(changed ? mergeBuiltin(builtin, changed) : builtin);
		stored.delete(builtin.key);
	}
	for (const definition of stored.values()) if (CUSTOM_KEY.test(definition.key)) list.push({ ...definition, builtin: false });
	return list;
}

function mergeBuiltin(builtin: FieldDefinition, changed: FieldDefinition): FieldDefinition {
	const options = builtin.options.map((option) => {
		const stored = changed.options.find((o) => o.key === option.key);
		return stored ? { ...option, label: stored.label, colour: stored.colour, retired: stored.retired } : option;
	});
	// Options a workspace added to a built-in select (a new stage) come after the built-in ones.
	for (const added of changed.options) if (!options.some((o) => o.key === added.key)) options.push(added);
	return { ...builtin, label: changed.label, order: changed.order, retired: builtin.required ? false : changed.retired, options };
}

/**
 * One definition as the workspace sees it, from the value its document stores under
 * `key` (undefined: nothing stored): a built-in as the stored entry changed it (or as
 * the app defines it), a custom field as stored; null when there is no such field.
 */
export function effectiveDefinition(key: string, stored: unknown): FieldDefinition | null {
	const parsed = stored === undefined ? null : parseDefinition(stored);
	const value = parsed?.ok && parsed.value.key === key ? parsed.value : null;
	const builtin = BUILTIN_DEFINITIONS.find((definition) => definition.key === key);
	if (builtin) return value ? mergeBuiltin(builtin, value) : builtin;
	return value && CUSTOM_KEY.test(key) ? { ...value, builtin: false } : null;
}

export function readCatalog(doc: Y.Doc): FieldCatalog {
	return new FieldCatalog(readDefinitions(doc));
}

/** Writes one definition into the document (whole: a definition is replaced, never merged). */
export function writeDefinition(doc: Y.Doc, definition: FieldDefinition): void {
	definitionsOf(doc).set(definition.key, JSON.parse(JSON.stringify(definition)) as Record<string, unknown>);
}

/** What a new definitions document starts with: its meta (the built-ins need no entry). */
export function initialiseDefinitions(doc: Y.Doc, workspace: string): void {
	doc.transact(() => {
		// Not `schema`: a document with a numeric `meta.schema` is read as a record (isRecordDoc),
		// and this one must never become a row of anyone's list.
		definitionsMetaOf(doc).set('definitionsSchema', DEFINITIONS_SCHEMA_VERSION);
		definitionsMetaOf(doc).set('workspace', workspace);
	});
}

// ---------------------------------------------------------------- changes an admin makes

/** A new field as an admin describes it (POST /api/fields, the Settings page). */
export interface NewField {
	key?: string;
	label: LocalisedLabel;
	type: DefinitionType;
	options?: Array<{ key?: string; label: LocalisedLabel; colour?: OptionColour }>;
	currency?: string;
	askOnCreate?: boolean;
}

/** A key from a label: `x_` and its latin letters and digits (`Lead source` → `x_lead_source`). */
export function keyFromLabel(label: LocalisedLabel, taken: (key: string) => boolean): string {
	const slug = label.en
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/gu, '')
		.toLowerCase()
		.replace(/[^a-z0-9]+/gu, '_')
		.replace(/^_+|_+$/gu, '')
		.replace(/^(\d)/u, 'f$1')
		.slice(0, 38);
	const base = `x_${slug || 'field'}`;
	if (!taken(base) && slug) return base;
	for (let n = 2; ; n++) if (!taken(`${base}_${n}`)) return `${base}_${n}`;
}

function optionKeyFrom(label: LocalisedLabel, taken: readonly string[]): string {
	const slug = label.en.toLowerCase().replace(/[^a-z0-9]+/gu, '_').replace(/^_+|_+$/gu, '').slice(0, 36);
	const base = slug && OPTION_KEY.test(slug) ? slug : 'option';
	if (!taken.includes(base) && slug) return base;
	for (let n = 2; ; n++) if (!taken.includes(`${base}_${n}`)) return `${base}_${n}`;
}

/** Builds the definition of a new field from an admin's description, checked against the current list. */
export function defineField(catalog: FieldCatalog, input: NewField): Validated<FieldDefinition> {
	if (catalog.all.length >= MAX_FIELDS) return fail('too-many', `A workspace has at most ${MAX_FIELDS} fields; retire or reuse one instead.`);
	const key = input.key ?? keyFromLabel(input.label, (k) => catalog.get(k) !== undefined);
	const taken: string[] = [];
	const options: FieldOption[] = (input.options ?? []).map((option) => {
		const optionKey = option.key ?? optionKeyFrom(option.label, taken);
		taken.push(optionKey);
		return { key: optionKey, label: option.label, colour: option.colour ?? 'grey', retired: false };
	});
	const order = Math.max(0, ...catalog.all.map((d) => d.order)) + 1;
	const candidate = { key, label: input.label, type: input.type, options, retired: false, order, builtin: false, ...(input.currency ? { currency: input.currency } : {}), ...(input.askOnCreate ? { askOnCreate: true } : {}) };
	const parsed = parseDefinition(candidate);
	if (!parsed.ok) return parsed;
	return checkChange(catalog, null, parsed.value);
}

/**
 * Whether `next` may replace `before` (null: a new field) in `catalog`; returns `next` as
 * it is to be stored, or the reason a person can act on. Nothing is stored by this.
 */
export function checkChange(catalog: FieldCatalog, before: FieldDefinition | null, next: FieldDefinition): Validated<FieldDefinition> {
	const { key } = next;
	const existing = catalog.get(key);
	if (before === null && existing) return fail('key-taken', `A field with the key "${key}" already exists (${existing.label.en || key}); choose another key.`);
	// Keys differing only in case (or width: "Ｅｍａｉｌ") would read as one field to every person and most programs.
	const folded = before === null ? key.normalize('NFKC').toLowerCase() : '';
	const alike = before === null ? catalog.all.find((definition) => definition.key.toLowerCase() === folded) : undefined;
	if (alike) {
		return fail('key-taken', `The key "${key}" clashes with the ${alike.builtin ? 'built-in ' : ''}field "${alike.key}" (keys differing only in case are one field to people); choose another key.`);
	}
	if (before === null && !CUSTOM_KEY.test(key)) {
		return fail('key', `A new field's key is "x_" and up to 40 lower-case letters, digits or "_" (like x_lead_source), not "${key}".`);
	}
	if (!next.builtin && next.label.en === '' && next.label.zh === '') return fail('label-empty', `${key}: the label cannot be empty; give it an English or Chinese name.`);
	if (before?.builtin && !next.builtin) return fail('builtin', `${key} is a built-in field and stays one.`);
	if (before && before.type !== next.type) return fail('type-fixed', `${key}: a field's type cannot change once it exists (its values were stored as ${before.type}); add a new field instead.`);
	if (next.type === 'money') {
		if (before && (before.currency ?? null) !== (next.currency ?? null)) return fail('currency-fixed', `${key}: the currency of a money field cannot change once it exists.`);
		if (!next.builtin && (!next.currency || !isCurrencyCode(next.currency))) {
			return fail('currency', `${key}: a money field needs its ISO 4217 currency, such as CNY, USD or EUR${next.currency ? `; "${next.currency}" is not one` : ''}.`);
		}
	}
	if (next.builtin && next.required && next.retired) return fail('required', `${key} is required on every record and cannot be retired.`);
	if ((next.type === 'select' || next.type === 'multiselect') && next.options.length === 0 && !next.builtin) {
		return fail('options', `${key}: a ${next.type === 'select' ? 'select' : 'multi-select'} field needs at least one option.`);
	}
	const seen = new Set<string>();
	for (const option of next.options) {
		if (!OPTION_KEY.test(option.key)) return fail('option-key', `${key}: an option's key is up to 40 lower-case letters, digits, "_" or "-", not "${option.key}".`);
		if (seen.has(option.key)) return fail('option-taken', `${key}: two options have the key "${option.key}"; each needs its own.`);
		seen.add(option.key);
		if (option.label.en === '' && option.label.zh === '' && !before?.options.some((o) => o.key === option.key && next.builtin)) {
			return fail('option-label-empty', `${key}: the option "${option.key}" needs a label.`);
		}
	}
	for (const old of before?.options ?? []) {
		if (!seen.has(old.key)) return fail('option-removed', `${key}: the option "${old.key}" cannot be removed, since records may hold it; retire it instead.`);
	}
	return ok(next);
}

/** What an admin may change of an existing field (PATCH /api/fields/:key); options listed replace the list. */
export interface FieldPatch {
	label?: LocalisedLabel;
	order?: number;
	retired?: boolean;
	askOnCreate?: boolean;
	options?: Array<{ key?: string; label: LocalisedLabel; colour?: OptionColour; retired?: boolean }>;
}

export function patchField(catalog: FieldCatalog, key: string, patch: FieldPatch): Validated<FieldDefinition> {
	const before = catalog.get(key);
	if (!before) return fail('not-found', `There is no field "${key}" in this workspace.`);
	const taken = before.options.map((o) => o.key);
	const options = patch.options
		? patch.options.map((option) => {
				const optionKey = option.key ?? optionKeyFrom(option.label, taken);
				if (!option.key) taken.push(optionKey);
				return { key: optionKey, label: option.label, colour: option.colour ?? 'grey', retired: option.retired === true };
			})
		: before.options;
	const parsed = parseDefinition({
		...before,
		...(patch.label ? { label: patch.label } : {}),
		...(patch.order !== undefined ? { order: patch.order } : {}),
		...(patch.retired !== undefined ? { retired: patch.retired } : {}),
		...(patch.askOnCreate !== undefined ? { askOnCreate: patch.askOnCreate } : {}),
		options
	});
	if (!parsed.ok) return parsed;
	return checkChange(catalog, before, parsed.value);
}

/**
 * Custom keys a record holds that the workspace has not defined: each becomes a field on
 * first sight, labelled with its name, of the type its value has (text, as format v1
 * meant them; a number or yes/no where a program wrote one), so the value is kept as
 * written and stays valid. Returns the definitions to add.
 */
export function legacyDefinitions(catalog: FieldCatalog, fields: Record<string, Scalar>): FieldDefinition[] {
	const added: FieldDefinition[] = [];
	let order = Math.max(0, ...catalog.all.map((d) => d.order));
	for (const [key, value] of Object.entries(fields)) {
		if (catalog.get(key) || !CUSTOM_KEY.test(key) || added.some((d) => d.key === key)) continue;
		if (catalog.all.length + added.length >= MAX_FIELDS) break;
		const name = key.slice(2).replace(/_/gu, ' ');
		added.push({ key, label: { en: name.charAt(0).toUpperCase() + name.slice(1), zh: '' }, type: typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'yesno' : 'text', options: [], retired: false, order: ++order, builtin: false });
	}
	return added;
}

// ---------------------------------------------------------------- reading an admin's request

function labelFrom(value: unknown, what: string): Validated<LocalisedLabel> {
	if (typeof value === 'string') return ok({ en: value, zh: '' });
	const label = readLabel(isObject(value) ? { en: value.en ?? '', zh: value.zh ?? '' } : null);
	return label ? ok(label) : fail('label', `${what} must be text, or {"en": "…", "zh": "…"}.`);
}

function optionsFrom(value: unknown, key: string): Validated<NonNullable<FieldPatch['options']>> {
	if (!Array.isArray(value) || value.length > MAX_OPTIONS) return fail('options', `options must be a list of at most ${MAX_OPTIONS} options, each {"label": …}.`);
	const options: NonNullable<FieldPatch['options']> = [];
	for (const raw of value) {
		const item: Record<string, unknown> = isObject(raw) ? raw : { label: raw };
		const label = labelFrom(item.label, `${key}: an option's label`);
		if (!label.ok) return label;
		if (item.key !== undefined && typeof item.key !== 'string') return fail('option-key', `${key}: an option's key must be text.`);
		if (item.colour !== undefined && !(OPTION_COLOURS as readonly string[]).includes(String(item.colour))) {
			return fail('colour', `${key}: an option's colour is one of ${OPTION_COLOURS.join(', ')}.`);
		}
		options.push({
			...(item.key !== undefined ? { key: item.key as string } : {}),
			label: label.value,
			...(item.colour !== undefined ? { colour: item.colour as OptionColour } : {}),
			...(item.retired === true ? { retired: true } : {})
		});
	}
	return ok(options);
}

/** A new field from an untrusted body (POST /api/fields): `{label, type, key?, options?, currency?}`. */
export function readNewField(body: unknown): Validated<NewField> {
	if (!isObject(body)) return fail('body', 'Send an object such as {"label": {"en": "Lead source", "zh": "线索来源"}, "type": "text"}.');
	const label = labelFrom(body.label, 'label');
	if (!label.ok) return label;
	if (typeof body.type !== 'string' || !(DEFINITION_TYPES as readonly string[]).includes(body.type)) {
		return fail('type', `type must be one of ${DEFINITION_TYPES.join(', ')}.`);
	}
	if (body.key !== undefined && typeof body.key !== 'string') return fail('key', 'key must be text such as "x_lead_source" (or left out: it is made from the label).');
	if (body.currency !== undefined && typeof body.currency !== 'string') return fail('currency', 'currency must be an ISO 4217 code such as CNY.');
	if (body.askOnCreate !== undefined && typeof body.askOnCreate !== 'boolean') return fail('askOnCreate', 'askOnCreate must be true or false (whether the new-record dialog asks for this field).');
	const options = body.options === undefined ? ok(undefined) : optionsFrom(body.options, String(body.key ?? 'field'));
	if (!options.ok) return options;
	return ok({
		label: label.value,
		type: body.type as DefinitionType,
		...(body.key !== undefined ? { key: body.key as string } : {}),
		...(options.value ? { options: options.value } : {}),
		...(body.currency !== undefined ? { currency: (body.currency as string).trim().toUpperCase() } : {}),
		...(body.askOnCreate === true ? { askOnCreate: true } : {})
	});
}

/** A change to a field from an untrusted body (PATCH /api/fields/:key): `{label?, order?, retired?, options?}`. */
export function readFieldPatch(body: unknown, key: string): Validated<FieldPatch> {
	if (!isObject(body)) return fail('body', 'Send an object such as {"label": {"en": "Source", "zh": "来源"}} or {"retired": true}.');
	const unknown = Object.keys(body).find((k) => !['label', 'order', 'retired', 'askOnCreate', 'options'].includes(k));
	if (unknown !== undefined) return fail('body', `"${unknown.slice(0, 40)}" cannot be changed: a field's key and type stay as they are; send label, order, retired, askOnCreate or options.`);
	const patch: FieldPatch = {};
	if (body.label !== undefined) {
		const label = labelFrom(body.label, 'label');
		if (!label.ok) return label;
		patch.label = label.value;
	}
	if (body.order !== undefined) {
		if (typeof body.order !== 'number' || !Number.isFinite(body.order)) return fail('order', 'order must be a number (fields are shown in ascending order).');
		patch.order = body.order;
	}
	if (body.retired !== undefined) {
		if (typeof body.retired !== 'boolean') return fail('retired', 'retired must be true or false.');
		patch.retired = body.retired;
	}
	if (body.askOnCreate !== undefined) {
		if (typeof body.askOnCreate !== 'boolean') return fail('askOnCreate', 'askOnCreate must be true or false (whether the new-record dialog asks for this field).');
		patch.askOnCreate = body.askOnCreate;
	}
	if (body.options !== undefined) {
		const options = optionsFrom(body.options, key);
		if (!options.ok) return options;
		patch.options = options.value;
	}
	return ok(patch);
}

// ---------------------------------------------------------------- audit

/** One change to the definitions as the audit log records it (server/audit/changes.ts). */
export interface DefinitionChange {
	/** `definitions.<key>`, `definitions.<key>.label`, `.order`, `.retired`, `definitions.<key>.options[<option>]`, `….label`, `….colour`, `….retired`. */
	path: string;
	op: 'add' | 'set' | 'remove';
	before: LabelledValue;
	after: LabelledValue;
}
type LabelledValue = null | boolean | number | string | { [key: string]: string | number | boolean | null | LocalisedLabel | Array<{ key: string; label: LocalisedLabel; colour: string }> };

const sameLabel = (a: LocalisedLabel, b: LocalisedLabel): boolean => a.en === b.en && a.zh === b.zh;

/**
 * What an admin did to one field, in the words of the Settings page: added it, renamed
 * it (label), moved it (order), retired or restored it, and for its options added,
 * renamed, recoloured, retired or restored each. `before` null: the field is new.
 * `after` null: the entry was deleted (a field is never removed; the definitions guard
 * puts it back, and says so). Keys and types never change, so they are not compared.
 */
export function definitionChanges(key: string, before: FieldDefinition | null, after: FieldDefinition | null): DefinitionChange[] {
	const at = `definitions.${key}`;
	const optionSummary = (definition: FieldDefinition) => definition.options.map((o) => ({ key: o.key, label: o.label, colour: o.colour }));
	if (after === null) return before ? [{ path: at, op: 'remove', before: { label: before.label, type: before.type }, after: null }] : [];
	if (before === null) {
		return [{ path: at, op: 'add', before: null, after: { label: after.label, type: after.type, ...(after.options.length > 0 ? { options: optionSummary(after) } : {}), ...(after.currency ? { currency: after.currency } : {}) } }];
	}
	const changes: DefinitionChange[] = [];
	if (!sameLabel(before.label, after.label)) changes.push({ path: `${at}.label`, op: 'set', before: { ...before.label }, after: { ...after.label } });
	if (before.order !== after.order) changes.push({ path: `${at}.order`, op: 'set', before: before.order, after: after.order });
	if (before.retired !== after.retired) changes.push({ path: `${at}.retired`, op: 'set', before: before.retired, after: after.retired });
	if ((before.askOnCreate ?? false) !== (after.askOnCreate ?? false)) changes.push({ path: `${at}.askOnCreate`, op: 'set', before: before.askOnCreate ?? false, after: after.askOnCreate ?? false });
	for (const option of after.options) {
		const place = `${at}.options[${option.key}]`;
		const old = before.options.find((o) => o.key === option.key);
		if (!old) {
			changes.push({ path: place, op: 'add', before: null, after: { label: option.label, colour: option.colour } });
			continue;
		}
		if (!sameLabel(old.label, option.label)) changes.push({ path: `${place}.label`, op: 'set', before: { ...old.label }, after: { ...option.label } });
		if (old.colour !== option.colour) changes.push({ path: `${place}.colour`, op: 'set', before: old.colour, after: option.colour });
		if (old.retired !== option.retired) changes.push({ path: `${place}.retired`, op: 'set', before: old.retired, after: option.retired });
	}
	for (const old of before.options) {
		if (!after.options.some((o) => o.key === old.key)) changes.push({ path: `${at}.options[${old.key}]`, op: 'remove', before: { label: old.label, colour: old.colour }, after: null });
	}
	return changes;
}
