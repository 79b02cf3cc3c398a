import { json } from '@sveltejs/kit';
import { isRole } from '$lib/access.ts';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const PUT: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const role = (body.body as { role?: unknown } | null)?.role;
		if (!isRole(role)) return apiError(400, 'Send {"role": "admin"}, "editor" or "viewer".');
		if (!(await services().admin.setRole(actorOf(locals), params.id, role))) return apiError(404, `${params.id} is not a member of this workspace.`);
		return json({ id: params.id, role });
	});
