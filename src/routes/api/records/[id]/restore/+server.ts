import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import { textProblem } from '$lib/server/params.ts';
import type { RequestHandler } from './$types';

/**
 * Puts a value from the record's history back: `{entryId}` restores the entry's
 * `before` (for a conflict: the value that was lost), `{entryId, use: "after"}` its
 * `after`. Editors and admins; recorded as a `restore` by the person asking.
 */
export const POST: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const { entryId, use } = (body.body ?? {}) as { entryId?: unknown; use?: unknown };
		if (typeof entryId !== 'string' || entryId === '') return apiError(400, 'Send {"entryId": "<id of a history entry>"} and optionally "use": "before" or "after".');
		const problem = textProblem('entryId', entryId);
		if (problem) return apiError(400, problem);
		if (use !== undefined && use !== 'before' && use !== 'after') return apiError(400, 'use must be "before" or "after".');
		const result = await services().audit.restore(actorOf(locals), params.id, { entryId, use });
		if (!result.ok) return apiError(result.status, result.message);
		return json({ id: params.id, restored: { entryId: result.entry.id, path: result.path, value: result.value } });
	});
