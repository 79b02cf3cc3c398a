/**
 * Key rotation while Accord serves, with a crash half-way: records are written under key
 * A; the ring becomes "A,B" (B the newest); `keys rotate` is killed (SIGKILL) after its
 * first batches, leaving values under both keys; run again, it finishes, and every value
 * is under B. Meanwhile clients list, read and edit without a single error, `audit verify`
 * passes after, and a server given only B then starts. On Postgres the command runs beside
 * the server; on PGlite (one process at a time) the command runs with the server stopped
 * and the server, started with the new ring, finishes the rotation itself while it serves.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, ServerProcess, apiJson, createRecordVia } from '../support/processes.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import { tempDataDir } from '../support/server.ts';
import { formatDataKey, installDataKeys, newDataKey, parseDataKeys } from '../../server/crypto/data-key.ts';
import { keyCensus, type KeyCensus } from '../../server/crypto/stored-keys.ts';
import { openDatabase } from '../../server/database.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';
import { newId, readRecord, setField, writeNewRecord } from '../../src/lib/model/record.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import * as Y from 'yjs';
import { entryArgs } from '../support/entry.ts';

const keyA = formatDataKey(newDataKey());
const keyB = formatDataKey(newDataKey());
const idA = keyA.split(':')[0];
const idB = keyB.split(':')[0];

interface Target {
	dataDir: string;
	databaseUrl?: string;
}

/** `npm run accord -- …` as a child process; `onLine` sees stdout as it comes and may kill it. */
function cli(target: Target, args: string[], env: Record<string, string>, onStdout?: (text: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', DATA_DIR: target.dataDir, ...env };
	for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS', 'ACCORD_BACKUP_KEY']) delete childEnv[name];
	if (target.databaseUrl) childEnv.DATABASE_URL = target.databaseUrl;
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [...entryArgs('cli'), ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
			onStdout?.(stdout, () => child.kill('SIGKILL'));
		});
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
	});
}

async function census(target: Target, ring: string): Promise<KeyCensus> {
	installDataKeys(parseDataKeys(ring));
	const database = await openDatabase({ ...target, poolSize: 2 });
	try {
		return await keyCensus(database.sql);
	} finally {
		await database.close();
		installDataKeys(null);
	}
}

