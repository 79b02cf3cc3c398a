import { error } from '@sveltejs/kit';
import { canEdit } from '$lib/access.ts';
import { services } from '$lib/server/services.ts';
import { actorOf } from '$lib/server/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params, locals }) => {
	const actor = actorOf(locals);
	const record = await services().records.get(actor, params.id);
	if (!record) error(404, { message: 'This record does not exist or you cannot open it.', code: 'not-found' });
	return { record, canEdit: canEdit(actor), canChangePrivacy: actor.role === 'admin' || record.fields.owner === actor.id };
};
