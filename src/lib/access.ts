/**
 * Roles and what they allow. Shared by the server, which enforces it, and the browser,
 * which only uses it to hide what a person cannot do.
 */
export const ROLES = ['admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
	return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Someone acting in a workspace: a signed-in person, or an API token. */
export interface Actor {
	/** User id, or `token:<id>` for an API token. */
	id: string;
	name: string;
	workspace: string;
	role: Role;
}

export const canEdit = (actor: Pick<Actor, 'role'>): boolean => actor.role === 'admin' || actor.role === 'editor';
export const canAdminister = (actor: Pick<Actor, 'role'>): boolean => actor.role === 'admin';

/** Who may see a record: everyone in its workspace, or (private) its owner and admins. */
export interface RecordVisibility {
	private: boolean;
	owner: string | null;
}

/** A private record is seen by its owner and by admins only; others do not learn it exists. */
export function canSeeRecord(actor: Pick<Actor, 'id' | 'role'>, record: RecordVisibility): boolean {
	return !record.private || actor.role === 'admin' || (record.owner !== null && record.owner === actor.id);
}
