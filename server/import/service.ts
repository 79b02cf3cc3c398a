/**
 * The import behind `POST /api/import` and the command line: who may import (editors
 * and admins, as for creating records), and how a batch of validated rows is written
 * by the duplicate policy. Rows are matched on an Accord id column (an export's), email,
 * phone or website domain, through the store's duplicate keys (the same blocking keys
 * and rules as the duplicates page: src/lib/model/duplicates.ts), one query per batch;
 * a row also matches an earlier row of the same file. Then:
 *   - new records: every record a new document with its `create` audit entry (source
 *     `import`), the batch in one transaction (batch.ts);
 *   - `update`: the row's values written over the match's through its live document
 *     (source `import`), only where they differ, so importing the same file again
 *     changes nothing;
 *   - `merge`: the row created, then merged into the match by the merge service
 *     (server/merge.ts), so the match keeps its values, the row fills the gaps, and the
 *     merge can be undone from the duplicates page like any other.
 * The workspace's open lists are told at most about once a second, so a large import
 * does not flood every tab with a notice per record.
 *
 * A job's undo list (`UndoNotes`) is never behind the records: created records are noted
 * in the transaction that creates them, a merge in the one that records it, and an
 * updated record (with what it was) before it is changed. A crash or a database error
 * anywhere leaves nothing the import changed that its undo would miss.
 */
import { canAdminister, canEdit, canSeeRecord, type Actor } from '../../src/lib/access.ts';
import { duplicateKeys, matchKeys } from '../../src/lib/model/duplicates.ts';
import { addTag, isRecordDoc, notesOf, readRecord, setField, spliceText, type CustomerRecord, type NewRecord } from '../../src/lib/model/record.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import type { FieldLookup } from '../../src/lib/model/validate.ts';
import type { DuplicatePolicy, MatchKind } from '../../src/lib/io/formats.ts';
import type { KnownField } from '../../src/lib/io/mapping.ts';
import type { AuditPerson } from '../../src/lib/model/audit.ts';
import { ForbiddenError, type MergeService } from '../../src/lib/server/services.ts';
import type { Rooms } from '../sync/rooms.ts';
import { ImportRequestError, runImport, type BatchResult, type ImportOptions, type ImportReport, type ImportRow, type RowOutcome } from './run.ts';
import { buildRecordBatch, createRecordBatch, storeRecordBatch, type CreationNote } from './batch.ts';
import type { AttributedStore } from '../audit/attributed-store.ts';
import type { AlsoInTransaction } from '../store/types.ts';
import type { ExternalIdLookup } from './external-ids.ts';

/** How often, at most, open lists hear that records arrived during an import. */
const ANNOUNCE_EVERY_MS = 1000;
/** Stored records read per batch when looking for matches: a batch's keys rarely find more; a key shared by thousands is cut here. */
const MATCH_ROWS_PER_BATCH = 5_000;

export interface ImportDeps {
	workspace: string;
	store: Pick<AttributedStore, 'createDocuments' | 'alsoInTransaction' | 'duplicateCandidates' | 'getProjection'>;
	/** Tells open lists that this record changed (so they refresh); null on the command line. */
	announce: ((workspace: string, id: string) => void) | null;
	/** The workspace's current field definitions (server/fields.ts); the built-ins alone when absent. */
	definitions?: () => (FieldLookup & { all?: readonly KnownField[] }) | undefined;
	/** The live documents, through which matched records are updated (the update policy needs them). */
	rooms?: Pick<Rooms, 'acquire' | 'release' | 'writer'>;
	/** The merge service (the merge policy needs it), taking work for the transaction that records a merge (server/merge.ts). */
	merges?: { merge(actor: Actor, body: unknown, also?: (mergeId: string) => AlsoInTransaction): ReturnType<MergeService['merge']> };
	/** Finds records by the value of an external id field (matching on another system's id needs it). */
	externalIds?: ExternalIdLookup;
}

/**
 * Where an import notes what it changes, for its undo (an import job's list,
 * server/import/job-store.ts). Each note is stored with its change or ahead of it, so
 * no change is left out of the list; a note ahead of a change that then failed names a
 * record as it still is, which an undo writes back unchanged.
 */
export interface UndoNotes {
	/** Work for the transaction creating these records: their note, stored with them or not at all. */
	created: CreationNote;
	/** Notes a record about to be updated, as it is now; awaited before the update is made. */
	updating(id: string, before: CustomerRecord): Promise<void>;
	/** Work for the transaction recording this merge (before it changes any record). */
	merging(mergeId: string): AlsoInTransaction;
}

export interface ImportRunOptions extends Omit<ImportOptions, 'workspace' | 'createdBy' | 'definitions'> {
	/** Where what the import changes is noted for its undo (none: not undoable, as on the command line). */
	undoNotes?: UndoNotes;
	/** The job this import runs as (server/import/jobs.ts), named in each created record's audit entry. */
	job?: string;
}

