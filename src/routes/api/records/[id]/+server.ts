import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals }) => {
	const record = await services().records.get(actorOf(locals), params.id);
	if (!record) return apiError(404, `There is no record ${params.id} in this workspace.`);
	return json(record);
};
