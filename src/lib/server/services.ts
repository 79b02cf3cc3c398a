/**
 * What SvelteKit routes need from the Node process: the record service, health and
 * the people of the workspace. The Node entry (server/) fills this in at start; routes
 * reach it only through `services()`, so nothing under src/ imports server/.
 * (The built app and the entry are separate module graphs: the hand-over goes
 * through one well-known global, typed here and nowhere else.)
 */
import type { FieldErrors, Validated } from '../model/validate.ts';
import type { FieldDefinition } from '../model/schema.ts';
import type { FieldPatch, NewField } from '../model/fields.ts';
import type { CustomerRecord } from '../model/record.ts';
import type { RecordRow } from '../model/projection.ts';
import type { ListSort } from '../records/sort.ts';
import type { SavedView } from '../views/views.ts';
import type { Person } from '../people.ts';
import type { Actor, Role } from '../access.ts';
import type { AuditEntry, AuditPage } from '../model/audit.ts';
import type { SearchQuery } from '../search/query.ts';
import type { ExportFormat } from '../io/formats.ts';
import type { DuplicateCandidate, DuplicateCluster } from '../model/duplicates.ts';
import type { AnalyticsOptions, Dashboard } from '../analytics/aggregate.ts';

export interface RecordQuery {
	workspace: string;
	stage?: string;
	owner?: string;
	includeArchived?: boolean;
	/** Any field (src/lib/records/sort.ts); updatedAt when absent. */
	sort?: ListSort;
	descending?: boolean;
	limit: number;
	offset: number;
	/** Whose list this is: private records of others are left out unless they are an admin. */
	viewer?: { id: string; admin: boolean };
	/** `q=`: a parsed search (src/lib/search); only records matching it are listed. */
	search?: SearchQuery;
	/**
	 * Count the matches up to this many at most (never fewer than the page's end): past it
	 * the page says `totalCapped`. Absent: a search's count stops at 10,000, a list without
	 * one is counted whole.
	 */
	countUpTo?: number;
}

export type ListQuery = Omit<RecordQuery, 'workspace' | 'viewer'>;

export interface RecordPage {
	rows: RecordRow[];
	/** How many match; with `totalCapped`, at least this many (the count stopped there). */
	total: number;
	totalCapped?: boolean;
}

export interface CreateRecordInput {
	fields: Record<string, unknown>;
	tags?: unknown;
	notes?: unknown;
	/** Create nothing when the record looks like one that exists (`?duplicates=refuse`); the default creates it anyway. */
	refuseDuplicates?: boolean;
}

/**
 * A record created, with the existing ones it looks like (the caller decides what to say);
 * or refused, naming every invalid field, or (`refuseDuplicates`) naming the candidates
 * under `duplicates`, with `errors.duplicates` saying so in words.
 */
export type CreateRecordResult =
	| { ok: true; id: string; duplicates: DuplicateCandidate[] }
	| { ok: false; errors: FieldErrors; duplicates?: DuplicateCandidate[] };

/** The workspace's duplicate scan: clusters most likely first (at most a bounded number of `total`). */
export interface DuplicateScan {
	clusters: DuplicateCluster[];
	/** Clusters found; more than `clusters.length` when the answer was cut. */
	total: number;
	/** Records looked at (unarchived, visible to the asker). */
	scanned: number;
	/** Keys shared by so many records that they say nothing (skipped). */
	skippedKeys: number;
}

/**
 * A change to one record (`PATCH /api/records/:id`), each part optional and every part
 * validated before anything changes. Any other member is refused by name.
 */
export interface UpdateRecordInput {
	/** Field key → new value, through the record validator; `null` (or "") clears the field. */
	fields?: unknown;
	/**
	 * `{"add": [...], "remove": [...]}`: never a whole list, so a tag someone else adds
	 * at the same moment is not removed by a list read before it was added.
	 */
	tags?: unknown;
	/** The whole new text of the notes, applied as one minimal edit; `""` or `null` clears them. */
	notes?: unknown;
	[other: string]: unknown;
}

export type UpdateRecordResult = { ok: true; record: CustomerRecord & { private: boolean } } | { ok: false; errors: FieldErrors };

/** Thrown when an actor asks for something their role does not allow; routes answer 403. */
export class ForbiddenError extends Error {
	readonly status = 403;
	override readonly name = 'ForbiddenError';
}

/** Routes and the Node entry are separate module graphs, so `instanceof` cannot be trusted across them. */
export function isForbidden(error: unknown): error is ForbiddenError {
	return error instanceof Error && error.name === 'ForbiddenError';
}

