/**
 * `POST /api/merges/:id/undo` (admins): every record of the merge back exactly as it was
 * before it. Body optional; `{"force": true}` undoes even when records changed since
 * (the answer lists what was overwritten); without it such an undo is refused with `409`
 * naming each changed record and place, and nothing changes.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		let force = false;
		if ((request.headers.get('content-length') ?? '0') !== '0' || request.headers.has('transfer-encoding')) {
			const body = await readJson(request);
			if (!body.ok) return body.response;
			const value = body.body;
			if (value !== null && (typeof value !== 'object' || Array.isArray(value) || Object.keys(value).some((key) => key !== 'force'))) {
				return apiError(400, 'Send no body, or {"force": true} to undo even if records changed since the merge.');
			}
			const given = (value as { force?: unknown } | null)?.force;
			if (given !== undefined && typeof given !== 'boolean') return apiError(400, 'force must be true or false.');
			force = given === true;
		}
		const result = await services().merges.undo(actorOf(locals), params.id, { force });
		if (!result.ok) return apiError(result.status, result.message, result.changed ? { changed: result.changed } : {});
		return json(result);
	});
