import { error, redirect } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { SESSION_COOKIE } from '$lib/server/credentials.ts';
import type { RequestHandler } from './$types';

/** The identity provider sends the browser back here with a code; it becomes a session. */
export const GET: RequestHandler = async ({ url, cookies }) => {
	const { auth, signIn } = services();
	const result = await auth.completeSignIn(url);
	if (!result.ok) error(400, { message: result.message, code: 'sign-in' });
	cookies.set(SESSION_COOKIE, result.sessionToken, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: signIn.secureCookies,
		expires: result.expiresAt
	});
	redirect(303, result.returnTo);
};
