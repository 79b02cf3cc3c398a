/**
 * People, memberships, sign-in sessions and API tokens. Secrets (session and API
 * tokens) are handed out once and only their SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isRole, type Role } from '../../src/lib/access.ts';
import { isDocumentId } from './sql-store.ts';
import { batchedReads } from './batched-reads.ts';
import type { Sql } from './types.ts';

export interface User {
	id: string;
	issuer: string;
	subject: string;
	name: string;
	email: string | null;
}

export interface Member {
	user: User;
	role: Role;
	assignedBy: string | null;
}

export interface SessionInfo {
	tokenHash: string;
	user: User;
	workspace: string;
	role: Role;
	expiresAt: Date;
	idToken: string | null;
}

export interface ApiTokenInfo {
	id: string;
	workspace: string;
	name: string;
	role: Role;
	createdBy: string | null;
	createdAt: string;
	lastUsedAt: string | null;
	revokedAt: string | null;
}

export interface SignInAttempt {
	state: string;
	nonce: string;
	codeVerifier: string;
	returnTo: string;
}

export interface RecordAccess {
	workspace: string;
	private: boolean;
	owner: string | null;
}

/** How long a sign-in may take between leaving for the provider and coming back. */
const SIGN_IN_ATTEMPT_TTL_MS = 10 * 60_000;

export function hashSecret(secret: string): string {
	return createHash('sha256').update(secret).digest('hex');
}

