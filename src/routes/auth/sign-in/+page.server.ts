import { redirect } from '@sveltejs/kit';
import { safeReturnPath } from '$lib/return-path.ts';
import { services } from '$lib/server/services.ts';
import type { PageServerLoad } from './$types';

/** The sign-in page; someone already signed in goes straight on to `returnTo`, if it is a path of Accord. */
export const load: PageServerLoad = ({ url, locals }) => {
	const returnTo = safeReturnPath(url.searchParams.get('returnTo'), url.origin);
	if (locals.person) redirect(303, returnTo);
	const { provider, development } = services().signIn;
	return { returnTo, provider, development };
};
