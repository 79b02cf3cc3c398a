/**
 * Attribution: the bindings of Yjs client ids to the people who write with them, in SQL
 * (PGlite and Postgres alike). A client id is bound to the first person who writes with
 * it on a document and stays theirs; audit entries name people through these bindings,
 * and rooms refuse an id bound to someone else (a forged one). Rows live in
 * `client_bindings` (deleted with their document).
 */
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { batchedReads } from '../store/batched-reads.ts';
import { UnknownDocumentError, isDocumentId } from '../store/sql-store.ts';
import type { Sql, SqlTx } from '../store/types.ts';

export type Queryable = Pick<SqlTx, 'query'>;

/** Every binding of each of these documents (ids in lower case); a document without any is absent. */
export async function loadBindings(db: Queryable, documentIds: readonly string[]): Promise<Map<string, Map<number, AuditPerson>>> {
	const rows = await db.query<{ document_id: string; client_id: number; user_id: string; user_name: string }>(
		'SELECT document_id, client_id, user_id, user_name FROM client_bindings WHERE document_id = ANY($1::uuid[])',
		[[...documentIds]]
	);
	const byDocument = new Map<string, Map<number, AuditPerson>>();
	for (const row of rows) {
		const id = row.document_id.toLowerCase();
		let bindings = byDocument.get(id);
		if (!bindings) byDocument.set(id, (bindings = new Map()));
		bindings.set(Number(row.client_id), { id: row.user_id, name: row.user_name });
	}
	return byDocument;
}

export async function lookupBindings(db: Queryable, documentId: string, clients: readonly number[]): Promise<Map<number, AuditPerson>> {
	if (clients.length === 0) return new Map();
	const rows = await db.query<{ client_id: number; user_id: string; user_name: string }>(
		'SELECT client_id, user_id, user_name FROM client_bindings WHERE document_id = $1 AND client_id = ANY($2::bigint[])',
		[documentId, [...clients]]
	);
	return new Map(rows.map((row) => [Number(row.client_id), { id: row.user_id, name: row.user_name }]));
}

/** Binds the client ids not bound yet to `person`; returns the binding of every one (theirs, or someone else's). */
export async function bindClients(db: Queryable, documentId: string, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>> {
	if (clients.length === 0) return new Map();
	await db.query(
		`INSERT INTO client_bindings (document_id, client_id, user_id, user_name)
		 SELECT $1, c, $3, $4 FROM unnest($2::bigint[]) AS c
		 ON CONFLICT (document_id, client_id) DO NOTHING`,
		[documentId, [...clients], person.id, person.name]
	);
	return lookupBindings(db, documentId, clients);
}

/** A binding to store with a batch of updates: made while the database did not answer. */
export interface PendingBinding {
	documentId: string;
	client: number;
	person: AuditPerson;
}

/** Stores the bindings not stored yet, all in one statement; an id already bound keeps its binding. */
export async function insertBindings(db: Queryable, bindings: readonly PendingBinding[]): Promise<void> {
	if (bindings.length === 0) return;
	await db.query(
		`INSERT INTO client_bindings (document_id, client_id, user_id, user_name)
		 SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[])
		 ON CONFLICT (document_id, client_id) DO NOTHING`,
		[bindings.map((b) => b.documentId), bindings.map((b) => b.client), bindings.map((b) => b.person.id), bindings.map((b) => b.person.name)]
	);
}

/** The bindings of many (document, client id) pairs in one query; a pair without one is absent. */
export async function lookupPairs(db: Queryable, pairs: readonly { documentId: string; client: number }[]): Promise<(AuditPerson | undefined)[]> {
	const found: (AuditPerson | undefined)[] = new Array(pairs.length);
	if (pairs.length === 0) return found;
	// Matched back by position: the uuid comes back spelled as Postgres spells it.
	const rows = await db.query<{ i: number; user_id: string; user_name: string }>(
		`SELECT w.i, b.user_id, b.user_name
		   FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS w(document_id, client_id, i)
		   JOIN client_bindings AS b ON b.document_id = w.document_id AND b.client_id = w.client_id`,
		[pairs.map((p) => p.documentId), pairs.map((p) => p.client)]
	);
	for (const row of rows) found[Number(row.i) - 1] = { id: row.user_id, name: row.user_name };
	return found;
}

/** The bindings as rooms use them: a document's all at once (batched across documents opened together), some, or new ones. */
export interface BindingStore {
	/** Every Yjs client id bound to a person on this document. */
	loadBindings(documentId: string): Promise<Map<number, AuditPerson>>;
	/** The bindings of these client ids (those that have one). */
	lookupBindings(documentId: string, clients: readonly number[]): Promise<Map<number, AuditPerson>>;
	/** Binds the unbound ones of these client ids to `person`; returns every one's binding. */
	bindClients(documentId: string, clients: readonly number[], person: AuditPerson): Promise<Map<number, AuditPerson>>;
}

export function createBindingStore(sql: Sql): BindingStore {
	const bindings = batchedReads((ids) => loadBindings(sql, ids));
	return {
		async loadBindings(documentId) {
			return isDocumentId(documentId) ? ((await bindings(documentId)) ?? new Map()) : new Map();
		},
		async lookupBindings(documentId, clients) {
			return isDocumentId(documentId) ? lookupBindings(sql, documentId, clients) : new Map();
		},
		async bindClients(documentId, clients, person) {
			if (!isDocumentId(documentId)) throw new UnknownDocumentError(documentId);
			return bindClients(sql, documentId, clients, person);
		}
	};
}
