/**
 * Field-level differences between two states of a record: what changed, where,
 * from what to what. Paths name the place in the document format: `fields.company`,
 * `tags`, `contacts[<id>].email`, `activities[<id>]`, `notes`, `meta.archived`.
 */
import type { Scalar } from './schema.ts';
import type { CustomerRecord } from './record.ts';

export type ChangeOp = 'set' | 'unset' | 'add' | 'remove' | 'edit';

export interface FieldChange {
	path: string;
	op: ChangeOp;
	before: Scalar | string[];
	after: Scalar | string[];
}

function diffScalars(prefix: string, before: Record<string, unknown>, after: Record<string, unknown>, out: FieldChange[]): void {
	const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
	for (const key of [...keys].sort()) {
		if (key === 'id') continue;
		const a = (before[key] ?? null) as Scalar;
		const b = (after[key] ?? null) as Scalar;
		if (a === b) continue;
		out.push({ path: `${prefix}.${key}`, op: b === null ? 'unset' : 'set', before: a, after: b });
	}
}

function diffItems(
	name: 'contacts' | 'activities',
	before: ReadonlyArray<{ id: string }>,
	after: ReadonlyArray<{ id: string }>,
	label: (item: Record<string, unknown>) => Scalar,
	out: FieldChange[]
): void {
	const beforeById = new Map(before.map((item) => [item.id, item as unknown as Record<string, unknown>]));
	const afterById = new Map(after.map((item) => [item.id, item as unknown as Record<string, unknown>]));
	for (const [id, item] of beforeById) {
		if (!afterById.has(id)) out.push({ path: `${name}[${id}]`, op: 'remove', before: label(item), after: null });
	}
	for (const [id, item] of afterById) {
		const old = beforeById.get(id);
		if (!old) out.push({ path: `${name}[${id}]`, op: 'add', before: null, after: label(item) });
		else diffScalars(`${name}[${id}]`, old, item, out);
	}
}

export function diffRecords(before: CustomerRecord, after: CustomerRecord): FieldChange[] {
	const out: FieldChange[] = [];
	diffScalars('fields', before.fields, after.fields, out);
	const tagsBefore = new Set(before.tags);
	const tagsAfter = new Set(after.tags);
	const added = after.tags.filter((t) => !tagsBefore.has(t));
	const removed = before.tags.filter((t) => !tagsAfter.has(t));
	if (added.length > 0) out.push({ path: 'tags', op: 'add', before: null, after: added });
	if (removed.length > 0) out.push({ path: 'tags', op: 'remove', before: removed, after: null });
	diffItems('contacts', before.contacts, after.contacts, (c) => (c.name ?? c.email ?? null) as Scalar, out);
	diffItems('activities', before.activities, after.activities, (a) => (a.subject ?? null) as Scalar, out);
	if (before.notes !== after.notes) out.push({ path: 'notes', op: 'edit', before: before.notes, after: after.notes });
	if (before.meta.archived !== after.meta.archived) {
		out.push({ path: 'meta.archived', op: 'set', before: before.meta.archived, after: after.meta.archived });
	}
	return out;
}
