/**
 * Encryption at rest, on PGlite and on Postgres: a server with a data key stores no
 * customer text in the clear where the README says it does not (document snapshots, the
 * update log, the audit log's values; raw bytes searched), while listing, search, a
 * record's page, its history and `audit verify` work as before. Then the refusals: a
 * server given another key, or none, for a database encrypted with a key refuses to start
 * with a message naming the key, and changes nothing; production without a key refuses;
 * `keys new` prints a key in the form ACCORD_DATA_KEY takes.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/http.ts';
import { openDatabase } from '../../server/database.ts';
import { formatDataKey, installDataKeys, isSealed, keyId, newDataKey, parseDataKeys, sealedAuditBytes, sealedKeyId, type DataKeyRing } from '../../server/crypto/data-key.ts';
import { REPO_ROOT } from '../support/processes.ts';
import { apiFetch, createRecord, startTestServer, tempDataDir } from '../support/server.ts';
import { tempPostgresUrl, type TempPostgres } from '../support/databases.ts';
import type { Sql } from '../../server/store/types.ts';
import { entryArgs } from '../support/entry.ts';

const engines = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])] as const;

/** Words of one customer that must not be readable in the encrypted places. */
const NEEDLES = ['Zephyrine', 'Quackenbush', 'Marmalade', 'oolong'];

function run(command: 'main' | 'cli', args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
	const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
	for (const name of ['DATABASE_URL', 'REDIS_URL', 'ACCORD_DATA_KEY', 'ACCORD_DATA_KEY_FILE', 'ACCORD_BACKUP_KEY', 'NODE_ENV', 'NODE_OPTIONS']) delete childEnv[name];
	for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;
	return new Promise((resolve) => {
		execFile(process.execPath, [...entryArgs(command), ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 120_000 }, (error, stdout, stderr) => {
			resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
		});
	});
}

/** Every stored byte value and audit value, raw, as the database hands them out. */
async function rawValues(sql: Sql): Promise<{ bytes: Buffer[]; audit: { path: string; text: string; value: unknown }[] }> {
	const bytes = await sql.query<{ v: Uint8Array }>('SELECT snapshot AS v FROM documents WHERE snapshot IS NOT NULL UNION ALL SELECT update AS v FROM document_updates');
	const audit: { path: string; text: string; value: unknown }[] = [];
	for (const table of ['audit_log', 'audit_pending']) {
		for (const column of ['before', 'after', 'conflict']) {
			const rows = await sql.query<{ path: string; text: string; value: unknown }>(`SELECT path, ${column}::text AS text, ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL`);
			audit.push(...rows);
		}
	}
	return { bytes: bytes.map((row) => Buffer.from(row.v)), audit };
}

/** Every table's rows as text, hashed: what "changes nothing" is checked against. */
async function contentHashes(sql: Sql): Promise<Record<string, string>> {
	const tables = await sql.query<{ name: string }>(
		`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	);
	const hashes: Record<string, string> = {};
	for (const { name } of tables) {
		const [row] = await sql.query<{ h: string | null }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM "${name}" AS t`);
		hashes[name] = row.h ?? 'empty';
	}
	return hashes;
}

