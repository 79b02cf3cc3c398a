import { services } from '$lib/server/services.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => {
	const { people, defaultWorkspace } = services();
	return {
		person: locals.person,
		locale: locals.locale,
		people: [...people],
		workspace: defaultWorkspace
	};
};
