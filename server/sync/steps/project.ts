/**
 * Step 7 of an update's life (see ../pipeline.ts): a changed record's list row (the
 * projection that lists, search, dashboards and the API read) is made again, once the
 * change is stored, and at most about once a second while the record is being edited.
 * One `RowSchedule` per loaded record keeps that pace; `remakeRow` is the re-make.
 */
import { readRecord } from '../../../src/lib/model/record.ts';
import { projectRecord, type RecordRow } from '../../../src/lib/model/projection.ts';
import type { RecordVisibility } from '../../../src/lib/access.ts';
import type { Logger } from '../../log.ts';
import type { Room } from '../room.ts';

/** How long after a change its record's list row is re-made (changes meanwhile share it). */
export const PROJECTION_DELAY_MS = 150;
/**
 * The least time between two re-makes of one record's row while it is being edited. Each
 * re-make reads the whole record, tokenizes it for search, derives its duplicate keys and
 * list columns and writes the row: under a team's steady typing (several changes a second
 * on every open record) re-making it after every 150 ms pause was the largest single cost
 * of an update. Once a second keeps lists, search and dashboards within about a second of
 * the record, which is what they promise; the record itself stays live through its document.
 */
export const PROJECTION_MIN_INTERVAL_MS = 1_000;

/** What deciding needs of the document. */
export interface ProjectedDocument {
	readonly persistent: boolean;
	readonly definitionsDocument: boolean;
	readonly viewsDocument: boolean;
}

/**
 * Whether a change makes the document's list row stale: a change made on this instance
 * (one from the bus is projected by the instance that stored it) to a record; the field
 * definitions and the views documents have no row, workspace channels no document.
 */
export function changesListRow(document: ProjectedDocument, local: boolean): boolean {
	return local && document.persistent && !document.definitionsDocument && !document.viewsDocument;
}

/** When one record's row is re-made: after a short delay, at most once per interval, one re-make at a time. */
export class RowSchedule {
	private timer: ReturnType<typeof setTimeout> | null = null;
	/** When the row was last re-made (0: not yet). */
	private projectedAt = 0;
	/** The re-makes begun, one after the other. */
	private projection: Promise<void> = Promise.resolve();

	constructor(private readonly remake: () => Promise<void>) {}

	/** The row is stale: re-made after the delay, or once the interval since the last re-make has passed (a pending one covers this change too). */
	schedule(): void {
		if (this.timer) return;
		const delay = Math.max(PROJECTION_DELAY_MS, this.projectedAt + PROJECTION_MIN_INTERVAL_MS - Date.now());
		this.timer = setTimeout(this.begin, delay);
	}

	/** A pending re-make begins now (before an unload, or an answer that must be true of the list). */
	beginPending(): void {
		if (!this.timer) return;
		clearTimeout(this.timer);
		this.begin();
	}

	/** Resolves once every re-make begun so far is done. */
	get done(): Promise<void> {
		return this.projection;
	}

	/** Nothing pending is re-made (the record was erased). */
	stop(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}

	private readonly begin = (): void => {
		this.timer = null;
		this.projectedAt = Date.now();
		this.projection = this.projection.then(this.remake);
	};
}

/** What re-making a row needs of the instance. */
export interface RowPorts {
	/** Resolves once every change of the document persisted so far is stored. */
	flushed(documentId: string): Promise<void>;
	/** Writes the row; resolves with who may see the record as the row now says. */
	upsertProjection(row: RecordRow): Promise<RecordVisibility>;
	/** Tells the workspace's tabs that may see the record that its row changed (rooms.ts). */
	announce(workspace: string, recordId: string, visibility: RecordVisibility | undefined): void;
	log: Logger;
}

/** Re-makes the record's row from its document, once what it holds is stored; evicts whoever may no longer see it. Never throws. */
export async function remakeRow(room: Room, ports: RowPorts): Promise<void> {
	try {
		await ports.flushed(room.name);
		const record = readRecord(room.doc, room.name);
		// The workspace is the document's row's, never what its meta says (the server owns both, the row decides).
		const row = projectRecord({ ...record, meta: { ...record.meta, workspace: room.workspace } }, new Date().toISOString());
		// The row as written says who may see the record (private is not in the document).
		const visibility = await ports.upsertProjection(row);
		if (visibility) room.enforceVisibility(visibility);
		ports.announce(room.workspace, room.name, visibility);
	} catch (error) {
		ports.log.warn('projection refresh failed', { room: room.name, error: (error as Error).message });
	}
}
