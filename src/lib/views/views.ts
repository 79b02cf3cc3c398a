/**
 * Saved views of the record list: a name, a query in the query language, a sort and the
 * columns shown. Private ones belong to one person (kept by the server in SQL); shared
 * ones live in one Yjs document per workspace, like the field definitions, so a change by
 * their owner reaches everyone who has the list open at once. Shared by the browser (the
 * view picker, the palette) and the server (server/views.ts, which alone writes them).
 *
 * Who may do what (decided here, checked by the server):
 * - anyone in the workspace, viewers included, saves private views and changes or
 *   deletes their own;
 * - editors and admins share a view with the workspace (or stop sharing it);
 * - only a shared view's owner changes it; admins may also delete it.
 *
 * A view is a segment: its query (`q`) is what the list, the export (`GET /api/export?q=`)
 * and the dashboard (`GET /api/analytics?q=`) are filtered by; `segmentQuery` gives it.
 */
import * as Y from 'yjs';
import { canAdminister, canEdit, type Actor } from '../access.ts';
import { MAX_QUERY_LENGTH, parseQuery, type QueryOptions } from '../search/query.ts';
import { readListSort } from '../records/sort.ts';
import { workspaceDocumentId } from '../model/workspace-document.ts';

export interface SavedView {
	id: string;
	name: string;
	/** The query as typed (the list's `q`); '' lists everything. */
	query: string;
	sort: string;
	dir: 'asc' | 'desc';
	/** The list's columns besides the name, in order. */
	columns: string[];
	shared: boolean;
	owner: string;
	ownerName: string;
	createdAt: string;
	updatedAt: string;
}

/** What a person sends to save or change a view; the server fills in the rest. */
export interface ViewInput {
	name: string;
	query: string;
	sort: string;
	dir: 'asc' | 'desc';
	columns: string[];
	shared: boolean;
}

export const MAX_VIEW_NAME = 80;
export const MAX_VIEW_COLUMNS = 40;
/** Private views per person, and shared views per workspace: far past any real list, small enough to send whole. */
export const MAX_PRIVATE_VIEWS = 100;
export const MAX_SHARED_VIEWS = 200;
const COLUMN_KEY = /^(?:[a-zA-Z][a-zA-Z0-9]{0,39}|x_[a-z][a-z0-9_]{0,39})$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const viewsMapOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap<unknown>('views');
export const viewsMetaOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap<unknown>('meta');
export const VIEWS_SCHEMA_VERSION = 1;

/** The shared views document's id, derived from the workspace (see workspace-document.ts). */
export const viewsDocumentId = (workspace: string): string => workspaceDocumentId('views', workspace);

/** A new views document's meta. Not `schema`: a numeric `meta.schema` would make it read as a record (isRecordDoc). */
export function initialiseViews(doc: Y.Doc, workspace: string): void {
	doc.transact(() => {
		viewsMetaOf(doc).set('viewsSchema', VIEWS_SCHEMA_VERSION);
		viewsMetaOf(doc).set('workspace', workspace);
	});
}

/** Reads one stored view (JSON from the document or the database); null when it is not one. */
export function asView(value: unknown): SavedView | null {
	if (typeof value !== 'object' || value === null) return null;
	const v = value as Record<string, unknown>;
	const text = (key: string) => (typeof v[key] === 'string' ? (v[key] as string) : null);
	const id = text('id');
	const name = text('name');
	if (!id || !name) return null;
	return {
		id,
		name,
		query: text('query') ?? '',
		sort: readListSort(text('sort')) ?? 'updatedAt',
		dir: v.dir === 'asc' ? 'asc' : 'desc',
		columns: Array.isArray(v.columns) ? v.columns.filter((c): c is string => typeof c === 'string').slice(0, MAX_VIEW_COLUMNS) : [],
		shared: v.shared === true,
		owner: text('owner') ?? '',
		ownerName: text('ownerName') ?? '',
		createdAt: text('createdAt') ?? '',
		updatedAt: text('updatedAt') ?? ''
	};
}

/** The shared views of a views document, by name (then id). */
export function readSharedViews(doc: Y.Doc): SavedView[] {
	const views: SavedView[] = [];
	for (const value of viewsMapOf(doc).values()) {
		const view = asView(value);
		if (view) views.push({ ...view, shared: true });
	}
	return sortViews(views);
}

