import { fail, redirect } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { PERSON_COOKIE, safeNext } from '$lib/session.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ url }) => ({ next: safeNext(url.searchParams.get('next')) });

export const actions: Actions = {
	default: async ({ request, cookies, url }) => {
		const form = await request.formData();
		const id = String(form.get('person') ?? '');
		const person = services().people.find((p) => p.id === id);
		if (!person) return fail(400, { invalid: true });
		cookies.set(PERSON_COOKIE, person.id, {
			path: '/',
			httpOnly: false,
			sameSite: 'lax',
			secure: url.protocol === 'https:',
			maxAge: 60 * 60 * 24 * 365
		});
		redirect(303, safeNext(String(form.get('next') ?? url.searchParams.get('next') ?? '')));
	}
};
