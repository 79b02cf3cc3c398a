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
import * as Y from 'yjs';
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
import type { Validated } from '../src/lib/model/validate.ts';
import { ForbiddenError, type FieldsService } from '../src/lib/server/services.ts';
import type { DocumentStore } from './store/types.ts';
import type { Rooms } from './sync/rooms.ts';
import type { Room } from './sync/room.ts';
import type { Logger } from './log.ts';
import { sourceOf } from './records.ts';

export interface FieldsDeps {
	store: DocumentStore;
	rooms: Rooms;
	workspace: string;
	log: Logger;
}

/** Who writes the definitions a record's old `x_` values bring: the server, on the workspace's behalf. */
const ADOPTER = { id: 'system:fields', name: 'Accord' };

export function createFieldsService({ store, rooms, workspace, log }: FieldsDeps): FieldsService & {
	start(): Promise<void>;
	close(): void;
	catalog(): FieldCatalog;
	sawFields(fields: Record<string, Scalar>): void;
} {
	const documentId = fieldsDocumentId(workspace);
	let room: Room | null = null;
	let cached: FieldCatalog | null = null;
	const invalidate = () => (cached = null);
	/** Keys being adopted now, so a record read many times at once defines each once. */
	const adopting = new Set<string>();

	async function ensureDocument(): Promise<void> {
		if (await store.documentWorkspace(documentId)) return;
		const doc = new Y.Doc();
		initialiseDefinitions(doc, workspace);
		try {
			await store.createDocument(documentId, workspace, Y.encodeStateAsUpdate(doc), null);
		} catch (error) {
			// Another instance created it meanwhile: that one is the document.
			if (!(await store.documentWorkspace(documentId))) throw error;
		} finally {
			doc.destroy();
		}
	}

	function catalog(): FieldCatalog {
		if (!room) return BUILTIN_CATALOG;
		cached ??= new FieldCatalog(readDefinitions(room.doc));
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
			await ensureDocument();
			room = await rooms.acquire(documentId);
			if (!room) throw new Error(`the field definitions document ${documentId} could not be loaded`);
			room.doc.on('afterTransaction', invalidate);
			invalidate();
		},
		close() {
			if (!room) return;
			room.doc.off('afterTransaction', invalidate);
			rooms.release(room);
			room = null;
		},
		catalog,
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