export function sortViews(views: SavedView[]): SavedView[] {
	const collator = new Intl.Collator('zh');
	return views.sort((a, b) => collator.compare(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Checks what a person sent for a view (a whole one, or with `partial` only the parts to
 * change), with the messages a 400 carries. The query must be one the list can read.
 */
export function checkViewInput(body: unknown, options: QueryOptions & { partial?: boolean } = {}): Checked<Partial<ViewInput>> {
	if (typeof body !== 'object' || body === null || Array.isArray(body)) {
		return { ok: false, message: 'Send an object such as {"name": "VIP in Shenzhen", "query": "tag:vip city:深圳", "shared": true}.' };
	}
	const b = body as Record<string, unknown>;
	const out: Partial<ViewInput> = {};
	if (b.name !== undefined || !options.partial) {
		if (typeof b.name !== 'string' || b.name.trim() === '') return { ok: false, message: 'name: give the view a name.' };
		const name = b.name.trim().replace(/\s+/g, ' ');
		if (CONTROL.test(name)) return { ok: false, message: 'name must not contain control characters.' };
		if (name.length > MAX_VIEW_NAME) return { ok: false, message: `name can have at most ${MAX_VIEW_NAME} characters.` };
		out.name = name;
	}
	if (b.query !== undefined || !options.partial) {
		const query = b.query ?? '';
		if (typeof query !== 'string') return { ok: false, message: 'query must be text in the query language, such as "stage:won idle>30".' };
		if (query.length > MAX_QUERY_LENGTH) return { ok: false, message: `query can have at most ${MAX_QUERY_LENGTH} characters.` };
		if (query.trim() !== '') {
			const parsed = parseQuery(query, options);
			if (!parsed.ok) return { ok: false, message: `query: ${parsed.message}` };
		}
		out.query = query.trim();
	}
	if (b.sort !== undefined || !options.partial) {
		const sort = b.sort === undefined ? 'updatedAt' : typeof b.sort === 'string' ? readListSort(b.sort) : undefined;
		if (!sort) return { ok: false, message: 'sort must be a field key (name, value, updatedAt, x_…).' };
		out.sort = sort;
	}
	if (b.dir !== undefined || !options.partial) {
		const dir = b.dir ?? (out.sort === 'updatedAt' || out.sort === 'value' ? 'desc' : 'asc');
		if (dir !== 'asc' && dir !== 'desc') return { ok: false, message: 'dir must be "asc" or "desc".' };
		out.dir = dir;
	}
	if (b.columns !== undefined || !options.partial) {
		const columns = b.columns ?? [];
		if (!Array.isArray(columns) || columns.length > MAX_VIEW_COLUMNS || !columns.every((c) => typeof c === 'string' && COLUMN_KEY.test(c))) {
			return { ok: false, message: `columns must be a list of at most ${MAX_VIEW_COLUMNS} field keys, such as ["company", "stage", "x_region"].` };
		}
		out.columns = [...new Set(columns as string[])];
	}
	if (b.shared !== undefined || !options.partial) {
		if (b.shared !== undefined && typeof b.shared !== 'boolean') return { ok: false, message: 'shared must be true or false.' };
		out.shared = b.shared === true;
	}
	return { ok: true, value: out };
}

/** Why `actor` may not do `action` to `view` (null: they may). `view` null: creating one. */
export function viewRefusal(actor: Pick<Actor, 'id' | 'role'>, action: 'create' | 'change' | 'delete', view: SavedView | null, sharing: boolean): string | null {
	if (sharing && !canEdit(actor)) return 'Viewers save private views; sharing one with the workspace takes an editor or an admin.';
	if (!view || action === 'create') return null;
	if (view.owner === actor.id) return null;
	if (action === 'delete' && view.shared && canAdminister(actor)) return null;
	return view.shared ? `Only ${view.ownerName || 'its owner'} can change this shared view${action === 'delete' ? ' (or an admin delete it)' : ''}.` : 'This view is not yours.';
}

/** The list URL that opens a view: its query, sort, columns and id (so the picker shows it chosen). */
export function viewHref(view: Pick<SavedView, 'id' | 'query' | 'sort' | 'dir' | 'columns'>): string {
	const params = new URLSearchParams();
	params.set('view', view.id);
	if (view.query) params.set('q', view.query);
	params.set('sort', view.sort);
	params.set('dir', view.dir);
	return `/records?${params}`;
}

/**
 * A view as a segment: the `q` that filters the list, the export and the dashboard to its
 * records (`/api/export?q=…`, `/api/analytics?q=…`), as query-string text.
 */
export function segmentQuery(view: Pick<SavedView, 'query'>): string {
	return view.query;
}

/** The export of a view: its records in `format` and in its order; CSV and Excel with its columns (the name first) and the id. */
export function viewExportHref(view: Pick<SavedView, 'query' | 'columns'> & Partial<Pick<SavedView, 'sort' | 'dir'>>, format: 'csv' | 'json' | 'xlsx' | 'xml' = 'csv'): string {
	const params = new URLSearchParams({ format });
	if (view.query) params.set('q', view.query);
	if (view.columns.length > 0) params.set('columns', ['name', ...view.columns.filter((key) => key !== 'name')].join(','));
	if (view.sort) params.set('sort', view.sort);
	if (view.sort && view.dir) params.set('dir', view.dir);
	return `/api/export?${params}`;
}
