import { error, redirect } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import type { RequestHandler } from './$types';

/** Leaves for the identity provider; the attempt (state, nonce, PKCE verifier) is kept server-side, once. */
export const GET: RequestHandler = async ({ url }) => {
	let target: string;
	try {
		target = await services().auth.beginSignIn(url.searchParams.get('returnTo'));
	} catch (cause) {
		const message = cause instanceof Error && 'userMessage' in cause ? String(cause.userMessage) : 'The identity provider cannot be reached.';
		error(503, { message: `${message} Try again in a moment, or ask your administrator to check the sign-in settings.` });
	}
	redirect(303, target);
};
