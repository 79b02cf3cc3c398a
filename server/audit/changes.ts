/**
 * Field-level changes of one Yjs transaction on a record document, for the audit log:
 * which place changed, from what to what, and by whom. Computed in the document's
 * `afterTransaction`, while the content of items deleted by the transaction is still
 * there (Yjs garbage-collects it only after that event).
 *
 * Authorship: an inserted item belongs to the person its Yjs client id is bound to;
 * a deletion carries no author in Yjs, so it belongs to whoever sent the transaction.
 *
 * Conflicts: a map entry's item records, as its `origin`, the item that held the key
 * when its author wrote it, i.e. the value they saw. A value that replaces one its
 * author never saw, or a value that arrives and is at once out-ordered by one its author
 * never saw, is a conflict: Yjs keeps one of the two silently. Each pair is reported
 * once, by whichever transaction brings the second of the two items to the server.
 */
import * as Y from 'yjs';
import type { AuditPerson, AuditSource, AuditValue, NotesSummary } from '../../src/lib/model/audit.ts';
import { clip, cleanText, jsonSafe } from './hash.ts';
import { definitionChanges, effectiveDefinition } from '../../src/lib/model/fields.ts';
import type { ChangeDraft, PersonRef } from './types.ts';

export const NOTES_EXCERPT_CHARS = 80;

export interface ChangeContext {
	/** Who sent the transaction: deletions are theirs. */
	actor: AuditPerson;
	/** How their changes arrived (`ui`, `api`, `restore`…); another author's items relayed by them are `merge`. */
	source: AuditSource;
	/** The person bound to a Yjs client id, or the id itself when the binding is not at hand. */
	authorOf(client: number): PersonRef;
	/** ISO time of the transaction. */
	at: string;
}

type Item = Y.Item;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = Y.AbstractType<any>;

const ARRAYS = ['contacts', 'activities'] as const;
/** Maps whose keys are scalar places (and may conflict). */
const SCALAR_MAPS = ['fields', 'meta'] as const;

const samePerson = (a: PersonRef, b: PersonRef): boolean =>
	'id' in a && 'id' in b ? a.id === b.id : 'client' in a && 'client' in b ? a.client === b.client : false;

const sameValue = (a: AuditValue, b: AuditValue): boolean => JSON.stringify(a) === JSON.stringify(b);

const idKey = (id: Y.ID): string => `${id.client}:${id.clock}`;
const NO_ITEMS: ReadonlyMap<string, Item> = new Map();
const NO_KEYS: ReadonlySet<string> = new Set();

/** The value an item holds (the last of its content), as JSON. */
function valueOf(item: Item): AuditValue {
	const content = item.content.getContent();
	return content.length === 0 ? null : jsonSafe(content[content.length - 1]);
}

export function transactionChanges(tr: Y.Transaction, ctx: ChangeContext): ChangeDraft[] {
	return new TransactionChanges(tr, ctx).collect();
}

/**
 * One transaction's computation. A class rather than closures in a function: the server
 * runs under tsx, which names every closure it creates (a property definition each),
 * and this runs for every update the server receives.
 */
class TransactionChanges {
	private readonly doc: Y.Doc;
	private readonly out: ChangeDraft[] = [];
	private readonly names = new Map<AnyType, string>();
	/** Items this transaction inserted, grouped by parent (and key, for maps). */
	private readonly inserted = new Map<AnyType, Item[]>();
	/** Items that existed before and this transaction deleted, grouped by parent. */
	private readonly removed = new Map<AnyType, Item[]>();

	constructor(
		private readonly tr: Y.Transaction,
		private readonly ctx: ChangeContext
	) {
		this.doc = tr.doc;
	}

	private adds(item: Item): boolean {
		return item.id.clock >= (this.tr.beforeState.get(item.id.client) ?? 0);
	}

	private deletedNow(item: Item): boolean {
		return Y.isDeleted(this.tr.deleteSet, item.id);
	}

	/** Whether the item held its place before the transaction (existed and was not deleted yet). */
	private visibleBefore(item: Item): boolean {
		return !this.adds(item) && (!item.deleted || this.deletedNow(item));
	}

	private draft(author: PersonRef, fields: Omit<ChangeDraft, 'at' | 'actor' | 'source' | 'relayedBy'>): void {
		const { ctx } = this;
		const own = samePerson(author, ctx.actor);
		// Built field by field: spreading `fields` (of varying shapes) is a slow path in V8.
		this.out.push({
			at: ctx.at,
			actor: author,
			source: own ? ctx.source : 'merge',
			relayedBy: own ? null : ctx.actor,
			path: fields.path,
			op: fields.op,
			before: fields.before,
			after: fields.after,
			conflict: fields.conflict
		});
	}

