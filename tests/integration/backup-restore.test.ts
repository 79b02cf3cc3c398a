/**
 * The restore drill: a real server with stock y-websocket clients editing, a backup taken
 * while they edit (through the server on PGlite, directly from Postgres), restored with
 * the command line into fresh databases of the other engine and the same one (PGlite →
 * PGlite, PGlite → Postgres, Postgres → PGlite; made from nothing, and one PGlite that a
 * server has migrated but nobody used), then every record's plain JSON compared
 * and `audit verify` run on each. Also: refusals (a database that is not empty, a
 * truncated, damaged or foreign file, a missing or wrong key) that change nothing, and
 * the scheduled backups `/healthz` reports on.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';
import { REPO_ROOT, ServerProcess, apiJson, createRecordVia } from '../support/processes.ts';
import { yWebsocketClient } from '../support/sync-client.ts';
import { tempDir, tempPostgresUrl, type TempDir, type TempPostgres } from '../support/databases.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';
import { eventually, startTestServer } from '../support/server.ts';
import { openDatabase, type Database } from '../../server/database.ts';
import { storedSubjectSources } from '../../server/subject.ts';
import { checkBackupFile } from '../../server/backup/restore.ts';
import type { CustomerRecord } from '../../src/lib/model/record.ts';
import type { Health } from '../../src/lib/server/services.ts';
import { entryArgs } from '../support/entry.ts';

const hasPostgres = Boolean(process.env.DATABASE_URL);

interface Run {
	code: number;
	stdout: string;
	stderr: string;
}

/** `npm run accord -- …` as an operator runs it, against DATA_DIR or DATABASE_URL. */
function cli(target: { dataDir: string; databaseUrl?: string }, args: string[], env: Record<string, string> = {}): Promise<Run> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: target.dataDir, LOG_LEVEL: 'error', ...env };
	for (const name of ['DATABASE_URL', 'REDIS_URL', 'ACCORD_WORKSPACE', 'NODE_OPTIONS', 'ACCORD_BACKUP_KEY', 'ACCORD_DATA_KEY']) if (!(name in env)) delete childEnv[name];
	if (target.databaseUrl) childEnv.DATABASE_URL = target.databaseUrl;
	return new Promise((resolve) => {
		execFile(process.execPath, [...entryArgs('cli'), ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
			resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
		});
	});
}

async function tokenVia(dataDir: string, role: 'admin'): Promise<string> {
	const run = await cli({ dataDir }, ['token', 'create', '--role', role, '--name', `drill ${role}`]);
	if (run.code !== 0) throw new Error(`token create failed: ${run.stderr}`);
	return run.stdout.trim().split('\n').at(-1)!.trim();
}

/** Every record of a database as plain JSON (readRecord of its stored document), by id. */
async function plainRecords(database: Database, workspace = 'demo'): Promise<Map<string, CustomerRecord & { private: boolean }>> {
	const sources = storedSubjectSources(database, workspace);
	const rows = await database.sql.query<{ id: string }>('SELECT id FROM records WHERE workspace_id = $1 ORDER BY id', [workspace]);
	const records = new Map<string, CustomerRecord & { private: boolean }>();
	for (const { id } of rows) records.set(id, (await sources.record(id))!);
	return records;
}

async function withDatabase<T>(target: { dataDir: string; databaseUrl?: string }, use: (database: Database) => Promise<T>): Promise<T> {
	const database = await openDatabase({ databaseUrl: target.databaseUrl, dataDir: target.dataDir, poolSize: 2 });
	try {
		return await use(database);
	} finally {
		await database.close();
	}
}

/** Row counts of every table: what "nothing changed" is checked by. */
async function tableCounts(database: Database): Promise<Record<string, number>> {
	const tables = await database.sql.query<{ name: string }>(
		`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	);
	const counts: Record<string, number> = {};
	for (const { name } of tables) counts[name] = Number((await database.sql.query<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`))[0].n);
	return counts;
}

