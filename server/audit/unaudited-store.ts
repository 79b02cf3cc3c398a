/**
 * The document store as it is used when the audit log is off (ACCORD_AUDIT=0): documents
 * and updates are stored as always, their audit entries and client id bindings are not.
 * Callers keep passing what they would record, so turning the log off is one switch here.
 */
import type { AuditStore } from './log-store.ts';
import type { AttributedStore, AttributedWrites } from './attributed-store.ts';

/** The writes without their entries and bindings. */
function unauditedWrites(writes: AttributedWrites): AttributedWrites {
	return {
		createDocument: (id, workspace, initialState, projection) => writes.createDocument(id, workspace, initialState, projection),
		createDocuments: (documents) => writes.createDocuments(documents.map(({ audit: _audit, ...doc }) => doc)),
		// The key stays: an update published before its commit is still stored once (server/store/types.ts, UpdateKey).
		appendUpdates: (batch) => writes.appendUpdates(batch.map(({ documentId, update, key }) => ({ documentId, update, key })))
	};
}

export function withoutAudit(store: AttributedStore): AttributedStore {
	return {
		...store,
		...unauditedWrites(store),
		// A caller's own work in a write's transaction still runs; only the audit's is left out.
		alsoInTransaction: (also) => unauditedWrites(store.alsoInTransaction(also))
	};
}

/** The audit store when the log is off: history stays readable, the private flag changes without an entry. */
export function withoutNewEntries(audit: AuditStore): AuditStore {
	return { ...audit, setPrivate: (id, value) => audit.setPrivate(id, value, []) };
}
