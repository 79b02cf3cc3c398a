/**
 * What SvelteKit routes need from the Node process: the record service, health and
 * the people of the workspace. The Node entry (server/) fills this in at start; routes
 * reach it only through `services()`, so nothing under src/ imports server/.
 * (The built app and the entry are separate module graphs: the hand-over goes
 * through one well-known global, typed here and nowhere else.)
 */
import type { FieldErrors } from '../model/validate.ts';
import type { CustomerRecord } from '../model/record.ts';
import type { RecordRow, SortColumn } from '../model/projection.ts';
import type { Person } from '../people.ts';
import type { Actor } from '../access.ts';

export interface RecordQuery {
	workspace: string;
	stage?: string;
	owner?: string;
	includeArchived?: boolean;
	sort?: SortColumn;
	descending?: boolean;
	limit: number;
	offset: number;
}

export interface RecordPage {
	rows: RecordRow[];
	total: number;
}

export interface CreateRecordInput {
	workspace: string;
	createdBy: string;
	fields: Record<string, unknown>;
	tags?: unknown;
	notes?: unknown;
}

export type CreateRecordResult = { ok: true; id: string } | { ok: false; errors: FieldErrors };

export interface RecordService {
	create(input: CreateRecordInput): Promise<CreateRecordResult>;
	list(query: RecordQuery): Promise<RecordPage>;
	/** The record as plain JSON, or null when no such record exists in the workspace. */
	get(workspace: string, id: string): Promise<CustomerRecord | null>;
	setArchived(workspace: string, id: string, archived: boolean): Promise<boolean>;
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

export interface AuthService {
	/** Where to send the browser to sign in; `returnTo` is a path of this site. */
	beginSignIn(returnTo: string | null): Promise<string>;
	completeSignIn(callbackUrl: URL): Promise<SignInResult>;
	authenticate(credentials: { sessionToken?: string | null; apiToken?: string | null }): Promise<Authenticated | null>;
	/** Ends the session and its sockets; returns the provider's logout address, if it has one. */
	signOut(sessionToken: string): Promise<{ logoutUrl: string | null }>;
}

export interface Health {
	status: 'ok' | 'degraded';
	store: 'pglite' | 'postgres';
	bus: 'memory' | 'redis';
	documentsLoaded: number;
	connections: number;
	uptimeSeconds: number;
}

export interface AccordServices {
	records: RecordService;
	health(): Promise<Health>;
	/** The workspace this instance serves by default (the demo workspace on a first start). */
	defaultWorkspace: string;
	people: readonly Person[];
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
