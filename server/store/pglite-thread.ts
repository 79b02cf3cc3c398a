/**
 * The embedded database's own thread. PGlite runs Postgres as WASM, synchronously, on
 * whatever thread calls it; on the server's main thread every query stalled every
 * socket (profiles: most of the busy time). Here it runs in a worker, and the main
 * thread (server/store/sql.ts, `openPglite`) only posts requests and reads replies.
 *
 * Transactions stay PGlite's own: `begin` opens `db.transaction` and keeps it open
 * until `end` arrives, so PGlite's lock still makes every other query of the process
 * wait for the transaction instead of joining it, exactly as on the main thread.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';

export interface PgliteThreadData {
	dataDir: string;
}

/** Main → worker. `id` names the reply; a transaction is named by the id of its `begin`. */
export type PgliteRequest =
	| { id: number; op: 'query'; text: string; params: unknown[] | undefined; tx: number | undefined }
	| { id: number; op: 'exec'; text: string; tx: number }
	| { id: number; op: 'begin' }
	| { id: number; op: 'end'; tx: number; commit: boolean }
	| { id: number; op: 'close' };

/** Worker → main. Id 0 answers the opening of the database. */
export type PgliteReply = { id: number; ok: true; rows?: unknown[] } | { id: number; ok: false; error: PgliteErrorFields };

/** What survives of an error: Postgres's fields, copied by name since structured clone drops an Error's own properties. */
export interface PgliteErrorFields {
	name: string;
	message: string;
	code?: string;
	severity?: string;
	detail?: string;
	hint?: string;
	position?: string;
	where?: string;
	schema?: string;
	table?: string;
	column?: string;
	dataType?: string;
	constraint?: string;
	routine?: string;
	query?: string;
}

const ERROR_FIELDS = ['code', 'severity', 'detail', 'hint', 'position', 'where', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine', 'query'] as const;

interface OpenTransaction {
	tx: Transaction;
	finish(commit: boolean): void;
	/** Settles once PGlite has committed or rolled back. */
	done: Promise<void>;
}

/** Thrown into PGlite's transaction to make it roll back; never leaves this thread. */
const ROLL_BACK = Symbol('roll back');

if (!parentPort) throw new Error('pglite-thread.ts runs as a worker thread (see openPglite)');
const port: MessagePort = parentPort;
const { dataDir } = workerData as PgliteThreadData;
const transactions = new Map<number, OpenTransaction>();

function reply(message: PgliteReply, transfer: ArrayBuffer[] = []): void {
	port.postMessage(message, transfer);
}

function errorFields(error: unknown): PgliteErrorFields {
	if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
	const fields: PgliteErrorFields = { name: error.name, message: error.message };
	const source = error as Error & Partial<Record<(typeof ERROR_FIELDS)[number], unknown>>;
	for (const key of ERROR_FIELDS) {
		const value = source[key];
		if (typeof value === 'string') fields[key] = value;
	}
	return fields;
}

/**
 * The buffers of bytea values PGlite made for this result: handed over rather than
 * copied (structured clone would copy each one). Only buffers a value owns whole.
 */
function ownedBuffers(rows: unknown[]): ArrayBuffer[] {
	const buffers = new Set<ArrayBuffer>();
	const visit = (value: unknown): void => {
		if (value instanceof Uint8Array) {
			if (value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) buffers.add(value.buffer);
		} else if (Array.isArray(value)) {
			value.forEach(visit);
		}
	};
	for (const row of rows) if (row && typeof row === 'object') Object.values(row).forEach(visit);
	return [...buffers];
}

function transaction(id: number): Transaction {
	const open = transactions.get(id);
	// PGlite's own words for a transaction that has ended.
	if (!open) throw new Error('Transaction is closed');
	return open.tx;
}

async function begin(db: PGlite, id: number): Promise<void> {
	let started!: () => void;
	const opened = new Promise<void>((resolve) => (started = resolve));
	const done = db
		.transaction(
			(tx) =>
				new Promise<void>((resolve, reject) => {
					transactions.set(id, { tx, finish: (commit) => (commit ? resolve() : reject(ROLL_BACK)), done });
					started();
				})
		)
		.catch((error: unknown) => {
			if (error !== ROLL_BACK) throw error;
		})
		.finally(() => transactions.delete(id));
	// `begin` fails if BEGIN does; otherwise it answers once the transaction holds PGlite.
	await Promise.race([opened, done]);
}

async function end(id: number, commit: boolean): Promise<void> {
	const open = transactions.get(id);
	if (!open) throw new Error('Transaction is closed');
	open.finish(commit);
	await open.done;
}

async function handle(db: PGlite, request: PgliteRequest): Promise<unknown[] | undefined> {
	switch (request.op) {
		case 'query': {
			const runner = request.tx === undefined ? db : transaction(request.tx);
			return (await runner.query(request.text, request.params)).rows;
		}
		case 'exec':
			await transaction(request.tx).exec(request.text);
			return undefined;
		case 'begin':
			await begin(db, request.id);
			return undefined;
		case 'end':
			await end(request.tx, request.commit);
			return undefined;
		case 'close':
			await db.close();
			return undefined;
	}
}

try {
	const db = await PGlite.create(dataDir);
	port.on('message', (request: PgliteRequest) => {
		handle(db, request).then(
			(rows) => reply(rows ? { id: request.id, ok: true, rows } : { id: request.id, ok: true }, rows ? ownedBuffers(rows) : []),
			(error: unknown) => reply({ id: request.id, ok: false, error: errorFields(error) })
		);
	});
	reply({ id: 0, ok: true });
} catch (error) {
	reply({ id: 0, ok: false, error: errorFields(error) });
	port.close();
}
