import { json } from '@sveltejs/kit';
import { isRole } from '$lib/access.ts';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import { textProblem } from '$lib/server/params.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ locals }) => guarded(async () => json({ tokens: await services().admin.tokens(actorOf(locals)) }));

export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const { name, role } = (body.body ?? {}) as { name?: unknown; role?: unknown };
		if (typeof name !== 'string' || name.trim() === '' || textProblem('name', name, 100)) {
			return apiError(400, 'Give the token a name of up to 100 characters, without control characters (such as U+0000 or a line break), such as "ERP sync".');
		}
		if (!isRole(role)) return apiError(400, 'role must be admin, editor or viewer.');
		const created = await services().admin.createToken(actorOf(locals), { name: name.trim(), role });
		return json({ ...created, message: 'This token is shown only once; store it safely.' }, { status: 201 });
	});
