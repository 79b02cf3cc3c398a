/**
 * The two SQL engines behind `Sql`: embedded PGlite (the default, one process owns
 * its data directory; it runs in a worker thread) and a node-postgres pool. The
 * store's SQL is written once and runs on either, so the differences between the
 * drivers are smoothed out here.
 */
import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import type { PgliteErrorFields, PgliteReply, PgliteRequest, PgliteThreadData } from './pglite-protocol.ts';
import type { Sql, SqlTx } from './types.ts';

/** An error PGlite reported, with Postgres's fields (`code`, `detail`, `constraint`, …) as node-postgres has them. */
export class PgliteError extends Error {
	readonly code?: string;
	readonly severity?: string;
	readonly detail?: string;
	readonly hint?: string;
	readonly position?: string;
	readonly where?: string;
	readonly schema?: string;
	readonly table?: string;
	readonly column?: string;
	readonly dataType?: string;
	readonly constraint?: string;
	readonly routine?: string;
	readonly query?: string;

	constructor(fields: PgliteErrorFields) {
		super(fields.message);
		Object.assign(this, fields);
	}
}

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;
type Request = WithoutId<PgliteRequest>;

interface Pending {
	resolve(rows: unknown[] | undefined): void;
	reject(error: Error): void;
	/** Where the call was made, for the stack of an error that comes back. */
	site: { stack?: string };
}

/**
 * Embedded PGlite in its own worker thread (server/store/pglite-thread.js), so SQL
 * never runs on the thread that serves the sockets. Same semantics as PGlite itself:
 * one connection, a transaction holds it and other queries wait for it to end.
 */
export async function openPglite(dataDir: string): Promise<Sql> {
	await mkdir(dataDir, { recursive: true });
	// Plain JavaScript, loaded by Node as it is (no TypeScript loader in the worker: see its header).
	const worker = new Worker(new URL('./pglite-thread.js', import.meta.url), { execArgv: [], workerData: { dataDir } satisfies PgliteThreadData });
	// Like PGlite on the main thread, an idle database does not keep the process alive;
	// a call in flight does (see `call`).
	worker.unref();

	const pending = new Map<number, Pending>();
	let nextId = 1;
	/** Set once the worker cannot answer any more: every later call fails with it. */
	let dead: Error | undefined;
	let closing: Promise<void> | undefined;

	const settleAll = (error: Error) => {
		dead ??= error;
		for (const [id, call] of pending) {
			pending.delete(id);
			call.reject(dead);
		}
		worker.unref();
	};

	const opened = new Promise<void>((resolve, reject) => {
		pending.set(0, { resolve: () => resolve(), reject, site: {} });
		worker.ref();
	});
	worker.on('message', (message: PgliteReply) => {
		const call = pending.get(message.id);
		if (!call) return;
		pending.delete(message.id);
		// While closing it stays referenced until it has exited (see `close`).
		if (pending.size === 0 && !closing) worker.unref();
		if (message.ok) {
			call.resolve(message.rows);
		} else {
			const error = new PgliteError(message.error);
			error.stack = `${error.name}: ${error.message}\n${call.site.stack?.split('\n').slice(1).join('\n') ?? ''}`;
			call.reject(error);
		}
	});
	worker.on('messageerror', (error) => {
		settleAll(new Error(`PGlite worker thread sent a message that could not be read: ${error.message}`));
		void worker.terminate();
	});
	worker.on('error', (error) => settleAll(new Error(`PGlite worker thread failed: ${error.message}`, { cause: error })));
	worker.on('exit', (code) => settleAll(new Error(closing ? 'PGlite is closed' : `PGlite worker thread exited (code ${code})`)));

	const call = (request: Request, id = nextId++): Promise<unknown[] | undefined> =>
		new Promise((resolve, reject) => {
			if (dead) return reject(dead);
			const site: Pending['site'] = {};
			Error.captureStackTrace(site, call);
			try {
				worker.postMessage({ ...request, id } as PgliteRequest);
			} catch (error) {
				// Parameters structured clone cannot copy (functions, class instances with private state).
				return reject(error as Error);
			}
			if (pending.size === 0) worker.ref();
			pending.set(id, { resolve, reject, site });
		});

	try {
		await opened;
	} catch (error) {
		await worker.terminate();
		throw error;
	}

	const rows = async <T>(request: Request): Promise<T[]> => ((await call(request)) ?? []) as T[];

	return {
		kind: 'pglite',
		query: <T>(text: string, params?: unknown[]) => rows<T>({ op: 'query', text, params: compact(params), tx: undefined }),
		async transaction<T>(fn: (tx: SqlTx) => Promise<T>) {
			// The transaction is named by the id of its `begin`.
			const tx = nextId++;
			await call({ op: 'begin' }, tx);
			let result: T;
			try {
				result = await fn({
					query: <R>(text: string, params?: unknown[]) => rows<R>({ op: 'query', text, params: compact(params), tx }),
					async exec(text: string) {
						await call({ op: 'exec', text, tx });
					}
				});
			} catch (error) {
				// The caller's error is the one that matters; a failed rollback leaves PGlite to report itself on the next query.
				await call({ op: 'end', tx, commit: false }).catch(() => undefined);
				throw error;
			}
			await call({ op: 'end', tx, commit: true });
			return result;
		},
		close() {
			closing ??= (async () => {
				try {
					if (!dead) await call({ op: 'close' });
				} finally {
					// Held until the worker has exited: unreferenced, a process whose last work is this
					// close could end first, its `await` never settled (exit code 13 from the command
					// line, when a late query's reply had unreferenced the worker after the close's own).
					worker.ref();
					await worker.terminate();
					dead ??= new Error('PGlite is closed');
				}
			})();
			return closing;
		}
	};
}

/**
 * Structured clone copies the whole buffer under a view: a Yjs update decoded out of a
 * larger message would carry that message along. Copy such views down to their bytes.
 */
function compact(params: unknown[] | undefined): unknown[] | undefined {
	return params?.some(holdsPartialView) ? params.map(detach) : params;
}

const holdsPartialView = (value: unknown): boolean => isPartialView(value) || (Array.isArray(value) && value.some(isPartialView));
const detach = (value: unknown): unknown => (isPartialView(value) ? new Uint8Array(value) : Array.isArray(value) ? value.map(detach) : value);

function isPartialView(value: unknown): value is Uint8Array {
	return value instanceof Uint8Array && value.byteLength !== value.buffer.byteLength;
}

const INT8_OID = 20;

/**
 * node-postgres returns int8 as a string because it may exceed 2^53; sequence numbers
 * and counts never will, and PGlite already returns numbers, so both engines agree.
 * Set per pool, not through the global `pg.types`, to leave other pools alone.
 */
function typesOf(driver: typeof pg): pg.CustomTypesConfig {
	return {
		getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
			if (oid === INT8_OID && format !== 'binary') return parseInt8;
			return format === 'binary' ? driver.types.getTypeParser(oid, 'binary') : driver.types.getTypeParser(oid, 'text');
		}) as pg.CustomTypesConfig['getTypeParser']
	};
}

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
	// Loaded here, not at start: a process on the embedded database never needs the driver (about 0.2 s of CPU to load).
	const { default: driver } = await import('pg');
	const pool = new driver.Pool({ connectionString: url, max: options.max ?? 10, types: typesOf(driver) });
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
