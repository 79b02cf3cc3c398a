/**
 * The record service behind the HTTP API: creating records as new documents, reading
 * them, changing (PATCH) and archiving them through the live document so connected
 * editors see it at once.
 */
import * as Y from 'yjs';
import {
	addTag,
	canonicalRecordId,
	fieldsOf,
	newId,
	notesOf,
	readRecord,
	removeTag,
	setArchived,
	setField,
	spliceText,
	tagsOf,
	writeNewRecord,
	type CustomerRecord,
	type NewRecord,
	newDoc
} from '../src/lib/model/record.ts';
import { MAX_NOTES_LENGTH, MAX_TAGS, type Scalar } from '../src/lib/model/schema.ts';
import { normaliseTag, refuseNul, validateFields, type FieldErrors, type FieldLookup } from '../src/lib/model/validate.ts';
import { fieldsDocumentId } from '../src/lib/model/fields.ts';
import { viewsDocumentId } from '../src/lib/views/views.ts';
import {
	ForbiddenError,
	type CreateRecordInput,
	type CreateRecordResult,
	type RecordService,
	type UpdateRecordInput
} from '../src/lib/server/services.ts';
import { canAdminister, canEdit, canSeeRecord, type Actor } from '../src/lib/access.ts';
import type { AuditPerson, AuditSource } from '../src/lib/model/audit.ts';
import type { AuthStore, RecordAccess } from './store/auth-store.ts';
import type { AuditStore } from './audit/log-store.ts';
import type { AttributedStore } from './audit/attributed-store.ts';
import type { Rooms } from './sync/rooms.ts';
import { storeNewRecord } from './record-creation.ts';
import { createDuplicateFinder } from './duplicates.ts';

export function validateNewRecord(
	input: CreateRecordInput,
	workspace: string,
	createdBy: string,
	/** The workspace's field definitions (server/fields.ts); the built-ins alone when absent. */
	definitions?: FieldLookup
): { ok: true; record: NewRecord } | { ok: false; errors: FieldErrors } {
	if (typeof input.fields !== 'object' || input.fields === null || Array.isArray(input.fields)) {
		return { ok: false, errors: { fields: 'fields must be an object of field values, for example {"name": "Li Na"}.' } };
	}
	const validated = validateFields(input.fields, { requireName: true, definitions });
	const errors: FieldErrors = validated.ok ? {} : { ...validated.errors };
	const tags: string[] = [];
	if (input.tags !== undefined) {
		if (!Array.isArray(input.tags) || input.tags.length > MAX_TAGS) {
			errors.tags = `tags must be a list of at most ${MAX_TAGS} texts.`;
		} else {
			for (const raw of input.tags) {
				const tag = typeof raw === 'string' ? normaliseTag(raw) : null;
				if (tag?.ok) tags.push(tag.value);
				else errors.tags = tag?.message ?? 'each tag must be text.';
			}
		}
	}
	if (input.notes !== undefined && (typeof input.notes !== 'string' || input.notes.length > MAX_NOTES_LENGTH)) {
		errors.notes = `notes must be text of at most ${MAX_NOTES_LENGTH} characters.`;
	} else if (typeof input.notes === 'string') {
		const nul = refuseNul('notes', input.notes);
		if (nul) errors.notes = nul.message;
	}
	if (!validated.ok || Object.keys(errors).length > 0) return { ok: false, errors };
	return {
		ok: true,
		record: {
			fields: validated.fields,
			tags: [...new Set(tags)],
			notes: typeof input.notes === 'string' ? input.notes : undefined,
			workspace,
			createdBy
		}
	};
}

