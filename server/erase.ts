/**
 * Data-subject erasure (GDPR art. 17, PIPL art. 47): a customer's records erased for
 * real, on request, by an admin: `DELETE /api/records/:id`, `POST /api/records/erase`
 * with several ids, or `npm run accord -- subject erase RECORD_ID...` at the machine.
 *
 * The database part is one transaction (server/store/erase-store.ts: the document, its
 * log and snapshot, its list row, search tokens, duplicate keys, analytics rows, merges
 * naming it, its values in the audit log, with one audit entry saying who erased which
 * id and when). Around it, the live part: the record's room is dropped on every instance
 * without writing anything back, its sockets are told it does not exist, and every tab
 * that could see it is told to drop its local copy (record-notice.ts, `erased` flag);
 * tabs away at that moment drop it at their next catch-up (`removed`, server/sync/catch-up.ts).
 *
 * All or nothing: one id that is not a record of the workspace refuses the whole request,
 * naming it, and nothing is erased; so a typo never leaves half a person behind.
 */
import { canonicalRecordId } from '../src/lib/model/record.ts';
import type { AuditPerson, AuditSource } from '../src/lib/model/audit.ts';
import type { RecordVisibility } from '../src/lib/access.ts';
import type { EraseStore } from './store/erase-store.ts';
import type { DocumentStore } from './store/types.ts';
import type { EraseResult } from '../src/lib/server/services.ts';

/** Ids one request may erase: a person's records are a handful; a bigger batch is split by the caller. */
export const MAX_ERASE_IDS = 100;

export type { EraseResult as EraseOutcome } from '../src/lib/server/services.ts';

export interface EraseDeps {
	erasure: Pick<EraseStore, 'erase'>;
	store: Pick<DocumentStore, 'getProjection'>;
	workspace: string;
	/** The live side (a running server): drop the rooms and tell the tabs. Absent at the command line. */
	discard?(id: string, announce: { workspace: string; visibility: RecordVisibility }): Promise<void>;
}

/** The ids of a request, checked: 1 to MAX_ERASE_IDS record ids, each in its canonical spelling, once each. */
export function readEraseIds(input: unknown): { ok: true; ids: string[] } | { ok: false; message: string; invalid?: string[] } {
	if (!Array.isArray(input) || input.length === 0) return { ok: false, message: 'Send the records to erase as {"ids": ["<record id>", …]}.' };
	if (input.length > MAX_ERASE_IDS) return { ok: false, message: `At most ${MAX_ERASE_IDS} records can be erased per request; this one names ${input.length}.` };
	const ids: string[] = [];
	const invalid: string[] = [];
	for (const item of input) {
		const id = typeof item === 'string' ? canonicalRecordId(item) : null;
		if (id === null) invalid.push(typeof item === 'string' ? item.slice(0, 80) : JSON.stringify(item)?.slice(0, 80) ?? String(item));
		else if (!ids.includes(id)) ids.push(id);
	}
	if (invalid.length > 0) return { ok: false, message: `Not record ids (record ids are UUIDs): ${invalid.join(', ')}. Nothing was erased.`, invalid };
	return { ok: true, ids };
}

/** Erases these records (ids as sent), as `by`. Callers check the role first (admins only). */
export async function eraseRecords(deps: EraseDeps, ids: unknown, by: AuditPerson, source: AuditSource): Promise<EraseResult> {
	const read = readEraseIds(ids);
	if (!read.ok) return { ok: false, status: 400, message: read.message, invalid: read.invalid };
	// Who could see each record, read before it goes: the notice telling tabs to drop it goes to them alone.
	const visibility = new Map<string, RecordVisibility>();
	if (deps.discard) {
		for (const id of read.ids) {
			const row = await deps.store.getProjection(id);
			if (row) visibility.set(id, { private: row.private === true, owner: row.owner });
		}
	}
	const result = await deps.erasure.erase(deps.workspace, read.ids, by, source);
	if (result.missing.length > 0) {
		return {
			ok: false,
			status: 404,
			message: `No record ${result.missing.join(', ')} in this workspace (or erased already). Nothing was erased.`,
			missing: result.missing
		};
	}
	for (const id of result.erased) {
		await deps.discard?.(id, { workspace: deps.workspace, visibility: visibility.get(id) ?? { private: true, owner: null } });
	}
	return { ok: true, erased: result.erased };
}

/** A refusal of the command line: its sentence, and exit code 1. */
export class EraseCommandFailed extends Error {
	override readonly name = 'EraseCommandFailed';
}

/**
 * `npm run accord -- subject erase RECORD_ID...`: erases in the database itself, as the
 * operator at the machine ("Command line" in the audit log). A server running on the
 * same Postgres is not told at once: its open tabs drop the records at their next
 * catch-up, and nothing they send is stored (the documents are gone); the API
 * (DELETE /api/records/:id) tells them at once.
 */
export async function subjectEraseCommand(erasure: EraseDeps['erasure'], store: EraseDeps['store'], workspace: string, ids: readonly string[], out: NodeJS.WritableStream): Promise<void> {
	if (ids.length === 0) throw new EraseCommandFailed('Say which records: subject erase RECORD_ID [RECORD_ID...].');
	const result = await eraseRecords({ erasure, store, workspace }, [...ids], { id: 'cli', name: 'Command line' }, 'api');
	if (!result.ok) throw new EraseCommandFailed(result.message);
	out.write(`Erased ${result.erased.length} record${result.erased.length === 1 ? '' : 's'} of workspace ${workspace}: ${result.erased.join(', ')}\n`);
}
