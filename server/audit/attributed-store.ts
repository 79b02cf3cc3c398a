/**
 * The document store as the server writes through it: every write carries what
 * describes it (audit entries, and the client id bindings that name their authors), and
 * both go into one transaction, by the store's "also in this transaction"
 * (`DocumentStore.alsoInTransaction`). The store knows nothing of the audit; this module
 * adds it, so attribution and audit live in server/audit/ alone.
 */
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import type { AlsoInTransaction, AppendedUpdate, DocumentStore, NewDocument, Sql } from '../store/types.ts';
import { bindClients, createBindingStore, insertBindings, type BindingStore, type PendingBinding } from './bindings.ts';
import { stageAudit } from './staging.ts';
import type { AuditDraft } from './types.ts';

/** What creating a document records: who wrote its initial state (their client id's binding) and the entries. */
export interface CreationAudit {
	binding: { client: number; person: AuditPerson };
	drafts: readonly AuditDraft[];
}

export interface AttributedUpdate extends AppendedUpdate {
	/** The audit entries describing the update: stored in the same transaction, or not at all. */
	audit?: readonly AuditDraft[];
	/** Client id bindings not stored yet (made while the database did not answer): stored with the update. */
	bindings?: ReadonlyArray<{ client: number; person: AuditPerson }>;
}

/** One document of `createDocuments`, with its creation's audit. */
export interface AttributedNewDocument extends NewDocument {
	audit?: CreationAudit;
}

export interface AttributedStore extends DocumentStore, BindingStore {
	/**
	 * Creates a document with its initial state and projection in one transaction, and
	 * with `audit` the creator's binding and entries; fails if the id exists.
	 */
	createDocument(id: string, workspace: string, initialState: Uint8Array, projection: NewDocument['projection'] | null, audit?: CreationAudit): Promise<void>;
	/** Creates many documents in one transaction, all or none, with their bindings and entries. */
	createDocuments(documents: readonly AttributedNewDocument[]): Promise<void>;
	/**
	 * Appends a batch of updates (any documents) and their bindings and entries in one
	 * transaction; returns each document's new last sequence. An update another instance
	 * stored already (its `key`) is skipped with its bindings and entries: it is attributed
	 * once, by whichever instance stored it.
	 */
	appendUpdates(batch: readonly AttributedUpdate[]): Promise<Map<string, number>>;
	/** The three writes above, bindings and entries kept, each running `also` too in its transaction (after them). */
	alsoInTransaction(also: AlsoInTransaction): AttributedWrites;
}

/** The writes of the attributed store that may carry more work into their transaction. */
export type AttributedWrites = Pick<AttributedStore, 'createDocument' | 'createDocuments' | 'appendUpdates'>;

/** Stages these entries in the transaction it is run in. */
export const stageInTransaction =
	(drafts: readonly AuditDraft[]): AlsoInTransaction =>
	(tx) =>
		stageAudit(tx, drafts);

/** The bindings and entries of a creation. */
const creation =
	(id: string, audit: CreationAudit): AlsoInTransaction =>
	async (tx) => {
		await bindClients(tx, id, [audit.binding.client], audit.binding.person);
		await stageAudit(tx, audit.drafts);
	};

/** The bindings and entries of many creations, a statement each. */
const creations =
	(documents: readonly AttributedNewDocument[]): AlsoInTransaction =>
	async (tx) => {
		await insertBindings(
			tx,
			documents.flatMap((doc) => (doc.audit ? [{ documentId: doc.id, client: doc.audit.binding.client, person: doc.audit.binding.person }] : []))
		);
		await stageAudit(
			tx,
			documents.flatMap((doc) => doc.audit?.drafts ?? [])
		);
	};

/** The bindings and entries of a batch of updates: of those the store appended (not those another instance had stored). */
const updates =
	(all: readonly AttributedUpdate[]): AlsoInTransaction =>
	async (tx, appended) => {
		const stored = appended && appended.length < all.length ? new Set(appended) : null;
		const batch = stored ? all.filter((item) => stored.has(item)) : all;
		// Bindings made while the database was away, before the entries that name them.
		const bindings = new Map<string, PendingBinding>();
		for (const item of batch) for (const b of item.bindings ?? []) bindings.set(`${item.documentId}:${b.client}`, { documentId: item.documentId, ...b });
		await insertBindings(tx, [...bindings.values()]);
		// The entries describing these updates, in the same transaction: both or neither.
		await stageAudit(
			tx,
			batch.flatMap((item) => item.audit ?? [])
		);
	};

/** The audit's work, then the caller's (when there is any), in one transaction; both hear which updates were appended. */
const andThen =
	(first: AlsoInTransaction, then: AlsoInTransaction | null): AlsoInTransaction =>
	async (tx, appended) => {
		await first(tx, appended);
		await then?.(tx, appended);
	};

/** The store's writes with their bindings and entries, and `also` after them (null: nothing more). */
function attributedWrites(store: DocumentStore, also: AlsoInTransaction | null): AttributedWrites {
	return {
		createDocument: (id, workspace, initialState, projection, audit) =>
			audit
				? store.alsoInTransaction(andThen(creation(id, audit), also)).createDocument(id, workspace, initialState, projection)
				: also
					? store.alsoInTransaction(also).createDocument(id, workspace, initialState, projection)
					: store.createDocument(id, workspace, initialState, projection),
		createDocuments: (documents) => store.alsoInTransaction(andThen(creations(documents), also)).createDocuments(documents),
		appendUpdates: (batch) => store.alsoInTransaction(andThen(updates(batch), also)).appendUpdates(batch)
	};
}

/** The store over `sql`, with its writes attributed and audited. */
export function withAudit(store: DocumentStore, sql: Sql): AttributedStore {
	const bindings = createBindingStore(sql);
	return {
		...store,
		...bindings,
		...attributedWrites(store, null),
		// Not the store's own: more work in a write's transaction keeps the write's bindings and entries.
		alsoInTransaction: (also) => attributedWrites(store, also)
	};
}
