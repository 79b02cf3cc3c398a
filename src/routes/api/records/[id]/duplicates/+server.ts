/**
 * The records an existing record looks like (`GET /api/records/:id/duplicates`), each
 * with its confidence and the reasons it matched; for the record page's banner and for
 * integrations. Anyone who can see the record; private records of others never appear.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		const duplicates = await services().records.duplicatesOf(actorOf(locals), params.id);
		if (!duplicates) return apiError(404, `There is no record ${params.id} in this workspace.`);
		return json({ duplicates });
	});
