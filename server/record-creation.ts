/**
 * A record's creation, one way for every path that creates one: the API and demo data
 * (server/records.ts), a browser's offline `create` frame (server/sync/create-from-sync.ts)
 * and, for its audit, an import's batch (server/import/batch.ts). The document's initial
 * state is stored with its list row, the binding of the client id that wrote it to its
 * creator, and its one `create` entry (fields, tags, the notes' length), in one transaction.
 */
import * as Y from 'yjs';
import type { CustomerRecord } from '../src/lib/model/record.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import type { AuditPerson, AuditSource } from '../src/lib/model/audit.ts';
import type { AttributedStore, CreationAudit } from './audit/attributed-store.ts';
import { jsonSafe } from './audit/hash.ts';

/** Who created a record, how and when. */
export interface Creation {
	workspace: string;
	/** When the record says it was created (an import's or the demo's date, or now), so its history tells the same story. */
	at: string;
	person: AuditPerson;
	source: AuditSource;
	/** The Yjs client id that wrote the initial state: bound to `person`. */
	client: number;
	/** The import job creating it, named in the entry. */
	importJob?: string;
}

/** The binding and the `create` entry of a new record. */
export function creationAudit(record: CustomerRecord, creation: Creation): CreationAudit {
	const after = jsonSafe({
		fields: record.fields,
		tags: record.tags,
		...(record.notes ? { notes: record.notes.length } : {}),
		...(creation.importJob ? { importJob: creation.importJob } : {})
	});
	return {
		binding: { client: creation.client, person: creation.person },
		drafts: [
			{ workspace: creation.workspace, recordId: record.id, at: creation.at, actor: creation.person, source: creation.source, relayedBy: null, path: 'record', op: 'create', before: null, after, conflict: null }
		]
	};
}

/** Stores `doc`, the new record `record` (read from it), as a new document with its list row and audit; fails if the id exists. */
export async function storeNewRecord(store: Pick<AttributedStore, 'createDocument'>, doc: Y.Doc, record: CustomerRecord, creation: Creation): Promise<void> {
	await store.createDocument(record.id, creation.workspace, Y.encodeStateAsUpdate(doc), projectRecord(record, creation.at), creationAudit(record, creation));
}
