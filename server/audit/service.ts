/**
 * The audit service behind the HTTP API: a record's history (whoever may see the
 * record), the workspace's log and its CSV export (admins), and restoring a value
 * from an entry (editors), which goes through the live document like any edit.
 */
import * as Y from 'yjs';
import { canAdminister, canEdit, canSeeRecord, type Actor } from '../../src/lib/access.ts';
import type { AuditEntry, AuditPerson, AuditSource, AuditValue } from '../../src/lib/model/audit.ts';
import { activitiesOf, canonicalRecordId, contactsOf, fieldsOf, metaOf, tagsOf } from '../../src/lib/model/record.ts';
import type { Scalar } from '../../src/lib/model/schema.ts';
import { ForbiddenError, type AuditQuery, type AuditService, type RestoreResult } from '../../src/lib/server/services.ts';
import type { AuthStore } from '../store/auth-store.ts';
import type { AuditFilter, AuditStore } from './log-store.ts';

/** A record's live document, as a restore changes it (a room of server/sync/rooms.ts). */
export interface LiveRecord {
	transact(by: { actor: AuditPerson; source: AuditSource }, change: (doc: Y.Doc) => void): Promise<void>;
}

/**
 * What a restore needs of the rooms (server/sync/rooms.ts, which the composition root
 * passes in): the record's live document, and its updates stored. Named here rather
 * than imported, so the audit does not depend on the sync folder that depends on it.
 */
export interface RestoreRooms<R extends LiveRecord = LiveRecord> {
	acquire(recordId: string): Promise<R | null>;
	release(room: R): void;
	readonly writer: { flushed(recordId: string): Promise<void> };
}

export interface AuditServiceDeps {
	audit: AuditStore;
	auth: AuthStore;
	rooms: RestoreRooms;
	workspace: string;
}

export const CSV_COLUMNS = [
	'id',
	'seq',
	'at',
	'first_at',
	'changes',
	'record_id',
	'actor_id',
	'actor_name',
	'source',
	'relayed_by',
	'path',
	'op',
	'before',
	'after',
	'conflict',
	'hash'
] as const;

/**
 * A value as a spreadsheet should show it: text as it is, numbers and booleans as they
 * are, a flat object (a contact, an activity, a notes summary) as `key: value; …`, a
 * list of plain values comma-separated; anything nested as compact JSON, which keeps
 * Chinese and other text unescaped. The JSON API keeps the exact values.
 */
export function plainValue(value: AuditValue): string {
	if (value === null) return '';
	if (typeof value !== 'object') return String(value);
	if (Array.isArray(value)) return value.every(isPlainScalar) ? value.map((item) => plainValue(item)).join(', ') : JSON.stringify(value);
	if (value.$truncated === true && typeof value.start === 'string') return `${value.start}… (${String(value.length)} characters)`;
	const entries = Object.entries(value);
	if (!entries.every(([, item]) => isPlainScalar(item))) return JSON.stringify(value);
	return entries.map(([key, item]) => `${key}: ${plainValue(item)}`).join('; ');
}

const isPlainScalar = (value: AuditValue): boolean => value === null || typeof value !== 'object';

/** One CSV cell: quoted when needed; text that a spreadsheet would run as a formula is prefixed with '. */
export function csvCell(value: unknown): string {
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
	if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
	return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The first line of an export. The BOM tells spreadsheets (Excel above all) that the file is UTF-8, so Chinese is not garbled. */
export const CSV_HEADER = `\ufeff${CSV_COLUMNS.join(',')}\r\n`;

export function csvRow(entry: AuditEntry): string {
	const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
		id: entry.id,
		seq: entry.seq,
		at: entry.at,
		first_at: entry.firstAt,
		changes: entry.changes,
		record_id: entry.recordId,
		actor_id: entry.actor.id,
		actor_name: entry.actor.name,
		source: entry.source,
		relayed_by: entry.relayedBy ? `${entry.relayedBy.name} (${entry.relayedBy.id})` : null,
		path: entry.path,
		op: entry.op,
		before: plainValue(entry.before),
		after: plainValue(entry.after),
		conflict: entry.conflict
			? `${entry.conflict.winner.person.name}'s ${plainValue(entry.conflict.winner.value)} replaced ${entry.conflict.loser.person.name}'s ${plainValue(entry.conflict.loser.value)}`
			: null,
		hash: entry.hash
	};
	return `${CSV_COLUMNS.map((column) => csvCell(values[column])).join(',')}\r\n`;
}

