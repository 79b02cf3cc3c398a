import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import { parseRecordQuery } from '$lib/server/params.ts';
import { searchParam } from '$lib/search/query.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ url, locals }) => {
	const parsed = parseRecordQuery(url.searchParams);
	if (!parsed.ok) return apiError(400, parsed.message);
	// The workspace's fields, so a field can be named by its label (预算>100).
	const search = searchParam(url.searchParams, { fields: services().fields.list(actorOf(locals)) });
	if (!search.ok) return apiError(400, `q: ${search.message}`);
	return json(await services().records.list(actorOf(locals), { ...parsed.query, search: search.query }));
};

/**
 * Creates a record: `201` with `{id, duplicates}`, the existing records it looks like
 * (each with `confidence` and `reasons`), created all the same. With `?duplicates=refuse`
 * nothing is created when there are any: `409` with `duplicates`.
 */
export const POST: RequestHandler = ({ request, url, locals }) =>
	guarded(async () => {
		const mode = url.searchParams.get('duplicates');
		if (mode !== null && mode !== 'refuse' && mode !== 'allow') {
			return apiError(400, `duplicates must be "refuse" (create nothing when the record looks like an existing one) or "allow" (the default), not "${mode.slice(0, 40)}".`);
		}
		const body = await readJson(request);
		if (!body.ok) return body.response;
		if (typeof body.body !== 'object' || body.body === null || Array.isArray(body.body)) {
			return apiError(400, 'Send an object such as {"fields": {"name": "Li Na", "company": "Huaxin"}}.');
		}
		const { fields, tags, notes } = body.body as Record<string, unknown>;
		const result = await services().records.create(actorOf(locals), {
			fields: (fields ?? {}) as Record<string, unknown>,
			tags,
			notes,
			refuseDuplicates: mode === 'refuse'
		});
		if (!result.ok && result.duplicates) return apiError(409, result.errors.duplicates, { duplicates: result.duplicates });
		if (!result.ok) return apiError(400, 'Some fields are not valid; see errors.', { errors: result.errors });
		return json({ id: result.id, duplicates: result.duplicates }, { status: 201, headers: { location: `/api/records/${result.id}` } });
	});
