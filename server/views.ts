/**
 * Saved views on the server (see src/lib/views/views.ts for what a view is and who may do
 * what). Private views are rows of `private_views` (migration 14), read only by their
 * owner. Shared views are entries of the workspace's views document, written here alone
 * (the sync path refuses anyone's update to it: server/sync/steps/authorise.ts) in one transaction
 * of the live document, so every open list sees a change as it happens, on every
 * instance (through the bus like any document). The document is loaded for each call and
 * given back afterwards, so it does not stay in memory while nobody uses it.
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../src/lib/access.ts';
import type { FieldDefinition } from '../src/lib/model/schema.ts';
import { ForbiddenError, type ViewsService, type ViewResult } from '../src/lib/server/services.ts';
import {
	MAX_PRIVATE_VIEWS,
	MAX_SHARED_VIEWS,
	asView,
	checkViewInput,
	initialiseViews,
	readSharedViews,
	sortViews,
	viewRefusal,
	viewsDocumentId,
	viewsMapOf,
	type SavedView,
	type ViewInput
} from '../src/lib/views/views.ts';
import type { DocumentStore, Sql } from './store/types.ts';
import type { Rooms } from './sync/rooms.ts';
import type { Room } from './sync/room.ts';
import { sourceOf } from './records.ts';
import { ensureWorkspaceDocument } from './workspace-document.ts';

export interface ViewsDeps {
	sql: Sql;
	store: DocumentStore;
	rooms: Rooms;
	workspace: string;
	/** The workspace's field definitions, so a view's query may name fields by label. */
	fields: () => readonly FieldDefinition[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createViewsService({ sql, store, rooms, workspace, fields }: ViewsDeps): ViewsService {
	const documentId = viewsDocumentId(workspace);
	let ensured: Promise<void> | null = null;

	function ensureDocument(): Promise<void> {
		ensured ??= ensureWorkspaceDocument(store, documentId, workspace, initialiseViews).catch((error: unknown) => {
			ensured = null;
			throw error;
		});
		return ensured;
	}

	/** Runs `use` with the views document loaded, then gives it back. */
	async function withRoom<T>(use: (room: Room) => Promise<T> | T): Promise<T> {
		await ensureDocument();
		const room = await rooms.acquire(documentId);
		if (!room) throw new Error(`the views document ${documentId} could not be loaded`);
		try {
			return await use(room);
		} finally {
			rooms.release(room);
		}
	}

	async function privateViews(actor: Actor): Promise<SavedView[]> {
		const rows = await sql.query<{ view: unknown }>('SELECT view FROM private_views WHERE workspace_id = $1 AND owner_id = $2', [workspace, actor.id]);
		return rows.map((row) => asView(typeof row.view === 'string' ? JSON.parse(row.view) : row.view)).filter((view): view is SavedView => view !== null);
	}

	async function find(actor: Actor, id: string): Promise<SavedView | null> {
		if (!UUID.test(id)) return null;
		const canonical = id.toLowerCase();
		const [row] = await sql.query<{ view: unknown }>('SELECT view FROM private_views WHERE id = $1 AND workspace_id = $2 AND owner_id = $3', [canonical, workspace, actor.id]);
		if (row) return asView(typeof row.view === 'string' ? JSON.parse(row.view) : row.view);
		return withRoom((room) => asView(viewsMapOf(room.doc).get(canonical)));
	}

	const by = (actor: Actor) => ({ actor: { id: actor.id, name: actor.name }, source: sourceOf(actor) });

	/** Puts `view` where it belongs now (the document when shared, the table when private), removing it from the other. */
	async function store_(actor: Actor, view: SavedView, before: SavedView | null): Promise<ViewResult> {
		if (view.shared) {
			let full = false;
			await withRoom((room) =>
				room.transact(by(actor), (doc) => {
					const map = viewsMapOf(doc);
					if (!map.has(view.id) && map.size >= MAX_SHARED_VIEWS) {
						full = true;
						return;
					}
					map.set(view.id, { ...view });
				})
			);
			if (full) return { ok: false, status: 409, message: `The workspace has ${MAX_SHARED_VIEWS} shared views, the most it keeps; delete one first.` };
			if (before && !before.shared) await sql.query('DELETE FROM private_views WHERE id = $1', [view.id]);
			return { ok: true, view };
		}
		if (!before || before.shared) {
			const [count] = await sql.query<{ n: number }>('SELECT count(*) AS n FROM private_views WHERE workspace_id = $1 AND owner_id = $2', [workspace, actor.id]);
			if (Number(count.n) >= MAX_PRIVATE_VIEWS) return { ok: false, status: 409, message: `You have ${MAX_PRIVATE_VIEWS} private views, the most kept per person; delete one first.` };
		}
		await sql.query(
			`INSERT INTO private_views (id, workspace_id, owner_id, view, updated_at) VALUES ($1, $2, $3, $4::jsonb, now())
			 ON CONFLICT (id) DO UPDATE SET view = EXCLUDED.view, updated_at = now()`,
			[view.id, workspace, view.owner, JSON.stringify(view)]
		);
		if (before?.shared) await withRoom((room) => room.transact(by(actor), (doc) => viewsMapOf(doc).delete(view.id)));
		return { ok: true, view };
	}

	return {
		documentId: () => documentId,

		async list(actor) {
			if (actor.workspace !== workspace) return [];
			const shared = await withRoom((room) => readSharedViews(room.doc));
			return [...sortViews(await privateViews(actor)), ...shared];
		},

		async get(actor, id) {
			if (actor.workspace !== workspace) return null;
			return find(actor, id);
		},

		async create(actor, body) {
			if (actor.workspace !== workspace) throw new ForbiddenError('Views are saved in your own workspace.');
			const checked = checkViewInput(body, { fields: fields() });
			if (!checked.ok) return { ok: false, status: 400, message: checked.message };
			const input = checked.value as ViewInput;
			const refusal = viewRefusal(actor, 'create', null, input.shared);
			if (refusal) throw new ForbiddenError(refusal);
			const now = new Date().toISOString();
			const view: SavedView = { id: randomUUID(), ...input, owner: actor.id, ownerName: actor.name, createdAt: now, updatedAt: now };
			return store_(actor, view, null);
		},

		async update(actor, id, body) {
			const before = actor.workspace === workspace ? await find(actor, id) : null;
			if (!before) return { ok: false, status: 404, message: 'There is no such view (or it is someone else’s private one).' };
			const checked = checkViewInput(body, { fields: fields(), partial: true });
			if (!checked.ok) return { ok: false, status: 400, message: checked.message };
			const sharing = checked.value.shared === true && !before.shared;
			const refusal = viewRefusal(actor, 'change', before, sharing);
			if (refusal) throw new ForbiddenError(refusal);
			const view: SavedView = { ...before, ...checked.value, updatedAt: new Date().toISOString() };
			return store_(actor, view, before);
		},

		async remove(actor, id) {
			const before = actor.workspace === workspace ? await find(actor, id) : null;
			if (!before) return { ok: false, status: 404, message: 'There is no such view (or it is someone else’s private one).' };
			const refusal = viewRefusal(actor, 'delete', before, false);
			if (refusal) throw new ForbiddenError(refusal);
			if (before.shared) await withRoom((room) => room.transact(by(actor), (doc) => viewsMapOf(doc).delete(before.id)));
			else await sql.query('DELETE FROM private_views WHERE id = $1 AND owner_id = $2', [before.id, actor.id]);
			return { ok: true, view: before };
		}
	};
}