describe.each(engines)('encryption at rest on %s', (engine) => {
	let server: RunningServer;
	let data: { dir: string; remove(): void };
	let postgres: TempPostgres | null = null;
	let ring: DataKeyRing;
	let id = '';
	const target = () => ({ dataDir: data.dir, databaseUrl: postgres?.url });

	beforeAll(async () => {
		data = tempDataDir('accord-encryption-');
		postgres = engine === 'postgres' ? await tempPostgresUrl({ migrated: true }) : null;
		ring = parseDataKeys(formatDataKey(newDataKey()));
		server = await startTestServer({ dataDir: data.dir, databaseUrl: postgres?.url, dataKeys: ring, backupKeys: ring });
		id = await createRecord(server, { name: 'Zephyrine Quackenbush', company: 'Marmalade Foundry', email: 'zephyrine@quackenbush.example' }, { notes: 'Prefers oolong.' });
		for (const city of ['Quackenbush Falls', 'Marmalade Bay', 'Port Zephyrine']) {
			const patched = await apiFetch(`${server.url}/api/records/${id}`, {
				method: 'PATCH',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ fields: { city, stage: 'qualified' } })
			});
			expect(patched.status).toBe(200);
		}
		// A snapshot as compaction writes it, so that path is covered whatever the room did.
		const { documents, audit } = server.accord.database;
		const stored = (await documents.loadDocument(id))!;
		const merged = Y.mergeUpdates(stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates);
		await documents.compact(id, merged, stored.lastSeq);
		await audit.seal({ all: true });
		// One more change after sealing: an entry still staged (audit_pending) is covered too.
		await apiFetch(`${server.url}/api/records/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fields: { company: 'Marmalade Works' } }) });
	}, 180_000);

	afterAll(async () => {
		await server?.close().catch(() => {});
		installDataKeys(null);
		await postgres?.drop();
		data?.remove();
	});

	it('keeps no customer text readable in snapshots, the update log or the audit values; every value names the newest key', async () => {
		const { bytes, audit } = await rawValues(server.accord.database.sql);
		expect(bytes.length).toBeGreaterThan(1);
		const [snapshots] = await server.accord.database.sql.query<{ n: number }>('SELECT count(*) AS n FROM documents WHERE snapshot IS NOT NULL');
		expect(Number(snapshots.n)).toBeGreaterThan(0);
		for (const value of bytes) {
			for (const needle of NEEDLES) expect(value.includes(needle), `a stored document value holds "${needle}"`).toBe(false);
			expect(isSealed(value)).toBe(true);
			expect(sealedKeyId(value)).toBe(ring.newest.id);
		}
		const sealedAudit = audit.filter((row) => row.path !== 'fields.stage' && row.path !== 'private');
		expect(sealedAudit.length).toBeGreaterThan(3);
		for (const row of sealedAudit) {
			for (const needle of NEEDLES) expect(row.text.includes(needle), `audit value at ${row.path} holds "${needle}"`).toBe(false);
			expect(sealedKeyId(sealedAuditBytes(row.value) ?? new Uint8Array())).toBe(ring.newest.id);
		}
		// Kept readable by choice (README): stage changes, which the dashboard's SQL reads.
		expect(audit.some((row) => row.path === 'fields.stage' && row.text === '"qualified"')).toBe(true);
		// And the list row, which sorting, filtering and search run on.
		const [row] = await server.accord.database.sql.query<{ name: string }>('SELECT name FROM records WHERE id = $1', [id]);
		expect(row.name).toBe('Zephyrine Quackenbush');
	});

	it('lists, searches, opens a record and shows its history as before', async () => {
		const search = await apiFetch(`${server.url}/api/records?q=${encodeURIComponent('Quackenbush')}`);
		expect(search.status).toBe(200);
		const page = (await search.json()) as { rows: { id: string; name: string }[] };
		expect(page.rows.map((r) => r.id)).toContain(id);
		// After the room unloads, the record is read back from the sealed snapshot and log.
		await new Promise((resolve) => setTimeout(resolve, 600));
		const record = (await (await apiFetch(`${server.url}/api/records/${id}`)).json()) as { fields: Record<string, unknown>; notes: string };
		expect(record.fields).toMatchObject({ name: 'Zephyrine Quackenbush', company: 'Marmalade Works', city: 'Port Zephyrine' });
		expect(record.notes).toContain('oolong');
		const history = (await (await apiFetch(`${server.url}/api/records/${id}/history`)).json()) as { entries: { path: string; after: unknown }[] };
		expect(history.entries).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'fields.city', after: 'Port Zephyrine' })]));
		expect((await apiFetch(`${server.url}/api/analytics`)).status).toBe(200);
	});

	it('keeps the audit chain verifiable (its hashes are over the plain values)', async () => {
		const { audit } = server.accord.database;
		await audit.seal({ all: true });
		const result = await audit.verify(server.accord.services.defaultWorkspace);
		expect(result.problem).toBeNull();
		expect(result.entries).toBeGreaterThan(3);
	});

	it('refuses to start with another key, or with none, naming the key it needs, and changes nothing', async () => {
		await server.close();
		installDataKeys(ring);
		const before = await withSql(target(), contentHashes);
		const other = formatDataKey(newDataKey());
		const env = (key?: string) => ({ ACCORD_DATA_KEY: key, ACCORD_SEED_DEMO: '0', DATA_DIR: data.dir, DATABASE_URL: postgres?.url });
		const wrong = await run('main', [], { ...env(other), PORT: '0', LOG_LEVEL: 'info' });
		expect(wrong.code).toBe(1);
		expect(wrong.stdout + wrong.stderr).toMatch(
			new RegExp(`Accord could not start: The database holds \\d+ value\\(s\\) encrypted with data key ${ring.newest.id}, which ACCORD_DATA_KEY does not hold \\(it holds ${keyId(parseDataKeys(other).newest.key)}\\)`)
		);
		const none = await run('main', [], { ...env(undefined), PORT: '0', LOG_LEVEL: 'info' });
		expect(none.code).toBe(1);
		expect(none.stdout + none.stderr).toMatch(new RegExp(`encrypted with data key ${ring.newest.id}, but no ACCORD_DATA_KEY \\(or ACCORD_DATA_KEY_FILE\\) is set`));
		// The command line refuses the same way (token list opens the database like the server).
		const cli = await run('cli', ['token', 'list'], env(other));
		expect(cli.code).not.toBe(0);
		expect(cli.stderr).toMatch(`encrypted with data key ${ring.newest.id}`);
		expect(await withSql(target(), contentHashes)).toEqual(before);
		// The right key still opens it.
		const right = await run('cli', ['keys', 'status'], env(formatDataKey(ring.newest.key)));
		expect(right.stderr).toBe('');
		expect(right.stdout).toMatch(new RegExp(`under key ${ring.newest.id} \\(newest\\)`));
	}, 600_000);
});

async function withSql<T>(target: { dataDir: string; databaseUrl?: string }, use: (sql: Sql) => Promise<T>): Promise<T> {
	const database = await openDatabase({ dataDir: target.dataDir, databaseUrl: target.databaseUrl, poolSize: 2 });
	try {
		return await use(database.sql);
	} finally {
		await database.close();
	}
}

describe('data keys at the command line and in production', () => {
	it('keys new prints a fresh key as id:base64, which ACCORD_DATA_KEY takes', async () => {
		const first = await run('cli', ['keys', 'new'], {});
		const second = await run('cli', ['keys', 'new'], {});
		expect(first.code).toBe(0);
		expect(first.stdout).toMatch(/^[0-9a-f]{16}:[A-Za-z0-9+/]{43}=\n$/);
		expect(second.stdout).not.toBe(first.stdout);
		const ring = parseDataKeys(first.stdout);
		expect(ring.newest.key.length).toBe(32);
		expect(first.stdout.startsWith(`${ring.newest.id}:`)).toBe(true);
		// An id that does not fit its key (a key copied incompletely) is refused.
		expect(() => parseDataKeys(`0000000000000000:${ring.newest.key.toString('base64')}`)).toThrow(/written with id 0000000000000000, but its id is/);
		expect(() => parseDataKeys('dG9vIHNob3J0')).toThrow(/not 32 bytes in base64/);
	});

	it('refuses to start in production without a data key', async () => {
		const data = tempDataDir('accord-production-');
		try {
			const started = await run('main', [], { NODE_ENV: 'production', ACCORD_DEV_IDP: '1', DATA_DIR: data.dir, PORT: '0', LOG_LEVEL: 'info' });
			expect(started.code).toBe(1);
			expect(started.stdout + started.stderr).toMatch(/NODE_ENV is production but no data key is configured/);
		} finally {
			data.remove();
		}
	});
});
