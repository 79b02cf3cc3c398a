/** Small helpers shared by the JSON API routes: errors a person can act on, and query parsing. */
import { json } from '@sveltejs/kit';
import { SORTABLE_COLUMNS, type SortColumn } from '$lib/model/projection.ts';
import { STAGES } from '$lib/model/schema.ts';
import type { Actor } from '../access.ts';
import { isForbidden, type ListQuery } from './services.ts';

export function apiError(status: number, message: string, extra: Record<string, unknown> = {}): Response {
	return json({ message, ...extra }, { status });
}

export async function readJson(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
	const type = request.headers.get('content-type') ?? '';
	if (!type.includes('application/json')) {
		return { ok: false, response: apiError(415, 'Send the body as JSON, with Content-Type: application/json.') };
	}
	try {
		return { ok: true, body: await request.json() };
	} catch {
		return { ok: false, response: apiError(400, 'The body is not valid JSON.') };
	}
}

export const MAX_PAGE_SIZE = 500;

/** The actor of an API request; the hooks have already answered 401 for anonymous ones. */
export function actorOf(locals: App.Locals): Actor {
	if (!locals.actor) throw new Error('an API route was reached without an actor');
	return locals.actor;
}

/** Runs a route body, answering 403 with the reason when the actor's role does not allow it. */
export async function guarded(body: () => Promise<Response>): Promise<Response> {
	try {
		return await body();
	} catch (error) {
		if (isForbidden(error)) return apiError(403, error.message);
		throw error;
	}
}

export function parseRecordQuery(params: URLSearchParams): { ok: true; query: ListQuery } | { ok: false; message: string } {
	const limit = Number(params.get('limit') ?? 50);
	const offset = Number(params.get('offset') ?? 0);
	if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) return { ok: false, message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}.` };
	if (!Number.isInteger(offset) || offset < 0) return { ok: false, message: 'offset must be a whole number of zero or more.' };
	const sort = params.get('sort') ?? 'updatedAt';
	if (!(SORTABLE_COLUMNS as readonly string[]).includes(sort)) return { ok: false, message: `sort must be one of ${SORTABLE_COLUMNS.join(', ')}.` };
	const dir = params.get('dir') ?? (sort === 'updatedAt' ? 'desc' : 'asc');
	if (dir !== 'asc' && dir !== 'desc') return { ok: false, message: 'dir must be asc or desc.' };
	const stage = params.get('stage') || undefined;
	if (stage && !(STAGES as readonly string[]).includes(stage)) return { ok: false, message: `stage must be one of ${STAGES.join(', ')}.` };
	return {
		ok: true,
		query: {
			stage,
			owner: params.get('owner') || undefined,
			includeArchived: params.get('archived') === '1',
			sort: sort as SortColumn,
			descending: dir === 'desc',
			limit,
			offset
		}
	};
}
