/**
 * One record: read it (GET), change its fields, tags and notes (PATCH), and erase it for
 * good on a data-subject request (DELETE, admins). The work is in the record service
 * (server/records.ts) and server/erase.ts; this maps their answers to HTTP.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals }) => {
	const record = await services().records.get(actorOf(locals), params.id);
	if (!record) return apiError(404, `There is no record ${params.id} in this workspace.`);
	return json(record);
};

/**
 * `{fields?, tags?: {add?, remove?}, notes?}`: `200` with the updated record, or `400`
 * naming every invalid part with nothing changed. Editors and admins.
 */
export const PATCH: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		if (typeof body.body !== 'object' || body.body === null || Array.isArray(body.body)) {
			return apiError(400, 'Send an object such as {"fields": {"company": "Huaxin"}, "tags": {"add": ["vip"]}, "notes": "…"}.');
		}
		const result = await services().records.update(actorOf(locals), params.id, body.body as Record<string, unknown>);
		if (!result) return apiError(404, `There is no record ${params.id} in this workspace.`);
		if (!result.ok) return apiError(400, 'Some parts of the change are not valid; see errors. Nothing was changed.', { errors: result.errors });
		return json(result.record);
	});

/**
 * Erases the record for good: the data-subject erasure (server/erase.ts), admins only.
 * `200 {"erased": [id]}`; `404` when there is no such record; `403` for anyone else.
 * Archiving (POST /api/records/:id/archive) is the way to take a record out of lists.
 */
export const DELETE: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		const result = await services().data.erase(actorOf(locals), [params.id]);
		if (!result.ok) return apiError(result.status === 400 ? 404 : result.status, result.status === 400 ? `There is no record ${params.id} in this workspace.` : result.message);
		return json({ erased: result.erased });
	});
