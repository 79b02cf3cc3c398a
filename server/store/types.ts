/**
 * Persistence of record documents and their projections. One implementation of the
 * SQL (server/store/sql-store.ts) runs on both PGlite and Postgres through `Sql`.
 */
import type { RecordRow } from '../../src/lib/model/projection.ts';
import type { RecordPage, RecordQuery } from '../../src/lib/server/services.ts';
import type { RecordVisibility } from '../../src/lib/access.ts';
import type { DuplicateGroups, DuplicateViewer, KeyedRow } from './duplicate-store.ts';

export type StoreKind = 'pglite' | 'postgres';

/** The few things the store needs of a SQL connection; PGlite and node-postgres both provide them. */
export interface Sql {
	readonly kind: StoreKind;
	query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
	/** Runs `fn` in one transaction on one connection; rolls back if it throws. */
	transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
	close(): Promise<void>;
}

export interface SqlTx {
	query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
	/** Runs one or more statements without parameters (migrations); `query` takes only one. */
	exec(text: string): Promise<void>;
}

export interface StoredDocument {
	workspace: string;
	/** Compacted state (a Yjs update), or null before the first compaction. */
	snapshot: Uint8Array | null;
	/** Updates appended after the snapshot, in order. */
	updates: Uint8Array[];
	/** Sequence number of the last update in `updates` (or that the snapshot covers). */
	lastSeq: number;
}

export interface AppendedUpdate {
	documentId: string;
	update: Uint8Array;
	/** Which instance's update it is: stored once, whichever instance stores it (see `UpdateKey`). None: stored as it comes. */
	key?: UpdateKey;
}

/**
 * An update's identity across instances (migration 18). An instance publishes an update
 * to the others before storing it (server/sync/pipeline.ts), so an instance that received
 * it may store it too, when its origin does not confirm it in time (it died, or its
 * commit stalls). Whoever stores it first stores it; any later attempt, by the origin or
 * another receiver, is skipped with what it carries (audit entries, bindings).
 */
export interface UpdateKey {
	/** The instance that received the update from its sender (a uuid per process). */
	origin: string;
	/** Its number among the origin's updates: 1, 2, 3… in the order the origin stores them. */
	id: number;
	/** Stored by an instance other than its origin, which did not confirm it in time. */
	takenOver: boolean;
}

/** One document of `createDocuments`: what `createDocument` takes. */
export interface NewDocument {
	id: string;
	workspace: string;
	initialState: Uint8Array;
	projection: RecordRow;
}

/**
 * More work for a write's own transaction, run after the write's statements: stored with
 * the write, or neither is (it throws: all is rolled back). The store runs it without
 * knowing what it is; the audit stages its entries and client id bindings this way
 * (server/audit/attributed-store.ts). For `appendUpdates`, `appended` is the part of the
 * batch actually stored: an update another instance had stored already (`UpdateKey`) is
 * not, and what describes it must not be either.
 */
export type AlsoInTransaction = (tx: SqlTx, appended?: readonly AppendedUpdate[]) => Promise<void>;

/** The writes that may carry work of their own into their transaction (`alsoInTransaction`). */
export type DocumentWrites = Pick<DocumentStore, 'createDocument' | 'createDocuments' | 'appendUpdates'>;

/** A record hidden from someone (see `recordsHiddenSince`). */
export interface HiddenRecord extends RecordVisibility {
	id: string;
	/** When it was last hidden from them (ISO). */
	hiddenAt: string;
}

export interface DocumentStore {
	readonly kind: StoreKind;
	/** Applies pending migrations; safe to call on every start. */
	migrate(): Promise<void>;
	/** Creates the workspace if it does not exist (an existing one keeps its name). */
	ensureWorkspace(id: string, name: string): Promise<void>;
	/**
	 * Creates a document with its initial state and projection in one transaction; fails if
	 * the id exists. No projection: a document that is not a record (a workspace's field definitions).
	 */
	createDocument(id: string, workspace: string, initialState: Uint8Array, projection: RecordRow | null): Promise<void>;
	/**
	 * Creates many documents in one transaction, all or none (an import's batch): the same
	 * rows `createDocument` writes for each, in a few multi-row statements.
	 */
	createDocuments(documents: readonly NewDocument[]): Promise<void>;
	loadDocument(id: string): Promise<StoredDocument | null>;
	/** Which workspace a document belongs to, without loading it; null if there is no such document. */
	documentWorkspace(id: string): Promise<string | null>;
	/**
	 * Appends a batch of updates (any documents) in one transaction; returns each document's
	 * new last sequence. Updates with a key some instance stored already are skipped; a
	 * document all of whose updates were skipped is absent from the answer.
	 */
	appendUpdates(batch: readonly AppendedUpdate[]): Promise<Map<string, number>>;
	/** The three writes above, each running `also` in its transaction after its own statements. */
	alsoInTransaction(also: AlsoInTransaction): DocumentWrites;
	/** Replaces the updates up to `upToSeq` by `snapshot` (which covers at least them). */
	compact(id: string, snapshot: Uint8Array, upToSeq: number): Promise<void>;
	/** Number of updates stored after the snapshot. */
	pendingUpdateCount(id: string): Promise<number>;
	/**
	 * Writes one record's list row. Calls arriving within a few milliseconds of each other
	 * may share one statement; each still settles with its own row's outcome: who may see
	 * the record as written (`private` is not in the document, so not in `row`).
	 */
	upsertProjection(row: RecordRow): Promise<RecordVisibility>;
	/** Writes many records' list rows at once, all or none; of several rows for one id, the last wins. */
	upsertProjections(rows: readonly RecordRow[]): Promise<void>;
	getProjection(id: string): Promise<RecordRow | null>;
	listRecords(query: RecordQuery): Promise<RecordPage>;
	/**
	 * Private records of the workspace that were hidden from `person` after `since` (any
	 * time when null): made private while shared, or given to someone else by them as
	 * owner. With their visibility now, for the caller to keep those still hidden.
	 */
	recordsHiddenSince(workspace: string, since: string | null, person: string): Promise<HiddenRecord[]>;
	/** Unarchived records of the workspace sharing any of these duplicate keys, visible to `viewer`; most recently changed first. */
	duplicateCandidates(workspace: string, keys: readonly string[], options: { exclude?: string; viewer: DuplicateViewer; limit: number }): Promise<KeyedRow[]>;
	/** A stored record's duplicate keys; null when there is no such record. */
	duplicateKeysOf(id: string): Promise<string[] | null>;
	/** Records sharing each duplicate key (the workspace scan), visible to `viewer`; keys shared by more than `maxGroup` are skipped. */
	duplicateGroups(workspace: string, viewer: DuplicateViewer, maxGroup: number): Promise<DuplicateGroups>;
	countDocuments(workspace?: string): Promise<number>;
	close(): Promise<void>;
}
