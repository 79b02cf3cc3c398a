import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const DELETE: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		if (!(await services().admin.revokeToken(actorOf(locals), params.id))) return apiError(404, `No active token ${params.id}.`);
		return json({ id: params.id, revoked: true });
	});