	collect(): ChangeDraft[] {
		const { tr, doc, ctx, names, inserted, removed } = this;
		for (const [name, type] of doc.share) names.set(type as AnyType, name);

		for (const [client, after] of tr.afterState) {
			const before = tr.beforeState.get(client) ?? 0;
			if (after <= before) continue;
			const structs = doc.store.clients.get(client);
			if (!structs) continue;
			for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
				const struct = structs[i];
				if (!(struct instanceof Y.Item) || !(struct.parent instanceof Y.AbstractType)) continue;
				const list = inserted.get(struct.parent as AnyType);
				if (list) list.push(struct);
				else inserted.set(struct.parent as AnyType, [struct]);
			}
		}
		Y.iterateDeletedStructs(tr, tr.deleteSet, (struct) => {
			if (!(struct instanceof Y.Item) || this.adds(struct) || !(struct.parent instanceof Y.AbstractType)) return;
			const list = removed.get(struct.parent as AnyType);
			if (list) list.push(struct);
			else removed.set(struct.parent as AnyType, [struct]);
		});

		for (const [type, keys] of tr.changed) {
			const name = names.get(type);
			if (name !== undefined) {
				if ((SCALAR_MAPS as readonly string[]).includes(name)) {
					for (const key of keys) if (key !== null) this.keyChanges(type, key, `${name}.${cleanText(key)}`, true);
				} else if (name === 'tags') {
					for (const key of keys) {
						if (key === null) continue;
						const last = type._map.get(key);
						if (!last) continue;
						let beforeItem: Item | null = last;
						while (beforeItem !== null && this.adds(beforeItem)) beforeItem = beforeItem.left;
						const had = beforeItem !== null && this.visibleBefore(beforeItem);
						const has = !last.deleted;
						const tag = cleanText(key);
						if (has && !had) this.draft(ctx.authorOf(last.id.client), { path: 'tags', op: 'add', before: null, after: tag, conflict: null });
						else if (!has && had) this.draft(ctx.actor, { path: 'tags', op: 'remove', before: tag, after: null, conflict: null });
					}
				} else if ((ARRAYS as readonly string[]).includes(name)) {
					for (const item of inserted.get(type) ?? []) {
						if (item.deleted || !(item.content instanceof Y.ContentType)) continue;
						const map = item.content.type as AnyType;
						const { id, ...rest } = jsonSafe((map as Y.Map<unknown>).toJSON()) as Record<string, AuditValue>;
						this.draft(ctx.authorOf(item.id.client), { path: `${name}[${String(id ?? item.id.clock)}]`, op: 'add', before: null, after: rest, conflict: null });
					}
					for (const item of removed.get(type) ?? []) {
						if (!(item.content instanceof Y.ContentType)) continue;
						const { id, ...rest } = this.mapBefore(item.content.type as AnyType);
						this.draft(ctx.actor, { path: `${name}[${String(id ?? item.id.clock)}]`, op: 'remove', before: rest, after: null, conflict: null });
					}
				} else if (name === 'notes') {
					this.notesChanges(type);
				} else if (name === 'definitions' && this.isDefinitionsDocument()) {
					for (const key of keys) if (key !== null) this.definitionKeyChanges(type, key);
				} else {
					this.draft(ctx.actor, { path: cleanText(name), op: 'edit', before: null, after: null, conflict: null });
				}
				continue;
			}
			// A field of a contact or an activity that existed before this transaction.
			const owner = type._item;
			if (!owner || this.adds(owner) || owner.deleted || !(owner.parent instanceof Y.AbstractType)) continue;
			const arrayName = names.get(owner.parent as AnyType);
			if (arrayName === undefined || !(ARRAYS as readonly string[]).includes(arrayName)) continue;
			const idItem = type._map.get('id');
			const id = idItem ? valueOf(idItem) : owner.id.clock;
			for (const key of keys) {
				if (key === null || key === 'id') continue;
				this.keyChanges(type, key, `${arrayName}[${String(id)}].${cleanText(key)}`, true);
			}
		}
		return this.out;
	}

	/** The workspace's field definitions document (src/lib/model/fields.ts), told apart from a record by its meta. */
	private isDefinitionsDocument(): boolean {
		const meta = this.doc.share.get('meta');
		return meta instanceof Y.Map && meta.has('definitionsSchema');
	}

	/**
	 * An admin's change to one field, as the Settings page would say it (added, renamed,
	 * moved, retired, restored; options added, renamed, recoloured, retired, restored),
	 * rather than "the JSON under this key was replaced", which is how it is stored.
	 */
	private definitionKeyChanges(type: AnyType, key: string): void {
		const last = type._map.get(key);
		if (!last) return;
		let beforeItem: Item | null = last;
		while (beforeItem !== null && this.adds(beforeItem)) beforeItem = beforeItem.left;
		const had = beforeItem !== null && this.visibleBefore(beforeItem);
		const before = effectiveDefinition(key, had ? beforeItem!.content.getContent().at(-1) : undefined);
		const after = effectiveDefinition(key, last.deleted ? undefined : last.content.getContent().at(-1));
		for (const change of definitionChanges(cleanText(key), before, after)) {
			this.draft(this.ctx.actor, { path: change.path, op: change.op, before: jsonSafe(change.before), after: jsonSafe(change.after), conflict: null });
		}
	}

	/** A Y.Map's entries as they were before the transaction (its items may be deleted by now). */
	private mapBefore(map: AnyType): Record<string, AuditValue> {
		const out: Record<string, AuditValue> = {};
		for (const [key, item] of map._map) if (this.visibleBefore(item)) out[cleanText(key)] = valueOf(item);
		return out;
	}

	private keyChanges(type: AnyType, key: string, path: string, conflicts: boolean): void {
		const { ctx } = this;
		const last = type._map.get(key);
		if (!last) return;
		let beforeItem: Item | null = last;
		while (beforeItem !== null && this.adds(beforeItem)) beforeItem = beforeItem.left;
		const hadValue = beforeItem !== null && this.visibleBefore(beforeItem);
		const before = hadValue ? valueOf(beforeItem!) : null;
		const hasValue = !last.deleted;
		const after = hasValue ? valueOf(last) : null;
		const lastAuthor = ctx.authorOf(last.id.client);

		// A value written over an equal one (or a null where nothing was) changes nothing a person can see.
		if (hasValue && this.adds(last)) {
			if (!sameValue(before, after)) this.draft(lastAuthor, { path, op: 'set', before, after, conflict: null });
		} else if (!hasValue && hadValue && before !== null) {
			this.draft(ctx.actor, { path, op: 'unset', before, after: null, conflict: null });
		}
		if (!conflicts) return;

		const newItems = (this.inserted.get(type) ?? []).filter((item) => item.parentSub === key);
		// One new item (the usual edit) never is another new item's origin: nothing to index.
		const byId = newItems.length > 1 ? new Map(newItems.map((item) => [idKey(item.lastId), item])) : NO_ITEMS;
		const seen = newItems.length > 1 ? new Set(newItems.flatMap((item) => (item.origin ? [idKey(item.origin)] : []))) : NO_KEYS;

		// The new value replaced one its author had not seen.
		if (hasValue && this.adds(last) && hadValue) {
			let root: Item = last;
			while (root.origin && byId.has(idKey(root.origin))) root = byId.get(idKey(root.origin))!;
			const sawIt = root.origin !== null && Y.compareIDs(root.origin, beforeItem!.lastId);
			const beforeAuthor = ctx.authorOf(beforeItem!.id.client);
			if (!sawIt && !samePerson(lastAuthor, beforeAuthor) && !sameValue(before, after)) {
				this.draft(lastAuthor, {
					path,
					op: 'conflict',
					before,
					after,
					conflict: { winner: { person: lastAuthor, value: after }, loser: { person: beforeAuthor, value: before } }
				});
			}
		}
		// A new value lost at once to one its author had not seen.
		if (hasValue) {
			for (const item of newItems) {
				if (item === last || !item.deleted || item.right === null || seen.has(idKey(item.lastId))) continue;
				const author = ctx.authorOf(item.id.client);
				const value = valueOf(item);
				if (samePerson(author, lastAuthor) || sameValue(value, after)) continue;
				this.draft(author, {
					path,
					op: 'conflict',
					before: value,
					after,
					conflict: { winner: { person: lastAuthor, value: after }, loser: { person: author, value } }
				});
			}
		}
	}

	private notesChanges(type: AnyType): void {
		const { ctx } = this;
		const summaries = new Map<string, { person: PersonRef; summary: NotesSummary }>();
		for (const item of this.inserted.get(type) ?? []) {
			if (item.deleted || !item.countable) continue;
			const summary = summaryOf(summaries, ctx.authorOf(item.id.client));
			summary.inserted += item.length;
			if (item.content instanceof Y.ContentString && summary.excerpt.length < NOTES_EXCERPT_CHARS) {
				summary.excerpt = clip(summary.excerpt + cleanText(item.content.str), NOTES_EXCERPT_CHARS);
			}
		}
		for (const item of this.removed.get(type) ?? []) {
			if (!item.countable) continue;
			const summary = summaryOf(summaries, ctx.actor);
			summary.deleted += item.length;
			if (item.content instanceof Y.ContentString && summary.removed.length < NOTES_EXCERPT_CHARS) {
				summary.removed = clip(summary.removed + cleanText(item.content.str), NOTES_EXCERPT_CHARS);
			}
		}
		for (const { person, summary } of summaries.values()) {
			if (summary.inserted === 0 && summary.deleted === 0) continue;
			this.draft(person, { path: 'notes', op: 'edit', before: null, after: { ...summary }, conflict: null });
		}
	}
}

/** A person's notes summary in this transaction, made on first use. */
function summaryOf(summaries: Map<string, { person: PersonRef; summary: NotesSummary }>, person: PersonRef): NotesSummary {
	const key = 'id' in person ? `u:${person.id}` : `c:${person.client}`;
	let entry = summaries.get(key);
	if (!entry) summaries.set(key, (entry = { person, summary: { inserted: 0, deleted: 0, excerpt: '', removed: '' } }));
	return entry.summary;
}