/**
 * Records as an actor may see and change them. A private record another person owns
 * is, to everyone but its owner and admins, a record that does not exist.
 */
export interface RecordService {
	create(actor: Actor, input: CreateRecordInput): Promise<CreateRecordResult>;
	list(actor: Actor, query: ListQuery): Promise<RecordPage>;
	/** The record as plain JSON, or null when it does not exist or the actor may not see it. */
	get(actor: Actor, id: string): Promise<(CustomerRecord & { private: boolean }) | null>;
	/**
	 * Changes fields, tags and notes through the live document, attributed as any API
	 * write; nothing changes when any part is invalid. Null when the record does not
	 * exist or the actor may not see it; ForbiddenError for a viewer.
	 */
	update(actor: Actor, id: string, input: UpdateRecordInput): Promise<UpdateRecordResult | null>;
	setArchived(actor: Actor, id: string, archived: boolean): Promise<boolean>;
	setPrivate(actor: Actor, id: string, value: boolean): Promise<boolean>;
	/** Existing records a record as typed (not yet created) looks like; fields that cannot be read give no match. */
	checkDuplicates(actor: Actor, fields: Record<string, unknown>): Promise<DuplicateCandidate[]>;
	/** Records an existing record looks like; null when it does not exist or the actor may not see it. */
	duplicatesOf(actor: Actor, id: string): Promise<DuplicateCandidate[] | null>;
	/** Clusters of likely duplicates across the workspace. Private records of others never appear. */
	duplicateScan(actor: Actor): Promise<DuplicateScan>;
}

export interface MemberView {
	id: string;
	name: string;
	email: string | null;
	role: Role;
	/** Set by an admin (their id), or null when it came from the identity provider or the default. */
	assignedBy: string | null;
}

export interface ApiTokenView {
	id: string;
	name: string;
	role: Role;
	createdBy: string | null;
	createdAt: string;
	lastUsedAt: string | null;
	revokedAt: string | null;
}

/** What admins do: people's roles and API tokens. Every method refuses non-admins. */
export interface AdminService {
	members(actor: Actor): Promise<MemberView[]>;
	setRole(actor: Actor, userId: string, role: Role): Promise<boolean>;
	tokens(actor: Actor): Promise<ApiTokenView[]>;
	/** The token itself is in the answer this once, and never stored. */
	createToken(actor: Actor, input: { name: string; role: Role }): Promise<{ id: string; token: string }>;
	revokeToken(actor: Actor, id: string): Promise<boolean>;
}

/** Filters of a record's history: a place (`company`, `fields.company`, `contacts`, `notes`…), a person (user id or `token:<id>`), an op. */
export interface HistoryQuery {
	field?: string;
	person?: string;
	op?: string;
	limit: number;
	offset: number;
}

/** Filters of the workspace's audit log (admins); times are ISO, `from` inclusive, `to` exclusive. */
export interface AuditQuery extends HistoryQuery {
	record?: string;
	source?: string;
	from?: string;
	to?: string;
}

export interface RestoreInput {
	/** An entry of this record's history (`id` as the history gives it). */
	entryId: string;
	/** Which of the entry's values to put back: `before` (default) or `after`. For a conflict, `before` is the value that was lost. */
	use?: 'before' | 'after';
}

export type RestoreResult =
	| { ok: true; path: string; value: AuditEntry['before']; entry: AuditEntry }
	| { ok: false; status: 400 | 404 | 409; message: string };

/**
 * The audit log: every change to records, who made it, before and after. Reading a
 * record's history needs only to see the record; the workspace's log is for admins.
 */
export interface AuditService {
	/** Newest first; null when the record does not exist or the actor may not see it. */
	history(actor: Actor, recordId: string, query: HistoryQuery): Promise<AuditPage | null>;
	/** The workspace's log, newest first. Admins only (ForbiddenError otherwise). */
	search(actor: Actor, query: AuditQuery): Promise<AuditPage>;
	/** The same as CSV, in chunks (header first); at most `max` entries. Admins only. */
	exportCsv(actor: Actor, query: Omit<AuditQuery, 'limit' | 'offset'>, max?: number): AsyncIterable<string>;
	/** Puts an entry's earlier (or later) value back through the live document, as a `restore`. Editors only. */
	restore(actor: Actor, recordId: string, input: RestoreInput): Promise<RestoreResult>;
	/**
	 * The workspace's unsettled conflicts at one field of any record the actor may see,
	 * newest first (a board's grouping field: two people moved one card at once).
	 */
	conflicts(actor: Actor, query: ConflictQuery): Promise<AuditEntry[]>;
}

