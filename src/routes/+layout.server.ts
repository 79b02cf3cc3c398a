import { services } from '$lib/server/services.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ locals }) => {
	const { people, defaultWorkspace, signIn } = services();
	return {
		person: locals.person,
		role: locals.actor?.role ?? null,
		locale: locals.locale,
		people: locals.actor ? await people() : [],
		workspace: defaultWorkspace,
		developmentSignIn: signIn.development
	};
};
