/**
 * The workspace's field definitions: `GET` lists them for anyone in the workspace (retired
 * ones too, marked), `POST` adds one (admins only): `201` with the definition, `400` with
 * the reason (a clashing key, an empty label…) and nothing changed, `403` for others.
 */
import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded, readJson } from '$lib/server/api.ts';
import { readNewField } from '$lib/model/fields.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async ({ locals }) => {
	const { fields } = services();
	return json({ document: fields.documentId(), fields: fields.list(actorOf(locals)) });
};

export const POST: RequestHandler = ({ request, locals }) =>
	guarded(async () => {
		const body = await readJson(request);
		if (!body.ok) return body.response;
		const input = readNewField(body.body);
		if (!input.ok) return apiError(400, input.message, { code: input.code });
		const result = await services().fields.add(actorOf(locals), input.value);
		if (!result.ok) return apiError(result.code === 'key-taken' ? 409 : 400, result.message, { code: result.code });
		return json(result.value, { status: 201, headers: { location: `/api/fields/${result.value.key}` } });
	});
