/**
 * Conflicts at one field across the workspace: `GET /api/conflicts?field=stage&days=30`,
 * `{ "conflicts": [...] }`, newest first, unsettled ones only (no value restored at their
 * place since), records the person may see only. The board asks it for its grouping
 * field, so two people moving one card at once is shown there as on the record page.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import { FIELD_KEYS } from '$lib/model/schema.ts';
import { CUSTOM_KEY } from '$lib/model/validate.ts';
import type { RequestHandler } from './$types';

const MAX_DAYS = 365;
const LIMIT = 100;

export const GET: RequestHandler = ({ url, locals }) =>
	guarded(async () => {
		const field = url.searchParams.get('field') ?? '';
		if (!FIELD_KEYS.includes(field) && !CUSTOM_KEY.test(field)) {
			return apiError(400, `field must be a field's key, such as stage, owner or x_region; "${field.slice(0, 80)}" is not one.`);
		}
		const days = Number(url.searchParams.get('days') ?? 30);
		if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) return apiError(400, `days must be a whole number from 1 to ${MAX_DAYS}.`);
		return json({ conflicts: await services().audit.conflicts(actorOf(locals), { field, days, limit: LIMIT }) });
	});