const isScalar = (value: AuditValue): value is Scalar => value === null || ['string', 'number', 'boolean'].includes(typeof value);

type Change = { ok: true; apply(doc: Y.Doc): void } | { ok: false; status: 400 | 409; message: string };

/** How to put `value` back at the entry's place, if that can be done. */
function plan(entry: AuditEntry, value: AuditValue, use: 'before' | 'after'): Change {
	const refuse = (status: 400 | 409, message: string): Change => ({ ok: false, status, message });
	if (value !== null && typeof value === 'object' && !Array.isArray(value) && '$truncated' in value) {
		return refuse(400, 'That value was too long to keep in full in the audit log, so it cannot be restored from it.');
	}
	const field = /^fields\.(.+)$/.exec(entry.path);
	if (field && ['set', 'unset', 'conflict'].includes(entry.op)) {
		if (!isScalar(value)) return refuse(400, 'Only a plain value can be put back in a field.');
		const key = field[1];
		return {
			ok: true,
			apply: (doc) => {
				const fields = fieldsOf(doc);
				if (value === null) fields.delete(key);
				else fields.set(key, value);
			}
		};
	}
	if (entry.path === 'meta.archived') {
		if (typeof value !== 'boolean' && value !== null) return refuse(400, 'archived is true or false.');
		return { ok: true, apply: (doc) => metaOf(doc).set('archived', value === true) };
	}
	if (entry.path === 'tags' && (entry.op === 'add' || entry.op === 'remove')) {
		const tag = String(entry.op === 'add' ? entry.after : entry.before);
		const present = value !== null;
		return {
			ok: true,
			apply: (doc) => {
				if (present) tagsOf(doc).set(tag, true);
				else tagsOf(doc).delete(tag);
			}
		};
	}
	const item = /^(contacts|activities)\[([^\]]+)\](?:\.(.+))?$/.exec(entry.path);
	if (item) {
		const [, list, id, key] = item;
		const arrayOf = (doc: Y.Doc) => (list === 'contacts' ? contactsOf(doc) : activitiesOf(doc));
		const indexOf = (doc: Y.Doc) => arrayOf(doc).toArray().findIndex((map) => map.get('id') === id);
		if (key !== undefined) {
			if (!isScalar(value)) return refuse(400, 'Only a plain value can be put back in a field.');
			return {
				ok: true,
				apply: (doc) => {
					const index = indexOf(doc);
					if (index < 0) throw new RestoreConflict(`The ${list === 'contacts' ? 'contact' : 'activity'} ${id} no longer exists.`);
					const map = arrayOf(doc).get(index);
					if (value === null) map.delete(key);
					else map.set(key, value);
				}
			};
		}
		if (value === null) {
			return {
				ok: true,
				apply: (doc) => {
					const index = indexOf(doc);
					if (index >= 0) arrayOf(doc).delete(index, 1);
				}
			};
		}
		if (typeof value !== 'object' || Array.isArray(value)) return refuse(400, `That entry does not hold a whole ${list === 'contacts' ? 'contact' : 'activity'}.`);
		return {
			ok: true,
			apply: (doc) => {
				if (indexOf(doc) >= 0) throw new RestoreConflict(`The ${list === 'contacts' ? 'contact' : 'activity'} ${id} is already there.`);
				const map = new Y.Map<Scalar>();
				for (const [k, v] of Object.entries(value)) if (isScalar(v) && v !== null) map.set(k, v);
				map.set('id', id);
				arrayOf(doc).push([map]);
			}
		};
	}
	if (entry.path === 'notes') return refuse(400, 'Notes changes are kept as summaries, so they cannot be restored from the log.');
	return refuse(400, `An entry of kind "${entry.op}" at ${entry.path} cannot be restored${use === 'after' ? ' this way' : ''}.`);
}

class RestoreConflict extends Error {}

