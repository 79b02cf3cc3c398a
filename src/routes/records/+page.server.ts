import { fail, redirect } from '@sveltejs/kit';
import { canEdit } from '$lib/access.ts';
import { actorOf } from '$lib/server/api.ts';
import { services } from '$lib/server/services.ts';
import { NEW_RECORD_FIELDS } from '$lib/records/list.ts';
import { membersOf, validateField } from '$lib/model/validate.ts';
import { FieldCatalog } from '$lib/model/fields.ts';
import { fieldSpec } from '$lib/model/schema.ts';
import { definitionLabel, translate, validationMessage } from '$lib/i18n/index.ts';
import type { Actions } from './$types';

// The list itself is loaded by +page.ts (from the API, or from the local copy when offline).

export const actions: Actions = {
	create: async ({ request, locals }) => {
		const actor = actorOf(locals);
		if (!canEdit(actor)) return fail(403, { values: {}, tags: '', notes: '', errors: { name: translate(locals.locale, 'error.readOnly') } });
		const form = await request.formData();
		const values: Record<string, string> = {};
		for (const key of NEW_RECORD_FIELDS) values[key] = String(form.get(key) ?? '').trim();
		// The workspace's custom fields the dialog asks (sent under their keys), checked against the live definitions and members.
		const { fields: fieldsService, people } = services();
		const definitions = new FieldCatalog(fieldsService.list(actor), membersOf(await people()));
		for (const definition of definitions.active) {
			if (!definition.builtin && form.has(definition.key)) values[definition.key] = String(form.get(definition.key) ?? '').trim();
		}
		const tags = String(form.get('tags') ?? '')
			.split(/[,，]/)
			.map((tag) => tag.trim())
			.filter(Boolean);
		const notes = String(form.get('notes') ?? '');

		// Check here first so the messages come in the person's language.
		const errors: Record<string, string> = {};
		const fields: Record<string, string> = {};
		for (const [key, raw] of Object.entries(values)) {
			if (raw === '' && key !== 'name') continue;
			const definition = definitions.get(key);
			const result = validateField(key, raw, { country: values.country || null, definitions });
			const label = definition && !definition.builtin ? definitionLabel(definition, locals.locale) : undefined;
			if (!result.ok) errors[key] = validationMessage(result, key, raw, definition?.maxLength ?? fieldSpec(key)?.maxLength, locals.locale, label);
			else fields[key] = raw;
		}
		if (Object.keys(errors).length > 0) return fail(400, { values, tags: tags.join(', '), notes, errors });

		// Candidates the dialog has shown are created anyway; any it has not (typed faster than its check) are shown first.
		const refuseDuplicates = form.get('duplicates') !== 'allow';
		const result = await services().records.create(actor, { fields, tags, notes, refuseDuplicates });
		if (!result.ok && result.duplicates) return fail(409, { values, tags: tags.join(', '), notes, errors: {}, duplicates: result.duplicates });
		if (!result.ok) return fail(400, { values, tags: tags.join(', '), notes, errors: result.errors });
		redirect(303, `/records/${result.id}`);
	}
};
