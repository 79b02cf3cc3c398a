/**
 * Who is asking: sign-in through OIDC (sessions kept in the database), API tokens, and
 * the mapping from identity-provider groups to workspace roles.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Actor, Role } from '../../src/lib/access.ts';
import type { AuthService, Authenticated, SignInResult } from '../../src/lib/server/services.ts';
import type { OidcConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { AuthStore } from '../store/auth-store.ts';
import { safeReturnPath } from '../../src/lib/return-path.ts';
import { OidcError, type OidcClient } from './oidc-client.ts';

export interface AuthServiceOptions {
	store: AuthStore;
	workspace: string;
	oidc: OidcConfig;
	/** Issuer of the built-in development provider, whose subjects become user ids as they are (alice, bob…). */
	devIssuer?: string;
	/** Connects to the identity provider (discovery); called on first use and again after a failure. */
	connect(): Promise<OidcClient>;
	sessionTtlMs: number;
	log: Logger;
	/** Ends open sockets of a session that was signed out. */
	onSessionEnded(tokenHash: string): void;
}

/**
 * How people of the development provider are recorded: its issuer URL changes with the
 * port, but alice is the same alice on every start.
 */
export const DEV_ISSUER_ID = 'urn:accord:development-sign-in';

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** The highest role any of the person's groups maps to, or null if none does. */
export function roleFromClaims(claims: Record<string, unknown>, claim: string, map: ReadonlyMap<string, Role>): Role | null {
	const value = claims[claim];
	const groups = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
	let best: Role | null = null;
	for (const group of groups) {
		const role = typeof group === 'string' ? map.get(group) : undefined;
		if (role && (best === null || RANK[role] > RANK[best])) best = role;
	}
	return best;
}

/**
 * The service does not know the address people open Accord at; the routes have already
 * resolved `returnTo` against it. Resolving again against any origin keeps a path as it
 * is and turns whatever leads elsewhere into `/records`, so a path stored here is safe
 * even if a caller forgot.
 */
const PATH_CHECK_ORIGIN = 'http://accord.invalid';

/** Shown when a callback arrives in a browser that did not start that sign-in (or started it too long ago). */
export const OTHER_BROWSER_MESSAGE = 'This sign-in was started in another browser or has expired; sign in again.';

/** Compares without leaking, through timing, how much of a guess was right. */
function sameSecret(a: string, b: string): boolean {
	const left = Buffer.from(a);
	const right = Buffer.from(b);
	return left.length === right.length && timingSafeEqual(left, right);
}

export function createAuthService(options: AuthServiceOptions): AuthService {
	const { store, workspace, log } = options;
	let client: Promise<OidcClient> | null = null;

	function oidcClient(): Promise<OidcClient> {
		client ??= options.connect().catch((error: unknown) => {
			client = null;
			throw error;
		});
		return client;
	}

	async function assignRole(userId: string, claims: Record<string, unknown>): Promise<Role> {
		const fromClaims = roleFromClaims(claims, options.oidc.roleClaim, options.oidc.roleMap);
		const current = await store.membership(workspace, userId);
		// The identity provider's groups are the source of truth when they name a role;
		// otherwise an admin's assignment stands, and a newcomer gets the workspace default.
		if (fromClaims) {
			if (current?.role !== fromClaims || current.assignedBy !== null) await store.setMembership(workspace, userId, fromClaims, null);
			return fromClaims;
		}
		if (current) return current.role;
		const role = await store.defaultRole(workspace);
		await store.setMembership(workspace, userId, role, null);
		return role;
	}

	return {
		async beginSignIn(returnTo) {
			const oidc = await oidcClient();
			const { url, attempt } = await oidc.begin();
			await store.saveSignInAttempt({ ...attempt, returnTo: safeReturnPath(returnTo, PATH_CHECK_ORIGIN) });
			// The state is unguessable and single-use; the browser that keeps it in its
			// sign-in cookie is the only one whose callback may complete this attempt.
			return { url: url.href, binding: attempt.state };
		},

		async completeSignIn(callbackUrl, bindings): Promise<SignInResult> {
			const state = callbackUrl.searchParams.get('state');
			// Checked before the attempt is taken, so a callback opened in the wrong browser
			// spends nothing: the browser that started the sign-in can still finish it.
			if (!state || !bindings.some((binding) => sameSecret(binding, state))) {
				log.warn('sign-in refused', { code: 'binding', reason: state ? 'state not started in this browser' : 'no state' });
				return { ok: false, message: OTHER_BROWSER_MESSAGE };
			}
			const attempt = await store.takeSignInAttempt(state);
			if (!attempt) {
				return { ok: false, message: 'This sign-in link was already used or has expired. Please sign in again.' };
			}
			try {
				const oidc = await oidcClient();
				const login = await oidc.complete(callbackUrl, attempt);
				const development = options.devIssuer !== undefined && login.issuer === options.devIssuer;
				const user = await store.upsertUser({
					issuer: development ? DEV_ISSUER_ID : login.issuer,
					subject: login.subject,
					name: login.name,
					email: login.email,
					id: development ? login.subject : undefined
				});
				const role = await assignRole(user.id, login.claims);
				const session = await store.createSession({ userId: user.id, workspace, idToken: login.idToken, ttlMs: options.sessionTtlMs });
				log.info('signed in', { user: user.id, role });
				return { ok: true, sessionToken: session.token, expiresAt: session.expiresAt, returnTo: safeReturnPath(attempt.returnTo, PATH_CHECK_ORIGIN) };
			} catch (error) {
				if (error instanceof OidcError) {
					log.warn('sign-in refused', { code: error.code, reason: error.message });
					return { ok: false, message: error.userMessage };
				}
				log.error('sign-in failed', { error: (error as Error).message });
				return { ok: false, message: 'Signing in failed on our side. Please try again in a moment.' };
			}
		},

		async authenticate({ sessionToken, apiToken }): Promise<Authenticated | null> {
			if (apiToken) {
				const token = await store.findApiToken(apiToken);
				if (!token || token.workspace !== workspace) return null;
				const actor: Actor = { id: `token:${token.id}`, name: token.name, workspace: token.workspace, role: token.role };
				return { actor, via: 'token', tokenId: token.id };
			}
			if (sessionToken) {
				const session = await store.findSession(sessionToken);
				if (!session) return null;
				const actor: Actor = { id: session.user.id, name: session.user.name, workspace: session.workspace, role: session.role };
				return { actor, via: 'session', sessionHash: session.tokenHash, expiresAt: session.expiresAt, email: session.user.email };
			}
			return null;
		},

		async signOut(sessionToken) {
			const session = await store.findSession(sessionToken);
			if (!session) return { logoutUrl: null };
			await store.revokeSession(session.tokenHash);
			options.onSessionEnded(session.tokenHash);
			let logoutUrl: string | null = null;
			try {
				logoutUrl = (await oidcClient()).logoutUrl(session.idToken)?.href ?? null;
			} catch {
				// The provider is unreachable: the Accord session has ended all the same.
			}
			return { logoutUrl };
		}
	};
}
