/**
 * One field definition: `GET` reads it, `PATCH` renames, reorders, retires or restores it
 * or changes its options (admins only). The key and type never change; a refused change
 * answers `400` with the reason and changes nothing.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import { readFieldPatch } from '$lib/model/fields.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ params, locals }) => {
	const field = services().fields.list(actorOf(locals)).find((definition) => definition.key === params.key);
	return field ? json(field) : apiError(404, `There is no field "${params.key.slice(0, 60)}" in this workspace.`);
};

export const PATCH: RequestHandler = ({ params, request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const patch = readFieldPatch(body.body, params.key);
		if (!patch.ok) return apiError(400, patch.message, { code: patch.code });
		const result = await services().fields.change(actorOf(locals), params.key, patch.value);
		if (!result.ok) return apiError(result.code === 'not-found' ? 404 : 400, result.message, { code: result.code });
		return json(result.value);
	});
