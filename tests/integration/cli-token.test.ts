/**
 * `npm run accord -- token …`: API tokens made, listed and revoked from the command line
 * with no server running (as the embedded database requires), then used against a
 * server started on the same data. On Postgres (DATABASE_URL set), the CLI and the
 * server share a fresh database. Run as `npm run accord` runs it (`tsx server/cli.ts`),
 * where the other tests run this run's bundle (tests/support/entry.ts): the TypeScript
 * entry itself is checked here.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/http.ts';
import { startTestServer, tempDataDir } from '../support/server.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
	code: number;
	stdout: string;
	stderr: string;
}

describe('the token command line', () => {
	let data: { dir: string; remove(): void };
	let database: TempPostgres | null = null;
	let tokenId = '';
	let token = '';

	function cli(...args: string[]): Promise<Run> {
		const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: data.dir, LOG_LEVEL: 'error' };
		delete env.DATABASE_URL;
		delete env.REDIS_URL;
		delete env.ACCORD_WORKSPACE;
		delete env.NODE_OPTIONS;
		if (database) env.DATABASE_URL = database.url;
		return new Promise((resolve) => {
			execFile(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], { cwd: ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
				const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
				resolve({ code, stdout, stderr });
			});
		});
	}

	async function withServer<T>(use: (server: RunningServer) => Promise<T>): Promise<T> {
		const server = await startTestServer({ dataDir: data.dir, databaseUrl: database?.url });
		try {
			return await use(server);
		} finally {
			await server.close();
		}
	}

	function withToken(server: RunningServer, pathname: string, init: RequestInit = {}): Promise<Response> {
		return fetch(new URL(pathname, server.url), { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
	}

	beforeAll(async () => {
		data = tempDataDir('accord-cli-');
		database = await tempPostgresUrl();
	});
	afterAll(async () => {
		await database?.drop();
		data.remove();
	});

	it('creates a token and prints it as the last line of its output', async () => {
		const run = await cli('token', 'create', '--role', 'editor', '--name', 'ERP sync');
		expect(run.stderr).not.toMatch(/Error|at /);
		expect(run.code).toBe(0);
		const lines = run.stdout.trim().split('\n');
		token = lines.at(-1)!.trim();
		expect(token).toMatch(/^acc_[\w-]{40,}$/);
		const created = /Created API token ([0-9a-f-]{36}) "ERP sync" with role editor in workspace demo/.exec(run.stdout);
		expect(created).not.toBeNull();
		tokenId = created![1];
		// The secret is printed once; nothing else on the output repeats it.
		expect(run.stdout.split(token)).toHaveLength(2);
	});

	it('refuses bad arguments with a non-zero exit and a helpful message, creating nothing', async () => {
		// All refused before the database is opened, so they may run side by side.
		const [superuser, noName, unknown, noId] = await Promise.all([
			cli('token', 'create', '--role', 'superuser', '--name', 'Too much'),
			cli('token', 'create', '--role', 'viewer'),
			cli('tokens', 'make'),
			cli('token', 'revoke')
		]);
		expect(superuser.code).not.toBe(0);
		expect(superuser.stderr).toContain('--role must be admin, editor or viewer.');
		expect(superuser.stderr).toContain('Usage:');
		expect(superuser.stdout).not.toMatch(/acc_/);

		expect(noName.code).not.toBe(0);
		expect(noName.stderr).toMatch(/--name is required/);

		expect(unknown.code).not.toBe(0);
		expect(unknown.stderr).toMatch(/Unknown command: tokens make/);

		expect(noId.code).not.toBe(0);
		expect(noId.stderr).toMatch(/Say which token to revoke/);
	});

	it('lists the token, active, and only it', async () => {
		const run = await cli('token', 'list');
		expect(run.code).toBe(0);
		const lines = run.stdout.trim().split('\n');
		expect(lines).toHaveLength(1);
		expect(lines[0]).toMatch(new RegExp(`^${tokenId}\\s+editor\\s+active\\s+ERP sync$`));
		expect(run.stdout).not.toContain(token);
	});

	it('the token opens the API of a server started on the same data: 200 to read, 201 to create', async () => {
		await withServer(async (server) => {
			expect((await fetch(`${server.url}/api/records`)).status).toBe(401);
			const list = await withToken(server, '/api/records');
			expect(list.status).toBe(200);
			const created = await withToken(server, '/api/records', {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ fields: { name: 'From the ERP' } })
			});
			expect(created.status).toBe(201);
			// An editor token, not an admin one.
			expect((await withToken(server, '/api/tokens')).status).toBe(403);
		});
	});

	it('revokes the token; the server then answers it with 401', async () => {
		const unknown = await cli('token', 'revoke', '00000000-0000-4000-8000-000000000000');
		expect(unknown.code).not.toBe(0);
		expect(unknown.stderr).toMatch(/No active token/);

		const run = await cli('token', 'revoke', tokenId);
		expect(run.code).toBe(0);
		expect(run.stdout).toContain(`Revoked token ${tokenId}.`);
		const listed = await cli('token', 'list');
		expect(listed.stdout).toMatch(new RegExp(`^${tokenId}\\s+editor\\s+revoked\\s+ERP sync$`, 'm'));
		await withServer(async (server) => {
			expect((await withToken(server, '/api/records')).status).toBe(401);
		});
	});
});
