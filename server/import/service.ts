/**
 * Imports as the server runs them, for the HTTP endpoint and the command line alike:
 * who may import (editors), and how a batch of validated records is created: each
 * record a new document written with its `create` audit entry (source `import`), a few
 * at a time, and the workspace's open lists told at most about once a second, so a
 * large import does not flood every tab with a notice per record.
 */
import { canEdit, type Actor } from '../../src/lib/access.ts';
import type { NewRecord } from '../../src/lib/model/record.ts';
import type { AuditPerson, AuditSource } from '../../src/lib/model/audit.ts';
import { ForbiddenError } from '../../src/lib/server/services.ts';
import { runImport, type ImportOptions, type ImportReport } from './run.ts';

/** Records written at once within a batch: enough to keep a Postgres pool busy, few enough to bound memory. */
const CONCURRENT_WRITES = 8;
/** How often, at most, open lists hear that records arrived during an import. */
const ANNOUNCE_EVERY_MS = 1000;

export interface ImportDeps {
	workspace: string;
	insert(record: NewRecord, by: { actor: AuditPerson; source: AuditSource }): Promise<string>;
	/** Tells open lists that this record changed (so they refresh); null on the command line. */
	announce: ((workspace: string, id: string) => void) | null;
}

export interface ImportService {
	run(actor: Actor, bytes: AsyncIterable<Uint8Array>, options: Omit<ImportOptions, 'workspace' | 'createdBy'>): Promise<ImportReport>;
}

export function createImportService({ workspace, insert, announce }: ImportDeps): ImportService {
	return {
		async run(actor, bytes, options) {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot import records.`);
			const by = { actor: { id: actor.id, name: actor.name }, source: 'import' as const };
			let lastAnnounced = 0;
			let unannounced: string | null = null;
			const report = await runImport(bytes, { ...options, workspace, createdBy: actor.id }, async (records) => {
				for (let i = 0; i < records.length; i += CONCURRENT_WRITES) {
					const ids = await Promise.all(records.slice(i, i + CONCURRENT_WRITES).map((record) => insert(record, by)));
					unannounced = ids[ids.length - 1];
				}
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
