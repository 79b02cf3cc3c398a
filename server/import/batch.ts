/**
 * An import's batch of records as documents, stored in one transaction
 * (`AttributedStore.createDocuments`): each record written into a new document exactly as
 * the record service's `insert` writes one (its initial state under a fresh client id
 * bound to the importer, its list row, its `create` audit entry with source `import`),
 * but a batch costs a few statements instead of a few per record.
 */
import * as Y from 'yjs';
import { newId, readRecord, writeNewRecord, type NewRecord } from '../../src/lib/model/record.ts';
import { projectRecord } from '../../src/lib/model/projection.ts';
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import type { AttributedNewDocument, AttributedStore } from '../audit/attributed-store.ts';
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
		// Named by the record's id: left to itself, Y.Doc makes a random guid with 32 calls to crypto, about half of this function's own time in a profile of bench/import.ts; the guid is never stored.
		const doc = new Y.Doc({ guid: id });
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

/** Creates the records as new documents in one transaction; returns their ids in order. */
export async function createRecordBatch(
	store: Pick<AttributedStore, 'createDocuments'>,
	records: readonly NewRecord[],
	by: { actor: AuditPerson; source: AuditSource },
	job?: string
): Promise<string[]> {
	const documents = buildRecordBatch(records, by, job);
	await store.createDocuments(documents);
	return documents.map((d) => d.id);
}
