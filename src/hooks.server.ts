/**
 * Every request: the UI locale, who is asking (session cookie, or an API token in the
 * Authorization header: never `?token=` on HTTP), the sign-in wall, the cross-site
 * checks for state-changing requests (SvelteKit's form check included), and security headers.
 */
import { json, redirect, type Handle } from '@sveltejs/kit';
import { LOCALE_COOKIE, isLocale, languageTag, localeFromAcceptLanguage } from '$lib/i18n/index.ts';
import { services } from '$lib/server/services.ts';
import { credentialsFrom } from '$lib/server/credentials.ts';
import { isPlainPath } from '$lib/server/params.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isPublic(pathname: string): boolean {
	return pathname.startsWith('/auth/') || pathname === '/healthz';
}

/** Content types a page on any site can send with a plain HTML form, without a CORS preflight. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

function isFormContentType(request: Request): boolean {
	const type = request.headers.get('content-type')?.split(';', 1)[0].trim().toLowerCase();
	return type !== undefined && FORM_TYPES.has(type);
}

/** A state-changing request made by a browser on another site's behalf, riding on the session cookie. */
function isCrossSite(request: Request, origin: string): boolean {
	const requestOrigin = request.headers.get('origin');
	if (requestOrigin !== null) return requestOrigin !== origin;
	const site = request.headers.get('sec-fetch-site');
	return site !== null && site !== 'same-origin' && site !== 'none';
}

export const handle: Handle = async ({ event, resolve }) => {
	const cookieLocale = event.cookies.get(LOCALE_COOKIE);
	const locale = isLocale(cookieLocale) ? cookieLocale : localeFromAcceptLanguage(event.request.headers.get('accept-language'));
	event.locals.locale = locale;

	const { auth, signIn } = services();
	const { request, url } = event;
	const authenticated = await auth.authenticate(credentialsFrom(request.headers.get('cookie'), request.headers.get('authorization')));
	event.locals.auth = authenticated;
	event.locals.actor = authenticated?.actor ?? null;
	event.locals.person =
		authenticated?.via === 'session' ? { id: authenticated.actor.id, name: authenticated.actor.name, email: authenticated.email ?? '' } : null;

	const isApi = url.pathname.startsWith('/api/');
	if (!authenticated && !isPublic(url.pathname)) {
		if (isApi) {
			// Tokens in the address are not read on HTTP (they end up in proxy logs and browser
			// history); say so, rather than leave an integration guessing why its token "fails".
			const message = url.searchParams.has('token')
				? 'Send the API token as "Authorization: Bearer <token>"; a token in the address (?token=) is accepted only by WebSocket connections.'
				: 'Sign in first, or send an API token as "Authorization: Bearer <token>".';
			return json({ message }, { status: 401 });
		}
		redirect(303, `/auth/sign-in?returnTo=${encodeURIComponent(url.pathname + url.search)}`);
	}
	// Cross-site protection, here rather than in SvelteKit's own form check (turned off in
	// svelte.config.js): that check runs before anyone is authenticated, so it also refused
	// token-authenticated API calls with a form content type, which no browser can forge
	// (a page on another site cannot add an Authorization header without a preflight Accord
	// never grants). Everyone else keeps SvelteKit's rule, a form must come from Accord
	// (which also guards the sign-in and sign-out paths before anyone is signed in), and a
	// session additionally refuses any state-changing request another site makes.
	if (!SAFE_METHODS.has(request.method) && authenticated?.via !== 'token') {
		const foreignForm = isFormContentType(request) && request.headers.get('origin') !== url.origin;
		if (foreignForm || (authenticated?.via === 'session' && isCrossSite(request, url.origin))) {
			return json({ message: 'Cross-site request refused: changes can only be made from Accord itself.' }, { status: 403 });
		}
	}
	// Route parameters (ids in the path) are free text too: one check here for every API route.
	if (isApi && !isPlainPath(url.pathname)) {
		return json({ message: 'The address contains control characters (such as U+0000) or broken escapes; no API address has any.' }, { status: 400 });
	}

	const response = await resolve(event, {
		transformPageChunk: ({ html }) => html.replace('%lang%', languageTag(locale))
	});
	// Scripts are covered by the CSP SvelteKit writes (svelte.config.js); this second
	// policy adds what it cannot know at build time: where forms may lead (the identity
	// provider, for sign-out), and that no other site may frame Accord.
	const formTargets = signIn.providerOrigin === url.origin ? "'self'" : `'self' ${signIn.providerOrigin}`;
	const headers = {
		'content-security-policy': `frame-ancestors 'none'; form-action ${formTargets}; base-uri 'self'; object-src 'none'`,
		'x-frame-options': 'DENY',
		'x-content-type-options': 'nosniff',
		'referrer-policy': 'same-origin'
	};
	try {
		for (const [name, value] of Object.entries(headers)) response.headers.append(name, value);
	} catch {
		// Immutable responses (a fetched asset passed through) keep their own headers.
	}
	return response;
};
