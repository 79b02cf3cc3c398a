/**
 * Small helpers shared by the JSON API routes: errors a person can act on, JSON bodies,
 * the actor, and 403s for roles that may not act. Query parameters are read in params.ts.
 */
import { json } from '@sveltejs/kit';
import type { Actor } from '../access.ts';
import { isForbidden } from './services.ts';

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
