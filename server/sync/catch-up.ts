/**
 * Catch-up after a gap: a client that was away sends the last workspace position it
 * knows (`catchUp` on the workspace channel), and gets back only the records changed
 * since, that the person may see, plus those they may no longer see (`changedSince`),
 * instead of running the state-vector exchange for every record of the workspace.
 *
 * The position is the latest change time of the workspace's records, taken from the
 * projection (`records.updated_at`, indexed by workspace and time, and refreshed after
 * every stored change of a document, after the change itself is stored). To the client
 * it is an opaque string. Changes are looked for a little *before* the position
 * (OVERLAP_MS): change times come from each instance's clock and are written shortly
 * after the change, so a change can appear behind the position a client already has. A
 * record sent twice costs one state-vector exchange that finds nothing new.
 *
 * Read through the store's existing list query (`listRecords`, newest first, paged), so
 * no store method is added: server/store stays as it is.
 */
import { canSeeRecord, type Actor } from '../../src/lib/access.ts';
import type { ChangedSince } from '../../src/lib/sync/protocol.ts';
import type { DocumentStore } from '../store/types.ts';

/** How far before the client's position changes are looked for. */
export const OVERLAP_MS = 30_000;
const PAGE_SIZE = 1_000;
const POSITION_PREFIX = 'u1:';

export type CatchUp = (actor: Actor, position: string | null) => Promise<ChangedSince>;

/** A position as the client holds it: the time of the newest change it has seen. */
export function encodePosition(time: number): string {
	return POSITION_PREFIX + new Date(time).toISOString();
}

/** The time in a position, or null for none (or one this server cannot read: then the client gets everything). */
export function decodePosition(position: string | null): number | null {
	if (!position?.startsWith(POSITION_PREFIX)) return null;
	const time = Date.parse(position.slice(POSITION_PREFIX.length));
	return Number.isFinite(time) ? time : null;
}

export function createCatchUp(store: Pick<DocumentStore, 'listRecords'>, options: { overlapMs?: number; pageSize?: number } = {}): CatchUp {
	const overlap = options.overlapMs ?? OVERLAP_MS;
	const pageSize = options.pageSize ?? PAGE_SIZE;
	return async (actor, position) => {
		const since = decodePosition(position);
		const from = since === null ? null : since - overlap;
		const records: string[] = [];
		const removed: string[] = [];
		let newest = since ?? 0;
		for (let offset = 0; ; offset += pageSize) {
			// Every record of the workspace (private and archived ones too), newest change first.
			const page = await store.listRecords({ workspace: actor.workspace, includeArchived: true, sort: 'updatedAt', descending: true, limit: pageSize, offset });
			let reachedOlder = false;
			for (const row of page.rows) {
				const time = Date.parse(row.updatedAt);
				if (from !== null && time <= from) {
					reachedOlder = true;
					break;
				}
				newest = Math.max(newest, time);
				if (canSeeRecord(actor, { private: row.private === true, owner: row.owner })) records.push(row.id);
				else removed.push(row.id);
			}
			if (reachedOlder || page.rows.length < pageSize) break;
		}
		// Offset paging newest-first never skips a row (rows only move to the front), but may repeat one.
		return { records: [...new Set(records)], removed: [...new Set(removed)], position: encodePosition(newest) };
	};
}
