import { error, redirect } from '@sveltejs/kit';
import { safeReturnPath } from '$lib/return-path.ts';
import { SESSION_COOKIE } from '$lib/server/credentials.ts';
import { releaseSignIn, signInBindings } from '$lib/server/sign-in-binding.ts';
import { services } from '$lib/server/services.ts';
import type { RequestHandler } from './$types';

/**
 * The identity provider sends the browser back here with a code; it becomes a session,
 * but only in the browser that started this sign-in (its sign-in cookie holds the state).
 */
export const GET: RequestHandler = async ({ url, cookies }) => {
	const { auth, signIn } = services();
	const result = await auth.completeSignIn(url, signInBindings(cookies));
	// This browser's attempt is over, whichever way it went; a callback it did not start leaves its cookie alone.
	releaseSignIn(cookies, url.searchParams.get('state'), signIn.secureCookies);
	if (!result.ok) error(400, { message: result.message, code: 'sign-in' });
	cookies.set(SESSION_COOKIE, result.sessionToken, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: signIn.secureCookies,
		expires: result.expiresAt
	});
	redirect(303, safeReturnPath(result.returnTo, url.origin));
};
