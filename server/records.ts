/**
 * The record service behind the HTTP API: creating records as new documents, reading
 * them, archiving through the live document so connected editors see it at once.
 */
import * as Y from 'yjs';
import { isRecordId, newId, readRecord, setArchived, writeNewRecord, type CustomerRecord, type NewRecord } from '../src/lib/model/record.ts';
import { projectRecord } from '../src/lib/model/projection.ts';
import { MAX_NOTES_LENGTH, MAX_TAGS } from '../src/lib/model/schema.ts';
import { normaliseTag, validateFields, type FieldErrors } from '../src/lib/model/validate.ts';
import type { CreateRecordInput, CreateRecordResult, RecordService } from '../src/lib/server/services.ts';
import type { DocumentStore } from './store/types.ts';
import type { Rooms } from './sync/rooms.ts';

export function validateNewRecord(input: CreateRecordInput): { ok: true; record: NewRecord } | { ok: false; errors: FieldErrors } {
	if (typeof input.fields !== 'object' || input.fields === null || Array.isArray(input.fields)) {
		return { ok: false, errors: { fields: 'fields must be an object of field values, for example {"name": "Li Na"}.' } };
	}
	const validated = validateFields(input.fields, { requireName: true });
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
	}
	if (!validated.ok || Object.keys(errors).length > 0) return { ok: false, errors };
	return {
		ok: true,
		record: {
			fields: validated.fields,
			tags: [...new Set(tags)],
			notes: typeof input.notes === 'string' ? input.notes : undefined,
			workspace: input.workspace,
			createdBy: input.createdBy
		}
	};
}

export function createRecordService(store: DocumentStore, rooms: Rooms): RecordService & { insert(record: NewRecord): Promise<string> } {
	async function insert(record: NewRecord): Promise<string> {
		const id = newId();
		const doc = new Y.Doc();
		writeNewRecord(doc, record);
		const row = projectRecord(readRecord(doc, id), record.createdAt ?? new Date().toISOString());
		await store.createDocument(id, record.workspace, Y.encodeStateAsUpdate(doc), row);
		doc.destroy();
		return id;
	}

	async function read(workspace: string, id: string): Promise<CustomerRecord | null> {
		if (!isRecordId(id)) return null;
		const room = rooms.loaded(id);
		if (room) return room.workspace === workspace ? readRecord(room.doc, id) : null;
		const stored = await store.loadDocument(id);
		if (!stored || stored.workspace !== workspace) return null;
		const doc = new Y.Doc();
		Y.applyUpdate(doc, Y.mergeUpdates(stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates));
		const record = readRecord(doc, id);
		doc.destroy();
		return record;
	}

	return {
		insert,
		async create(input: CreateRecordInput): Promise<CreateRecordResult> {
			const validated = validateNewRecord(input);
			if (!validated.ok) return validated;
			const id = await insert(validated.record);
			rooms.announceRecordChanged(input.workspace, id);
			return { ok: true, id };
		},
		list: (query) => store.listRecords(query),
		get: read,
		async setArchived(workspace: string, id: string, archived: boolean): Promise<boolean> {
			if (!isRecordId(id)) return false;
			const room = await rooms.acquire(id);
			if (!room) return false;
			try {
				if (room.workspace !== workspace) return false;
				room.transact((doc) => setArchived(doc, archived));
				await rooms.writer.flushed(id);
				return true;
			} finally {
				rooms.release(room);
			}
		}
	};
}
