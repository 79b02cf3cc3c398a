/**
 * An import's batch of records as documents, stored in one transaction
 * (`AttributedStore.createDocuments`): each record written into a new document exactly as
 * the record service's `insert` writes one (its initial state under a fresh client id
 * bound to the importer, its list row, its `create` audit entry with source `import`),
 * but a batch costs a few statements instead of a few per record. What the import
 * notes of the batch (its job's undo list) is written in that same transaction.
 */
import * as Y from 'yjs';
import { newId, readRecord, writeNewRecord, type NewRecord, newDoc } from '../../src/lib/model/record.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import type { AttributedNewDocument, AttributedStore } from '../audit/attributed-store.ts';
import type { AlsoInTransaction } from '../store/types.ts';
import { creationAudit } from '../record-creation.ts';

/**
 * The records as new documents, ready for `createDocuments`: ids, initial states, list
 * rows and `create` entries. No database: an import builds a batch while the previous
 * one is being written.
 */
export function buildRecordBatch(
	records: readonly NewRecord[],
	by: { actor: AuditPerson; source: AuditSource },
	/** The import job creating them, named in each `create` entry of the audit log. */
	job?: string
): AttributedNewDocument[] {
	return records.map((record) => {
		const id = newId();
		const doc = newDoc(id);
		writeNewRecord(doc, record);
		const created = readRecord(doc, id);
		const at = record.createdAt ?? new Date().toISOString();
		const document: AttributedNewDocument = {
			id,
			workspace: record.workspace,
			initialState: Y.encodeStateAsUpdate(doc),
			projection: projectRecord(created, at),
			audit: creationAudit(created, { workspace: record.workspace, at, person: by.actor, source: by.source, client: doc.clientID, ...(job ? { importJob: job } : {}) })
		};
		doc.destroy();
		return document;
	});
}

/** Work for a batch's own transaction, given the ids of the records it creates (an import job's note of them). */
export type CreationNote = (ids: readonly string[]) => AlsoInTransaction;

/** Stores built documents in one transaction, with `note` of them in it too (both or neither); returns their ids in order. */
export async function storeRecordBatch(store: Pick<AttributedStore, 'createDocuments' | 'alsoInTransaction'>, documents: readonly AttributedNewDocument[], note?: CreationNote): Promise<string[]> {
	const ids = documents.map((d) => d.id);
	if (documents.length === 0) return ids;
	await (note ? store.alsoInTransaction(note(ids)) : store).createDocuments(documents);
	return ids;
}

/** Creates the records as new documents in one transaction, with `note` of them; returns their ids in order. */
export async function createRecordBatch(
	store: Pick<AttributedStore, 'createDocuments' | 'alsoInTransaction'>,
	records: readonly NewRecord[],
	by: { actor: AuditPerson; source: AuditSource },
	job?: string,
	note?: CreationNote
): Promise<string[]> {
	return storeRecordBatch(store, buildRecordBatch(records, by, job), note);
}