/** `field`: a field's key (stage, owner, a custom select); `days`: how far back. */
export interface ConflictQuery {
	field: string;
	days: number;
	limit: number;
}

/** A merge as its API answers: what it named, who made it, whether it was undone. */
export interface MergeView {
	id: string;
	survivor: string;
	merged: string[];
	mergedBy: { id: string; name: string };
	mergedAt: string;
	undoneAt: string | null;
}

export type MergeResult =
	| { ok: true; merge: MergeView; survivor: CustomerRecord & { private: boolean } }
	| { ok: false; status: 400 | 404 | 409; message: string; errors?: FieldErrors };

/** A record changed since the merge, and the places that differ from what the merge left. */
export interface ChangedSinceMerge {
	record: string;
	places: string[];
}

export type UndoMergeResult =
	| { ok: true; merge: MergeView; records: string[]; overwritten: ChangedSinceMerge[] }
	| { ok: false; status: 404 | 409; message: string; changed?: ChangedSinceMerge[] };

/**
 * Merging records (`POST /api/records/merge`, editors and admins) and undoing a merge
 * (`POST /api/merges/:id/undo`, admins), both through the live documents.
 */
export interface MergeService {
	/** The body as sent (checked here); ForbiddenError for viewers. */
	merge(actor: Actor, body: unknown): Promise<MergeResult>;
	/** Null when there is no such merge in the workspace, or it names a record the actor may not see. */
	get(actor: Actor, mergeId: string): Promise<MergeView | null>;
	/**
	 * Writes every record back as it was before the merge. Refused (409, naming each
	 * record and place) when a record changed since, unless `force`; then the answer
	 * lists what was overwritten. ForbiddenError for anyone but admins.
	 */
	undo(actor: Actor, mergeId: string, options: { force: boolean }): Promise<UndoMergeResult>;
}

/** Who a request or socket acts as, and how they proved it. */
export interface Authenticated {
	actor: Actor;
	via: 'session' | 'token';
	/** Hash of the session token (never the token itself), for ending its sockets. */
	sessionHash?: string;
	tokenId?: string;
	expiresAt?: Date;
	email?: string | null;
}

export type SignInResult =
	| { ok: true; sessionToken: string; expiresAt: Date; returnTo: string }
	| { ok: false; message: string };

export interface SignInStart {
	/** The identity provider's authorization address, to send the browser to. */
	url: string;
	/** Ties the attempt to the browser that starts it: kept in its sign-in cookie, required back at the callback. */
	binding: string;
}

export interface AuthService {
	/** Where to send the browser to sign in; `returnTo` is a path of this site (anything else becomes `/records`). */
	beginSignIn(returnTo: string | null): Promise<SignInStart>;
	/** `bindings`: those of the attempts this browser started (its sign-in cookie); a callback of any other attempt is refused. */
	completeSignIn(callbackUrl: URL, bindings: readonly string[]): Promise<SignInResult>;
	authenticate(credentials: { sessionToken?: string | null; apiToken?: string | null }): Promise<Authenticated | null>;
	/** Ends the session and its sockets; returns the provider's logout address, if it has one. */
	signOut(sessionToken: string): Promise<{ logoutUrl: string | null }>;
}

export interface Health {
	status: 'ok' | 'degraded';
	store: 'pglite' | 'postgres';
	bus: 'memory' | 'redis' | 'redis-cluster';
	documentsLoaded: number;
	connections: number;
	/** Updates applied and not yet stored; at ACCORD_MAX_PENDING_WRITES sockets stop being read until half are stored. */
	pendingWrites: number;
	uptimeSeconds: number;
	/** Scheduled backups (ACCORD_BACKUP_DIR), when configured. A failed backup does not make the instance unhealthy: it still serves. */
	backup?: BackupHealth;
}

export interface BackupHealth {
	/** When the last scheduled backup was completed (ISO), or null before the first. */
	lastSuccessAt: string | null;
	/** The last attempt's failure, cleared by the next success. */
	lastFailure: { at: string; message: string } | null;
	nextAt: string | null;
}

/** A backup file on its way to an admin (`GET /api/admin/backup`): written whole first, then streamed. */
export interface BackupDownload {
	filename: string;
	bytes: number;
	body: AsyncIterable<Uint8Array>;
}

/** A data-subject export: one JSON document of everything held about one customer. */
export interface SubjectExportFile {
	filename: string;
	json: string;
}

/**
 * A data-subject erasure (server/erase.ts): every record erased, or none, with why:
 * 400 ids that are not record ids, 404 ids that name no record of the workspace.
 */