/** A validated PATCH: what to set (null clears), which tags to add and remove, the new notes. */
export interface RecordUpdate {
	fields: Record<string, Scalar>;
	addTags: string[];
	removeTags: string[];
	notes?: string;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const TAGS_SHAPE = 'tags must be {"add": [...], "remove": [...]}, each a list of tags (a whole list is not accepted, so a tag someone adds meanwhile is not removed).';

/** Normalises one list of a tags change (`add` or `remove`); the first problem goes into `errors.tags`. */
function tagList(raw: unknown, errors: FieldErrors): string[] {
	if (raw === undefined) return [];
	if (!Array.isArray(raw) || raw.length > MAX_TAGS) {
		errors.tags ??= TAGS_SHAPE;
		return [];
	}
	const tags: string[] = [];
	for (const item of raw) {
		const tag = typeof item === 'string' ? normaliseTag(item) : null;
		if (tag?.ok) tags.push(tag.value);
		else errors.tags ??= tag?.message ?? 'each tag must be text.';
	}
	return [...new Set(tags)];
}

/**
 * Validates a PATCH body against the record as it stands: phones are read in its
 * country unless the body changes that, and the tag limit counts its tags. Every
 * problem is named at once (field keys as in POST; `tags`, `notes`, or the unknown
 * member itself), and nothing is returned to apply unless there is none.
 */
export function validateUpdate(
	input: UpdateRecordInput,
	current: { country: string | null; tags: readonly string[]; definitions?: FieldLookup }
): { ok: true; update: RecordUpdate } | { ok: false; errors: FieldErrors } {
	const errors: FieldErrors = {};
	const update: RecordUpdate = { fields: {}, addTags: [], removeTags: [] };
	for (const key of Object.keys(input)) {
		if (key !== 'fields' && key !== 'tags' && key !== 'notes') {
			errors[key] = `"${key.slice(0, 40)}" cannot be changed here: send fields (e.g. {"fields": {"company": "Huaxin"}}), tags or notes.`;
		}
	}
	if (input.fields === undefined && input.tags === undefined && input.notes === undefined && Object.keys(errors).length === 0) {
		errors.fields = 'Nothing to change: send fields, tags or notes, for example {"fields": {"company": "Huaxin"}}.';
	}
	if (input.fields !== undefined) {
		if (!isPlainObject(input.fields)) {
			errors.fields = 'fields must be an object of field values, for example {"company": "Huaxin"}; null clears a field.';
		} else {
			const validated = validateFields(input.fields, { country: current.country, definitions: current.definitions });
			if (validated.ok) update.fields = validated.fields;
			else Object.assign(errors, validated.errors);
		}
	}
	if (input.tags !== undefined) {
		if (!isPlainObject(input.tags) || Object.keys(input.tags).some((key) => key !== 'add' && key !== 'remove')) {
			errors.tags = TAGS_SHAPE;
		} else {
			update.addTags = tagList(input.tags.add, errors);
			update.removeTags = tagList(input.tags.remove, errors);
			const both = update.addTags.find((tag) => update.removeTags.includes(tag));
			if (both !== undefined) errors.tags ??= `"${both}" is both added and removed; send it in one of the two lists.`;
			const after = new Set(current.tags);
			for (const tag of update.removeTags) after.delete(tag);
			for (const tag of update.addTags) after.add(tag);
			if (after.size > MAX_TAGS) errors.tags ??= `A record can have at most ${MAX_TAGS} tags; this change would leave ${after.size}.`;
		}
	}
	if (input.notes !== undefined) {
		const notes = input.notes ?? '';
		if (typeof notes !== 'string' || notes.length > MAX_NOTES_LENGTH) {
			errors.notes = `notes must be text of at most ${MAX_NOTES_LENGTH} characters ("" or null clears them).`;
		} else {
			const nul = refuseNul('notes', notes);
			if (nul) errors.notes = nul.message;
			else update.notes = notes;
		}
	}
	return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, update };
}

export interface RecordServiceDeps {
	store: AttributedStore;
	auth: AuthStore;
	audit: AuditStore;
	rooms: Rooms;
	workspace: string;
	/** A record became private: sockets of people who may no longer see it must leave. */
	onRecordHidden(id: string, canSee: (actor: Actor) => boolean): void;
	/** The workspace's current field definitions (server/fields.ts), which values are validated against. */
	definitions?(): FieldLookup | undefined;
	/** Makes the definitions' member list current before a REST write is validated (a member or token added a moment ago). */
	membersCurrent?(): Promise<void>;
	/** A record's fields were read or written: custom keys nobody defined yet become fields (server/fields.ts). */
	sawFields?(fields: Record<string, Scalar>): void;
}

