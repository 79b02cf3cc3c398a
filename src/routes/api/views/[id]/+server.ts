/**
 * One saved view: `GET` reads it (yours, or a shared one), `PATCH` changes any of
 * `{name, query, sort, dir, columns, shared}` (its owner; sharing takes an editor),
 * `DELETE` removes it (its owner, or an admin for a shared one). `404` for a view that is
 * not there or is someone else's private one; `403` for a role that may not.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

const NOT_FOUND = 'There is no such view (or it is someone else’s private one).';

export const GET: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		const view = await services().views.get(actorOf(locals), params.id);
		return view ? json(view, { headers: { 'cache-control': 'no-store' } }) : apiError(404, NOT_FOUND);
	});

export const PATCH: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const result = await services().views.update(actorOf(locals), params.id, body.body);
		return result.ok ? json(result.view) : apiError(result.status, result.message);
	});

export const DELETE: RequestHandler = ({ params, locals }) =>
	guarded(async () => {
		const result = await services().views.remove(actorOf(locals), params.id);
		return result.ok ? json({ deleted: result.view.id }) : apiError(result.status, result.message);
	});
