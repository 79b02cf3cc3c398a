/**
 * Keeps a record document in its published shape whatever a client sends (step 3 of an
 * update's life: "check shape and values"). Yjs cannot refuse half an update, and
 * refusing a whole one would also drop the sender's valid edits, so the guard runs
 * inside the transaction that applies a connection's update, after Yjs has integrated
 * it and before anyone observes it, and repairs what breaks the shape in that same
 * transaction. The update that leaves the transaction (stored, broadcast, sent back to
 * its sender) is the repaired one: no replica ever applies the invalid state, and every
 * replica converges on the valid one.
 *
 * The rules, by place in the document format (README, "The record document"):
 *   meta        server-owned: only `archived` may change, and only to true or false;
 *               any other key set, changed or deleted by a client is put back (among
 *               them `mergedInto` and `mergedFrom`, which only a merge writes: a client
 *               can neither send a record's viewers elsewhere nor unlink a merge).
 *   fields      each value passes the record validator (validateField, the same the
 *               browser, the API and imports use) against the workspace's current field
 *               definitions; an invalid value, a nested type or
 *               object is put back to what it was.
 *   tags        tag → true; anything else is put back.
 *   contacts,   elements are maps (anything else inserted is deleted); their values
 *   activities  are plain scalars (a nested type or object is put back).
 *   notes       text only: embedded objects and types are deleted.
 * Other root types are left alone: they are not part of the record (not read, listed,
 * searched or audited), so what an integration keeps there cannot break it.
 * Every repair is named in a sentence the writer is sent, so the person knows what was
 * not kept and why.
 */
import { RepairingGuard, type Repaired } from './repairing-guard.ts';
import * as Y from 'yjs';
import { activitiesOf, contactsOf, fieldsOf, metaOf, notesOf, tagsOf } from '../../src/lib/model/record.ts';
import { BUILTIN_LOOKUP, validateField, type FieldLookup } from '../../src/lib/model/validate.ts';
import { MAX_TAG_LENGTH, type Scalar } from '../../src/lib/model/schema.ts';
import { fieldProblem, type ShapeProblem } from '../../src/lib/model/shape-problems.ts';

/** Longest key a client may write in a map of the record (custom field keys are far shorter). */
const MAX_KEY_LENGTH = 200;
/** Longest text value inside a contact or activity. */
const MAX_ITEM_TEXT = 10_000;

// Yjs types its shared types by their event; the guard handles every kind alike.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = Y.AbstractType<any>;

/** Fields whose values have one normal form that is never typed over character by character (not free text). */
const isCoded = (key: string, definitions: FieldLookup): boolean => {
	const type = definitions.get(key)?.type;
	return type !== undefined && type !== 'text' && type !== 'longtext';
};

const isScalar = (value: unknown): value is Scalar =>
	value === null || typeof value === 'boolean' || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));

/** Whether the item was deleted by this transaction (its delete set is not sorted yet: scanned, it is small). */
function deletedIn(tr: Y.Transaction, item: Y.Item): boolean {
	const ranges = tr.deleteSet.clients.get(item.id.client);
	if (!ranges) return false;
	const { clock } = item.id;
	return ranges.some((range) => clock >= range.clock && clock < range.clock + range.len);
}

/** Whether the item existed before this transaction. */
const existedBefore = (tr: Y.Transaction, item: Y.Item): boolean => item.id.clock < (tr.beforeState.get(item.id.client) ?? 0);

/** The value a map key had before this transaction: `{ value }`, or null when the key was absent. */
export function valueBefore(tr: Y.Transaction, map: AnyType, key: string): { value: unknown } | null {
	for (let item: Y.Item | null = map._map.get(key) ?? null; item !== null; item = item.left) {
		if (!existedBefore(tr, item)) continue;
		// The first item that existed before: the key's value then, unless it was already deleted.
		if (item.deleted && !deletedIn(tr, item)) return null;
		const content = item.content.getContent();
		return { value: content[content.length - 1] };
	}
	return null;
}

