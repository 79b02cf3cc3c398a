/**
 * The workspace's field definitions on the server: the definitions document is created
 * on start if it does not exist, held loaded for as long as the server runs (so every
 * change to it, from this instance's admins, another instance's over the bus or a
 * `/sync` client, is in memory at once), and read by every validator of record values
 * (REST create and PATCH, the live path's shape guard) through `catalog()`.
 *
 * Admins change the definitions through `add` and `change` (POST and PATCH /api/fields,
 * the Settings page), checked by the rules of src/lib/model/fields.ts in the same
 * transaction that writes them, or directly in the document over `/sync`, where the
 * definitions guard (fields-guard.ts) applies the same rules. Either way the change is
 * one Yjs update, relayed to every open tab.
 */
import type { Actor } from '../src/lib/access.ts';
import { canAdminister } from '../src/lib/access.ts';
import type { FieldDefinition, Scalar } from '../src/lib/model/schema.ts';
import {
	BUILTIN_CATALOG,
	FieldCatalog,
	defineField,
	fieldsDocumentId,
	initialiseDefinitions,
	legacyDefinitions,
	patchField,
	readDefinitions,
	writeDefinition,
	type FieldPatch,
	type NewField
} from '../src/lib/model/fields.ts';
import type { MemberLookup, Validated } from '../src/lib/model/validate.ts';
import { ForbiddenError, type FieldsService } from '../src/lib/server/services.ts';
import type { DocumentStore } from './store/types.ts';
import type { Rooms } from './sync/rooms.ts';
import type { Room } from './sync/room.ts';
import type { Logger } from './log.ts';
import { sourceOf } from './records.ts';
import { ensureWorkspaceDocument } from './workspace-document.ts';

export interface FieldsDeps {
	store: DocumentStore;
	rooms: Rooms;
	workspace: string;
	log: Logger;
	/** The ids of the workspace's members now (the membership table), which person fields are checked against. */
	memberIds?: () => Promise<readonly string[]>;
}

/** How often the member list is read again, so someone removed stops being accepted (and one added elsewhere is known). */
const MEMBERS_REFRESH_MS = 15_000;
/** A person value nobody knows makes the list be read again, but no more often than this (an outsider could send many). */
const MEMBERS_MISS_REFRESH_MS = 1_000;

/**
 * The workspace's members as person fields need them: asked synchronously (the live
 * path checks inside a Yjs transaction), so held in memory and read again every
 * MEMBERS_REFRESH_MS, and at once when a value names someone unknown (a member who
 * joined on another instance a moment ago: the writer is refused once, and the next
 * write a second later is accepted).
 */
class MemberDirectory {
	private ids: ReadonlySet<string> | null = null;
	private lastRead = 0;
	private reading: Promise<void> | null = null;
	private timer: ReturnType<typeof setInterval> | null = null;

	constructor(
		private readonly read: () => Promise<readonly string[]>,
		private readonly log: Logger
	) {}

