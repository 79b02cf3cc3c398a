// @ts-check
/**
 * The embedded database's own thread. PGlite runs Postgres as WASM, synchronously, on
 * whatever thread calls it; on the server's main thread every query stalled every
 * socket (profiles: most of the busy time). Here it runs in a worker, and the main
 * thread (server/store/sql.ts, `openPglite`) only posts requests and reads replies.
 *
 * Plain JavaScript (types in JSDoc, checked by tsc; the messages in pglite-protocol.ts)
 * so that Node loads it as it is: a TypeScript module needed tsx registered inside every
 * worker first (a worker gets neither vitest's transform nor, on Node 20, `--import
 * tsx`), which cost about 0.5 s of CPU on each opening of the database, and the tests and
 * command-line runs open one hundreds of times.
 *
 * Transactions stay PGlite's own: `begin` opens `db.transaction` and keeps it open
 * until `end` arrives, so PGlite's lock still makes every other query of the process
 * wait for the transaction instead of joining it, exactly as on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/**
 * @typedef {import('./pglite-protocol.ts').PgliteRequest} PgliteRequest
 * @typedef {import('./pglite-protocol.ts').PgliteReply} PgliteReply
 * @typedef {import('./pglite-protocol.ts').PgliteErrorFields} PgliteErrorFields
 * @typedef {import('./pglite-protocol.ts').PgliteThreadData} PgliteThreadData
 * @typedef {import('@electric-sql/pglite').Transaction} Transaction
 * @typedef {{ tx: Transaction, finish(commit: boolean): void, done: Promise<void> }} OpenTransaction
 *   `done` settles once PGlite has committed or rolled back.
 */

/** @type {readonly (keyof PgliteErrorFields)[]} */
const ERROR_FIELDS = ['code', 'severity', 'detail', 'hint', 'position', 'where', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine', 'query'];

/** Thrown into PGlite's transaction to make it roll back; never leaves this thread. */
const ROLL_BACK = Symbol('roll back');

if (!parentPort) throw new Error('pglite-thread.js runs as a worker thread (see openPglite)');
const port = parentPort;
const { dataDir } = /** @type {PgliteThreadData} */ (workerData);
/** @type {Map<number, OpenTransaction>} */
const transactions = new Map();

/**
 * @param {PgliteReply} message
 * @param {ArrayBuffer[]} [transfer]
 */
function reply(message, transfer = []) {
	port.postMessage(message, transfer);
}

/**
 * @param {unknown} error
 * @returns {PgliteErrorFields}
 */
function errorFields(error) {
	if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
	/** @type {PgliteErrorFields} */
	const fields = { name: error.name, message: error.message };
	const source = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (error));
	for (const key of ERROR_FIELDS) {
		const value = source[key];
		if (typeof value === 'string') fields[key] = value;
	}
	return fields;
}

/**
 * The buffers of bytea values PGlite made for this result: handed over rather than
 * copied (structured clone would copy each one). Only buffers a value owns whole.
 * @param {unknown[]} rows
 * @returns {ArrayBuffer[]}
 */
function ownedBuffers(rows) {
	/** @type {Set<ArrayBuffer>} */
	const buffers = new Set();
	/** @param {unknown} value */
	const visit = (value) => {
		if (value instanceof Uint8Array) {
			if (value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) buffers.add(value.buffer);
		} else if (Array.isArray(value)) {
			value.forEach(visit);
		}
	};
	for (const row of rows) if (row && typeof row === 'object') Object.values(row).forEach(visit);
	return [...buffers];
}

/**
 * @param {number} id
 * @returns {Transaction}
 */
function transaction(id) {
	const open = transactions.get(id);
	// PGlite's own words for a transaction that has ended.
	if (!open) throw new Error('Transaction is closed');
	return open.tx;
}

/**
 * @param {PGlite} db
 * @param {number} id
 * @returns {Promise<void>}
 */
async function begin(db, id) {
	/** @type {() => void} */
	let started = () => undefined;
	/** @type {Promise<void>} */
	const opened = new Promise((resolve) => (started = resolve));
	/** @type {Promise<void>} */
	const done = db
		.transaction(
			(tx) =>
				/** @type {Promise<void>} */ (
					new Promise((resolve, reject) => {
						transactions.set(id, { tx, finish: (commit) => (commit ? resolve() : reject(ROLL_BACK)), done });
						started();
					})
				)
		)
		.catch((/** @type {unknown} */ error) => {
			if (error !== ROLL_BACK) throw error;
		})
		.finally(() => transactions.delete(id));
	// `begin` fails if BEGIN does; otherwise it answers once the transaction holds PGlite.
	await Promise.race([opened, done]);
}

/**
 * @param {number} id
 * @param {boolean} commit
 * @returns {Promise<void>}
 */
async function end(id, commit) {
	const open = transactions.get(id);
	if (!open) throw new Error('Transaction is closed');
	open.finish(commit);
	await open.done;
}

/**
 * @param {PGlite} db
 * @param {PgliteRequest} request
 * @returns {Promise<unknown[] | undefined>}
 */
async function handle(db, request) {
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
	port.on('message', (/** @type {PgliteRequest} */ request) => {
		handle(db, request).then(
			(rows) => reply(rows ? { id: request.id, ok: true, rows } : { id: request.id, ok: true }, rows ? ownedBuffers(rows) : []),
			(error) => reply({ id: request.id, ok: false, error: errorFields(error) })
		);
	});
	reply({ id: 0, ok: true });
} catch (error) {
	reply({ id: 0, ok: false, error: errorFields(error) });
	port.close();
}