function newSecret(prefix: string): string {
	return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

interface UserColumns {
	id: string;
	issuer: string;
	subject: string;
	name: string;
	email: string | null;
}

const toUser = (row: UserColumns): User => ({ id: row.id, issuer: row.issuer, subject: row.subject, name: row.name, email: row.email });
const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

export function createAuthStore(sql: Sql) {
	const readAccess = accessReader(sql);
	return {
		/** Creates the person on first sign-in (just in time), or refreshes their name and email. */
		async upsertUser(input: { issuer: string; subject: string; name: string; email: string | null; id?: string; signingIn?: boolean }): Promise<User> {
			const signedIn = input.signingIn === false ? null : new Date().toISOString();
			const [row] = await sql.query<UserColumns>(
				`INSERT INTO users (id, issuer, subject, name, email, last_sign_in_at) VALUES ($1, $2, $3, $4, $5, $6)
				 ON CONFLICT (issuer, subject) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
				   last_sign_in_at = COALESCE(EXCLUDED.last_sign_in_at, users.last_sign_in_at)
				 RETURNING id, issuer, subject, name, email`,
				[input.id ?? randomUUID(), input.issuer, input.subject, input.name, input.email, signedIn]
			);
			return toUser(row);
		},

		async getUser(id: string): Promise<User | null> {
			const [row] = await sql.query<UserColumns>('SELECT id, issuer, subject, name, email FROM users WHERE id = $1', [id]);
			return row ? toUser(row) : null;
		},

		async defaultRole(workspace: string): Promise<Role> {
			const [row] = await sql.query<{ default_role: string }>('SELECT default_role FROM workspaces WHERE id = $1', [workspace]);
			return isRole(row?.default_role) ? row.default_role : 'viewer';
		},

		async setDefaultRole(workspace: string, role: Role): Promise<void> {
			await sql.query('UPDATE workspaces SET default_role = $2 WHERE id = $1', [workspace, role]);
		},

		async membership(workspace: string, userId: string): Promise<{ role: Role; assignedBy: string | null } | null> {
			const [row] = await sql.query<{ role: Role; assigned_by: string | null }>(
				'SELECT role, assigned_by FROM memberships WHERE workspace_id = $1 AND user_id = $2',
				[workspace, userId]
			);
			return row ? { role: row.role, assignedBy: row.assigned_by } : null;
		},

		async setMembership(workspace: string, userId: string, role: Role, assignedBy: string | null): Promise<void> {
			await sql.query(
				`INSERT INTO memberships (workspace_id, user_id, role, assigned_by) VALUES ($1, $2, $3, $4)
				 ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role, assigned_by = EXCLUDED.assigned_by, updated_at = now()`,
				[workspace, userId, role, assignedBy]
			);
		},

		async listMembers(workspace: string): Promise<Member[]> {
			const rows = await sql.query<UserColumns & { role: Role; assigned_by: string | null }>(
				`SELECT u.id, u.issuer, u.subject, u.name, u.email, m.role, m.assigned_by
				   FROM memberships m JOIN users u ON u.id = m.user_id
				  WHERE m.workspace_id = $1 ORDER BY lower(u.name), u.id`,
				[workspace]
			);
			return rows.map((row) => ({ user: toUser(row), role: row.role, assignedBy: row.assigned_by }));
		},

		async createSession(input: { userId: string; workspace: string; idToken: string | null; ttlMs: number }): Promise<{ token: string; expiresAt: Date }> {
			const token = newSecret('acs');
			const expiresAt = new Date(Date.now() + input.ttlMs);
			await sql.query('INSERT INTO sessions (token_hash, user_id, workspace_id, id_token, expires_at) VALUES ($1, $2, $3, $4, $5)', [
				hashSecret(token),
				input.userId,
				input.workspace,
				input.idToken,
				expiresAt.toISOString()
			]);
			return { token, expiresAt };
		},

		/** The live session of a token, with the person's current role; null if unknown, expired, revoked or no longer a member. */
		async findSession(token: string): Promise<SessionInfo | null> {
			const [row] = await sql.query<UserColumns & { token_hash: string; workspace_id: string; role: Role; expires_at: Date | string; id_token: string | null }>(
				`SELECT s.token_hash, s.workspace_id, s.expires_at, s.id_token, m.role, u.id, u.issuer, u.subject, u.name, u.email
				   FROM sessions s
				   JOIN users u ON u.id = s.user_id
				   JOIN memberships m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id
				  WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
				[hashSecret(token)]
			);
			if (!row) return null;
			return { tokenHash: row.token_hash, user: toUser(row), workspace: row.workspace_id, role: row.role, expiresAt: new Date(row.expires_at), idToken: row.id_token };
		},

		async revokeSession(tokenHash: string): Promise<void> {
			await sql.query('UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL', [tokenHash]);
		},

		/** Sessions among these still open, with the person's current role: to check open sockets against. */
		async liveSessions(hashes: readonly string[]): Promise<Map<string, Role>> {
			if (hashes.length === 0) return new Map();
			const rows = await sql.query<{ token_hash: string; role: Role }>(
				`SELECT s.token_hash, m.role FROM sessions s
				   JOIN memberships m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id
				  WHERE s.token_hash = ANY($1::text[]) AND s.revoked_at IS NULL AND s.expires_at > now()`,
				[hashes]
			);
			return new Map(rows.map((row) => [row.token_hash, row.role]));
		},

		async saveSignInAttempt(attempt: SignInAttempt): Promise<void> {
			await sql.query('DELETE FROM sign_in_attempts WHERE created_at < $1', [new Date(Date.now() - SIGN_IN_ATTEMPT_TTL_MS).toISOString()]);
			await sql.query('INSERT INTO sign_in_attempts (state, nonce, code_verifier, return_to) VALUES ($1, $2, $3, $4)', [
				attempt.state,
				attempt.nonce,
				attempt.codeVerifier,
				attempt.returnTo
			]);
		},

		/** Takes a sign-in attempt out, so its state can be used once only. */
		async takeSignInAttempt(state: string): Promise<SignInAttempt | null> {
			const [row] = await sql.query<{ state: string; nonce: string; code_verifier: string; return_to: string }>(
				'DELETE FROM sign_in_attempts WHERE state = $1 AND created_at > $2 RETURNING state, nonce, code_verifier, return_to',
				[state, new Date(Date.now() - SIGN_IN_ATTEMPT_TTL_MS).toISOString()]
			);
			return row ? { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, returnTo: row.return_to } : null;
		},

		async createApiToken(input: { workspace: string; name: string; role: Role; createdBy: string | null }): Promise<{ id: string; token: string }> {
			const id = randomUUID();
			const token = newSecret('acc');
			await sql.query('INSERT INTO workspaces (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [input.workspace]);
			await sql.query('INSERT INTO api_tokens (id, workspace_id, name, role, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6)', [
				id,
				input.workspace,
				input.name,
				input.role,
				hashSecret(token),
				input.createdBy
			]);
			return { id, token };
		},

		async findApiToken(token: string): Promise<ApiTokenInfo | null> {
			const [row] = await sql.query<TokenColumns>(
				`UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL
				 RETURNING ${TOKEN_COLUMNS}`,
				[hashSecret(token)]
			);
			return row ? toToken(row) : null;
		},

		async listApiTokens(workspace: string): Promise<ApiTokenInfo[]> {
			const rows = await sql.query<TokenColumns>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE workspace_id = $1 ORDER BY created_at DESC`, [workspace]);
			return rows.map(toToken);
		},

		async revokeApiToken(workspace: string, id: string): Promise<boolean> {
			if (!isDocumentId(id)) return false;
			const rows = await sql.query('UPDATE api_tokens SET revoked_at = now() WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id', [
				workspace,
				id
			]);
			return rows.length > 0;
		},

		/** Live API token ids among these. */
		async liveTokenIds(ids: readonly string[]): Promise<Set<string>> {
			if (ids.length === 0) return new Set();
			const rows = await sql.query<{ id: string }>('SELECT id FROM api_tokens WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [ids]);
			return new Set(rows.map((row) => row.id));
		},

		/** Whether a record exists, where, and who may see it; checks asked for in the same turn share one statement. */
		async recordAccess(id: string): Promise<RecordAccess | null> {
			if (!isDocumentId(id)) return null;
			return readAccess(id);
		}
	};
}

/** Record access facts, read for many records at once (see batched-reads.ts). */
function accessReader(sql: Sql): (id: string) => Promise<RecordAccess | null> {
	return batchedReads(async (ids) => {
		const rows = await sql.query<{ id: string; workspace_id: string; private: boolean | null; owner: string | null }>(
			'SELECT d.id, d.workspace_id, r.private, r.owner FROM documents d LEFT JOIN records r ON r.id = d.id WHERE d.id = ANY($1::uuid[])',
			[ids]
		);
		return new Map(rows.map((row) => [row.id.toLowerCase(), { workspace: row.workspace_id, private: row.private === true, owner: row.owner }]));
	});
}

export type AuthStore = ReturnType<typeof createAuthStore>;

interface TokenColumns {
	id: string;
	workspace_id: string;
	name: string;
	role: Role;
	created_by: string | null;
	created_at: Date | string;
	last_used_at: Date | string | null;
	revoked_at: Date | string | null;
}

const TOKEN_COLUMNS = 'id, workspace_id, name, role, created_by, created_at, last_used_at, revoked_at';

const toToken = (row: TokenColumns): ApiTokenInfo => ({
	id: row.id,
	workspace: row.workspace_id,
	name: row.name,
	role: row.role,
	createdBy: row.created_by,
	createdAt: iso(row.created_at)!,
	lastUsedAt: iso(row.last_used_at),
	revokedAt: iso(row.revoked_at)
});
