/**
 * Migrated, empty databases kept as templates and copied for test servers, because making
 * one from nothing is the slowest part of starting a server: a new PGlite data directory
 * (initdb in WASM, then every migration) cost 13–14 s of CPU and 15–40 s of wall time on
 * the loaded 2-core test machine, a copy of a migrated one about 0.3 s before the usual
 * open; a Postgres database made from a template skips every migration.
 *
 * A template is made on first use, by the first test process that needs it, and kept
 * between runs (PGlite's under the system's temporary directory, where one unused for a
 * day is removed when a new one is made; Postgres's as a database `accord_template_<key>`
 * on DATABASE_URL's server, 8 MB each). Its key is a hash of the migrations
 * and the PGlite version, so a change to either makes a new one, and checkouts with
 * different migrations never share one. Copies still run `migrate()` when their server
 * starts, which then finds everything recorded. ACCORD_TEST_FRESH_DATABASES=1 turns the
 * templates off: every database is made from nothing, as before. Tests of migrations, or
 * of what an empty database does, do not use them.
 *
 * One migration writes a row that must differ between databases: the database's audit
 * identity (migration 7), which audit anchors name so that anchors of different databases
 * in one file are told apart. Copies must not share it, so a template leaves that one
 * migration unapplied (its table dropped, its ledger row removed) and each copy applies
 * it at its first start, making an identity of its own. Any other migration that writes
 * rows stops the template being made, with a message, rather than being shared silently.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase } from '../../server/database.ts';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import type { Sql } from '../../server/store/types.ts';

/** Set to 1 to make every test database from nothing (no templates). */
export const FRESH_DATABASES_ENV = 'ACCORD_TEST_FRESH_DATABASES';
/** Changes when what a template holds changes (not the migrations: those are hashed). */
const TEMPLATE_FORMAT = 1;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function templatesWanted(): boolean {
	return process.env[FRESH_DATABASES_ENV] !== '1';
}

/** What a template depends on: the migrations, the PGlite version, and this file's format. */
function templateKey(): string {
	const pgliteVersion = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
	const hash = createHash('sha256');
	hash.update(JSON.stringify({ format: TEMPLATE_FORMAT, pgliteVersion, migrations: MIGRATIONS.map((m) => [m.version, m.sql]) }));
	return hash.digest('hex').slice(0, 16);
}

/** The migration that gives each database its own identity: left for each copy to apply. */
function identityMigration(): number {
	const migration = MIGRATIONS.find((m) => /CREATE TABLE audit_identity\b/.test(m.sql));
	if (!migration) throw new Error('test templates: no migration creates audit_identity any more; update tests/support/database-templates.ts');
	return migration.version;
}

/**
 * Undoes the identity migration (so each copy makes its own) and checks that no other
 * table holds a row a copy would share.
 */
async function leaveIdentityToEachCopy(sql: Sql): Promise<void> {
	await sql.transaction(async (tx) => {
		await tx.exec('DROP TABLE audit_identity; DROP FUNCTION audit_identity_fixed();');
		await tx.query('DELETE FROM schema_migrations WHERE version = $1', [identityMigration()]);
	});
	const tables = await sql.query<{ name: string }>(
		`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	);
	for (const { name } of tables) {
		if (name === 'schema_migrations') continue;
		const [{ n }] = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`);
		if (Number(n) > 0) {
			throw new Error(`test templates: a migration writes ${n} row(s) into ${name}; copies of a template would share them. Teach tests/support/database-templates.ts what to do with them.`);
		}
	}
}

/* ---------------------------------------------------------------------------------- */
/* PGlite */

let pgliteTemplate: Promise<string> | undefined;