/** Stock clients editing records until stopped: fields and notes, as fast as the server acknowledges. */
function startEditing(server: ServerProcess, token: string, ids: readonly string[]) {
	const clients = ids.map((id) => ({ id, ...yWebsocketClient(server.wsUrl, { token }, id) }));
	let running = true;
	let round = 0;
	const loop = (async () => {
		await eventually(() => clients.every((c) => c.provider.synced), 'the editing clients to sync', 15_000);
		while (running) {
			round++;
			for (const [index, client] of clients.entries()) {
				client.doc.transact(() => {
					client.doc.getMap('fields').set('city', `City ${round}-${index}`);
					client.doc.getText('notes').insert(0, `${round} `);
				});
			}
			await new Promise((resolve) => setTimeout(resolve, 15));
		}
	})();
	return {
		clients,
		get rounds() {
			return round;
		},
		async stop(): Promise<void> {
			running = false;
			await loop;
		},
		close(): void {
			for (const client of clients) {
				(client.provider as WebsocketProvider).destroy();
				(client.doc as Y.Doc).destroy();
			}
		}
	};
}

function expectVerified(run: Run): void {
	expect(run.stderr).not.toMatch(/broken/);
	expect(run.code, run.stderr).toBe(0);
	expect(run.stdout).toMatch(/entries verified/);
}

