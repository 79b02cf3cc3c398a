/**
 * Field definitions and the validation of every field type: the same modules the browser
 * and the server use (src/lib/model/validate.ts decides, fields.ts keeps the list).
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { BUILTIN_DEFINITIONS, type FieldDefinition } from '../../src/lib/model/schema.ts';
import { validateField, validateValue, validateFields } from '../../src/lib/model/validate.ts';
import {
	BUILTIN_CATALOG,
	FieldCatalog,
	checkChange,
	defineField,
	fieldsDocumentId,
	legacyDefinitions,
	patchField,
	readCatalog,
	readDefinitions,
	writeDefinition
} from '../../src/lib/model/fields.ts';
import { canonicalRecordId } from '../../src/lib/model/record.ts';
import { refused, value } from '../support/validated.ts';

const def = (type: FieldDefinition['type'], extra: Partial<FieldDefinition> = {}): FieldDefinition => ({
	key: `x_${type}`,
	label: { en: type, zh: '' },
	type,
	options: [],
	retired: false,
	order: 100,
	builtin: false,
	...extra
});

const colours = def('select', {
	options: [
		{ key: 'red', label: { en: 'Red', zh: '红' }, colour: 'red', retired: false },
		{ key: 'blue', label: { en: 'Blue', zh: '蓝' }, colour: 'blue', retired: false },
		{ key: 'old', label: { en: 'Old', zh: '旧' }, colour: 'grey', retired: true }
	]
});
const tags = { ...colours, key: 'x_multiselect', type: 'multiselect' as const };

describe('every field type', () => {
	it('text: whitespace collapsed, bounded', () => {
		expect(value(validateValue(def('text'), '  trade \t show '))).toBe('trade show');
		refused(validateValue(def('text'), 'x'.repeat(1001)), 'length');
		expect(value(validateValue(def('text'), '   '))).toBeNull();
		refused(validateValue(def('text'), 5), 'type');
	});

	it('long text: lines kept, trimmed, bounded', () => {
		expect(value(validateValue(def('longtext'), ' a\n\nb '))).toBe('a\n\nb');
		refused(validateValue(def('longtext'), 'x'.repeat(10_001)), 'length');
	});

	it('number: signed, full-width folded, separators dropped, no hex or exponents', () => {
		expect(value(validateValue(def('number'), '－１，２３４．５'))).toBe(-1234.5);
		expect(value(validateValue(def('number'), 42))).toBe(42);
		refused(validateValue(def('number'), '0x10'), 'number');
		refused(validateValue(def('number'), '1e6'), 'number');
		refused(validateValue(def('number'), 1e16), 'range');
		refused(validateValue(def('number'), true), 'number');
	});

	it('money: zero or more, cents, in the field currency; built-in value unchanged', () => {
		const money = def('money', { currency: 'USD' });
		expect(value(validateValue(money, '１２，０００．５'))).toBe(12000.5);
		expect(value(validateValue(money, 0.125))).toBe(0.13);
		refused(validateValue(money, '-5'), 'money');
		refused(validateValue(money, '10,000,000,000,000'), 'range');
		expect(value(validateField('value', '1,234,567.891'))).toBe(1234567.89);
	});

	it('date and date-time: ISO, calendar-checked, full-width folded; date-time stored in UTC', () => {
		expect(value(validateValue(def('date'), '２０２６－１２－３１'))).toBe('2026-12-31');
		refused(validateValue(def('date'), '2026-02-30'), 'date');
		expect(value(validateValue(def('datetime'), '2026-12-31T09:30+08:00'))).toBe('2026-12-31T01:30:00.000Z');
		expect(value(validateValue(def('datetime'), '２０２６－０１－０２Ｔ０３：０４Ｚ'))).toBe('2026-01-02T03:04:00.000Z');
		refused(validateValue(def('datetime'), '2026-12-31'), 'datetime');
		refused(validateValue(def('datetime'), '2026-02-30T10:00Z'), 'datetime');
	});

	it('select: by key or label, any case and width; retired options refused', () => {
		expect(value(validateValue(colours, 'ＲＥＤ'))).toBe('red');
		expect(value(validateValue(colours, 'Blue'))).toBe('blue');
		expect(value(validateValue(colours, '蓝'))).toBe('blue');
		expect(refused(validateValue(colours, 'green'), 'enum')).toContain('red, blue');
		expect(refused(validateValue(colours, 'old'), 'retired-option')).toContain('retired');
	});

	it('multi-select: a list or comma text, de-duplicated, in the options order', () => {
		expect(value(validateValue(tags, 'blue, red，Blue'))).toBe('red,blue');
		expect(value(validateValue(tags, ['blue', 'red']))).toBe('red,blue');
		expect(value(validateValue(tags, '蓝、红'))).toBe('red,blue');
		refused(validateValue(tags, 'red, green'), 'enum');
		expect(value(validateValue(tags, []))).toBeNull();
		refused(validateField('x_any', ['a']), 'type');
	});

	it('yes/no: booleans and the words for them', () => {
		expect(value(validateValue(def('yesno'), true))).toBe(true);
		expect(value(validateValue(def('yesno'), 'No'))).toBe(false);
		expect(value(validateValue(def('yesno'), '是'))).toBe(true);
		refused(validateValue(def('yesno'), 'maybe'), 'yesno');
	});

	it('email, phone, URL, country: the normalisation every writer gets', () => {
		expect(value(validateValue(def('email'), ' Li.Na＠Example.COM '))).toBe('li.na@example.com');
		expect(value(validateValue(def('phone'), '１３８ ００１３ ８０００', { country: 'CN' }))).toBe('+8613800138000');
		expect(value(validateValue(def('url'), '测试。中国'))).toBe('https://xn--0zwm56d.xn--fiqs8s');
		expect(value(validateValue(def('country'), 'ｃｎ'))).toBe('CN');
		refused(validateValue(def('country'), 'XX'), 'country');
		refused(validateValue(def('email'), 'nope'), 'email');
	});

	it('person: a member id, bounded', () => {
		expect(value(validateValue(def('person'), ' u-ann '))).toBe('u-ann');
		refused(validateValue(def('person'), 'x'.repeat(101)), 'length');
	});

	it('rating: a whole number from 1 to 5', () => {
		expect(value(validateValue(def('rating'), '４'))).toBe(4);
		expect(value(validateValue(def('rating'), 5))).toBe(5);
		refused(validateValue(def('rating'), 6), 'rating');
		refused(validateValue(def('rating'), 2.5), 'rating');
		refused(validateValue(def('rating'), 0), 'rating');
	});

	it('NUL is refused in every type', () => {
		refused(validateField('x_text', 'a\u0000b', { definitions: new FieldCatalog([def('text')]) }), 'nul');
	});
});

describe('the workspace catalog decides', () => {
	const catalog = new FieldCatalog([...BUILTIN_DEFINITIONS, colours, def('rating')]);

	it('validates a defined custom field by its type, naming the field', () => {
		expect(value(validateField('x_select', 'red', { definitions: catalog }))).toBe('red');
		const result = validateFields({ name: 'Ann', x_rating: 9 }, { definitions: catalog });
		expect(result.ok).toBe(false);
		if (!result.ok) expect(result.errors.x_rating).toContain('x_rating');
	});

	it('keeps reading undefined x_ keys as format v1 did (text, number, yes/no), and refuses other unknown keys', () => {
		expect(value(validateField('x_source', '  trade   show ', { definitions: catalog }))).toBe('trade show');
		expect(value(validateField('x_seats', 25, { definitions: catalog }))).toBe(25);
		refused(validateField('favourite', 'blue', { definitions: catalog }), 'unknown-field');
	});

	it('built-ins keep format v1 keys and rules', () => {
		expect(BUILTIN_DEFINITIONS.map((d) => d.key)).toEqual(['name', 'company', 'title', 'email', 'phone', 'website', 'industry', 'stage', 'owner', 'value', 'currency', 'country', 'city', 'address', 'followUpAt']);
		expect(value(validateField('stage', ' WON '))).toBe('won');
		expect(value(validateField('currency', 'ｃｎｙ'))).toBe('CNY');
		refused(validateField('name', ''), 'required');
	});
});

describe('definitions as data', () => {
	it('a new field gets an x_ key from its label; a clashing key is refused and nothing changes', () => {
		const added = defineField(BUILTIN_CATALOG, { label: { en: 'Lead source', zh: '线索来源' }, type: 'select', options: [{ label: { en: 'Trade show', zh: '展会' } }] });
		expect(value(added)).toMatchObject({ key: 'x_lead_source', options: [{ key: 'trade_show' }] });
		const catalog = new FieldCatalog([...BUILTIN_DEFINITIONS, value(added)!]);
		expect(refused(defineField(catalog, { key: 'x_lead_source', label: { en: 'Again', zh: '' }, type: 'text' }), 'key-taken')).toContain('x_lead_source');
		expect(value(defineField(catalog, { label: { en: 'Lead source', zh: '' }, type: 'text' }))?.key).toBe('x_lead_source_2');
		refused(defineField(catalog, { key: 'email', label: { en: 'Mail', zh: '' }, type: 'text' }), 'key-taken');
		refused(defineField(catalog, { key: 'Bad Key', label: { en: 'Bad', zh: '' }, type: 'text' }), 'key');
	});

	it('an empty label, a money field without a currency, a select without options are refused', () => {
		refused(defineField(BUILTIN_CATALOG, { key: 'x_a', label: { en: ' ', zh: '' }, type: 'text' }), 'label-empty');
		refused(defineField(BUILTIN_CATALOG, { key: 'x_b', label: { en: 'B', zh: '' }, type: 'money' }), 'currency');
		refused(defineField(BUILTIN_CATALOG, { key: 'x_b', label: { en: 'B', zh: '' }, type: 'money', currency: 'XYZ' }), 'currency');
		expect(value(defineField(BUILTIN_CATALOG, { key: 'x_b', label: { en: 'B', zh: '' }, type: 'money', currency: 'EUR' }))?.currency).toBe('EUR');
		refused(defineField(BUILTIN_CATALOG, { key: 'x_c', label: { en: 'C', zh: '' }, type: 'select' }), 'options');
	});

	it('renaming changes the label only; types, currencies and option keys never change; options are retired, not removed', () => {
		const catalog = new FieldCatalog([...BUILTIN_DEFINITIONS, colours]);
		const renamed = value(patchField(catalog, 'x_select', { label: { en: 'Colour', zh: '颜色' } }))!;
		expect(renamed).toMatchObject({ key: 'x_select', label: { en: 'Colour', zh: '颜色' }, type: 'select' });
		refused(checkChange(catalog, colours, { ...colours, type: 'text' }), 'type-fixed');
		refused(patchField(catalog, 'x_select', { options: [{ key: 'red', label: { en: 'Red', zh: '' } }] }), 'option-removed');
		const retired = value(patchField(catalog, 'x_select', { options: colours.options.map((o) => ({ ...o, retired: o.key === 'red' })) }))!;
		expect(retired.options.find((o) => o.key === 'red')?.retired).toBe(true);
		refused(patchField(catalog, 'x_select', { label: { en: '', zh: '' } }), 'label-empty');
		refused(patchField(catalog, 'name', { retired: true }), 'required');
		refused(patchField(catalog, 'x_nothing', { retired: true }), 'not-found');
	});

	it('the document holds changed built-ins and custom fields; the built-ins are there with an empty document', () => {
		const doc = new Y.Doc();
		expect(readDefinitions(doc).map((d) => d.key)).toEqual(BUILTIN_DEFINITIONS.map((d) => d.key));
		writeDefinition(doc, { ...BUILTIN_DEFINITIONS[2], label: { en: 'Job title', zh: '职务' }, order: 0.5, type: 'number' });
		writeDefinition(doc, colours);
		definitionsGarbage(doc);
		const catalog = readCatalog(doc);
		expect(catalog.get('title')).toMatchObject({ label: { en: 'Job title', zh: '职务' }, type: 'text', builtin: true });
		expect(catalog.all[0].key).toBe('title');
		expect(catalog.get('x_select')?.options).toHaveLength(3);
		expect(catalog.get('x_junk')).toBeUndefined();
	});

	it('x_ values written before definitions are defined on first sight, typed by their value', () => {
		const added = legacyDefinitions(BUILTIN_CATALOG, { name: 'Ann', x_source: 'trade show', x_seats: 25, x_vip: true, bogus: 'x' });
		expect(added.map((d) => [d.key, d.type, d.label.en])).toEqual([
			['x_source', 'text', 'Source'],
			['x_seats', 'number', 'Seats'],
			['x_vip', 'yesno', 'Vip']
		]);
		const catalog = new FieldCatalog([...BUILTIN_DEFINITIONS, ...added]);
		for (const [key, raw] of Object.entries({ x_source: 'trade show', x_seats: 25, x_vip: true })) expect(value(validateField(key, raw, { definitions: catalog }))).toBe(raw);
	});

	it('the definitions document id is a canonical UUID, the same everywhere, never a random record id', () => {
		const id = fieldsDocumentId('acme');
		expect(canonicalRecordId(id)).toBe(id);
		expect(id[14]).toBe('8');
		expect(fieldsDocumentId('acme')).toBe(id);
		expect(fieldsDocumentId('other')).not.toBe(id);
	});
});

function definitionsGarbage(doc: Y.Doc): void {
	doc.getMap('definitions').set('x_junk', { key: 'x_junk', type: 'nonsense' });
}
