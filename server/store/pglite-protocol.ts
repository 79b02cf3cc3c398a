/**
 * The messages between `openPglite` (server/store/sql.ts) and PGlite's worker thread
 * (server/store/pglite-thread.js). Kept apart from the worker, which is plain JavaScript
 * so that Node loads it without a TypeScript loader (see the worker's header).
 */

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
