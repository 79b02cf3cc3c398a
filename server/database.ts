/**
 * Opens the database the configuration asks for (Postgres when a database URL is given,
 * else embedded PGlite under the data directory) and puts together the stores over it:
 * the store's own (server/store/) with the audit's work added to their transactions
 * (server/audit/). Migrations run before it is handed out.
 */
import { join } from 'node:path';
import { createSqlStore } from './store/sql-store.ts';
import { openPglite, openPostgres } from './store/sql.ts';
import type { Sql, StoreKind } from './store/types.ts';
import { createAuthStore, type AuthStore } from './store/auth-store.ts';
import { createMergeStore, type MergeStore } from './store/merge-store.ts';
import { createEraseStore, type EraseStore } from './store/erase-store.ts';
import { withAudit, type AttributedStore } from './audit/attributed-store.ts';
import { createAuditStore, type AuditStore } from './audit/log-store.ts';
import { auditErasure } from './audit/erasure.ts';
import { installedDataKeys } from './crypto/data-key.ts';
import { checkStoredKeys, type KeyCensus } from './crypto/stored-keys.ts';

export interface StoreOptions {
	databaseUrl?: string;
	dataDir: string;
	/** Postgres connections at most (default 10). */
	poolSize?: number;
	/** Errors of idle Postgres connections, which the pool recovers from by itself. */
	onConnectionError?: (error: Error) => void;
}

/** One database connection (pool) and the stores over it. */
export interface Database {
	readonly kind: StoreKind;
	/** Documents, their updates and list rows, with the bindings and audit entries of every write. */
	readonly documents: AttributedStore;
	readonly auth: AuthStore;
	readonly audit: AuditStore;
	/** Record merges and what they changed, for undo. */
	readonly merges: MergeStore;
	/** Data-subject erasure: everything of some records, in one transaction (erase-store.ts, audit/erasure.ts). */
	readonly erasure: EraseStore;
	/** The connection itself, for whole-database work that belongs to no one store (backup: server/backup). */
	readonly sql: Sql;
	/** Stored values per data key when the database was opened (server/crypto/stored-keys.ts). */
	readonly keys: KeyCensus;
	close(): Promise<void>;
}

export async function openDatabase(options: StoreOptions): Promise<Database> {
	const sql = options.databaseUrl
		? await openPostgres(options.databaseUrl, { max: options.poolSize, onError: options.onConnectionError })
		: await openPglite(join(options.dataDir, 'pglite'));
	const store = createSqlStore(sql);
	let keys: KeyCensus;
	try {
		// Before anything writes: values under a key this process lacks refuse the start, changing nothing.
		keys = await checkStoredKeys(sql, installedDataKeys());
		await store.migrate();
	} catch (error) {
		await sql.close();
		throw error;
	}
	return {
		kind: sql.kind,
		keys,
		documents: withAudit(store, sql),
		auth: createAuthStore(sql),
		audit: createAuditStore(sql),
		merges: createMergeStore(sql),
		erasure: createEraseStore(sql, auditErasure),
		sql,
		close: () => sql.close()
	};
}

/** Just the document store (its `close` closes the connection), for code that needs no more. */
export async function openStore(options: StoreOptions): Promise<AttributedStore> {
	return (await openDatabase(options)).documents;
}