const personOf = (actor: Actor): AuditPerson => ({ id: actor.id, name: actor.name });
/** Server-side changes through the API: by an integration's token (`api`), or by a person in the app (`ui`). */
export const sourceOf = (actor: Actor): AuditSource => (actor.id.startsWith('token:') ? 'api' : 'ui');

export function createRecordService({ store, auth, audit, rooms, workspace, onRecordHidden, definitions, membersCurrent, sawFields }: RecordServiceDeps): RecordService & {
	insert(record: NewRecord, by?: { actor: AuditPerson; source: AuditSource }): Promise<string>;
} {
	const names = new Map<string, string>();
	const duplicates = createDuplicateFinder(store, workspace);
	async function nameOf(userId: string): Promise<string> {
		let name = names.get(userId);
		if (name === undefined) {
			name = (await auth.getUser(userId))?.name ?? userId;
			names.set(userId, name);
		}
		return name;
	}

	/**
	 * Stores a new record. Its initial state is written under a fresh client id, bound
	 * to its creator, and its `create` entry is staged in the same transaction. Without
	 * `by` (demo data, bulk loads) the record's `createdBy` is the author, as an import.
	 */
	async function insert(record: NewRecord, by?: { actor: AuditPerson; source: AuditSource }): Promise<string> {
		const id = newId();
		const doc = newDoc();
		writeNewRecord(doc, record);
		const created = readRecord(doc, id);
		const at = record.createdAt ?? new Date().toISOString();
		const person = by?.actor ?? { id: record.createdBy, name: await nameOf(record.createdBy) };
		await storeNewRecord(store, doc, created, { workspace: record.workspace, at, person, source: by?.source ?? 'import', client: doc.clientID });
		doc.destroy();
		return id;
	}

	/** The record's access facts if the actor may see it; null if it is not theirs to know about. */
	async function visible(actor: Actor, id: string): Promise<RecordAccess | null> {
		// The field definitions document is stored as documents are, but is no record.
		if (canonicalRecordId(id) !== id || actor.workspace !== workspace || id === fieldsDocumentId(workspace) || id === viewsDocumentId(workspace)) return null;
		const access = await auth.recordAccess(id);
		if (!access || access.workspace !== workspace || !canSeeRecord(actor, access)) return null;
		return access;
	}

	function requireEditor(actor: Actor): void {
		if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot change records.`);
	}

	async function read(id: string): Promise<CustomerRecord | null> {
		const room = rooms.loaded(id);
		if (room) return readRecord(room.doc, id);
		const stored = await store.loadDocument(id);
		if (!stored) return null;
		const doc = newDoc();
		Y.applyUpdate(doc, Y.mergeUpdates(stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates));
		const record = readRecord(doc, id);
		doc.destroy();
		return record;
	}

	return {
		insert,
		async create(actor, input): Promise<CreateRecordResult> {
			requireEditor(actor);
			await membersCurrent?.();
			const validated = validateNewRecord(input, workspace, actor.id, definitions?.());
			if (!validated.ok) return validated;
			// Checked before it exists, so it is not its own candidate; only records this actor may see.
			const candidates = await duplicates.forFields(actor, validated.record.fields);
			if (input.refuseDuplicates && candidates.length > 0) {
				const names = candidates.slice(0, 3).map((c) => `"${c.name}"`).join(', ');
				return {
					ok: false,
					errors: { duplicates: `Nothing was created: this looks like ${candidates.length === 1 ? 'an existing record' : `${candidates.length} existing records`} (${names}); see duplicates. Send it without duplicates=refuse to create it anyway.` },
					duplicates: candidates
				};
			}
			const id = await insert(validated.record, { actor: personOf(actor), source: sourceOf(actor) });
			sawFields?.(validated.record.fields);
			rooms.announceRecordChanged(workspace, id);
			return { ok: true, id, duplicates: candidates };
		},
		checkDuplicates: (actor, fields) => (actor.workspace === workspace ? duplicates.forTyped(actor, fields) : Promise.resolve([])),
		async duplicatesOf(actor, anyId) {
			const id = canonicalRecordId(anyId) ?? anyId;
			if (!(await visible(actor, id))) return null;
			return duplicates.forRecord(actor, id);
		},
		duplicateScan: (actor) =>
			actor.workspace === workspace ? duplicates.scan(actor) : Promise.resolve({ clusters: [], total: 0, scanned: 0, skippedKeys: 0 }),
		list: (actor, query) => store.listRecords({ ...query, workspace, viewer: { id: actor.id, admin: canAdminister(actor) } }),
		async get(actor, anyId) {
			const id = canonicalRecordId(anyId) ?? anyId;
			const access = await visible(actor, id);
			if (!access) return null;
			const record = await read(id);
			if (record) sawFields?.(record.fields);
			return record ? { ...record, private: access.private } : null;
		},
		async update(actor, anyId, input) {
			requireEditor(actor);
			const id = canonicalRecordId(anyId) ?? anyId;
			const access = await visible(actor, id);
			if (!access) return null;
			const room = await rooms.acquire(id);
			if (!room) return null;
			try {
				// Checked against the live document, which is what the change applies to.
				const country = fieldsOf(room.doc).get('country');
				await membersCurrent?.();
				const validated = validateUpdate(input, {
					country: typeof country === 'string' ? country : null,
					tags: [...tagsOf(room.doc).keys()],
					definitions: definitions?.()
				});
				if (!validated.ok) return validated;
				const { fields, addTags, removeTags, notes } = validated.update;
				// One transaction through the room, as any API write: broadcast to open clients,
				// stored, and audited per place with the actor and source.
				await room.transact({ actor: personOf(actor), source: sourceOf(actor) }, (doc) => {
					for (const [key, value] of Object.entries(fields)) setField(doc, key, value);
					sawFields?.(fields);
					for (const tag of removeTags) removeTag(doc, tag);
					for (const tag of addTags) addTag(doc, tag);
					if (notes !== undefined) spliceText(notesOf(doc), notes);
				});
				await rooms.writer.flushed(id);
				return { ok: true, record: { ...readRecord(room.doc, id), private: access.private } };
			} finally {
				rooms.release(room);
			}
		},
		async setArchived(actor, anyId, archived) {
			requireEditor(actor);
			const id = canonicalRecordId(anyId) ?? anyId;
			if (!(await visible(actor, id))) return false;
			const room = await rooms.acquire(id);
			if (!room) return false;
			try {
				await room.transact({ actor: personOf(actor), source: sourceOf(actor) }, (doc) => setArchived(doc, archived));
				await rooms.writer.flushed(id);
				return true;
			} finally {
				rooms.release(room);
			}
		},
		async setPrivate(actor, anyId, value) {
			requireEditor(actor);
			const id = canonicalRecordId(anyId) ?? anyId;
			const access = await visible(actor, id);
			if (!access) return false;
			if (!canAdminister(actor) && access.owner !== actor.id) {
				throw new ForbiddenError('Only the record\'s owner or an admin can make it private or shared.');
			}
			await audit.setPrivate(id, value, [
				{
					workspace,
					recordId: id,
					at: new Date().toISOString(),
					actor: personOf(actor),
					source: sourceOf(actor),
					relayedBy: null,
					path: 'private',
					op: 'set',
					before: access.private,
					after: value,
					conflict: null
				}
			]);
			if (value) onRecordHidden(id, (other) => canSeeRecord(other, { ...access, private: true }));
			rooms.announceRecordChanged(workspace, id);
			return true;
		}
	};
}
