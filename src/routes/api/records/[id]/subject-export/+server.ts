import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

/**
 * `GET /api/records/:id/subject-export` (admins): everything held about one customer
 * (the record, its visibility, its whole history) as one JSON file, for a data-subject
 * request. The export itself is recorded in the audit log.
 */
export const GET: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		const file = await services().data.subjectExport(actorOf(locals), params.id);
		if (!file) return apiError(404, `There is no record ${params.id} in this workspace.`);
		return new Response(file.json, {
			headers: {
				'content-type': 'application/json; charset=utf-8',
				'content-disposition': `attachment; filename="${file.filename}"`,
				'cache-control': 'no-store'
			}
		});
	});
