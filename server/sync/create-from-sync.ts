/**
 * Records created on a client (offline) reach the server as a `create` frame carrying
 * the new document's whole state, sent before the client's sync step 1. The server
 * creates the document from that very state (so both sides share the same Yjs items
 * and nothing is duplicated when they merge), if:
 *   - the sender may create records (an editor or admin),
 *   - no document has that id yet (if one does, nothing is created: the ordinary access
 *     check decides whether the sender may sync it — a repeated `create` is harmless),
 *   - the state is a record of the current schema in the sender's workspace, created by
 *     the sender, with valid fields (a name among them).
 * The Yjs client ids in the state are bound to the sender (they wrote it), and the
 * creation is recorded like one through the API, as the sender's (`ui`).
 */
import * as Y from 'yjs';
import { canEdit, type Actor } from '../../src/lib/access.ts';
import { canonicalRecordId, isRecordDoc, readRecord, newDoc } from '../../src/lib/model/record.ts';
import { SCHEMA_VERSION } from '../../src/lib/model/schema.ts';
import { validateFields, type FieldLookup } from '../../src/lib/model/validate.ts';
import type { RefusedMessage } from '../../src/lib/protocol/index.ts';
import type { AttributedStore } from '../audit/attributed-store.ts';
import { storeNewRecord } from '../record-creation.ts';

export interface CreateFromSyncDeps {
	store: Pick<AttributedStore, 'documentWorkspace' | 'createDocument' | 'bindClients'>;
	/** Tells the workspace's tabs that a record's row appeared. */
	announce(workspace: string, recordId: string): void;
	/** The workspace's live field definitions, carrying its members (server/fields.ts), as every other writer is checked against. */
	definitions?: () => FieldLookup | undefined;
}

/** Resolves null when the document exists now (created here or before), or with the reason it was not created. */
export type CreateFromSync = (actor: Actor, id: string, state: Uint8Array) => Promise<RefusedMessage | null>;

const invalid = (reason: string): RefusedMessage => ({ code: 'invalid', reason: `This record could not be created: ${reason}` });

export function createFromSync({ store, announce, definitions }: CreateFromSyncDeps): CreateFromSync {
	return async (actor, id, state) => {
		if (canonicalRecordId(id) !== id) return { code: 'not-found', reason: `"${id}" is not a record id (record ids are lower-case UUIDs).` };
		const existing = await store.documentWorkspace(id);
		if (existing !== null) return null;
		if (!canEdit(actor)) return { code: 'read-only', reason: 'You can view records but not create them: your role is viewer.' };

		const doc = newDoc();
		try {
			try {
				Y.applyUpdate(doc, state);
			} catch {
				return invalid('its state could not be decoded.');
			}
			if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) return invalid('its state is incomplete.');
			if (!isRecordDoc(doc)) return invalid('it has no record metadata.');
			const record = readRecord(doc, id);
			if (record.meta.schema !== SCHEMA_VERSION) return invalid(`it follows schema ${record.meta.schema}, not ${SCHEMA_VERSION}.`);
			if (record.meta.workspace !== actor.workspace) return invalid('it belongs to another workspace.');
			if (record.meta.createdBy !== actor.id) return invalid('it names someone else as its creator.');
			const fields = validateFields(record.fields, { requireName: true, definitions: definitions?.() });
			if (!fields.ok) return invalid(Object.entries(fields.errors).map(([key, message]) => `${key}: ${message}`).join('; '));

			const clients = [...doc.store.clients.keys()];
			if (clients.length === 0) return invalid('it is empty.');
			const person = { id: actor.id, name: actor.name };
			const at = new Date().toISOString();
			try {
				await storeNewRecord(store, doc, record, { workspace: actor.workspace, at, person, source: actor.id.startsWith('token:') ? 'api' : 'ui', client: clients[0] });
			} catch (error) {
				// Created meanwhile by another connection (the same client on two sockets): fine.
				if ((await store.documentWorkspace(id)) !== null) return null;
				throw error;
			}
			if (clients.length > 1) await store.bindClients(id, clients.slice(1), person);
			announce(actor.workspace, id);
			return null;
		} finally {
			doc.destroy();
		}
	};
}
