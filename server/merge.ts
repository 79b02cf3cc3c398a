/**
 * Merging customer records into one, and undoing a merge. Both write through the live
 * documents (each record's room, as PATCH and archive do), so everyone with a record
 * open sees the change at once: the survivor gains the planned values, tags, contacts,
 * activities and notes (src/lib/model/merge.ts plans them, the same module the merge
 * page previews with), and each merged record is archived with `meta.mergedInto`
 * naming the survivor, which takes its open pages there. Every record's plain JSON
 * before and after is kept (server/store/merge-store.ts), so an undo can write each one
 * back exactly, as changes, and can tell whether anyone changed one in between.
 */
import * as Y from 'yjs';
import {
	activitiesOf,
	addTag,
	canonicalRecordId,
	contactsOf,
	fieldsOf,
	isRecordDoc,
	metaOf,
	newId,
	notesOf,
	readRecord,
	removeTag,
	setArchived,
	setField,
	spliceText,
	tagsOf,
	type CustomerRecord
} from '../src/lib/model/record.ts';
import { parseMergeRequest, planMerge, recordLabel, type MergePlan } from '../src/lib/model/merge.ts';
import type { Scalar } from '../src/lib/model/schema.ts';
import type { FieldLookup } from '../src/lib/model/validate.ts';
import type { AuditPerson, AuditValue } from '../src/lib/model/audit.ts';
import { canAdminister, canEdit, canSeeRecord, type Actor } from '../src/lib/access.ts';
import { ForbiddenError, type ChangedSinceMerge, type MergeService, type MergeView } from '../src/lib/server/services.ts';
import type { AuthStore, RecordAccess } from './store/auth-store.ts';
import type { MergeRow, MergeStore, PlainRecord } from './store/merge-store.ts';
import type { AlsoInTransaction } from './store/types.ts';
import type { AuditDraft } from './audit/types.ts';
import { stageInTransaction } from './audit/attributed-store.ts';
import type { Rooms } from './sync/rooms.ts';
import type { Room } from './sync/room.ts';

export interface MergeServiceDeps {
	merges: MergeStore;
	auth: AuthStore;
	rooms: Rooms;
	workspace: string;
	/** Whether the audit log is on (ACCORD_AUDIT): off, the merge's own entries are not staged either. */
	audit: boolean;
	/** Stages audit entries outside a document update (the undo's summary). */
	stageAudit(drafts: readonly AuditDraft[]): Promise<void>;
	/** The workspace's live field definitions, carrying its members (server/fields.ts `catalog()`); the built-ins alone when absent. */
	definitions?: () => FieldLookup | undefined;
}

/** The merge service as the server's own callers use it. */
export interface ServerMergeService extends MergeService {
	/**
	 * As `MergeService.merge`; `also` gives work for the transaction that records the
	 * merge, before any record changes (an import's note of the merge, for its undo).
	 */
	merge(actor: Actor, body: unknown, also?: (mergeId: string) => AlsoInTransaction): ReturnType<MergeService['merge']>;
}

const personOf = (actor: Actor): AuditPerson => ({ id: actor.id, name: actor.name });

const viewOf = (row: MergeRow): MergeView => ({
	id: row.id,
	survivor: row.survivor,
	merged: row.merged,
	mergedBy: row.mergedBy,
	mergedAt: row.mergedAt,
	undoneAt: row.undoneAt
});

/** Y.Map of an item's values, keys in the order given (so a record reads back in its own order). */
function itemMap(values: object): Y.Map<Scalar> {
	const map = new Y.Map<Scalar>();
	for (const [key, value] of Object.entries(values)) if (value !== undefined) map.set(key, value as Scalar);
	return map;
}

