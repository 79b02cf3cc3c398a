/**
 * The plain shape of a customer record, and the mapping between it and the record's
 * Yjs document (the public document format, version 1):
 *
 *   fields      Y.Map<Scalar>           field key → normalised scalar value
 *   tags        Y.Map<true>             tag → true (a set)
 *   contacts    Y.Array<Y.Map<Scalar>>  each with its own `id`
 *   activities  Y.Array<Y.Map<Scalar>>  each with its own `id`
 *   notes       Y.Text                  collaborative notes
 *   meta        Y.Map<Scalar>           schema, workspace, createdAt, createdBy, archived;
 *                                       after a merge (server-written): mergedInto on a record
 *                                       merged away, mergedFrom (comma-separated ids) on the survivor
 */
import * as Y from 'yjs';
import { SCHEMA_VERSION, type Scalar } from './schema.ts';

export interface Contact {
	id: string;
	name?: string;
	title?: string;
	email?: string;
	phone?: string;
}

export interface Activity {
	id: string;
	kind: string;
	subject: string;
	/** ISO time the activity happened or is due. */
	at: string;
	done?: boolean;
	by?: string;
}

export interface RecordMeta {
	schema: number;
	workspace: string;
	createdAt: string;
	createdBy: string;
	archived: boolean;
	/** This record was merged into that one (and archived); present only then. */
	mergedInto?: string;
	/** The records merged into this one, comma-separated ids; present only after a merge. */
	mergedFrom?: string;
}

export interface CustomerRecord {
	id: string;
	fields: Record<string, Scalar>;
	tags: string[];
	contacts: Contact[];
	activities: Activity[];
	notes: string;
	meta: RecordMeta;
}

export const fieldsOf = (doc: Y.Doc): Y.Map<Scalar> => doc.getMap<Scalar>('fields');
export const tagsOf = (doc: Y.Doc): Y.Map<boolean> => doc.getMap<boolean>('tags');
export const contactsOf = (doc: Y.Doc): Y.Array<Y.Map<Scalar>> => doc.getArray<Y.Map<Scalar>>('contacts');
export const activitiesOf = (doc: Y.Doc): Y.Array<Y.Map<Scalar>> => doc.getArray<Y.Map<Scalar>>('activities');
export const notesOf = (doc: Y.Doc): Y.Text => doc.getText('notes');
export const metaOf = (doc: Y.Doc): Y.Map<Scalar> => doc.getMap<Scalar>('meta');

/**
 * A new Yjs document (a record's, or a workspace's own). Named by `guid` rather than
 * Yjs's default: left to itself, Y.Doc makes a random guid with 32 calls to crypto,
 * 324 µs a document on a loaded machine against 19 µs named (2.4 s of a 52 s profile of
 * an import and its undo, most of it in loading rooms). The guid is only what
 * subdocuments are told apart by, which Accord does not use; it is never stored or sent.
 */
export function newDoc(guid = 'accord'): Y.Doc {
	return new Y.Doc({ guid });
}