/** New items (not deleted) directly in a list type (an array, a text, or a map's keyless part). */
function newListItems(tr: Y.Transaction, type: AnyType): Y.Item[] {
	// Read from the structs this transaction added (each client's clocks from its state
	// before the transaction on), not by walking the list: a record's notes or activities
	// hold thousands of items, and each keystroke adds one. Items are merged only once the
	// transaction ends, so every new one is still a struct of its own here.
	const found: Y.Item[] = [];
	for (const [client, structs] of tr.doc.store.clients) {
		const before = tr.beforeState.get(client) ?? 0;
		const last = structs[structs.length - 1];
		if (last.id.clock + last.length <= before) continue;
		for (let i = before === 0 ? 0 : Y.findIndexSS(structs, before); i < structs.length; i++) {
			const struct = structs[i];
			if (struct instanceof Y.Item && !struct.deleted && struct.parent === type && struct.parentSub === null && !existedBefore(tr, struct)) found.push(struct);
		}
	}
	return found;
}

export class ShapeGuard extends RepairingGuard {
	private readonly fields: Y.Map<Scalar>;
	private readonly tags: Y.Map<boolean>;
	private readonly contacts: Y.Array<Y.Map<Scalar>>;
	private readonly activities: Y.Array<Y.Map<Scalar>>;
	private readonly notes: Y.Text;
	private readonly meta: Y.Map<Scalar>;

	/**
	 * Defines the record's root types on `doc` (before anything is loaded, so each gets its
	 * type). `definitions` gives the workspace's current field definitions (server/fields.ts),
	 * read at each update, so a field added a moment ago is accepted at once.
	 */
	constructor(
		doc: Y.Doc,
		private readonly definitions: () => FieldLookup | undefined = () => undefined
	) {
		super(doc);
		this.fields = fieldsOf(doc);
		this.tags = tagsOf(doc);
		this.contacts = contactsOf(doc);
		this.activities = activitiesOf(doc);
		this.notes = notesOf(doc);
		this.meta = metaOf(doc);
	}

	protected begin(): (tr: Y.Transaction) => Repaired {
		this.normalised = false;
		return (tr) => {
			const problems = this.repair(tr);
			return { problems, rewrote: problems.length > 0 || this.normalised };
		};
	}

	/** The transaction being repaired rewrote a valid value into its normal form. */
	private normalised = false;

	private repair(tr: Y.Transaction): ShapeProblem[] {
		const repairs: ShapeProblem[] = [];
		for (const [type, keys] of [...tr.changed]) {
			if (type === (this.meta as AnyType)) this.repairMeta(tr, keys, repairs);
			else if (type === (this.fields as AnyType)) this.repairFields(tr, keys, repairs);
			else if (type === (this.tags as AnyType)) this.repairTags(tr, keys, repairs);
			else if (type === (this.contacts as AnyType) || type === (this.activities as AnyType)) this.repairItems(tr, type, repairs);
			else if (type === (this.notes as AnyType)) this.repairNotes(tr, repairs);
			else if (this.isItemOf(type)) this.repairItemValues(tr, type as unknown as Y.Map<unknown>, keys, repairs);
		}
		return repairs;
	}

	/** A contact or activity: a map directly inside one of the two arrays. */
	private isItemOf(type: AnyType): boolean {
		const parent = type._item?.parent;
		return type instanceof Y.Map && (parent === (this.contacts as AnyType) || parent === (this.activities as AnyType));
	}

	private putBack(tr: Y.Transaction, map: AnyType, key: string): void {
		const before = valueBefore(tr, map, key);
		const target = map as Y.Map<unknown>;
		// A shared type cannot be set twice; one there before is itself off-shape: removed.
		if (before === null || before.value instanceof Y.AbstractType) target.delete(key);
		else target.set(key, before.value);
	}

	/** Keyless content in a map (written as if it were a list) is never read: deleted. */
	private dropKeyless(tr: Y.Transaction, type: AnyType, keys: Set<string | null>, place: 'fields' | 'tags' | 'meta' | 'item', repairs: ShapeProblem[]): void {
		if (!keys.has(null)) return;
		const items = newListItems(tr, type);
		for (const item of items) item.delete(tr);
		if (items.length > 0) repairs.push({ kind: 'keyless', place });
	}