	async start(): Promise<void> {
		await this.refresh();
		this.timer = setInterval(() => void this.refresh(), MEMBERS_REFRESH_MS);
		this.timer.unref?.();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	/** Reads the list again (one read at a time); a failed read keeps the list it had. */
	refresh(): Promise<void> {
		this.reading ??= this.read()
			.then((ids) => {
				this.ids = new Set(ids);
			})
			.catch((error: Error) => this.log.warn('reading the workspace members failed; person fields are checked against the last list read', { error: error.message }))
			.finally(() => {
				this.lastRead = Date.now();
				this.reading = null;
			});
		return this.reading;
	}

	/** Reads the list again if it is older than `maxAgeMs` (a write that may wait for it, unlike the live path). */
	async current(maxAgeMs: number): Promise<void> {
		if (Date.now() - this.lastRead >= maxAgeMs) await this.refresh();
	}

	/** Null until the list has been read once: person values are not checked against nobody. */
	lookup(): MemberLookup | null {
		if (this.ids === null) return null;
		return {
			has: (id) => {
				if (this.ids?.has(id)) return true;
				if (Date.now() - this.lastRead >= MEMBERS_MISS_REFRESH_MS) void this.refresh();
				return false;
			}
		};
	}
}

/** Who writes the definitions a record's old `x_` values bring: the server, on the workspace's behalf. */
const ADOPTER = { id: 'system:fields', name: 'Accord' };

export function createFieldsService({ store, rooms, workspace, log, memberIds }: FieldsDeps): FieldsService & {
	start(): Promise<void>;
	close(): void;
	/**
	 * The definitions now, carrying the workspace's members (`members`), so whoever
	 * validates against it (REST, the live path, merge, import) checks person fields too.
	 */
	catalog(): FieldCatalog;
	/** The workspace's members as person fields are checked against them (null: not read yet). */
	members(): MemberLookup | null;
	/** Reads the member list again (for writes that can wait; the live path cannot). */
	membersCurrent(): Promise<void>;
	sawFields(fields: Record<string, Scalar>): void;
} {
	const documentId = fieldsDocumentId(workspace);
	let room: Room | null = null;
	let cached: FieldCatalog | null = null;
	const invalidate = () => (cached = null);
	const directory = memberIds ? new MemberDirectory(memberIds, log) : null;
	/** Keys being adopted now, so a record read many times at once defines each once. */
	const adopting = new Set<string>();

	const ensureDocument = () => ensureWorkspaceDocument(store, documentId, workspace, initialiseDefinitions);

	function catalog(): FieldCatalog {
		const members = directory?.lookup() ?? undefined;
		if (!room) return members ? new FieldCatalog(BUILTIN_CATALOG.all, members) : BUILTIN_CATALOG;
		cached ??= new FieldCatalog(readDefinitions(room.doc), members);
		// The list was read after the definitions were cached: the next catalog carries it.
		if (cached.members === undefined && members) cached = new FieldCatalog(cached.all, members);
		return cached;
	}

	function requireAdmin(actor: Actor): void {
		if (!canAdminister(actor) || actor.workspace !== workspace) {
			throw new ForbiddenError(`${actor.name} has the ${actor.role} role; only admins can change the workspace's fields.`);
		}
	}

	/** Checks and writes one definition in one transaction of the document, so no other change falls between. */
	async function write(actor: Actor, build: (current: FieldCatalog) => Validated<FieldDefinition>): Promise<Validated<FieldDefinition>> {
		if (!room) return { ok: false, code: 'unavailable', message: 'The field definitions are not loaded yet; try again in a moment.' };
		let result: Validated<FieldDefinition> = { ok: false, code: 'unavailable', message: 'Nothing was changed.' };
		await room.transact({ actor: { id: actor.id, name: actor.name }, source: sourceOf(actor) }, (doc) => {
			result = build(new FieldCatalog(readDefinitions(doc)));
			if (result.ok) writeDefinition(doc, result.value);
		});
		return result;
	}

	return {
		async start() {
			await directory?.start();
			await ensureDocument();
			room = await rooms.acquire(documentId);
			if (!room) throw new Error(`the field definitions document ${documentId} could not be loaded`);
			room.doc.on('afterTransaction', invalidate);
			invalidate();
		},
		close() {
			directory?.stop();
			if (!room) return;
			room.doc.off('afterTransaction', invalidate);
			rooms.release(room);
			room = null;
		},
		catalog,
		members: () => directory?.lookup() ?? null,
		/** Before a write that can wait (REST): the member list read again, so someone added a moment ago (a new API token) is known. */
		membersCurrent: async () => {
			await directory?.current(0);
		},
		documentId: () => documentId,
		list(actor) {
			return actor.workspace === workspace ? [...catalog().all] : [];
		},
		async add(actor, input: NewField) {
			requireAdmin(actor);
			return write(actor, (current) => defineField(current, input));
		},
		async change(actor, key: string, patch: FieldPatch) {
			requireAdmin(actor);
			return write(actor, (current) => patchField(current, key, patch));
		},
		sawFields(fields) {
			const found = legacyDefinitions(catalog(), fields).filter((definition) => !adopting.has(definition.key));
			if (found.length === 0 || !room) return;
			for (const definition of found) adopting.add(definition.key);
			const target = room;
			void target
				.transact({ actor: ADOPTER, source: 'api' }, (doc) => {
					// Defined meanwhile (by an admin, or another record's adoption): theirs stands.
					const now = new FieldCatalog(readDefinitions(doc));
					for (const definition of found) if (!now.get(definition.key)) writeDefinition(doc, definition);
				})
				.catch((error: Error) => log.warn('defining custom fields found on a record failed; they stay plain text until next seen', { error: error.message }))
				.finally(() => {
					for (const definition of found) adopting.delete(definition.key);
				});
		}
	};
}