export type EraseResult =
	| { ok: true; erased: string[] }
	| { ok: false; status: 400 | 404; message: string; invalid?: string[]; missing?: string[] };

/** Backups and data-subject requests (server/backup, server/subject.ts, server/erase.ts); admins only, ForbiddenError otherwise. */
export interface DataService {
	/** A consistent backup of the whole database, as `npm run accord -- backup` writes it. */
	backup(actor: Actor): Promise<BackupDownload>;
	/** Everything held about one record (audited); null when there is no such record in the workspace. */
	subjectExport(actor: Actor, recordId: string): Promise<SubjectExportFile | null>;
	/** Erases records for good, all or none (`ids` as sent: checked there); audited without the values. */
	erase(actor: Actor, ids: unknown): Promise<EraseResult>;
}

/** What an export hands the route: a file streamed as it is written. */
export interface ExportFileView {
	contentType: string;
	filename: string;
	body: AsyncIterable<Uint8Array>;
}

/**
 * Exports (server/export): the records the actor may see, matching the list's search,
 * as a CSV, XLSX, JSON or XML file written as it is read. (Imports are served by the
 * Node entry itself, at `/api/import`, so an upload is never capped at the API's body limit.)
 */
export interface RecordExportService {
	/** `columns` (a view's field keys) shapes CSV and Excel; `sort` and `descending` give the view's order (by name when absent). */
	open(
		actor: Actor,
		query: { format: ExportFormat; search?: SearchQuery; includeArchived?: boolean; columns?: readonly string[]; sort?: ListSort; descending?: boolean }
	): ExportFileView;
}

/**
 * The workspace's field definitions (server/fields.ts): everyone in the workspace reads
 * them, only admins change them; a refused change says why and changes nothing.
 */
export interface FieldsService {
	/** The id of the workspace's definitions document (served by `/sync` like a record). */
	documentId(): string;
	/** Every definition, retired ones too, in order; empty for another workspace. */
	list(actor: Actor): FieldDefinition[];
	/** Adds a field (admins only: ForbiddenError otherwise). */
	add(actor: Actor, input: NewField): Promise<Validated<FieldDefinition>>;
	/** Renames, reorders, retires or restores a field, or changes its options (admins only). */
	change(actor: Actor, key: string, patch: FieldPatch): Promise<Validated<FieldDefinition>>;
}

/**
 * The dashboard's numbers (server/analytics.ts): SQL aggregates over the records the
 * actor may see, defined as src/lib/analytics/aggregate.ts defines them for the browser.
 */
export interface AnalyticsService {
	dashboard(actor: Actor, options: AnalyticsOptions): Promise<{ dashboard: Dashboard; computedAt: string }>;
}

/** A view saved, changed or deleted; or why not (400 a bad body, 404 none of yours, 409 too many). */
export type ViewResult = { ok: true; view: SavedView } | { ok: false; status: 400 | 404 | 409; message: string };

/** Saved views and segments (server/views.ts); who may do what: src/lib/views/views.ts. Refusals of a role are ForbiddenError. */
export interface ViewsService {
	/** The id of the workspace's shared views document (served by `/sync` like a record, read-only there). */
	documentId(): string;
	/** The person's private views, then the workspace's shared ones. */
	list(actor: Actor): Promise<SavedView[]>;
	get(actor: Actor, id: string): Promise<SavedView | null>;
	create(actor: Actor, body: unknown): Promise<ViewResult>;
	update(actor: Actor, id: string, body: unknown): Promise<ViewResult>;
	remove(actor: Actor, id: string): Promise<ViewResult>;
}

export interface AccordServices {
	records: RecordService;
	views: ViewsService;
	fields: FieldsService;
	exports: RecordExportService;
	auth: AuthService;
	admin: AdminService;
	audit: AuditService;
	merges: MergeService;
	data: DataService;
	analytics: AnalyticsService;
	health(): Promise<Health>;
	/** The workspace this instance serves. */
	defaultWorkspace: string;
	/** The people of the workspace (for owners, avatars and names). */
	people(): Promise<Person[]>;
	/** How sign-in works here, for the sign-in page. */
	signIn: { provider: string; providerOrigin: string; development: boolean; secureCookies: boolean };
}

const KEY = Symbol.for('accord.services');
type Holder = { [KEY]?: AccordServices };

export function provideServices(value: AccordServices): void {
	(globalThis as Holder)[KEY] = value;
}

export function services(): AccordServices {
	const value = (globalThis as Holder)[KEY];
	if (!value) throw new Error('Accord services are not available: start the app through server/ (npm start or npm run dev).');
	return value;
}