/** The PGlite template's directory (a `pglite` directory as a server opens under DATA_DIR), made if missing. */
function pgliteTemplateDir(): Promise<string> {
	pgliteTemplate ??= (async () => {
		const root = path.join(os.tmpdir(), 'accord-test-templates');
		const final = path.join(root, `pglite-${templateKey()}`);
		if (existsSync(final)) {
			// Marks it as in use, so that pruning (below) leaves it alone.
			const now = new Date();
			await utimes(final, now, now).catch(() => undefined);
			return final;
		}
		await mkdir(root, { recursive: true });
		await pruneUnusedPgliteTemplates(root);
		const work = await mkdtemp(path.join(root, 'making-'));
		try {
			const database = await openDatabase({ dataDir: work });
			try {
				await leaveIdentityToEachCopy(database.sql);
			} finally {
				await database.close();
			}
			// Whole or not at all: another process making the same template at once keeps its own.
			await rename(path.join(work, 'pglite'), final).catch((error: NodeJS.ErrnoException) => {
				if (!existsSync(final)) throw error;
			});
		} finally {
			await rm(work, { recursive: true, force: true });
		}
		return final;
	})();
	// A failed attempt is not remembered: the next server tries again (and fails the same way, with its message).
	pgliteTemplate.catch(() => (pgliteTemplate = undefined));
	return pgliteTemplate;
}

/** Templates of other migrations (older checkouts) not used for a day: 40 MB each. */
async function pruneUnusedPgliteTemplates(root: string): Promise<void> {
	const dayAgo = Date.now() - 24 * 60 * 60 * 1000;
	for (const name of await readdir(root).catch(() => [] as string[])) {
		if (!name.startsWith('pglite-') && !name.startsWith('making-')) continue;
		const dir = path.join(root, name);
		const { mtimeMs } = await stat(dir).catch(() => ({ mtimeMs: Date.now() }));
		if (mtimeMs < dayAgo) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
	}
}

/**
 * Puts a copy of the PGlite template where a server with DATA_DIR=`dataDir` opens its
 * database, unless one is there already (a restart, or a test's own data). Returns
 * whether it copied; with templates turned off it does nothing and the server makes its own.
 */
export async function seedPgliteDataDir(dataDir: string): Promise<boolean> {
	const target = path.join(dataDir, 'pglite');
	if (!templatesWanted() || existsSync(target)) return false;
	const template = await pgliteTemplateDir();
	await mkdir(dataDir, { recursive: true });
	await cp(template, target, { recursive: true, errorOnExist: true, force: false });
	return true;
}

/* ---------------------------------------------------------------------------------- */
/* Postgres */

let postgresTemplate: Promise<string> | undefined;

/**
 * The name of the migrated template database on the server of `serverUrl`, made if
 * missing; null with templates turned off.
 */
export async function postgresTemplateName(serverUrl: string): Promise<string | null> {
	if (!templatesWanted()) return null;
	postgresTemplate ??= (async () => {
		const name = `accord_template_${templateKey()}`;
		if (await databaseExists(serverUrl, name)) return name;
		// Made under another name and renamed when complete: a half-made template is never copied.
		const making = `${name}_making_${randomBytes(4).toString('hex')}`;
		await onServer(serverUrl, `CREATE DATABASE "${making}"`);
		try {
			const url = new URL(serverUrl);
			url.pathname = `/${making}`;
			const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 1 });
			try {
				await leaveIdentityToEachCopy(database.sql);
			} finally {
				// Renaming, and CREATE DATABASE … TEMPLATE later, refuse while anyone is connected.
				await database.close();
			}
			await onServer(serverUrl, `ALTER DATABASE "${making}" RENAME TO "${name}"`).catch(async (error: unknown) => {
				if (!(await databaseExists(serverUrl, name))) throw error;
			});
		} finally {
			await onServer(serverUrl, `DROP DATABASE IF EXISTS "${making}" WITH (FORCE)`);
		}
		return name;
	})();
	postgresTemplate.catch(() => (postgresTemplate = undefined));
	return postgresTemplate;
}

async function databaseExists(serverUrl: string, name: string): Promise<boolean> {
	const client = new pg.Client({ connectionString: serverUrl });
	await client.connect();
	try {
		return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
	} finally {
		await client.end();
	}
}

/** One statement on the server's own database (names in statements here are generated, never input). */
export async function onServer(serverUrl: string, statement: string): Promise<void> {
	const client = new pg.Client({ connectionString: serverUrl });
	await client.connect();
	try {
		await client.query(statement);
	} finally {
		await client.end();
	}
}
