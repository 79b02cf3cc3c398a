/**
 * Duplicates across the workspace. `GET /api/duplicates`: the scan, clusters of likely
 * duplicates most likely first (the Duplicates page). `POST /api/duplicates` with
 * `{"fields": {...}}`: the existing records a record as typed looks like, before it is
 * created (the new-record dialog asks as the person types). Private records of others
 * never appear in either.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ locals }) => guarded(async () => json(await services().records.duplicateScan(actorOf(locals))));

export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const fields = (body.body as { fields?: unknown } | null)?.fields;
		if (typeof body.body !== 'object' || body.body === null || typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
			return apiError(400, 'Send the record as typed, such as {"fields": {"name": "Zhang Wei", "company": "华信科技"}}.');
		}
		return json({ duplicates: await services().records.checkDuplicates(actorOf(locals), fields as Record<string, unknown>) });
	});
