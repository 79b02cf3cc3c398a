/**
 * What the shared modules decide about people, keys and audit for the workspace's
 * fields: a person field names a member (the context's list, or the one the catalog
 * carries), a new key may not differ from another only in case, a merge validates what
 * it keeps against the live definitions and members, and an admin's change to a field
 * reads as what they did (added, renamed, moved, retired; options likewise).
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_DEFINITIONS, type FieldDefinition } from '../../src/lib/model/schema.ts';
import { membersOf, validateField, validateFields } from '../../src/lib/model/validate.ts';
import { BUILTIN_CATALOG, FieldCatalog, defineField, definitionChanges, effectiveDefinition, patchField } from '../../src/lib/model/fields.ts';
import { planMerge } from '../../src/lib/model/merge.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import { refused, value } from '../support/validated.ts';

const members = membersOf([{ id: 'alice' }, { id: 'wang.fang' }]);

const manager: FieldDefinition = { key: 'x_manager', label: { en: 'Account manager', zh: '客户经理' }, type: 'person', options: [], retired: false, order: 100, builtin: false };
const level: FieldDefinition = {
	key: 'x_level',
	label: { en: 'Level', zh: '级别' },
	type: 'select',
	options: [
		{ key: 'gold', label: { en: 'Gold', zh: '金' }, colour: 'yellow', retired: false },
		{ key: 'tin', label: { en: 'Tin', zh: '锡' }, colour: 'grey', retired: true }
	],
	retired: false,
	order: 101,
	builtin: false
};
const catalog = new FieldCatalog([...BUILTIN_DEFINITIONS, manager, level], members);

function record(id: string, fields: CustomerRecord['fields']): CustomerRecord {
	return { id, fields, tags: [], contacts: [], activities: [], notes: '', meta: { schema: 1, workspace: 'w', createdAt: '2025-01-01T00:00:00.000Z', createdBy: 'u', archived: false } };
}
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

describe('person fields name members', () => {
	it('the owner and a custom person field accept members and refuse anyone else, naming the field', () => {
		expect(value(validateField('owner', 'alice', { members }))).toBe('alice');
		expect(refused(validateField('owner', 'mallory', { members }), 'member')).toContain('owner');
		expect(value(validateField('x_manager', ' wang.fang ', { definitions: catalog }))).toBe('wang.fang');
		expect(refused(validateField('x_manager', 'mallory', { definitions: catalog }), 'member')).toContain('mallory');
		// Clearing is always allowed; without a member list nothing is checked (as before the list is known).
		expect(value(validateField('owner', '', { members }))).toBeNull();
		expect(value(validateField('owner', 'mallory'))).toBe('mallory');
	});

	it('validateFields passes the list on, and names every refused field', () => {
		const result = validateFields({ name: 'Li Na', owner: 'mallory', x_manager: 'eve' }, { definitions: catalog });
		expect(result.ok).toBe(false);
		if (!result.ok) expect(Object.keys(result.errors).sort()).toEqual(['owner', 'x_manager']);
	});
});

describe('keys that clash', () => {
	it('a key differing from another only in case or width is refused, with the field it clashes with', () => {
		const withSource = new FieldCatalog([...BUILTIN_DEFINITIONS, { ...manager, key: 'x_source' }]);
		expect(refused(defineField(withSource, { key: 'X_Source', label: { en: 'Source again', zh: '' }, type: 'text' }), 'key-taken')).toContain('x_source');
		expect(refused(defineField(BUILTIN_CATALOG, { key: 'Email', label: { en: 'Mail', zh: '' }, type: 'text' }), 'key-taken')).toContain('built-in');
		expect(refused(defineField(BUILTIN_CATALOG, { key: 'ＥＭＡＩＬ', label: { en: 'Mail', zh: '' }, type: 'text' }), 'key-taken')).toContain('email');
	});
});

describe('merge validates against the live definitions and members', () => {
	it('refuses a kept value the workspace definitions do not accept, naming the field and the record', () => {
		const rating: FieldDefinition = { ...manager, key: 'x_score', type: 'rating' };
		const live = new FieldCatalog([...BUILTIN_DEFINITIONS, rating]);
		const a = record(A, { name: 'Alpha' });
		const b = record(B, { name: 'Beta', x_score: 'lots' });
		const planned = planMerge(a, [b], {}, 'en', { definitions: live });
		expect(planned.ok).toBe(false);
		if (!planned.ok) expect(planned.errors['fields.x_score']).toMatch(/Beta.*rating/);
	});

	it("a person value from a merged record must name a member; the survivor's own is kept even if they left", () => {
		const fromMerged = planMerge(record(A, { name: 'Alpha' }), [record(B, { name: 'Beta', owner: 'gone' })], {}, 'en', { definitions: catalog });
		expect(fromMerged.ok).toBe(false);
		if (!fromMerged.ok) expect(fromMerged.errors['fields.owner']).toContain('gone');
		const survivors = planMerge(record(A, { name: 'Alpha', owner: 'gone' }), [record(B, { name: 'Beta', owner: 'alice' })], {}, 'en', { definitions: catalog });
		expect(survivors.ok && survivors.plan.fields.owner).toBe('gone');
	});

	it('a retired option a record holds is carried, not refused', () => {
		const planned = planMerge(record(A, { name: 'Alpha' }), [record(B, { name: 'Beta', x_level: 'tin' })], {}, 'en', { definitions: catalog });
		expect(planned.ok && planned.plan.fields.x_level).toBe('tin');
	});
});

describe("an admin's change to a field, as the audit log records it", () => {
	it('adding, renaming, moving, retiring and restoring, and every change to options', () => {
		expect(definitionChanges('x_level', null, level)).toEqual([
			{ path: 'definitions.x_level', op: 'add', before: null, after: { label: level.label, type: 'select', options: level.options.map(({ key, label, colour }) => ({ key, label, colour })) } }
		]);
		const renamed = value(patchField(catalog, 'x_level', { label: { en: 'Tier', zh: '等级' }, order: 5, retired: true, askOnCreate: true }));
		expect(definitionChanges('x_level', level, renamed)).toEqual([
			{ path: 'definitions.x_level.label', op: 'set', before: { en: 'Level', zh: '级别' }, after: { en: 'Tier', zh: '等级' } },
			{ path: 'definitions.x_level.order', op: 'set', before: 101, after: 5 },
			{ path: 'definitions.x_level.retired', op: 'set', before: false, after: true },
			{ path: 'definitions.x_level.askOnCreate', op: 'set', before: false, after: true }
		]);
		const options = value(
			patchField(catalog, 'x_level', {
				options: [
					{ key: 'gold', label: { en: 'Golden', zh: '金' }, colour: 'orange', retired: true },
					{ key: 'tin', label: { en: 'Tin', zh: '锡' }, colour: 'grey', retired: false },
					{ label: { en: 'Silver', zh: '银' } }
				]
			})
		);
		expect(definitionChanges('x_level', level, options).map((change) => [change.path, change.op, change.before, change.after])).toEqual([
			['definitions.x_level.options[gold].label', 'set', { en: 'Gold', zh: '金' }, { en: 'Golden', zh: '金' }],
			['definitions.x_level.options[gold].colour', 'set', 'yellow', 'orange'],
			['definitions.x_level.options[gold].retired', 'set', false, true],
			['definitions.x_level.options[tin].retired', 'set', true, false],
			['definitions.x_level.options[silver]', 'add', null, { label: { en: 'Silver', zh: '银' }, colour: 'grey' }]
		]);
		expect(definitionChanges('x_level', level, level)).toEqual([]);
	});

	it("a built-in's first change is compared with the app's own definition", () => {
		const stored = { ...BUILTIN_DEFINITIONS.find((d) => d.key === 'city')!, label: { en: 'Town', zh: '城镇' } };
		expect(definitionChanges('city', effectiveDefinition('city', undefined), effectiveDefinition('city', stored))).toEqual([
			{ path: 'definitions.city.label', op: 'set', before: { en: '', zh: '' }, after: { en: 'Town', zh: '城镇' } }
		]);
	});
});
