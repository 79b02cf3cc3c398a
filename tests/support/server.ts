/**
 * Starts a real Accord server (the built SvelteKit app, the sync server, a real store)
 * on a free port, for integration tests. Persistence runs on PGlite in a temp dir, or
 * on a fresh Postgres database when the test asks for one. Also what tests of any server
 * share: API tokens per role, and `eventually`, the one polling helper.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig, type AccordConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/http.ts';
import { tempPostgresUrl } from './databases.ts';
import { seedPgliteDataDir } from './database-templates.ts';
import { ROLES, type Role } from '../../src/lib/access.ts';

/** API tokens of each role, made for every test server at start. */
const tokensByOrigin = new Map<string, Record<Role, string>>();

export function tokenFor(server: RunningServer | string, role: Role = 'editor'): string {
	const origin = new URL(typeof server === 'string' ? server : server.url).origin;
	const tokens = tokensByOrigin.get(origin);
	if (!tokens) throw new Error(`no test server at ${origin}`);
	return tokens[role];
}

/** fetch() as an API client of the test server at the URL's origin, with a token of the given role. */
export function apiFetch(input: string | URL, init: RequestInit = {}, role: Role = 'editor'): Promise<Response> {
	const headers = new Headers(init.headers);
	if (!headers.has('authorization')) headers.set('authorization', `Bearer ${tokenFor(String(input), role)}`);
	return fetch(input, { ...init, headers });
}

export function tempDataDir(prefix = 'accord-test-'): { dir: string; remove(): void } {
	const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * With DATABASE_URL or REDIS_URL set (as CI does), servers use a fresh Postgres
 * database and the Redis bus unless the test names its own; otherwise PGlite and the
 * in-process bus. The temporary database is dropped when the server closes. Fresh
 * databases (and PGlite in a data directory that has none yet) start as copies of the
 * migrated template (tests/support/database-templates.ts).
 */
export async function startTestServer(overrides: Partial<AccordConfig> = {}): Promise<RunningServer> {
	// The server migrates its database first thing: start it from the migrated template (a copy).
	const database = 'databaseUrl' in overrides ? null : await tempPostgresUrl({ migrated: true });
	const usesPglite = !(database?.url ?? overrides.databaseUrl);
	if (usesPglite && overrides.dataDir) await seedPgliteDataDir(overrides.dataDir);
	const config = readConfig(
		{ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error', REDIS_URL: process.env.REDIS_URL },
		{
			port: 0,
			host: '127.0.0.1',
			seedDemo: false,
			idleUnloadMs: 200,
			commitDelayMs: 2,
			databaseUrl: database?.url,
			// Without a data directory of the test's own, audit checkpoints would land in the work tree's ./data.
			auditAnchorFile: overrides.dataDir ? undefined : path.join(os.tmpdir(), `accord-test-anchors-${process.pid}.jsonl`),
			...overrides
		}
	);
	const server = await startServer(config);
	const { auth } = server.accord.database;
	const workspace = server.accord.services.defaultWorkspace;
	const tokens = {} as Record<Role, string>;
	for (const role of ROLES) tokens[role] = (await auth.createApiToken({ workspace, name: `test ${role}`, role, createdBy: 'test' })).token;
	tokensByOrigin.set(new URL(server.url).origin, tokens);
	const close = server.close.bind(server);
	server.close = async () => {
		await close();
		await database?.drop();
	};
	return server;
}

/** A WebSocket address on the test server, carrying a token of the given role (null: none). */
export function wsUrl(server: RunningServer, pathname: string, role: Role | null = 'editor'): string {
	const url = new URL(pathname, server.url.replace(/^http/, 'ws'));
	if (role) url.searchParams.set('token', tokenFor(server, role));
	return url.href;
}

/** The tests' one polling helper: polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
}

export async function createRecord(server: RunningServer, fields: Record<string, unknown>, extra: Record<string, unknown> = {}, role: Role = 'editor'): Promise<string> {
	const response = await apiFetch(
		`${server.url}/api/records`,
		{
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ fields, ...extra })
		},
		role
	);
	if (response.status !== 201) throw new Error(`creating a record failed: ${response.status} ${await response.text()}`);
	return ((await response.json()) as { id: string }).id;
}
