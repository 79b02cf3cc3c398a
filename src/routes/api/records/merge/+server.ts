/**
 * `POST /api/records/merge`: merges records into one (server/merge.ts does the work).
 * Body `{"survivor": id, "merged": [id, …], "fields": {key: id}, "locale": "en"|"zh"}`;
 * `200` with the merge (its id, for undo) and the survivor as it now is; `400` for a
 * request that cannot be made (every reason named), `404` naming a record that is not
 * there or not the caller's to see, `403` for viewers. Nothing changes unless it is 200.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const result = await services().merges.merge(actorOf(locals), body.body);
		if (!result.ok) return apiError(result.status, result.message, result.errors ? { errors: result.errors } : {});
		return json({ merge: result.merge, survivor: result.survivor });
	});
