import { error, redirect } from '@sveltejs/kit';
import { safeReturnPath } from '$lib/return-path.ts';
import { bindSignIn } from '$lib/server/sign-in-binding.ts';
import { services } from '$lib/server/services.ts';
import type { RequestHandler } from './$types';

/**
 * Leaves for the identity provider. The attempt (state, nonce, PKCE verifier, where to
 * return) is kept server-side, once; this browser's sign-in cookie binds it to this browser.
 */
export const GET: RequestHandler = async ({ url, cookies }) => {
	const { auth, signIn } = services();
	let start: Awaited<ReturnType<typeof auth.beginSignIn>>;
	try {
		start = await auth.beginSignIn(safeReturnPath(url.searchParams.get('returnTo'), url.origin));
	} catch (cause) {
		const message = cause instanceof Error && 'userMessage' in cause ? String(cause.userMessage) : 'The identity provider cannot be reached.';
		error(503, { message: `${message} Try again in a moment, or ask your administrator to check the sign-in settings.` });
	}
	bindSignIn(cookies, start.binding, signIn.secureCookies);
	redirect(303, start.url);
};