/** Clients of a server: list, read and edit records every few milliseconds; every answer that is not 2xx is kept. */
function clientLoad(server: () => ServerProcess, token: string, ids: string[]) {
	const failures: string[] = [];
	let requests = 0;
	let stopped = false;
	const loop = (async () => {
		for (let i = 0; !stopped; i++) {
			const id = ids[i % ids.length];
			const calls: [string, RequestInit][] = [
				[`/api/records?limit=20&sort=name`, {}],
				[`/api/records/${id}`, {}],
				[`/api/records/${id}`, { method: 'PATCH', body: JSON.stringify({ fields: { city: `Zephyr ${i}` } }) }],
				[`/api/records/${id}/history?limit=5`, {}]
			];
			for (const [path, init] of calls) {
				try {
					const { status, body } = await apiJson<unknown>(`${server().url}${path}`, token, init);
					requests++;
					if (status < 200 || status >= 300) failures.push(`${init.method ?? 'GET'} ${path}: ${status} ${JSON.stringify(body).slice(0, 200)}`);
				} catch (error) {
					failures.push(`${init.method ?? 'GET'} ${path}: ${(error as Error).message}`);
				}
			}
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	})();
	return {
		failures,
		get requests() {
			return requests;
		},
		async stop() {
			stopped = true;
			await loop;
		}
	};
}

async function tokenVia(target: Target, key: string): Promise<string> {
	const made = await cli(target, ['token', 'create', '--role', 'editor', '--name', 'rotation'], { ACCORD_DATA_KEY: key });
	if (made.code !== 0) throw new Error(`token create failed: ${made.stderr}`);
	return made.stdout.trim().split('\n').at(-1)!.trim();
}

async function seed(server: ServerProcess, token: string): Promise<string[]> {
	const ids: string[] = [];
	for (let i = 0; i < 25; i++) {
		const id = await createRecordVia(server, token, { name: `Quackenbush ${i}`, email: `q${i}@marmalade.example` });
		for (const city of ['Oolong', 'Marmalade Bay']) {
			const { status } = await apiJson(`${server.url}/api/records/${id}`, token, { method: 'PATCH', body: JSON.stringify({ fields: { city } }) });
			expect(status).toBe(200);
		}
		ids.push(id);
	}
	return ids;
}

/** Kills `keys rotate` after its first progress lines: a crash half-way. */
async function rotateAndCrash(target: Target): Promise<void> {
	let seen = 0;
	const crashed = await cli(target, ['keys', 'rotate', '--batch', '5', '--pause', '150'], { ACCORD_DATA_KEY: `${keyA},${keyB}` }, (stdout, kill) => {
		seen = (stdout.match(/re-encrypted/g) ?? []).length;
		if (seen >= 2) kill();
	});
	expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
	const half = await census(target, `${keyA},${keyB}`);
	expect(half.byKey.get(idB) ?? 0).toBeGreaterThan(0);
	expect(half.byKey.get(idA) ?? 0).toBeGreaterThan(0);
}

describe.skipIf(!process.env.DATABASE_URL)('key rotation on Postgres, beside a running server', () => {
	let postgres: TempPostgres | null = null;
	let server: ServerProcess | null = null;
	const data = tempDataDir('accord-rotation-pg-');
	afterAll(async () => {
		await server?.kill('SIGTERM');
		await postgres?.drop();
		data.remove();
	});

	it('re-encrypts under the newest key while clients work, survives a crash half-way, and leaves the chain verifiable', async () => {
		postgres = await tempPostgresUrl({ migrated: true });
		const target = { dataDir: data.dir, databaseUrl: postgres!.url };
		const token = await tokenVia(target, keyA);
		server = await ServerProcess.start('rotation-a', { databaseUrl: target.databaseUrl, dataDir: data.dir, env: { ACCORD_DATA_KEY: keyA, ACCORD_IDLE_UNLOAD_MS: '300' } });
		const ids = await seed(server, token);
		await server.kill('SIGTERM');
		expect([...(await census(target, keyA)).byKey.keys()]).toEqual([idA]);

		// Every instance restarted with the new key last: new values go under B from now on.
		server = await ServerProcess.start('rotation-ab', { databaseUrl: target.databaseUrl, dataDir: data.dir, env: { ACCORD_DATA_KEY: `${keyA},${keyB}`, ACCORD_IDLE_UNLOAD_MS: '300' } });
		expect(server.log).toMatch(/stored value\(s\) are not under the newest data key/);
		const load = clientLoad(() => server!, token, ids);

		const dry = await cli(target, ['keys', 'rotate', '--dry-run'], { ACCORD_DATA_KEY: `${keyA},${keyB}` });
		expect(dry.code, dry.stderr).toBe(0);
		expect(dry.stdout).toMatch(new RegExp(`\\d+ value\\(s\\) to re-encrypt under ${idB} \\(dry run: nothing changed\\)`));
		expect((await census(target, `${keyA},${keyB}`)).byKey.get(idA)).toBeGreaterThan(0);

		await rotateAndCrash(target);
		const resumed = await cli(target, ['keys', 'rotate', '--batch', '50'], { ACCORD_DATA_KEY: `${keyA},${keyB}` });
		expect(resumed.code, resumed.stderr).toBe(0);
		expect(resumed.stdout).toMatch(new RegExp(`Everything is under ${idB}`));

		await load.stop();
		expect(load.failures).toEqual([]);
		expect(load.requests).toBeGreaterThan(20);
		const done = await census(target, `${keyA},${keyB}`);
		expect([...done.byKey.keys()]).toEqual([idB]);
		expect(done.plain).toBe(0);

		const verified = await cli(target, ['audit', 'verify'], { ACCORD_DATA_KEY: `${keyA},${keyB}` });
		expect(verified.code, verified.stdout + verified.stderr).toBe(0);

		// The old key can go.
		await server.kill('SIGTERM');
		server = await ServerProcess.start('rotation-b', { databaseUrl: target.databaseUrl, dataDir: data.dir, env: { ACCORD_DATA_KEY: keyB } });
		const { status, body } = await apiJson<{ fields: { name: string } }>(`${server.url}/api/records/${ids[3]}`, token);
		expect(status).toBe(200);
		expect(body.fields.name).toBe('Quackenbush 3');
	}, 600_000);
});

describe('key rotation on PGlite: the command with the server stopped, then the server itself while it serves', () => {
	let server: ServerProcess | null = null;
	const data = tempDataDir('accord-rotation-pglite-');
	afterAll(async () => {
		await server?.kill('SIGTERM');
		data.remove();
	});

	it('resumes after a crash half-way and finishes in the background of a serving server', async () => {
		const target = { dataDir: data.dir };
		// Written under key A directly through the store (one server start fewer on a loaded machine).
		const { token, ids } = await seedThroughStore(data.dir, keyA);

		await rotateAndCrash(target);

		server = await ServerProcess.start('pglite-ab', { dataDir: data.dir, env: { ACCORD_DATA_KEY: `${keyA},${keyB}`, ACCORD_IDLE_UNLOAD_MS: '300' } });
		const load = clientLoad(() => server!, token, ids);
		await server.waitForLog('re-encryption done', 180_000);
		await load.stop();
		expect(load.failures).toEqual([]);
		expect(load.requests).toBeGreaterThan(0);
		await server.kill('SIGTERM');

		const done = await census(target, `${keyA},${keyB}`);
		expect([...done.byKey.keys()]).toEqual([idB]);
		expect(done.plain).toBe(0);
		const verified = await cli(target, ['audit', 'verify'], { ACCORD_DATA_KEY: keyB });
		expect(verified.code, verified.stdout + verified.stderr).toBe(0);

		server = await ServerProcess.start('pglite-b', { dataDir: data.dir, env: { ACCORD_DATA_KEY: keyB } });
		const { status, body } = await apiJson<{ fields: { name: string } }>(`${server.url}/api/records/${ids[7]}`, token);
		expect(status).toBe(200);
		expect(body.fields.name).toBe('Quackenbush 7');
	}, 600_000);
});

/** 25 records, each with two later updates and their audit entries, and an editor's token, written through the store under `key`. */
async function seedThroughStore(dataDir: string, key: string): Promise<{ token: string; ids: string[] }> {
	await seedPgliteDataDir(dataDir);
	installDataKeys(parseDataKeys(key));
	const database = await openDatabase({ dataDir });
	try {
		await database.documents.ensureWorkspace('demo', 'demo');
		const { token } = await database.auth.createApiToken({ workspace: 'demo', name: 'rotation', role: 'editor', createdBy: null });
		const ids: string[] = [];
		const bob = { id: 'bob', name: 'Bob Martin' };
		for (let i = 0; i < 25; i++) {
			const id = newId();
			const doc = new Y.Doc();
			writeNewRecord(doc, { fields: { name: `Quackenbush ${i}`, email: `q${i}@marmalade.example` }, workspace: 'demo', createdBy: 'bob' });
			const at = new Date().toISOString();
			const draft = (path: string, after: string) => ({ workspace: 'demo', recordId: id, at, actor: bob, source: 'api' as const, relayedBy: null, path, op: 'set' as const, before: null, after, conflict: null });
			await database.documents.createDocument(id, 'demo', Y.encodeStateAsUpdate(doc), projectRecord(readRecord(doc, id), at), {
				binding: { client: doc.clientID, person: bob },
				drafts: [draft('fields.name', `Quackenbush ${i}`)]
			});
			for (const city of ['Oolong', 'Marmalade Bay']) {
				const before = Y.encodeStateVector(doc);
				setField(doc, 'city', city);
				await database.documents.appendUpdates([{ documentId: id, update: Y.encodeStateAsUpdate(doc, before), audit: [draft('fields.city', city)] }]);
			}
			ids.push(id);
		}
		await database.audit.seal({ all: true });
		return { token, ids };
	} finally {
		await database.close();
		installDataKeys(null);
	}
}
