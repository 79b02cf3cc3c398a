/**
 * Throwaway databases for tests: a temporary directory (for PGlite and other files)
 * and, when DATABASE_URL points at a Postgres server, a fresh database on it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { RecordRow } from '../../src/lib/model/projection.ts';
import { postgresTemplateName } from './database-templates.ts';

export interface TempDir {
	path: string;
	remove(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<TempDir> {
	const path = await mkdtemp(join(tmpdir(), prefix));
	return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TempPostgres {
	url: string;
	drop(): Promise<void>;
}

export interface TempPostgresOptions {
	/**
	 * A copy of the migrated template (tests/support/database-templates.ts) instead of an
	 * empty database, for databases a server is about to migrate anyway; empty when
	 * templates are turned off. Not for tests of migrations or of what an empty database does.
	 */
	migrated?: boolean;
}

/**
 * Creates an empty database `accord_test_<random>` on the server of DATABASE_URL (or a
 * migrated one, see `migrated`) and returns its URL; null when DATABASE_URL is unset, so
 * callers can skip.
 */
export async function tempPostgresUrl(options: TempPostgresOptions = {}): Promise<TempPostgres | null> {
	const serverUrl = process.env.DATABASE_URL;
	if (!serverUrl) return null;
	const name = `accord_test_${randomBytes(6).toString('hex')}`;
	const template = options.migrated ? await postgresTemplateName(serverUrl) : null;
	// The names are generated (here and in database-templates.ts), never taken from input, so quoting them is enough.
	await onServer(serverUrl, template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`);
	const url = new URL(serverUrl);
	url.pathname = `/${name}`;
	let dropped = false;
	return {
		url: url.toString(),
		async drop() {
			if (dropped) return;
			dropped = true;
			// FORCE ends connections a failed test may have left open (Postgres 13+).
			await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
		}
	};
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
	const client = new pg.Client({ connectionString: serverUrl });
	await client.connect();
	try {
		await client.query(statement);
	} finally {
		await client.end();
	}
}

/** A record's list row with nothing but its name, for store tests that need a record to exist. */
export function bareRow(id: string, workspace = 'ws', at = '2025-06-01T08:00:00.000Z'): RecordRow {
	return { id, workspace, name: 'x', company: null, email: null, phone: null, stage: null, owner: null, value: null, currency: null, country: null, city: null, tags: [], archived: false, private: false, createdAt: at, updatedAt: at };
}
