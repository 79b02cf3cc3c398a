import { services } from '$lib/server/services.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ locals }) => {
	const { people, defaultWorkspace, signIn, fields } = services();
	return {
		person: locals.person,
		role: locals.actor?.role ?? null,
		locale: locals.locale,
		people: locals.actor ? await people() : [],
		workspace: defaultWorkspace,
		// The workspace's field definitions as they are now; pages follow the live document after (src/lib/sync/fields.svelte.ts).
		fields: locals.actor ? fields.list(locals.actor) : [],
		developmentSignIn: signIn.development
	};
};
