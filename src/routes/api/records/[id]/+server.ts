/**
 * One record: read it (GET) and change its fields, tags and notes (PATCH). The work is
 * in the record service (server/records.ts); this maps its answers to HTTP. DELETE is
 * answered with where to go instead, since records are archived, never deleted here.
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

/** An integration trying DELETE is told what exists instead, rather than a bare 405. */
export const DELETE: RequestHandler = ({ params }) =>
	json(
		{
			message:
				`Records are not deleted: archive one with POST /api/records/${params.id}/archive and {"archived": true} ` +
				'(it leaves lists and can be restored). Erasing a person\'s data for good is the data-subject erasure, which is not yet available.'
		},
		{ status: 405, headers: { allow: 'GET, PATCH' } }
	);
