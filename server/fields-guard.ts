/**
 * Keeps a workspace's field definitions document valid whatever a client sends, as
 * server/sync/shape-guard.ts keeps a record's: inside the transaction that applies an
 * update, each changed definition is checked by the same rules the admin API applies
 * (src/lib/model/fields.ts `checkChange`), and one that breaks them is put back before
 * anyone observes it. The update that is stored and relayed is the repaired one, and the
 * writer is told what was not kept and why. (Who may write at all, admins only, is
 * decided before this, in the room.)
 *
 * The rules: a definition is an object of the documented shape stored under its own key;
 * a field is never removed (it is retired), never changes type or currency; options are
 * retired, never removed; labels are not empty; at most MAX_FIELDS fields. `meta` is the
 * server's (definitionsSchema, workspace) and is put back when changed. Other root types are not
 * read by anyone and are left alone.
 */
import * as Y from 'yjs';
import { FieldCatalog, MAX_FIELDS, checkChange, definitionsMetaOf, definitionsOf, parseDefinition, readDefinitions } from '../src/lib/model/fields.ts';
import { valueBefore } from './sync/shape-guard.ts';
import { RepairingGuard, type Repaired } from './sync/repairing-guard.ts';
import type { ShapeProblem } from '../src/lib/model/shape-problems.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyType = Y.AbstractType<any>;

export class DefinitionsGuard extends RepairingGuard {
	private readonly definitions: Y.Map<unknown>;
	private readonly meta: Y.Map<unknown>;

	constructor(doc: Y.Doc) {
		super(doc);
		this.definitions = definitionsOf(doc);
		this.meta = definitionsMetaOf(doc) as Y.Map<unknown>;
	}

	protected begin(): (tr: Y.Transaction) => Repaired {
		// The list as it was: each change is judged against it, as the admin API judges one.
		const before = new FieldCatalog(readDefinitions(this.doc));
		return (tr) => {
			const problems: ShapeProblem[] = this.repair(tr, before).map((text) => ({ kind: 'other', text }));
			return { problems, rewrote: problems.length > 0 };
		};
	}

	private repair(tr: Y.Transaction, before: FieldCatalog): string[] {
		const repairs: string[] = [];
		for (const [type, keys] of [...tr.changed]) {
			if (type === (this.definitions as AnyType)) this.repairDefinitions(tr, keys, before, repairs);
			else if (type === (this.meta as AnyType)) {
				for (const key of keys) {
					if (key === null) continue;
					this.putBack(tr, this.meta as AnyType, key);
					repairs.push(`meta.${key.slice(0, 40)} of the field definitions is set by the server.`);
				}
			}
		}
		return repairs;
	}

	private repairDefinitions(tr: Y.Transaction, keys: Set<string | null>, before: FieldCatalog, repairs: string[]): void {
		let added = 0;
		for (const key of keys) {
			if (key === null) continue;
			const reason = this.reasonToRefuse(tr, key, before, () => ++added);
			if (reason === null) continue;
			this.putBack(tr, this.definitions as AnyType, key);
			repairs.push(`The field definition ${key.slice(0, 60)} was not kept: ${reason}`);
		}
	}

	private reasonToRefuse(tr: Y.Transaction, key: string, before: FieldCatalog, countAdded: () => number): string | null {
		const previous = before.get(key) ?? null;
		if (!this.definitions.has(key)) return previous ? 'a field is never removed; retire it instead.' : null;
		const parsed = parseDefinition(this.definitions.get(key));
		if (!parsed.ok) return parsed.message;
		if (parsed.value.key !== key) return `it is stored under "${key}" but names the key "${parsed.value.key}".`;
		// Whether a field is built in is the app's to say, not the document's.
		const next = { ...parsed.value, builtin: previous?.builtin ?? false };
		if (!previous && valueBefore(tr, this.definitions as AnyType, key) === null && before.all.length + countAdded() > MAX_FIELDS) {
			return `a workspace has at most ${MAX_FIELDS} fields.`;
		}
		const checked = checkChange(before, previous, next);
		return checked.ok ? null : checked.message;
	}

	private putBack(tr: Y.Transaction, map: AnyType, key: string): void {
		const previous = valueBefore(tr, map, key);
		const target = map as Y.Map<unknown>;
		if (previous === null || previous.value instanceof Y.AbstractType) target.delete(key);
		else target.set(key, previous.value);
	}
}
