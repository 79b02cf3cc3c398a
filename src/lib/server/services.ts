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