describe('backup and restore drill', () => {
	let dirs: TempDir;
	const databases: TempPostgres[] = [];
	let source: ServerProcess | undefined;
	let admin = '';
	let editor = '';
	let ids: string[] = [];
	let busyBackup = '';

	const dir = (name: string) => path.join(dirs.path, name);
	async function freshPostgres(): Promise<TempPostgres> {
		const database = (await tempPostgresUrl())!;
		databases.push(database);
		return database;
	}
	/** A new empty database: Postgres when there is one (made in milliseconds, where a new PGlite directory takes seconds), else PGlite. */
	async function freshTarget(name: string): Promise<{ dataDir: string; databaseUrl?: string }> {
		return hasPostgres ? { dataDir: dir(`${name}-files`), databaseUrl: (await freshPostgres()).url } : { dataDir: dir(name) };
	}

	/**
	 * The PGlite source server. Scheduled backups (every second) only when the test of
	 * them runs: taken all through the file, they cost the source's CPU the whole time.
	 */
	function startSource(scheduled: boolean): Promise<ServerProcess> {
		const schedule: Record<string, string> = scheduled ? { ACCORD_BACKUP_DIR: dir('scheduled'), ACCORD_BACKUP_EVERY: '1s', ACCORD_BACKUP_KEEP: '2' } : {};
		return ServerProcess.start(scheduled ? 'pglite-source-scheduled' : 'pglite-source', { dataDir: dir('source'), env: { ...schedule, ACCORD_COMPACT_AFTER: '40' } });
	}

	beforeAll(async () => {
		dirs = await tempDir('accord-backup-');
		// The source starts as a copy of the migrated template (restores below go into
		// databases made from nothing, as an operator's are).
		await seedPgliteDataDir(dir('source'));
		admin = await tokenVia(dir('source'), 'admin');
		source = await startSource(false);
		const made = await apiJson<{ token: string }>(`${source.url}/api/tokens`, admin, { method: 'POST', body: JSON.stringify({ name: 'drill editor', role: 'editor' }) });
		expect(made.status).toBe(201);
		editor = made.body.token;
		ids = [];
		for (let i = 0; i < 12; i++) ids.push(await createRecordVia(source, editor, { name: `Drill ${i}`, company: `公司 ${i}`, email: `drill${i}@example.com`, value: 1000 + i }));
	}, 300_000);

	afterAll(async () => {
		await source?.kill('SIGTERM');
		for (const database of databases) await database.drop();
		await dirs?.remove();
	});

	it('takes a backup through the running PGlite server while clients edit, and refuses it to non-admins', async () => {
		const editing = startEditing(source!, editor, ids.slice(0, 4));
		try {
			await eventually(() => editing.rounds > 20, 'the clients to be editing', 20_000);
			const denied = await apiJson<{ message: string }>(`${source!.url}/api/admin/backup`, editor);
			expect(denied.status).toBe(403);
			busyBackup = dir('busy.accordbackup');
			const before = editing.rounds;
			const run = await cli({ dataDir: dir('unused') }, ['backup', busyBackup, '--server', source!.url], { ACCORD_TOKEN: admin });
			expect(run.stderr).toBe('');
			expect(run.code).toBe(0);
			expect(run.stdout).toMatch(/^Wrote .*busy\.accordbackup from http:\/\/127\.0\.0\.1:\d+: \d+ tables, \d+ rows, schema version \d+/);
			// The clients went on editing while it was taken.
			expect(editing.rounds).toBeGreaterThan(before);
		} finally {
			await editing.stop();
			editing.close();
		}
		const header = await checkBackupFile(busyBackup);
		expect(header.engine).toBe('pglite');
		expect(header.encryption).toBeNull();
		expect(header.tables.map((t) => t.name)).toEqual(expect.arrayContaining(['documents', 'document_updates', 'records', 'audit_log', 'audit_heads', 'audit_identity', 'users', 'workspaces', 'api_tokens', 'schema_migrations']));
		expect(header.tables.find((t) => t.name === 'records')!.rows).toBe(12);
	}, 300_000);

	it('restores the busy backup into a fresh PGlite and a fresh Postgres: the same records, consistent with their audit log, and the chain verifies', async () => {
		const pglite = { dataDir: dir('restored-pglite') };
		const restored = await cli(pglite, ['restore', busyBackup]);
		expect(restored.stderr).toBe('');
		expect(restored.code).toBe(0);
		expect(restored.stdout).toMatch(/Restored .* from pglite, schema version \d+\) into the embedded database/);
		expectVerified(await cli(pglite, ['audit', 'verify']));
		const fromPglite = await withDatabase(pglite, async (database) => {
			const records = await plainRecords(database);
			// One snapshot: each edited record's newest audit entry for its city is the city its document holds.
			for (const id of ids.slice(0, 4)) {
				const page = await database.audit.query({ workspace: 'demo', recordId: id, field: 'city', limit: 1, offset: 0 });
				expect(page.entries[0]?.after, `record ${id}`).toBe(records.get(id)!.fields.city);
			}
			return records;
		});
		expect(fromPglite.size).toBe(12);

		if (!hasPostgres) return;
		const postgres = { dataDir: dir('restored-postgres-files'), databaseUrl: (await freshPostgres()).url };
		const intoPostgres = await cli(postgres, ['restore', busyBackup]);
		expect(intoPostgres.code, intoPostgres.stderr).toBe(0);
		expectVerified(await cli(postgres, ['audit', 'verify']));
		const fromPostgres = await withDatabase(postgres, plainRecords);
		expect(fromPostgres).toEqual(fromPglite);
	}, 300_000);

	it('restores a backup of the idle workspace with every record exactly as the server serves it', async () => {
		const file = dir('idle.accordbackup');
		const run = await cli({ dataDir: dir('unused') }, ['backup', file, '--server', source!.url], { ACCORD_TOKEN: admin });
		expect(run.code, run.stderr).toBe(0);
		const target = await freshTarget('restored-idle');
		expect((await cli(target, ['restore', file])).code).toBe(0);
		expectVerified(await cli(target, ['audit', 'verify']));
		const restored = await withDatabase(target, plainRecords);
		for (const id of ids) {
			const served = await apiJson<CustomerRecord & { private: boolean }>(`${source!.url}/api/records/${id}`, editor);
			expect(restored.get(id), `record ${id}`).toEqual(served.body);
		}
	}, 300_000);

	it('refuses to restore into a database that is not empty, changing nothing', async () => {
		const target = { dataDir: dir('restored-pglite') };
		const before = await withDatabase(target, tableCounts);
		const run = await cli(target, ['restore', busyBackup]);
		expect(run.code).toBe(1);
		expect(run.stderr).toMatch(/The target database is not empty \(rows: \d+ in workspaces.*nothing was changed/);
		expect(await withDatabase(target, tableCounts)).toEqual(before);
	}, 180_000);

	it('refuses a truncated, a damaged and a foreign file with a clear message, creating no database', async () => {
		const truncated = dir('truncated.accordbackup');
		await copyFile(busyBackup, truncated);
		const size = (await readFile(truncated)).length;
		await truncate(truncated, size - 100);
		const damaged = dir('damaged.accordbackup');
		const bytes = await readFile(busyBackup);
		bytes[bytes.length - 50] ^= 0xff;
		await writeFile(damaged, bytes);
		const foreign = dir('foreign.accordbackup');
		await writeFile(foreign, 'name,email\nLi Na,li@example.com\n');

		const cases: [string, RegExp][] = [
			[truncated, /The backup file is incomplete \(truncated\): it holds \d+ bytes of content where its header says \d+\. Nothing was restored/],
			[damaged, /The backup file is damaged: its content's SHA-256 is [0-9a-f]{64}, its header says [0-9a-f]{64}\. Nothing was restored/],
			[foreign, /This is not an Accord backup file/],
			[dir('missing.accordbackup'), /Cannot read .*missing\.accordbackup: no such file/]
		];
		for (const [file, message] of cases) {
			const target = { dataDir: dir(`refused-${randomBytes(3).toString('hex')}`) };
			const run = await cli(target, ['restore', file]);
			expect(run.code, file).toBe(1);
			expect(run.stderr).toMatch(message);
			expect(run.stderr).not.toMatch(/\n\s+at /);
			expect(existsSync(path.join(target.dataDir, 'pglite'))).toBe(false);
		}
	}, 180_000);

	it('keeps the scheduled backups it is told to keep, and /healthz says when the last one succeeded', async () => {
		await source!.kill('SIGTERM');
		source = await startSource(true);
		let health: Health | undefined;
		await eventually(
			async () => {
				health = (await (await fetch(`${source!.url}/healthz`)).json()) as Health;
				return health.backup?.lastSuccessAt !== null && health.backup?.lastSuccessAt !== undefined;
			},
			'a scheduled backup',
			30_000
		);
		expect(health!.backup!.lastFailure).toBeNull();
		expect(Date.parse(health!.backup!.nextAt!)).toBeGreaterThan(Date.parse(health!.backup!.lastSuccessAt!));
		// Enough runs for pruning to have had work to do.
		await eventually(async () => (await readdir(dir('scheduled'))).filter((n) => n.endsWith('.accordbackup')).length >= 2, 'two scheduled backups', 30_000);
		const first = (await readdir(dir('scheduled'))).sort()[0];
		await eventually(async () => !(await readdir(dir('scheduled'))).includes(first), 'the oldest backup to be pruned', 30_000);
		const kept = (await readdir(dir('scheduled'))).filter((n) => n.endsWith('.accordbackup'));
		expect(kept.length).toBeLessThanOrEqual(2);
		for (const name of kept) expect((await checkBackupFile(path.join(dir('scheduled'), name))).tables.length).toBeGreaterThan(5);
	}, 180_000);

	it('encrypts with ACCORD_BACKUP_KEY, and a restore without the key or with another refuses by key id', async () => {
		await source!.kill('SIGTERM');
		const key = randomBytes(32).toString('base64');
		const file = dir('encrypted.accordbackup');
		const run = await cli({ dataDir: dir('source') }, ['backup', file], { ACCORD_BACKUP_KEY: key });
		expect(run.code, run.stderr).toBe(0);
		expect(run.stdout).toMatch(/encrypted \(key id [0-9a-f]{16}\)/);
		const header = await checkBackupFile(file);
		expect(header.encryption?.algorithm).toBe('aes-256-gcm');

		const noKey = await cli({ dataDir: dir('enc-none') }, ['restore', file]);
		expect(noKey.code).toBe(1);
		expect(noKey.stderr).toMatch(/This backup is encrypted \(key id [0-9a-f]{16}\): set ACCORD_BACKUP_KEY/);
		const wrongKey = await cli({ dataDir: dir('enc-wrong') }, ['restore', file], { ACCORD_BACKUP_KEY: randomBytes(32).toString('base64') });
		expect(wrongKey.code).toBe(1);
		expect(wrongKey.stderr).toMatch(/encrypted with key id [0-9a-f]{16}; the key configured here has id [0-9a-f]{16}/);
		expect(existsSync(path.join(dir('enc-wrong'), 'pglite'))).toBe(false);

		const target = await freshTarget('enc-right');
		const restored = await cli(target, ['restore', file], { ACCORD_BACKUP_KEY: key });
		expect(restored.code, restored.stderr).toBe(0);
		expectVerified(await cli(target, ['audit', 'verify']));
		const [fromSource, fromRestore] = [await withDatabase({ dataDir: dir('source') }, plainRecords), await withDatabase(target, plainRecords)];
		expect(fromRestore).toEqual(fromSource);
	}, 300_000);

	it.skipIf(!hasPostgres)('backs up Postgres directly while clients edit, and restores it into a fresh PGlite', async () => {
		const database = await freshPostgres();
		const target = { dataDir: dir('pg-source-files'), databaseUrl: database.url };
		const pgEditor = await (async () => {
			const run = await cli(target, ['token', 'create', '--role', 'editor', '--name', 'drill']);
			return run.stdout.trim().split('\n').at(-1)!.trim();
		})();
		const server = await ServerProcess.start('postgres-source', { databaseUrl: database.url, env: { DATA_DIR: dir('pg-source-files') } });
		try {
			const pgIds: string[] = [];
			for (let i = 0; i < 8; i++) pgIds.push(await createRecordVia(server, pgEditor, { name: `Postgres ${i}`, city: 'Shanghai' }));
			const editing = startEditing(server, pgEditor, pgIds.slice(0, 3));
			const file = dir('postgres.accordbackup');
			try {
				await eventually(() => editing.rounds > 20, 'the clients to be editing', 20_000);
				const run = await cli(target, ['backup', file]);
				expect(run.code, run.stderr).toBe(0);
				expect(run.stdout).toMatch(/Wrote .* \d+ tables, \d+ rows, schema version \d+/);
			} finally {
				await editing.stop();
				editing.close();
			}
			expect((await checkBackupFile(file)).engine).toBe('postgres');
			// Into a PGlite a server has migrated but nobody used (a first start, then stopped),
			// the other empty database an operator restores into: the restores into PGlite
			// above start from nothing, and making one from nothing costs 13–14 s of CPU.
			const pglite = { dataDir: dir('pg-to-pglite') };
			await seedPgliteDataDir(pglite.dataDir);
			await withDatabase(pglite, async () => undefined);
			const restored = await cli(pglite, ['restore', file]);
			expect(restored.code, restored.stderr).toBe(0);
			expect(restored.stdout).toMatch(/from postgres/);
			expectVerified(await cli(pglite, ['audit', 'verify']));
			await withDatabase(pglite, async (db) => {
				const records = await plainRecords(db);
				expect([...records.keys()].sort()).toEqual([...pgIds].sort());
				for (const id of pgIds.slice(0, 3)) {
					const page = await db.audit.query({ workspace: 'demo', recordId: id, field: 'city', limit: 1, offset: 0 });
					expect(page.entries[0]?.after, `record ${id}`).toBe(records.get(id)!.fields.city);
				}
			});
		} finally {
			await server.kill('SIGTERM');
		}
	}, 300_000);
});

describe('a scheduled backup that fails', () => {
	it('is reported by /healthz with its reason, and the server keeps serving', async () => {
		const files = await tempDir('accord-backup-fail-');
		await writeFile(path.join(files.path, 'a-file'), 'not a directory');
		const server = await startTestServer({ dataDir: path.join(files.path, 'data'), backupDir: path.join(files.path, 'a-file', 'backups'), backupEveryMs: 1_000 });
		try {
			let health: Health | undefined;
			await eventually(
				async () => {
					health = (await (await fetch(`${server.url}/healthz`)).json()) as Health;
					return health.backup?.lastFailure !== null && health.backup?.lastFailure !== undefined;
				},
				'the failure to be reported',
				20_000
			);
			expect(health!.status).toBe('ok');
			expect(health!.backup!.lastSuccessAt).toBeNull();
			expect(health!.backup!.lastFailure!.message).toMatch(/ENOTDIR|not a directory/);
		} finally {
			await server.close();
			await files.remove();
		}
	}, 180_000);
});
