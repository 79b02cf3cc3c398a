import { error } from '@sveltejs/kit';
import { canAdminister } from '$lib/access.ts';
import type { LayoutServerLoad } from './$types';

/** Settings are for admins only; everyone else gets a 403 page (the sign-in wall comes first, in the hooks). */
export const load: LayoutServerLoad = ({ locals }) => {
	if (!locals.actor || !canAdminister(locals.actor)) error(403, { message: 'Only admins can open the settings.', code: 'forbidden' });
	return {};
};