/** Places where two plain records differ: `fields.city`, `tags`, `contacts`, `activities`, `notes`, `meta.archived`… */
export function differingPlaces(a: PlainRecord, b: PlainRecord): string[] {
	const places: string[] = [];
	for (const key of new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])) {
		if (JSON.stringify(a.fields[key]) !== JSON.stringify(b.fields[key])) places.push(`fields.${key}`);
	}
	for (const key of ['tags', 'contacts', 'activities', 'notes'] as const) {
		if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) places.push(key);
	}
	const metaA = a.meta as unknown as Record<string, unknown>;
	const metaB = b.meta as unknown as Record<string, unknown>;
	for (const key of new Set([...Object.keys(metaA), ...Object.keys(metaB)])) {
		if (JSON.stringify(metaA[key]) !== JSON.stringify(metaB[key])) places.push(`meta.${key}`);
	}
	return places;
}

/** Writes the survivor's side of a plan into its document (inside a room's transaction). */
function applyToSurvivor(doc: Y.Doc, plan: MergePlan): void {
	const fields = fieldsOf(doc);
	for (const key of [...fields.keys()]) if (!(key in plan.fields)) fields.delete(key);
	for (const [key, value] of Object.entries(plan.fields)) setField(doc, key, value);
	for (const tag of plan.addTags) addTag(doc, tag);
	if (plan.addContacts.length > 0) contactsOf(doc).push(plan.addContacts.map(itemMap));
	if (plan.addActivities.length > 0) activitiesOf(doc).push(plan.addActivities.map(itemMap));
	spliceText(notesOf(doc), plan.notes);
	const meta = metaOf(doc);
	const earlier = meta.get('mergedFrom');
	meta.set('mergedFrom', [...(typeof earlier === 'string' && earlier ? earlier.split(',') : []), ...plan.merged].join(','));
}

/** Makes one list (contacts or activities) hold exactly `target`, in its order, changing only what differs. */
function restoreItems(array: Y.Array<Y.Map<Scalar>>, target: readonly object[]): void {
	const wanted = new Set(target.map((item) => String((item as { id?: unknown }).id)));
	for (let index = array.length - 1; index >= 0; index--) {
		const item = array.get(index);
		if (!(item instanceof Y.Map) || !wanted.has(String(item.get('id')))) array.delete(index, 1);
	}
	target.forEach((values, index) => {
		const current = index < array.length ? array.get(index) : null;
		const id = String((values as { id?: unknown }).id);
		if (current instanceof Y.Map && String(current.get('id')) === id) {
			const entries = values as Record<string, Scalar>;
			for (const key of [...current.keys()]) if (!(key in entries)) current.delete(key);
			for (const [key, value] of Object.entries(entries)) if (current.get(key) !== value) current.set(key, value);
			return;
		}
		// Elsewhere in the list (moved): a Yjs item cannot move, so it is taken out and put back here.
		const elsewhere = array.toArray().findIndex((item, at) => at > index && item instanceof Y.Map && String(item.get('id')) === id);
		if (elsewhere >= 0) array.delete(elsewhere, 1);
		array.insert(index, [itemMap(values)]);
	});
}

/** Writes a record back to `target`, as changes to its document (inside a room's transaction). */
function restoreRecord(doc: Y.Doc, target: PlainRecord): void {
	const fields = fieldsOf(doc);
	for (const key of [...fields.keys()]) if (!(key in target.fields)) fields.delete(key);
	for (const [key, value] of Object.entries(target.fields)) setField(doc, key, value);
	const tags = new Set(target.tags);
	for (const tag of [...tagsOf(doc).keys()]) if (!tags.has(tag)) removeTag(doc, tag);
	for (const tag of target.tags) addTag(doc, tag);
	restoreItems(contactsOf(doc), target.contacts);
	restoreItems(activitiesOf(doc), target.activities);
	spliceText(notesOf(doc), target.notes);
	const meta = metaOf(doc);
	if (meta.get('archived') !== target.meta.archived) setArchived(doc, target.meta.archived);
	for (const key of ['mergedInto', 'mergedFrom'] as const) {
		const value = target.meta[key];
		if (value === undefined) {
			if (meta.has(key)) meta.delete(key);
		} else if (meta.get(key) !== value) {
			meta.set(key, value);
		}
	}
}

