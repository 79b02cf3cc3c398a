/**
 * The admin service behind the HTTP API: a workspace's members and their roles, and its
 * API tokens. Admins only; a role changed or a token revoked is told to the open sockets
 * at once (`AdminEvents`, which the composition root wires to the rooms).
 */
import { ForbiddenError, type AdminService } from '../src/lib/server/services.ts';
import { canAdminister, type Actor, type Role } from '../src/lib/access.ts';
import type { AuthStore } from './store/auth-store.ts';

export interface AdminEvents {
	/** A person's role changed: their open sockets must act with the new one at once. */
	roleChanged(userId: string, role: Role): void;
	tokenRevoked(tokenId: string): void;
}

export function createAdminService(auth: AuthStore, workspace: string, events: AdminEvents): AdminService {
	function requireAdmin(actor: Actor): void {
		if (!canAdminister(actor) || actor.workspace !== workspace) {
			throw new ForbiddenError('Only admins can manage members and API tokens.');
		}
	}
	return {
		async members(actor) {
			requireAdmin(actor);
			return (await auth.listMembers(workspace)).map((m) => ({ id: m.user.id, name: m.user.name, email: m.user.email, role: m.role, assignedBy: m.assignedBy }));
		},
		async setRole(actor, userId, role) {
			requireAdmin(actor);
			if (!(await auth.membership(workspace, userId))) return false;
			await auth.setMembership(workspace, userId, role, actor.id);
			events.roleChanged(userId, role);
			return true;
		},
		async tokens(actor) {
			requireAdmin(actor);
			return (await auth.listApiTokens(workspace)).map(({ workspace: _w, ...token }) => token);
		},
		async createToken(actor, input) {
			requireAdmin(actor);
			return auth.createApiToken({ workspace, name: input.name, role: input.role, createdBy: actor.id });
		},
		async revokeToken(actor, id) {
			requireAdmin(actor);
			const revoked = await auth.revokeApiToken(workspace, id);
			if (revoked) events.tokenRevoked(id);
			return revoked;
		}
	};
}