const MAX_CSV_ROWS = 100_000;
const CSV_PAGE = 1_000;

export function createAuditService({ audit, auth, rooms, workspace }: AuditServiceDeps): AuditService {
	async function canSee(actor: Actor, recordId: string): Promise<boolean> {
		if (canonicalRecordId(recordId) !== recordId || actor.workspace !== workspace) return false;
		const access = await auth.recordAccess(recordId);
		return access !== null && access.workspace === workspace && canSeeRecord(actor, access);
	}

	function requireAdmin(actor: Actor): void {
		if (!canAdminister(actor) || actor.workspace !== workspace) throw new ForbiddenError('Only admins can read the workspace\'s audit log.');
	}

	const filterOf = (query: Omit<AuditQuery, 'limit' | 'offset'> & { limit: number; offset: number }): AuditFilter => ({
		workspace,
		recordId: query.record,
		field: query.field,
		person: query.person,
		op: query.op,
		source: query.source,
		from: query.from,
		to: query.to,
		limit: query.limit,
		offset: query.offset
	});

	return {
		async history(actor, anyRecordId, query) {
			const recordId = canonicalRecordId(anyRecordId) ?? anyRecordId;
			if (!(await canSee(actor, recordId))) return null;
			return audit.query({ workspace, recordId, field: query.field, person: query.person, op: query.op, limit: query.limit, offset: query.offset });
		},

		async search(actor, query) {
			requireAdmin(actor);
			return audit.query(filterOf(query));
		},

		async conflicts(actor, query) {
			if (actor.workspace !== workspace) return [];
			const from = new Date(Date.now() - query.days * 86_400_000).toISOString();
			const found = await audit.conflicts({ workspace, path: `fields.${query.field}`, from, limit: query.limit });
			// Private records of others stay out, as everywhere: asked once per record.
			const visible = new Map<string, Promise<boolean>>();
			const seen = await Promise.all(
				found.map((entry) => {
					const recordId = entry.recordId;
					if (recordId === null) return false;
					if (!visible.has(recordId)) visible.set(recordId, canSee(actor, recordId));
					return visible.get(recordId)!;
				})
			);
			return found.filter((_, index) => seen[index]);
		},

		async *exportCsv(actor, query, max = MAX_CSV_ROWS) {
			requireAdmin(actor);
			yield CSV_HEADER;
			// Sealed entries never change, but staged ones may be sealed between pages; a
			// row could then appear twice or be skipped at a page edge. Seal first.
			await audit.seal();
			for (let offset = 0; offset < max; offset += CSV_PAGE) {
				const page = await audit.query(filterOf({ ...query, limit: Math.min(CSV_PAGE, max - offset), offset }));
				if (page.entries.length > 0) yield page.entries.map(csvRow).join('');
				if (page.entries.length < CSV_PAGE) return;
			}
		},

		async restore(actor, anyRecordId, input): Promise<RestoreResult> {
			const recordId = canonicalRecordId(anyRecordId) ?? anyRecordId;
			if (!canEdit(actor)) throw new ForbiddenError(`${actor.name} has the ${actor.role} role, which cannot change records.`);
			if (!(await canSee(actor, recordId))) return { ok: false, status: 404, message: `There is no record ${recordId} in this workspace.` };
			const entry = await audit.find(workspace, input.entryId);
			if (!entry || entry.recordId !== recordId) return { ok: false, status: 404, message: `There is no entry ${input.entryId} in this record's history.` };
			const use = input.use ?? 'before';
			const value = use === 'after' ? entry.after : entry.before;
			const change = plan(entry, value, use);
			if (!change.ok) return change;
			const room = await rooms.acquire(recordId);
			if (!room) return { ok: false, status: 404, message: `There is no record ${recordId} in this workspace.` };
			try {
				await room.transact({ actor: { id: actor.id, name: actor.name }, source: 'restore' }, (doc) => change.apply(doc));
				await rooms.writer.flushed(recordId);
				return { ok: true, path: entry.path, value, entry };
			} catch (error) {
				if (error instanceof RestoreConflict) return { ok: false, status: 409, message: error.message };
				throw error;
			} finally {
				rooms.release(room);
			}
		}
	};
}
