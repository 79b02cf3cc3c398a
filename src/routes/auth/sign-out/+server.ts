import { redirect } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { SESSION_COOKIE } from '$lib/server/credentials.ts';
import type { RequestHandler } from './$types';

/** Ends the Accord session (and its sockets), then the provider's session where it supports that. */
export const POST: RequestHandler = async ({ cookies }) => {
	const token = cookies.get(SESSION_COOKIE);
	const { logoutUrl } = token ? await services().auth.signOut(token) : { logoutUrl: null };
	cookies.delete(SESSION_COOKIE, { path: '/' });
	redirect(303, logoutUrl ?? '/auth/signed-out');
};
