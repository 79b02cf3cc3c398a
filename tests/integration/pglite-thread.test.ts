/**
 * Embedded PGlite behind `openPglite`, which runs it in a worker thread: the thread
 * boundary must keep PGlite's semantics (one connection, transactions that others
 * wait for, Postgres's errors, the types of values) and must keep the event loop free
 * while SQL runs, which is why the thread exists.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../server/store/sql.ts';
import type { Sql } from '../../server/store/types.ts';
import { seedPgliteDataDir } from '../support/database-templates.ts';
import { tempDir, type TempDir } from '../support/databases.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');

describe('PGlite in its worker thread', () => {
	let dir: TempDir;
	let sql: Sql;

	beforeAll(async () => {
		dir = await tempDir('accord-pglite-thread-');
		sql = await openPglite(join(dir.path, 'pglite'));
		await sql.query('CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL UNIQUE, data bytea)');
	});

	afterAll(async () => {
		await sql?.close();
		await dir?.remove();
	});

	it('keeps the event loop running while a query runs', async () => {
		let ticks = 0;
		const timer = setInterval(() => ticks++, 10);
		try {
			const started = performance.now();
			await sql.query('SELECT pg_sleep(0.3)');
			expect(performance.now() - started).toBeGreaterThanOrEqual(290);
		} finally {
			clearInterval(timer);
		}
		// On the main thread the sleep blocks every timer: zero ticks. Generous for a busy machine.
		expect(ticks).toBeGreaterThanOrEqual(10);
	});

	it('rolls a transaction back when its function throws, and rethrows that error', async () => {
		const failure = new Error('changed my mind');
		await expect(
			sql.transaction(async (tx) => {
				await tx.query('INSERT INTO items (id, name) VALUES (1, $1)', ['rolled back']);
				expect(await tx.query('SELECT name FROM items WHERE id = 1')).toEqual([{ name: 'rolled back' }]);
				throw failure;
			})
		).rejects.toBe(failure);
		expect(await sql.query('SELECT * FROM items WHERE id = 1')).toEqual([]);
	});

	it('commits a transaction and returns its result; exec runs several statements', async () => {
		const result = await sql.transaction(async (tx) => {
			await tx.exec(`INSERT INTO items (id, name) VALUES (2, 'two'); INSERT INTO items (id, name) VALUES (3, 'three')`);
			return (await tx.query<{ n: number }>('SELECT count(*)::integer AS n FROM items'))[0].n;
		});
		expect(result).toBe(2);
		expect(await sql.query('SELECT id FROM items WHERE id IN (2, 3) ORDER BY id')).toEqual([{ id: 2 }, { id: 3 }]);
	});

	it('makes a query issued during a transaction wait for it instead of joining it', async () => {
		const order: string[] = [];
		let outside: Promise<unknown[]> | undefined;
		await expect(
			sql.transaction(async (tx) => {
				await tx.query(`INSERT INTO items (id, name) VALUES (4, 'uncommitted')`);
				outside = sql.query(`SELECT id FROM items WHERE id = 4`).then((rows) => {
					order.push('outside');
					return rows;
				});
				// Give the outside query every chance to run (it must not).
				await tx.query('SELECT pg_sleep(0.05)');
				await new Promise((resolve) => setTimeout(resolve, 50));
				await tx.query('SELECT 1');
				order.push('transaction');
				throw new Error('roll back');
			})
		).rejects.toThrow('roll back');
		// Had it joined the transaction it would have seen row 4 and not come last.
		expect(await outside).toEqual([]);
		expect(order).toEqual(['transaction', 'outside']);
	});

	it('answers an SQL error with Postgres’s message and code, and keeps serving', async () => {
		const duplicate = await sql.query(`INSERT INTO items (id, name) VALUES (5, 'two')`).catch((error: unknown) => error);
		expect(duplicate).toBeInstanceOf(Error);
		expect(duplicate).toMatchObject({ code: '23505', constraint: 'items_name_key', message: expect.stringMatching(/duplicate key value violates unique constraint/) });
		await expect(sql.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
		await expect(sql.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
		// A failing statement inside a transaction rolls it back with the same error.
		await expect(
			sql.transaction(async (tx) => {
				await tx.query(`INSERT INTO items (id, name) VALUES (6, 'six')`);
				await tx.query(`INSERT INTO items (id, name) VALUES (7, 'six')`);
			})
		).rejects.toMatchObject({ code: '23505' });
		expect(await sql.query('SELECT id FROM items WHERE id IN (6, 7)')).toEqual([]);
		expect(await sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
	});

	it('carries bytea, dates, numbers, bigints, arrays, JSON and null across the thread as before', async () => {
		const whole = new Uint8Array([0, 1, 2, 254, 255]);
		const message = new Uint8Array([9, 9, 7, 8, 9, 9]);
		const view = message.subarray(2, 4);
		await sql.query('INSERT INTO items (id, name, data) VALUES (10, $1, $2), (11, $3, $4), (12, $5, $6)', [
			'whole',
			whole,
			'view',
			view,
			'buffer',
			Buffer.from([1, 2, 3])
		]);
		const rows = await sql.query<{ id: number; data: Uint8Array }>('SELECT id, data FROM items WHERE id >= 10 ORDER BY id');
		for (const row of rows) expect(row.data).toBeInstanceOf(Uint8Array);
		expect(rows.map((row) => [...row.data])).toEqual([[0, 1, 2, 254, 255], [7, 8], [1, 2, 3]]);

		const at = new Date('2024-05-06T07:08:09.123Z');
		const [row] = await sql.query<Record<string, unknown>>(
			`SELECT $1::timestamptz AS at, 42::int8 AS small, 9007199254740993::int8 AS big, $2::bigint[] AS seqs,
				$3::text[] AS names, $4::uuid[] AS ids, $5::jsonb AS doc, NULL::text AS nothing, true AS yes, 1.5::float8 AS real`,
			[at, [1, 2], ['a', 'b'], ['4a1ed0b1-9a47-4bc4-8f4e-6dfb3c2f9d11'], JSON.stringify({ a: [1, { b: null }] })]
		);
		expect(row).toEqual({
			at,
			small: 42,
			big: 9007199254740993n,
			seqs: [1, 2],
			names: ['a', 'b'],
			ids: ['4a1ed0b1-9a47-4bc4-8f4e-6dfb3c2f9d11'],
			doc: { a: [1, { b: null }] },
			nothing: null,
			yes: true,
			real: 1.5
		});
		expect(row.at).toBeInstanceOf(Date);
	});

	it('turns parameters structured clone cannot carry into a rejection', async () => {
		await expect(sql.query('SELECT $1::text', [() => 'no'])).rejects.toThrow();
		expect(await sql.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
	});

	it('closes, leaves the data directory whole for the next open, and refuses calls after closing', async () => {
		await sql.query(`INSERT INTO items (id, name) VALUES (20, 'survives')`);
		const closed = sql;
		await closed.close();
		await expect(closed.query('SELECT 1')).rejects.toThrow(/closed/);

		sql = await openPglite(join(dir.path, 'pglite'));
		expect(await sql.query('SELECT name FROM items WHERE id = 20')).toEqual([{ name: 'survives' }]);
	});

	it('keeps a process whose last work is closing it alive until the thread has exited, a late query notwithstanding', async () => {
		// The command line's shape: open, work, close as the last `await`. A query sent after
		// the close is answered after it; that answer once unreferenced the thread while the
		// close still waited for it to exit, so the process could end first with its top-level
		// await unsettled (exit code 13, about two runs in three). Three processes at once.
		const script = (dataDir: string) => `
			import { openPglite } from ${JSON.stringify(join(REPO_ROOT, 'server/store/sql.ts'))};
			const sql = await openPglite(${JSON.stringify(join(dataDir, 'pglite'))});
			await sql.query('SELECT 1');
			const closed = sql.close();
			sql.query('SELECT 2').catch(() => undefined);
			await closed;
			process.stdout.write('closed');`;
		const runs = await Promise.all(
			[1, 2, 3].map(async (n) => {
				const dataDir = join(dir.path, `closing-${n}`);
				await seedPgliteDataDir(dataDir);
				return new Promise<{ code: number | null; stdout: string }>((done) => {
					const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script(dataDir)], { cwd: REPO_ROOT, timeout: 60_000 }, (_error, stdout) =>
						done({ code: child.exitCode, stdout })
					);
				});
			})
		);
		expect(runs).toEqual([1, 2, 3].map(() => ({ code: 0, stdout: 'closed' })));
	});

	it('fails to open a directory that is not a database instead of hanging', async () => {
		const path = join(dir.path, 'not-a-database');
		await mkdir(path, { recursive: true });
		await writeFile(join(path, 'PG_VERSION'), 'not a version\n');
		const failed = await openPglite(path).then(
			(opened) => opened.close().then(() => null),
			(error: unknown) => error
		);
		expect(failed).toBeInstanceOf(Error);
	});
});
