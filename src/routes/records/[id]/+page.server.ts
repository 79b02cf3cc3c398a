import { error } from '@sveltejs/kit';
import { isRecordId } from '$lib/model/record.ts';
import { services } from '$lib/server/services.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ params }) => {
	const { records, defaultWorkspace } = services();
	const record = isRecordId(params.id) ? await records.get(defaultWorkspace, params.id) : null;
	if (!record) error(404, { message: 'This record does not exist or you cannot open it.', code: 'not-found' });
	return { record };
};