export function newId(): string {
	return crypto.randomUUID();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Whether `id` is a record id in any spelling (upper or lower case); see `canonicalRecordId`. */
export function isRecordId(id: string): boolean {
	return UUID.test(id);
}

/**
 * The one spelling of a record id: a lower-case UUID, as `newId` makes them. Postgres
 * treats `ABC…` and `abc…` as the same uuid while a Map does not, so every entry point
 * (HTTP, `/y/<id>`, `/sync`, the store, rooms) keys by this form and nothing else, and
 * one record never becomes two rooms. Null when `id` is not a record id at all.
 */
export function canonicalRecordId(id: string): string | null {
	return UUID.test(id) ? id.toLowerCase() : null;
}

/** A document is a record once its meta says which schema it follows. */
export function isRecordDoc(doc: Y.Doc): boolean {
	return typeof metaOf(doc).get('schema') === 'number';
}

const isScalar = (value: unknown): value is Scalar =>
	value === null || typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

/**
 * Reading never fails on what a document holds: the server repairs off-shape writes as
 * they arrive (server/sync/shape-guard.ts), but a document stored before that, or read
 * in a browser from a peer's state, may still hold a nested type where a value belongs.
 * Such values and entries are skipped, so the record stays readable whatever arrived.
 */
function mapToObject(map: Y.Map<Scalar>): Record<string, Scalar> {
	const out: Record<string, Scalar> = {};
	for (const [key, value] of map.entries()) if (isScalar(value)) out[key] = value;
	return out;
}

function itemsOf<T>(array: Y.Array<Y.Map<Scalar>>): T[] {
	const items: T[] = [];
	for (const item of array.toArray() as unknown[]) if (item instanceof Y.Map) items.push(mapToObject(item as Y.Map<Scalar>) as unknown as T);
	return items;
}

export function readRecord(doc: Y.Doc, id: string): CustomerRecord {
	const meta = metaOf(doc);
	return {
		id,
		fields: mapToObject(fieldsOf(doc)),
		tags: [...tagsOf(doc).keys()].sort(),
		contacts: itemsOf<Contact>(contactsOf(doc)),
		activities: itemsOf<Activity>(activitiesOf(doc)),
		notes: notesOf(doc).toString(),
		meta: {
			schema: Number(meta.get('schema') ?? SCHEMA_VERSION),
			workspace: String(meta.get('workspace') ?? ''),
			createdAt: String(meta.get('createdAt') ?? ''),
			createdBy: String(meta.get('createdBy') ?? ''),
			archived: meta.get('archived') === true,
			// Only when present, so a record never merged reads exactly as before merges existed.
			...(typeof meta.get('mergedInto') === 'string' ? { mergedInto: meta.get('mergedInto') as string } : {}),
			...(typeof meta.get('mergedFrom') === 'string' ? { mergedFrom: meta.get('mergedFrom') as string } : {})
		}
	};
}

function toYMap(entries: object): Y.Map<Scalar> {
	const map = new Y.Map<Scalar>();
	for (const [key, value] of Object.entries(entries)) {
		if (value !== undefined) map.set(key, value as Scalar);
	}
	return map;
}

export interface NewRecord {
	fields: Record<string, Scalar>;
	tags?: string[];
	contacts?: Omit<Contact, 'id'>[];
	activities?: Omit<Activity, 'id'>[];
	notes?: string;
	workspace: string;
	createdBy: string;
	createdAt?: string;
}

/** Writes a new record into an empty document, in one transaction. Values must already be validated. */
export function writeNewRecord(doc: Y.Doc, record: NewRecord): void {
	doc.transact(() => {
		const meta = metaOf(doc);
		meta.set('schema', SCHEMA_VERSION);
		meta.set('workspace', record.workspace);
		meta.set('createdAt', record.createdAt ?? new Date().toISOString());
		meta.set('createdBy', record.createdBy);
		meta.set('archived', false);
		const fields = fieldsOf(doc);
		for (const [key, value] of Object.entries(record.fields)) if (value !== null) fields.set(key, value);
		for (const tag of record.tags ?? []) tagsOf(doc).set(tag, true);
		contactsOf(doc).push((record.contacts ?? []).map((c) => toYMap({ ...c, id: newId() })));
		activitiesOf(doc).push((record.activities ?? []).map((a) => toYMap({ ...a, id: newId() })));
		if (record.notes) notesOf(doc).insert(0, record.notes);
	});
}

/** Sets or clears one field; `null` removes the key so the map holds only present values. */
export function setField(doc: Y.Doc, key: string, value: Scalar): void {
	const fields = fieldsOf(doc);
	if (value === null) {
		if (fields.has(key)) fields.delete(key);
	} else if (fields.get(key) !== value) {
		fields.set(key, value);
	}
}

export function setArchived(doc: Y.Doc, archived: boolean): void {
	metaOf(doc).set('archived', archived);
}

export function addTag(doc: Y.Doc, tag: string): void {
	if (!tagsOf(doc).has(tag)) tagsOf(doc).set(tag, true);
}

export function removeTag(doc: Y.Doc, tag: string): void {
	tagsOf(doc).delete(tag);
}

function indexById(array: Y.Array<Y.Map<Scalar>>, id: string): number {
	return array.toArray().findIndex((item) => item.get('id') === id);
}

export function addItem(array: Y.Array<Y.Map<Scalar>>, item: Record<string, Scalar | undefined>): string {
	const id = newId();
	array.push([toYMap({ ...item, id })]);
	return id;
}

export function updateItem(array: Y.Array<Y.Map<Scalar>>, id: string, key: string, value: Scalar): boolean {
	const index = indexById(array, id);
	if (index < 0 || key === 'id') return false;
	const item = array.get(index);
	if (value === null) item.delete(key);
	else if (item.get(key) !== value) item.set(key, value);
	return true;
}

export function removeItem(array: Y.Array<Y.Map<Scalar>>, id: string): boolean {
	const index = indexById(array, id);
	if (index < 0) return false;
	array.delete(index, 1);
	return true;
}

/** Replaces the whole text with `next` by one minimal splice, so concurrent edits elsewhere in the text survive. */
export function spliceText(text: Y.Text, next: string): void {
	const current = text.toString();
	if (current === next) return;
	let start = 0;
	while (start < current.length && start < next.length && current[start] === next[start]) start++;
	// Never cut between the halves of a surrogate pair (emoji): Yjs would turn both halves into U+FFFD.
	if (start > 0 && /[\ud800-\udbff]/.test(current[start - 1])) start--;
	let endCurrent = current.length;
	let endNext = next.length;
	while (endCurrent > start && endNext > start && current[endCurrent - 1] === next[endNext - 1]) {
		endCurrent--;
		endNext--;
	}
	if (/[\udc00-\udfff]/.test(current[endCurrent] ?? '')) {
		endCurrent++;
		endNext++;
	}
	text.doc!.transact(() => {
		if (endCurrent > start) text.delete(start, endCurrent - start);
		if (endNext > start) text.insert(start, next.slice(start, endNext));
	});
}