export interface ImportService {
	run(actor: Actor, bytes: AsyncIterable<Uint8Array>, options: ImportRunOptions): Promise<ImportReport>;
}

const KEY_PREFIX: Record<Exclude<MatchKind, 'id'>, string> = { email: 'email:', phone: 'phone:', domain: 'domain:' };

/** A row's match keys of the kinds asked for (names are never matched on: too loose to write over a record). */
function rowKeys(fields: Readonly<Record<string, Scalar>>, matchOn: readonly MatchKind[]): string[] {
	const prefixes = matchOn.flatMap((kind) => (kind === 'id' ? [] : [KEY_PREFIX[kind]]));
	if (prefixes.length === 0) return [];
	return duplicateKeys(fields).filter((key) => prefixes.some((prefix) => key.startsWith(prefix)));
}

/** A later row's values folded into an earlier row of the same file: over it (update) or into its gaps (merge). */
function foldInto(target: NewRecord, row: NewRecord, over: boolean): void {
	for (const [key, value] of Object.entries(row.fields)) {
		if (value === null) continue;
		if (over || target.fields[key] === undefined || target.fields[key] === null) target.fields[key] = value;
	}
	target.tags = [...new Set([...(target.tags ?? []), ...(row.tags ?? [])])];
	if (row.notes !== undefined && row.notes !== '') {
		target.notes = over || !target.notes ? row.notes : `${target.notes}\n\n${row.notes}`;
	}
}

const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

