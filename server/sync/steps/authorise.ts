/**
 * Step 1 of an update's life (see ../pipeline.ts): may this connection change this
 * document at all? Decided from who is connected and what the document is, before
 * anything is decoded further or bound, so a refused writer costs the server nothing.
 * A refusal is a sentence for the writer; an empty update (a client with nothing new
 * catching up) is never refused, only acknowledged, so a viewer's client has nothing
 * pending.
 */
import type { Role } from '../../../src/lib/access.ts';

/** What authorising looks at of the connection. */
export interface Writer {
	/** Viewers may read and be present, not write. */
	readonly canWrite: boolean;
	readonly actor: { readonly role: Role };
}

/** What authorising looks at of the document. */
export interface WrittenDocument {
	/** The workspace's shared views: changed through the views API only (server/views.ts). */
	readonly viewsDocument: boolean;
	/** The workspace's field definitions: admins only. */
	readonly definitionsDocument: boolean;
}

/** An update that carries no structs and no deletions: what a client with nothing new sends. */
export const EMPTY_UPDATE_LENGTH = 2;

export function isEmptyUpdate(update: Uint8Array): boolean {
	return update.byteLength <= EMPTY_UPDATE_LENGTH;
}

/** Why `writer` may not change `document`, or null when they may. */
export function refusalToWrite(writer: Writer, document: WrittenDocument): string | null {
	if (!writer.canWrite) return 'You can view this record but not change it: your role is viewer.';
	if (document.viewsDocument) return "Saved views are changed through the views API (the list's view picker), which checks who may change each one.";
	if (document.definitionsDocument && writer.actor.role !== 'admin') return `Only admins can change the workspace's fields; your role is ${writer.actor.role}.`;
	return null;
}
