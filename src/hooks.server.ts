/**
 * Per request: the UI locale (cookie, else Accept-Language) and the person using
 * Accord (the `accord_person` cookie, one of the workspace's people). Pages need a
 * person; without one they redirect to /welcome. `<html lang>` follows the locale.
 */
import { redirect, type Handle } from '@sveltejs/kit';
import { LOCALE_COOKIE, isLocale, languageTag, localeFromAcceptLanguage } from '$lib/i18n/index.ts';
import { services } from '$lib/server/services.ts';
import { PERSON_COOKIE } from '$lib/session.ts';

function isPublic(pathname: string): boolean {
	return (
		pathname === '/welcome' ||
		pathname.startsWith('/welcome/') ||
		pathname.startsWith('/api/') ||
		pathname === '/healthz'
	);
}

export const handle: Handle = async ({ event, resolve }) => {
	const cookieLocale = event.cookies.get(LOCALE_COOKIE);
	const locale = isLocale(cookieLocale) ? cookieLocale : localeFromAcceptLanguage(event.request.headers.get('accept-language'));
	event.locals.locale = locale;

	const personId = event.cookies.get(PERSON_COOKIE);
	event.locals.person = personId ? (services().people.find((p) => p.id === personId) ?? null) : null;

	const { pathname, search } = event.url;
	if (!event.locals.person && !isPublic(pathname)) {
		redirect(303, `/welcome?next=${encodeURIComponent(pathname + search)}`);
	}

	return resolve(event, {
		transformPageChunk: ({ html }) => html.replace('%lang%', languageTag(locale))
	});
};
