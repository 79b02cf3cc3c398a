import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import { parseAuditQuery } from '$lib/server/params.ts';
import type { RequestHandler } from './$types';

/** A record's audit entries, newest first: `?field=&person=&op=&limit=&offset=`. Anyone who can see the record. */
export const GET: RequestHandler = ({ params, url, locals }) =>
	guarded(async () => {
		const parsed = parseAuditQuery(url.searchParams);
		if (!parsed.ok) return apiError(400, parsed.message);
		const { field, person, op, limit, offset } = parsed.query;
		const page = await services().audit.history(actorOf(locals), params.id, { field, person, op, limit, offset });
		if (!page) return apiError(404, `There is no record ${params.id} in this workspace.`);
		return json(page);
	});
