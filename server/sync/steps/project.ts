/**
 * Step 7 of an update's life (see ../pipeline.ts): a changed record's list row (the
 * projection that lists, search, dashboards and the API read) is to be made again. Only
 * scheduled here: the row is re-made once the change is stored, at most about once a
 * second while the record is being edited (the schedule lives with the loaded rooms,
 * ../rooms.ts `scheduleProjection`, which also settles it before a room unloads).
 */

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