/** The merge's record list as the audit shows it: ids, and a line naming them for people. */
function summary(mergeId: string, survivor: CustomerRecord, merged: readonly CustomerRecord[]): AuditValue {
	return {
		merge: mergeId,
		survivor: survivor.id,
		merged: merged.map((record) => record.id),
		name: `${merged.map(recordLabel).join(', ')} → ${recordLabel(survivor)}`
	};
}

export function createMergeService({ merges, auth, rooms, workspace, audit, stageAudit, definitions }: MergeServiceDeps): ServerMergeService {
	/**
	 * Merges and undos on this instance run one at a time: each reads several records
	 * and writes them all, and two overlapping ones interleaved could each see the
	 * other's records unmerged.
	 */
	let queue: Promise<unknown> = Promise.resolve();
	function exclusive<T>(work: () => Promise<T>): Promise<T> {
		const run = queue.then(work, work);
		queue = run.catch(() => undefined);
		return run;
	}

	async function visible(actor: Actor, id: string): Promise<RecordAccess | null> {
		if (canonicalRecordId(id) !== id || actor.workspace !== workspace) return null;
		const access = await auth.recordAccess(id);
		if (!access || access.workspace !== workspace || !canSeeRecord(actor, access)) return null;
		return access;
	}

	/** Holds every record's room for `work`; null (nothing held) when one is not there. */
	async function withRooms<T>(ids: readonly string[], work: (rooms: Room[]) => Promise<T>): Promise<T | { missing: string }> {
		const held: Room[] = [];
		try {
			for (const id of ids) {
				const room = await rooms.acquire(id);
				if (!room || !isRecordDoc(room.doc)) return { missing: id };
				held.push(room);
			}
			return await work(held);
		} finally {
			for (const room of held) rooms.release(room);
		}
	}

	const noSuchRecord = (id: string) =>
		({ ok: false, status: 404, message: `There is no record ${id} in this workspace, or it is private to someone else. Nothing was merged.` }) as const;

	return {
		async merge(actor, body, also) {
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot merge records.`);
			const parsed = parseMergeRequest(body);
			if (!parsed.ok) return { ok: false, status: 400, message: parsed.message };
			const { survivor: survivorId, merged: mergedIds, fields: choices, locale } = parsed.request;
			const ids = [survivorId, ...mergedIds];
			for (const id of ids) if (!(await visible(actor, id))) return noSuchRecord(id);
			const person = personOf(actor);

			const outcome = await exclusive(() =>
				withRooms(ids, async (held) => {
					const records = held.map((room, index) => readRecord(room.doc, ids[index]));
					for (const record of records) {
						if (record.meta.mergedInto) {
							return {
								ok: false as const,
								status: 400 as const,
								message: `${recordLabel(record)} (${record.id}) was already merged into ${record.meta.mergedInto}; merge into that record instead, or undo that merge first. Nothing was merged.`
							};
						}
					}
					const [survivor, ...merged] = records;
					// The same validation as every other writer: the workspace's definitions as they are now, and its members.
					const planned = planMerge(survivor, merged, choices, locale, { definitions: definitions?.() });
					if (!planned.ok) {
						return { ok: false as const, status: 400 as const, message: 'This merge cannot be made as asked; see errors. Nothing was merged.', errors: planned.errors };
					}
					const mergeId = newId();
					const at = new Date().toISOString();
					const named = summary(mergeId, survivor, merged);
					const drafts: AuditDraft[] = audit
						? ids.map((recordId) => ({ workspace, recordId, at, actor: person, source: 'record-merge', relayedBy: null, path: 'merge', op: 'add', before: null, after: named, conflict: null }))
						: [];
					// Recorded first: a merge whose records change is always one that can be undone.
					const entries = stageInTransaction(drafts);
					const more = also?.(mergeId);
					await merges.begin(
						{ id: mergeId, workspace, survivor: survivorId, merged: mergedIds, before: Object.fromEntries(records.map((r) => [r.id, r])), by: person },
						more
							? async (tx) => {
									await entries(tx);
									await more(tx);
								}
							: entries
					);
					const by = { actor: person, source: 'record-merge' as const };
					await held[0].transact(by, (doc) => applyToSurvivor(doc, planned.plan));
					for (const room of held.slice(1)) {
						await room.transact(by, (doc) => {
							metaOf(doc).set('mergedInto', survivorId);
							setArchived(doc, true);
						});
					}
					await Promise.all(ids.map((id) => rooms.writer.flushed(id)));
					const after = held.map((room, index) => readRecord(room.doc, ids[index]));
					await merges.applied(mergeId, Object.fromEntries(after.map((r) => [r.id, r])));
					return { ok: true as const, mergeId, survivor: after[0] };
				})
			);
			if ('missing' in outcome) return noSuchRecord(outcome.missing);
			if (!outcome.ok) return outcome;
			const row = await merges.get(workspace, outcome.mergeId);
			const access = await auth.recordAccess(survivorId);
			return { ok: true, merge: viewOf(row!), survivor: { ...outcome.survivor, private: access?.private === true } };
		},

		async get(actor, mergeId) {
			const id = canonicalRecordId(mergeId);
			if (!id || actor.workspace !== workspace) return null;
			const row = await merges.get(workspace, id);
			if (!row) return null;
			for (const recordId of [row.survivor, ...row.merged]) if (!(await visible(actor, recordId))) return null;
			return viewOf(row);
		},

		async undo(actor, mergeId, { force }) {
			if (!canAdminister(actor)) throw new ForbiddenError('Only admins can undo a merge.');
			const id = canonicalRecordId(mergeId);
			const row = id && actor.workspace === workspace ? await merges.get(workspace, id) : null;
			if (!row) return { ok: false, status: 404, message: `There is no merge ${mergeId} in this workspace.` };
			if (row.undoneAt) return { ok: false, status: 409, message: `This merge was already undone (${row.undoneAt}).` };
			const ids = [row.survivor, ...row.merged];
			const person = personOf(actor);

			const outcome = await exclusive(() =>
				withRooms(ids, async (held) => {
					const now = held.map((room, index) => readRecord(room.doc, ids[index]));
					const changed: ChangedSinceMerge[] = [];
					for (const record of now) {
						const after = row.after?.[record.id];
						const places = after ? differingPlaces(after, record) : ['the whole record (the merge did not finish)'];
						if (places.length > 0) changed.push({ record: record.id, places });
					}
					if (changed.length > 0 && !force) {
						const list = changed.map((c) => `${c.record} (${c.places.slice(0, 8).join(', ')})`).join('; ');
						return {
							ok: false as const,
							status: 409 as const,
							message: `Records changed since this merge: ${list}. Undoing would overwrite those changes; send {"force": true} to undo anyway. Nothing was changed.`,
							changed
						};
					}
					if (!(await merges.claimUndo(row.id, person))) {
						return { ok: false as const, status: 409 as const, message: 'This merge was already undone.' };
					}
					const by = { actor: person, source: 'record-unmerge' as const };
					for (const [index, room] of held.entries()) await room.transact(by, (doc) => restoreRecord(doc, row.before[ids[index]]));
					await Promise.all(ids.map((recordId) => rooms.writer.flushed(recordId)));
					if (audit) {
						const at = new Date().toISOString();
						const named = summary(row.id, row.before[row.survivor], row.merged.map((m) => row.before[m]));
						await stageAudit(
							ids.map((recordId) => ({ workspace, recordId, at, actor: person, source: 'record-unmerge', relayedBy: null, path: 'merge', op: 'remove', before: named, after: null, conflict: null }))
						);
					}
					return { ok: true as const, overwritten: changed };
				})
			);
			if ('missing' in outcome) return { ok: false, status: 409, message: `Record ${outcome.missing} of this merge is no longer here; the merge cannot be undone.` };
			if (!outcome.ok) return outcome;
			const updated = await merges.get(workspace, row.id);
			return { ok: true, merge: viewOf(updated!), records: ids, overwritten: outcome.overwritten };
		}
	};
}
