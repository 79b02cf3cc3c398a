/**
 * Saved views: `GET` lists the person's private views and the workspace's shared ones
 * (`{views, document}`: the shared views document's id, which `/sync` serves live);
 * `POST` saves one from `{name, query, sort?, dir?, columns?, shared?}`: `201` with the
 * view, `400` naming what is wrong, `403` when a viewer asks to share, `409` past the
 * limits. Who may do what: src/lib/views/views.ts.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ locals }) =>
	guarded(async () => {
		const views = services().views;
		return json({ views: await views.list(actorOf(locals)), document: views.documentId() }, { headers: { 'cache-control': 'no-store' } });
	});

export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const result = await services().views.create(actorOf(locals), body.body);
		if (!result.ok) return apiError(result.status, result.message);
		return json(result.view, { status: 201, headers: { location: `/api/views/${result.view.id}` } });
	});