	private repairMeta(tr: Y.Transaction, keys: Set<string | null>, repairs: ShapeProblem[]): void {
		this.dropKeyless(tr, this.meta as AnyType, keys, 'meta', repairs);
		for (const key of keys) {
			if (key === null) continue;
			const value = this.meta.get(key);
			if (key === 'archived' && typeof value === 'boolean') continue;
			if (key === 'archived' && value === undefined && valueBefore(tr, this.meta as AnyType, key) === null) continue;
			this.putBack(tr, this.meta as AnyType, key);
			repairs.push(key === 'archived' ? { kind: 'archived' } : { kind: 'meta', key: key.slice(0, 40) });
		}
	}

	private repairFields(tr: Y.Transaction, keys: Set<string | null>, repairs: ShapeProblem[]): void {
		this.dropKeyless(tr, this.fields as AnyType, keys, 'fields', repairs);
		const country = this.fields.get('country');
		const definitions = this.definitions() ?? BUILTIN_LOOKUP;
		for (const key of keys) {
			if (key === null || !this.fields.has(key)) continue;
			const value: unknown = this.fields.get(key);
			const result =
				key.length > MAX_KEY_LENGTH
					? { ok: false as const, code: 'key-length', message: 'field keys are at most 200 characters.' }
					: validateField(key, value, { country: typeof country === 'string' ? country : null, definitions });
			if (!result.ok) {
				this.putBack(tr, this.fields as AnyType, key);
				repairs.push(fieldProblem(key, value, result));
			} else if (result.value !== value && isCoded(key, definitions)) {
				// A coded value (money, phone, country, date, email, URL, option) is stored in
				// its one normal form, as every other writer stores it (full-width digits
				// folded, E.164 phones…). Text is kept as written: it is written while it is
				// typed ("Harbour " before "Harbour Logistics") and trimmed by the browser when
				// the field is left; rewriting it under the typist's cursor would eat spaces.
				if (result.value === null) this.fields.delete(key);
				else this.fields.set(key, result.value);
				this.normalised = true;
			}
		}
	}

	private repairTags(tr: Y.Transaction, keys: Set<string | null>, repairs: ShapeProblem[]): void {
		this.dropKeyless(tr, this.tags as AnyType, keys, 'tags', repairs);
		for (const key of keys) {
			if (key === null || !this.tags.has(key)) continue;
			if (this.tags.get(key) === true && key.length > 0 && key.length <= MAX_TAG_LENGTH && !key.includes('\u0000')) continue;
			this.putBack(tr, this.tags as AnyType, key);
			repairs.push({ kind: 'tag', tag: key.slice(0, 40), max: MAX_TAG_LENGTH });
		}
	}

	private repairItems(tr: Y.Transaction, list: AnyType, repairs: ShapeProblem[]): void {
		const name = list === (this.contacts as AnyType) ? 'contacts' : 'activities';
		for (const item of newListItems(tr, list)) {
			const ok = item.content instanceof Y.ContentType && item.content.type instanceof Y.Map;
			if (ok) {
				// A new contact or activity arrives whole: its values are checked here, as changes to it are below.
				const map = (item.content as Y.ContentType).type as Y.Map<unknown>;
				this.repairItemValues(tr, map, new Set(map.keys()), repairs);
				continue;
			}
			item.delete(tr);
			repairs.push({ kind: 'entry', list: name });
		}
	}

	private repairItemValues(tr: Y.Transaction, map: Y.Map<unknown>, keys: Set<string | null>, repairs: ShapeProblem[]): void {
		this.dropKeyless(tr, map as AnyType, keys, 'item', repairs);
		for (const key of keys) {
			if (key === null || !map.has(key)) continue;
			const value = map.get(key);
			if (key.length <= MAX_KEY_LENGTH && isScalar(value) && (typeof value !== 'string' || (value.length <= MAX_ITEM_TEXT && !value.includes('\u0000')))) continue;
			this.putBack(tr, map as AnyType, key);
			repairs.push({ kind: 'item-value', key: key.slice(0, 40) });
		}
	}

	private repairNotes(tr: Y.Transaction, repairs: ShapeProblem[]): void {
		let dropped = 0;
		for (const item of newListItems(tr, this.notes as AnyType)) {
			if (item.content instanceof Y.ContentString || item.content instanceof Y.ContentFormat) continue;
			item.delete(tr);
			dropped++;
		}
		if (dropped > 0) repairs.push({ kind: 'notes' });
	}
}
