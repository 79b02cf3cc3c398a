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

/**
 * The largest body the server reads: adapter-node's BODY_SIZE_LIMIT (512K unless set),
 * parsed as adapter-node parses it, so that a 413 names the limit actually in force.
 */
export function bodyLimitBytes(setting: string | undefined = process.env.BODY_SIZE_LIMIT): number {
	const value = setting ?? '512K';
	const multiplier = ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[value.slice(-1).toUpperCase()] ?? 1;
	return Number(multiplier === 1 ? value : value.slice(0, -1)) * multiplier;
}

function sizeText(bytes: number): string {
	if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MB`;
	if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
	return `${bytes} bytes`;
}

function tooLarge(): Response {
	const limit = bodyLimitBytes();
	return apiError(413, `The body is too large: the API accepts at most ${sizeText(limit)} (${limit} bytes) per request.`, {
		limitBytes: limit
	});
}

/** The adapter stops reading a body over the limit by failing the stream with a 413 error; anything else failing is a broken upload. */
const isTooLarge = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 413;

export async function readJson(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
	const type = request.headers.get('content-type') ?? '';
	if (!type.includes('application/json')) {
		return { ok: false, response: apiError(415, 'Send the body as JSON, with Content-Type: application/json.') };
	}
	const declared = Number(request.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > bodyLimitBytes()) return { ok: false, response: tooLarge() };
	let text: string;
	try {
		text = await request.text();
	} catch (error) {
		if (isTooLarge(error)) return { ok: false, response: tooLarge() };
		return { ok: false, response: apiError(400, 'The body could not be read to its end; send it again.') };
	}
	try {
		return { ok: true, body: JSON.parse(text) as unknown };
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
