/**
 * The workspace's Duplicates page: clusters of records that look like one customer,
 * most likely first, from the server's scan over the stored blocking keys (never all
 * pairs). Private records of others are left out by the scan itself.
 */
import { error } from '@sveltejs/kit';
import { canEdit } from '$lib/access.ts';
import { services } from '$lib/server/services.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
	const actor = locals.actor;
	if (!actor) error(401, { message: 'Sign in to see the workspace\'s duplicates.', code: 'sign-in' });
	return { scan: await services().records.duplicateScan(actor), canMerge: canEdit(actor) };
};
