/**
 * Admin settings: members and their roles, and API tokens. Everything changes through
 * form actions (they work without JavaScript; the page enhances them). Actions do not
 * run the layout's guard, so each one checks the actor itself, and the admin service
 * refuses non-admins again.
 */
import { fail } from '@sveltejs/kit';
import { canAdminister, isRole, type Actor, type Role } from '$lib/access.ts';
import { isForbidden, services } from '$lib/server/services.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
	const actor = adminOf(locals);
	if (!actor) return { members: [], tokens: [], actorId: null };
	const { admin } = services();
	const [members, tokens] = await Promise.all([admin.members(actor), admin.tokens(actor)]);
	return { members, tokens, actorId: actor.id };
};

function adminOf(locals: App.Locals): Actor | null {
	return locals.actor && canAdminister(locals.actor) ? locals.actor : null;
}

type Failure = 'forbidden' | 'invalidRole' | 'memberNotFound' | 'nameInvalid' | 'tokenNotFound';

function refused(action: string, error: Failure, extra: Record<string, unknown> = {}) {
	return fail(error === 'forbidden' ? 403 : error.endsWith('NotFound') ? 404 : 400, { action, error, ...extra });
}

async function asAdmin<T>(locals: App.Locals, action: string, body: (actor: Actor) => Promise<T>) {
	const actor = adminOf(locals);
	if (!actor) return refused(action, 'forbidden');
	try {
		return await body(actor);
	} catch (error) {
		if (isForbidden(error)) return refused(action, 'forbidden');
		throw error;
	}
}

export const actions: Actions = {
	setRole: async ({ request, locals }) => {
		const form = await request.formData();
		const userId = String(form.get('userId') ?? '');
		const role = form.get('role');
		if (!isRole(role)) return refused('setRole', 'invalidRole', { userId });
		return asAdmin(locals, 'setRole', async (actor) => {
			if (!(await services().admin.setRole(actor, userId, role))) return refused('setRole', 'memberNotFound', { userId });
			return { action: 'setRole', userId, role };
		});
	},

	createToken: async ({ request, locals }) => {
		const form = await request.formData();
		const name = String(form.get('name') ?? '').trim();
		const role = form.get('role');
		if (name === '' || name.length > 100) return refused('createToken', 'nameInvalid', { name, role: isRole(role) ? role : null });
		if (!isRole(role)) return refused('createToken', 'invalidRole', { name, role: null });
		return asAdmin(locals, 'createToken', async (actor) => {
			const created = await services().admin.createToken(actor, { name, role: role as Role });
			// The token itself is in this one answer and nowhere else.
			return { action: 'createToken', created: { id: created.id, token: created.token, name, role } };
		});
	},

	revokeToken: async ({ request, locals }) => {
		const form = await request.formData();
		const id = String(form.get('id') ?? '');
		const name = String(form.get('name') ?? '');
		return asAdmin(locals, 'revokeToken', async (actor) => {
			if (!id || !(await services().admin.revokeToken(actor, id))) return refused('revokeToken', 'tokenNotFound', { id });
			return { action: 'revokeToken', id, name };
		});
	}
};
