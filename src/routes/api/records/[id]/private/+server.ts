import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const value = (body.body as { private?: unknown } | null)?.private;
		if (typeof value !== 'boolean') return apiError(400, 'Send {"private": true} to make the record private to its owner, or false to share it.');
		if (!(await services().records.setPrivate(actorOf(locals), params.id, value))) {
			return apiError(404, `There is no record ${params.id} in this workspace.`);
		}
		return json({ id: params.id, private: value });
	});
