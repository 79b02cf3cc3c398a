/**
 * Starts a real Accord server (the built SvelteKit app, the sync server, a real store)
 * on a free port, for integration tests. Persistence runs on PGlite in a temp dir, or
 * on a fresh Postgres database when the test asks for one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig, type AccordConfig } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/http.ts';
import { tempPostgresUrl } from './databases.ts';

export function tempDataDir(prefix = 'accord-test-'): { dir: string; remove(): void } {
	const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * With DATABASE_URL or REDIS_URL set (as CI does), servers use a fresh Postgres
 * database and the Redis bus unless the test names its own; otherwise PGlite and the
 * in-process bus. The temporary database is dropped when the server closes.
 */
export async function startTestServer(overrides: Partial<AccordConfig> = {}): Promise<RunningServer> {
	const database = 'databaseUrl' in overrides ? null : await tempPostgresUrl();
	const config = readConfig(
		{ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error', REDIS_URL: process.env.REDIS_URL },
		{ port: 0, host: '127.0.0.1', seedDemo: false, idleUnloadMs: 200, commitDelayMs: 2, databaseUrl: database?.url, ...overrides }
	);
	const server = await startServer(config);
	const close = server.close.bind(server);
	server.close = async () => {
		await close();
		await database?.drop();
	};
	return server;
}

export function wsUrl(server: RunningServer, pathname: string): string {
	return server.url.replace(/^http/, 'ws') + pathname;
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	throw new Error(`Timed out waiting for: ${what}`);
}

export async function createRecord(server: RunningServer, fields: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
	const response = await fetch(`${server.url}/api/records`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ fields, ...extra })
	});
	if (response.status !== 201) throw new Error(`creating a record failed: ${response.status} ${await response.text()}`);
	return ((await response.json()) as { id: string }).id;
}
