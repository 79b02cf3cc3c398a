import { redirect } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = ({ url, locals }) => {
	const returnTo = url.searchParams.get('returnTo') ?? '/records';
	if (locals.person) redirect(303, returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/records');
	const { provider, development } = services().signIn;
	return { returnTo, provider, development };
};
