/**
 * DATABASE_POOL_SIZE: how many connections one instance opens to Postgres at most, so
 * that many instances fit under the server's max_connections.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../server/config.ts';
import { tempPostgresUrl } from '../support/databases.ts';
import type { RunningServer } from '../../server/http.ts';
import { createRecord, startTestServer } from '../support/server.ts';

const onPostgres = Boolean(process.env.DATABASE_URL);

describe.skipIf(!onPostgres)('the Postgres connection pool', () => {
	let server: RunningServer;
	let database: Awaited<ReturnType<typeof tempPostgresUrl>>;

	beforeAll(async () => {
		database = await tempPostgresUrl();
		const { databasePoolSize } = readConfig({ DATABASE_POOL_SIZE: '2' });
		server = await startTestServer({ databaseUrl: database!.url, databasePoolSize });
	});
	afterAll(async () => {
		await server?.close();
		await database?.drop();
	});

	it('opens no more connections than DATABASE_POOL_SIZE, however many requests arrive at once', async () => {
		const created = await Promise.all(Array.from({ length: 24 }, (_, i) => createRecord(server, { name: `Pool ${i}`, company: 'Pool Co' })));
		expect(new Set(created).size).toBe(24);
		// The pool keeps its connections open a while after the burst: count them from outside.
		const observer = new pg.Client({ connectionString: process.env.DATABASE_URL });
		await observer.connect();
		try {
			const name = new URL(database!.url).pathname.slice(1);
			const { rows } = await observer.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
			expect(rows[0].n).toBeGreaterThan(0);
			expect(rows[0].n).toBeLessThanOrEqual(2);
		} finally {
			await observer.end();
		}
	});
});