export function createImportService({ workspace, store, announce, definitions, rooms, merges, externalIds }: ImportDeps): ImportService {
	/** The stored record each row matches (by Accord id, then by the other system's id, then by the best shared key), or null. */
	async function storedMatches(actor: Actor, rows: readonly ImportRow[], keys: readonly string[][], matchOn: readonly MatchKind[], externalId: string | null): Promise<Array<string | null>> {
		const found: Array<string | null> = rows.map(() => null);
		if (matchOn.includes('id')) {
			for (const [index, row] of rows.entries()) {
				if (!row.id) continue;
				const stored = await store.getProjection(row.id);
				if (stored && stored.workspace === workspace && canSeeRecord(actor, { private: stored.private === true, owner: stored.owner })) found[index] = row.id;
			}
		}
		if (externalId) {
			if (!externalIds) throw new ImportRequestError('Matching on an external id is not available here.');
			const values = rows.flatMap((row, index) => (found[index] === null && row.external !== null ? [row.external] : []));
			const byValue = await externalIds(workspace, externalId, values, { id: actor.id, admin: canAdminister(actor) });
			for (const [index, row] of rows.entries()) if (found[index] === null && row.external !== null) found[index] = byValue.get(row.external) ?? null;
		}
		const wanted = [...new Set(keys.flat())];
		if (wanted.length === 0) return found;
		const candidates = await store.duplicateCandidates(workspace, wanted, { viewer: { id: actor.id, admin: canAdminister(actor) }, limit: MATCH_ROWS_PER_BATCH });
		for (const [index, rowKeyList] of keys.entries()) {
			if (found[index] || rowKeyList.length === 0) continue;
			let best: { id: string; confidence: number } | null = null;
			for (const candidate of candidates) {
				const match = matchKeys(rowKeyList, candidate.keys.filter((key) => rowKeyList.includes(key)));
				// Candidates come most recently changed first: on a tie, the one people worked on last.
				if (match && (!best || match.confidence > best.confidence)) best = { id: candidate.id, confidence: match.confidence };
			}
			found[index] = best?.id ?? null;
		}
		return found;
	}

	/** Writes the row's values over the record's where they differ; `unchanged` when none does. */
	async function updateRecord(person: AuditPerson, id: string, row: NewRecord, undoNotes: UndoNotes | undefined): Promise<'updated' | 'unchanged' | null> {
		const room = await rooms!.acquire(id);
		if (!room) return null;
		try {
			if (!isRecordDoc(room.doc)) return null;
			const before = readRecord(room.doc, id);
			const fields = Object.entries(row.fields).filter(([key, value]) => value !== null && !same(before.fields[key], value));
			const tags = (row.tags ?? []).filter((tag) => !before.tags.includes(tag));
			const notes = row.notes !== undefined && row.notes !== '' && row.notes !== before.notes ? row.notes : undefined;
			if (fields.length === 0 && tags.length === 0 && notes === undefined) return 'unchanged';
			// Noted first: the live document's update is stored by the group commit with other people's edits, so it cannot carry the note in its transaction.
			await undoNotes?.updating(id, before);
			await room.transact({ actor: person, source: 'import' }, (doc) => {
				for (const [key, value] of fields) setField(doc, key, value);
				for (const tag of tags) addTag(doc, tag);
				if (notes !== undefined) spliceText(notesOf(doc), notes);
			});
			await rooms!.writer.flushed(id);
			return 'updated';
		} finally {
			rooms!.release(room);
		}
	}

	return {
		async run(actor, bytes, options) {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot import records.`);
			const policy: DuplicatePolicy = options.policy ?? 'create';
			if (policy === 'update' && !rooms) throw new ImportRequestError('The update policy is not available here.');
			if (policy === 'merge' && (!rooms || !merges)) throw new ImportRequestError('The merge policy is not available here.');
			const person = { id: actor.id, name: actor.name };
			const by = { actor: person, source: 'import' as const };
			const notes = options.undoNotes;
			let lastAnnounced = 0;
			let unannounced: string | null = null;
			const announced = (ids: readonly string[]) => {
				if (ids.length === 0) return;
				unannounced = ids[ids.length - 1];
				if (announce && Date.now() - lastAnnounced >= ANNOUNCE_EVERY_MS) {
					announce(workspace, unannounced);
					unannounced = null;
					lastAnnounced = Date.now();
				}
			};

			async function writeBatch(
				rows: ImportRow[],
				{ dryRun, matchOn, externalId, ready }: { dryRun: boolean; policy: DuplicatePolicy; matchOn: readonly MatchKind[]; externalId: string | null; ready: () => Promise<void> }
			): Promise<BatchResult> {
				// Creating regardless needs no look-up on a real run (the fast path of a first import); a dry run still counts the matches.
				if (policy === 'create' && !dryRun) {
					// Built while the previous batch is being written; stored once it is in.
					const documents = buildRecordBatch(rows.map((r) => r.record), by, options.job);
					await ready();
					const ids = await storeRecordBatch(store, documents, notes?.created);
					announced(ids);
					return { outcomes: rows.map(() => 'created'), matched: 0 };
				}
				// Matches are looked up after the previous batch is in: a row may match a record it created.
				await ready();
				const keys = rows.map((row) => rowKeys(row.record.fields, matchOn));
				const stored = await storedMatches(actor, rows, keys, matchOn, externalId);
				// Within the file, a later row with the same external id is the same customer too (a key of its own, never sent to the store).
				const fileKeys = rows.map((row, index) => (externalId && row.external !== null ? [`external:${row.external}`, ...keys[index]] : keys[index]));
				const outcomes: RowOutcome[] = [];
				const toCreate: NewRecord[] = [];
				const toUpdate: Array<{ index: number; id: string; record: NewRecord }> = [];
				const toMerge: Array<{ index: number; id: string; record: NewRecord }> = [];
				/** Keys of the rows this batch creates, so a later row of the file matches an earlier one. */
				const pending = new Map<string, NewRecord>();
				let matched = 0;
				for (const [index, row] of rows.entries()) {
					const record = { ...row.record, fields: { ...row.record.fields } };
					const storedId = stored[index];
					const earlier = storedId ? undefined : fileKeys[index].map((key) => pending.get(key)).find((found) => found !== undefined);
					if (storedId || earlier) matched++;
					if ((!storedId && !earlier) || policy === 'create') {
						toCreate.push(record);
						for (const key of fileKeys[index]) if (!pending.has(key)) pending.set(key, record);
						outcomes.push('created');
					} else if (policy === 'skip') {
						outcomes.push('skipped');
					} else if (earlier) {
						foldInto(earlier, record, policy === 'update');
						outcomes.push(policy === 'update' ? 'updated' : 'merged');
					} else if (policy === 'update') {
						toUpdate.push({ index, id: storedId!, record });
						outcomes.push('updated');
					} else {
						toMerge.push({ index, id: storedId!, record });
						outcomes.push('merged');
					}
				}
				if (dryRun) return { outcomes, matched };

				announced(await createRecordBatch(store, toCreate, by, options.job, notes?.created));
				for (const item of toUpdate) {
					const result = await updateRecord(person, item.id, item.record, notes);
					if (!result) {
						// Gone since it was matched (removed, or its room would not load): the row is created instead.
						await createRecordBatch(store, [item.record], by, options.job, notes?.created);
						outcomes[item.index] = 'created';
						continue;
					}
					outcomes[item.index] = result;
				}
				for (const item of toMerge) {
					const [newId] = await createRecordBatch(store, [item.record], by, options.job, notes?.created);
					const merged = await merges!.merge(actor, { survivor: item.id, merged: [newId] }, notes?.merging);
					if (!merged.ok) outcomes[item.index] = 'created';
				}
				return { outcomes, matched };
			}

			const report = await runImport(bytes, { ...options, workspace, createdBy: actor.id, definitions: definitions?.() }, writeBatch);
			if (announce && unannounced) announce(workspace, unannounced);
			return report;
		}
	};
}
