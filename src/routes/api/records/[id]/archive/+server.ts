import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const archived = (body.body as { archived?: unknown } | null)?.archived;
		if (typeof archived !== 'boolean') return apiError(400, 'Send {"archived": true} to archive the record, or false to restore it.');
		if (!(await services().records.setArchived(actorOf(locals), params.id, archived))) {
			return apiError(404, `There is no record ${params.id} in this workspace.`);
		}
		return json({ id: params.id, archived });
	});
