/**
 * Data-subject requests (GDPR art. 15, PIPL art. 45): everything Accord holds about one
 * customer, as one JSON document. Served to admins at `GET /api/records/:id/subject-export`
 * (audited) and by `npm run accord -- subject export RECORD_ID` (from the database itself,
 * for an operator at the machine).
 *
 * What "everything" is: the record as plain JSON (every field, tag, contact, activity,
 * the notes: `readRecord`), whether it is private, and its whole history: every audit
 * entry about it, sealed and still open, oldest first, with before and after values.
 * The raw Yjs update log holds nothing the record and its history do not show, in a
 * form no person can read, so it is not included (a backup has it).
 */
import * as Y from 'yjs';
import { canonicalRecordId, readRecord, type CustomerRecord, newDoc } from '../src/lib/model/record.ts';
import type { AuditEntry, AuditPerson } from '../src/lib/model/audit.ts';
import type { AuditFilter } from './audit/log-store.ts';
import type { AuditPage } from '../src/lib/model/audit.ts';
import type { Database } from './database.ts';

export const SUBJECT_EXPORT_FORMAT = 'accord-subject-export';
/** A record's history beyond this many entries is cut (and the export says so): the file stays one a person can open. */
export const MAX_SUBJECT_HISTORY = 100_000;
const PAGE = 1_000;

export interface SubjectExport {
	format: typeof SUBJECT_EXPORT_FORMAT;
	version: 1;
	exportedAt: string;
	exportedBy: AuditPerson;
	workspace: string;
	recordId: string;
	record: CustomerRecord & { private: boolean };
	/** Every audit entry about the record, oldest first. */
	history: AuditEntry[];
	/** True when the history had more than MAX_SUBJECT_HISTORY entries and the oldest were left out. */
	historyTruncated: boolean;
}

export interface SubjectSources {
	workspace: string;
	/** The record as plain JSON with its visibility; null when there is no such record in the workspace. */
	record(id: string): Promise<(CustomerRecord & { private: boolean }) | null>;
	history(filter: AuditFilter): Promise<AuditPage>;
}

/** Builds the export of one record; null when it does not exist. */
export async function subjectExport(sources: SubjectSources, anyId: string, by: AuditPerson, now = new Date()): Promise<SubjectExport | null> {
	const id = canonicalRecordId(anyId);
	if (id === null) return null;
	const record = await sources.record(id);
	if (!record) return null;
	const newestFirst: AuditEntry[] = [];
	let total = 0;
	for (let offset = 0; offset < MAX_SUBJECT_HISTORY; offset += PAGE) {
		const page = await sources.history({ workspace: sources.workspace, recordId: id, limit: Math.min(PAGE, MAX_SUBJECT_HISTORY - offset), offset });
		total = page.total;
		newestFirst.push(...page.entries);
		if (page.entries.length < PAGE) break;
	}
	return {
		format: SUBJECT_EXPORT_FORMAT,
		version: 1,
		exportedAt: now.toISOString(),
		exportedBy: by,
		workspace: sources.workspace,
		recordId: id,
		record,
		history: newestFirst.reverse(),
		historyTruncated: total > newestFirst.length
	};
}

/** The record as the database stores it (no server running): snapshot and updates applied, and its projection's visibility. */
export function storedSubjectSources(database: Database, workspace: string): SubjectSources {
	return {
		workspace,
		async record(id) {
			if ((await database.documents.documentWorkspace(id)) !== workspace) return null;
			const [stored, row] = await Promise.all([database.documents.loadDocument(id), database.documents.getProjection(id)]);
			if (!stored || !row) return null;
			const doc = newDoc();
			try {
				for (const update of stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates) Y.applyUpdate(doc, update);
				return { ...readRecord(doc, id), private: row.private ?? false };
			} finally {
				doc.destroy();
			}
		},
		history: (filter) => database.audit.query(filter)
	};
}

export function subjectExportFilename(id: string): string {
	return `accord-subject-${id}.json`;
}
