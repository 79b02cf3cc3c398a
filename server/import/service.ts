/**
 * Imports as the server runs them, for the HTTP endpoint and the command line alike:
 * who may import (editors), and how a batch of validated records is created: every
 * record a new document with its `create` audit entry (source `import`), the batch in
 * one transaction (batch.ts), and the workspace's open lists told at most about once a
 * second, so a large import does not flood every tab with a notice per record.
 */
import { canEdit, type Actor } from '../../src/lib/access.ts';
import type { DocumentStore } from '../store/types.ts';
import { ForbiddenError } from '../../src/lib/server/services.ts';
import { runImport, type ImportOptions, type ImportReport } from './run.ts';
import { createRecordBatch } from './batch.ts';
/** How often, at most, open lists hear that records arrived during an import. */
const ANNOUNCE_EVERY_MS = 1000;

export interface ImportDeps {
	workspace: string;
	store: Pick<DocumentStore, 'createDocuments'>;
	/** Tells open lists that this record changed (so they refresh); null on the command line. */
	announce: ((workspace: string, id: string) => void) | null;
}

export interface ImportService {
	run(actor: Actor, bytes: AsyncIterable<Uint8Array>, options: Omit<ImportOptions, 'workspace' | 'createdBy'>): Promise<ImportReport>;
}

export function createImportService({ workspace, store, announce }: ImportDeps): ImportService {
	return {
		async run(actor, bytes, options) {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot import records.`);
			const by = { actor: { id: actor.id, name: actor.name }, source: 'import' as const };
			let lastAnnounced = 0;
			let unannounced: string | null = null;
			const report = await runImport(bytes, { ...options, workspace, createdBy: actor.id }, async (records) => {
				const ids = await createRecordBatch(store, records, by);
				unannounced = ids[ids.length - 1];
				if (announce && unannounced && Date.now() - lastAnnounced >= ANNOUNCE_EVERY_MS) {
					announce(workspace, unannounced);
					unannounced = null;
					lastAnnounced = Date.now();
				}
			});
			if (announce && unannounced) announce(workspace, unannounced);
			return report;
		}
	};
}
