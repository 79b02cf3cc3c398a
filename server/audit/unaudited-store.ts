/**
 * The document store as it is used when the audit log is off (ACCORD_AUDIT=0): documents
 * and updates are stored as always, their audit entries and client id bindings are not.
 * Callers keep passing what they would record, so turning the log off is one switch here.
 */
import type { AuditStore } from './log-store.ts';
import type { AttributedStore } from './attributed-store.ts';

export function withoutAudit(store: AttributedStore): AttributedStore {
	return {
		...store,
		createDocument: (id, workspace, initialState, projection) => store.createDocument(id, workspace, initialState, projection),
		createDocuments: (documents) => store.createDocuments(documents.map(({ audit: _audit, ...doc }) => doc)),
		appendUpdates: (batch) => store.appendUpdates(batch.map(({ documentId, update }) => ({ documentId, update })))
	};
}

/** The audit store when the log is off: history stays readable, the private flag changes without an entry. */
export function withoutNewEntries(audit: AuditStore): AuditStore {
	return { ...audit, setPrivate: (id, value) => audit.setPrivate(id, value, []) };
}
