/** `GET /api/merges/:id`: one merge (which records, by whom, when, whether undone), for the notice after merging. */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals }) => {
	const merge = await services().merges.get(actorOf(locals), params.id);
	if (!merge) return apiError(404, `There is no merge ${params.id} in this workspace.`);
	return json(merge);
};
