/**
 * `POST /api/records/erase` with `{"ids": [...]}` (admins): several records erased for good
 * at once, all or none, on a data-subject request (server/erase.ts). A POST with a body
 * rather than DELETE with one, which some proxies and clients drop.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

/** `200 {"erased": [...]}`; `400` naming ids that are not record ids; `404` naming those that are no record here; `403` for non-admins. */
export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const ids = typeof body.body === 'object' && body.body !== null && !Array.isArray(body.body) ? (body.body as { ids?: unknown }).ids : undefined;
		const result = await services().data.erase(actorOf(locals), ids);
		if (!result.ok) {
			const { status, message, ...named } = result;
			return apiError(status, message, named.invalid ? { invalid: named.invalid } : named.missing ? { missing: named.missing } : {});
		}
		return json({ erased: result.erased });
	});
