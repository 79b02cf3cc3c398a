/**
 * The two SQL engines behind `Sql`: embedded PGlite (the default, one process owns
 * its data directory) and a node-postgres pool. The store's SQL is written once and
 * runs on either, so the differences between the drivers are smoothed out here.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Sql, SqlTx } from './types.ts';

export async function openPglite(dataDir: string): Promise<Sql> {
	await mkdir(dataDir, { recursive: true });
	const db = await PGlite.create(dataDir);
	return {
		kind: 'pglite',
		async query<T>(text: string, params?: unknown[]) {
			return (await db.query<T>(text, params)).rows;
		},
		// PGlite is one connection: its transaction holds the connection until `fn`
		// settles, so other queries of this process wait rather than interleave.
		transaction<T>(fn: (tx: SqlTx) => Promise<T>) {
			return db.transaction((tx) =>
				fn({
					async query<R>(text: string, params?: unknown[]) {
						return (await tx.query<R>(text, params)).rows;
					},
					async exec(text: string) {
						await tx.exec(text);
					}
				})
			);
		},
		close: () => db.close()
	};
}

const INT8_OID = 20;

/**
 * node-postgres returns int8 as a string because it may exceed 2^53; sequence numbers
 * and counts never will, and PGlite already returns numbers, so both engines agree.
 * Set per pool, not through the global `pg.types`, to leave other pools alone.
 */
const types: pg.CustomTypesConfig = {
	getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
		if (oid === INT8_OID && format !== 'binary') return parseInt8;
		return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
	}) as pg.CustomTypesConfig['getTypeParser']
};

function parseInt8(text: string): number {
	const value = Number(text);
	if (!Number.isSafeInteger(value)) throw new RangeError(`int8 value ${text} does not fit in a JavaScript number`);
	return value;
}

export interface PostgresOptions {
	max?: number;
	/** Errors of idle connections (e.g. the server restarted); the pool replaces the connection. */
	onError?: (error: Error) => void;
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Sql> {
	const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types });
	// Without a listener an idle connection's error would be an unhandled 'error'
	// event and take the whole process down; the pool already discards that client.
	pool.on('error', (error) => options.onError?.(error));
	// Fail at start, not at the first request, when the database is unreachable.
	const probe = await pool.connect();
	probe.release();
	return {
		kind: 'postgres',
		async query<T>(text: string, params?: unknown[]) {
			return (await pool.query(text, params)).rows as T[];
		},
		async transaction<T>(fn: (tx: SqlTx) => Promise<T>) {
			const client = await pool.connect();
			let broken: Error | undefined;
			try {
				await client.query('BEGIN');
				const result = await fn({
					async query<R>(text: string, params?: unknown[]) {
						return (await client.query(text, params)).rows as R[];
					},
					async exec(text: string) {
						// Without parameters node-postgres uses the simple protocol, which
						// accepts several statements in one string.
						await client.query(text);
					}
				});
				await client.query('COMMIT');
				return result;
			} catch (error) {
				try {
					await client.query('ROLLBACK');
				} catch (rollbackError) {
					// A connection that cannot roll back must not go back to the pool.
					broken = rollbackError as Error;
				}
				throw error;
			} finally {
				client.release(broken);
			}
		},
		close: () => pool.end()
	};
}
