/**
 * The browser's local copy of a workspace: what the sync client and the pages need of
 * it. One implementation keeps it in IndexedDB (`indexeddb.ts`, the browser), another
 * in memory (`memory.ts`, tests and browsers without IndexedDB).
 *
 * Everything is per *scope*: one person in one workspace (`scopeOf`). Two people who
 * sign in on one browser never see each other's copies or send each other's edits.
 */
import type { RecordRow } from '../model/projection.ts';

/** What is kept of one document. */
export interface LocalDocState {
	/** Everything stored (snapshot, appended updates and pending changes) merged into one update; null if nothing is. */
	state: Uint8Array | null;
	/** Keys of this document's local changes the server has not confirmed as stored. */
	pending: number[];
	/** Created on this device and not yet accepted by the server. */
	createdLocally: boolean;
}

/** What the sync client needs: documents' state and the local changes not yet on the server. */
export interface LocalDocs {
	load(id: string): Promise<LocalDocState>;
	/** Stores a change that came from the server: part of the state, nothing to send. */
	storeRemote(id: string, update: Uint8Array): Promise<void>;
	/** Stores a change made here: in the state and as pending, in one transaction. Resolves with its pending key. */
	storeLocal(id: string, update: Uint8Array): Promise<number>;
	/** The server has stored these pending changes: they are no longer pending. */
	acknowledge(id: string, keys: readonly number[]): Promise<void>;
	/** Marks a document as created on this device (true) or accepted by the server (false). */
	setCreatedLocally(id: string, created: boolean): Promise<void>;
	/** Drops everything kept of a document (it does not exist, or the person may no longer see it). */
	forget(id: string): Promise<void>;
}

/** A list row as kept locally: the server's projection, or one computed here from the local document. */
export type LocalRow = RecordRow;

/** The whole local copy of one scope. */
export interface LocalStore extends LocalDocs {
	readonly scope: string;
	/** Documents with local changes not yet on the server, with how many each. */
	pendingDocs(): Promise<Map<string, number>>;
	/** The workspace position the last complete catch-up reached (opaque; null before the first). */
	position(): Promise<string | null>;
	setPosition(position: string | null): Promise<void>;
	/** Stores list rows (replacing rows of the same id). */
	putRows(rows: readonly LocalRow[]): Promise<void>;
	/** Every row kept for this scope. */
	rows(): Promise<LocalRow[]>;
	row(id: string): Promise<LocalRow | null>;
	close(): void;
}

/** One person in one workspace. */
export function scopeOf(workspace: string, userId: string): string {
	return `${workspace}\u0000${userId}`;
}

/** After this many updates appended to a document, its stored state is compacted into one snapshot. */
export const COMPACT_AFTER = 100;

/** An update that changes nothing (no structs, no deletions): not worth storing. */
export function isEmptyUpdate(update: Uint8Array): boolean {
	return update.byteLength <= 2 && update.every((byte) => byte === 0);
}
