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
 * A private record does not exist for people other than its owner and admins, so what
 * they are told never depends on it:
 *   - `records` are read with the person's visibility filter (the list query's), and the
 *     position moves only with those: a hidden record changing does not move it;
 *   - `removed` lists only records hidden from this person after the position (minus the
 *     overlap) that they still may not see: a shared record made private, or a private
 *     one its owner (this person) no longer owns. These are the records their offline
 *     copy may hold and must drop. A record private to them all along, whether it changes
 *     or not, never appears; nor does one created private. The hidings come from
 *     `record_hidings` (migration 6), written by the database when `private` or `owner`
 *     changes, and indexed by workspace and time, so this is one small range read. With
 *     no position (a first catch-up, or one this server cannot read) every hiding counts:
 *     the client may hold anything that was ever shared with it.
 * What `removed` does not cover: a person who loses a role (an admin made editor) keeps
 * the private records they could see as admin until their local copy is cleared.
 */
import { canAdminister, canSeeRecord, type Actor } from '../../src/lib/access.ts';
import type { ChangedSince } from '../../src/lib/protocol/index.ts';
import type { DocumentStore } from '../store/types.ts';

/** How far before the client's position changes are looked for. */
export const OVERLAP_MS = 30_000;

/**
 * The overlap this process uses: OVERLAP_MS, or ACCORD_CATCH_UP_OVERLAP_MS (milliseconds)
 * when set. That variable is for tests, whose servers run on one clock and would
 * otherwise wait half a minute for a change to lie behind the overlap.
 */
export function configuredOverlapMs(env: NodeJS.ProcessEnv = process.env): number {
	const value = env.ACCORD_CATCH_UP_OVERLAP_MS;
	if (value === undefined || value === '') return OVERLAP_MS;
	const ms = Number(value);
	if (!Number.isInteger(ms) || ms < 0) throw new Error(`ACCORD_CATCH_UP_OVERLAP_MS must be a whole number of milliseconds, not ${JSON.stringify(value)}`);
	return ms;
}

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

export interface CatchUpOptions {
	overlapMs?: number;
	pageSize?: number;
	/** Records of the workspace erased after a time (ISO; all when null): everyone drops them (server/erase.ts). */
	erasedSince?(workspace: string, since: string | null): Promise<{ id: string; erasedAt: string }[]>;
}

export function createCatchUp(store: Pick<DocumentStore, 'listRecords' | 'recordsHiddenSince'>, options: CatchUpOptions = {}): CatchUp {
	const overlap = options.overlapMs ?? configuredOverlapMs();
	const pageSize = options.pageSize ?? PAGE_SIZE;
	return async (actor, position) => {
		const since = decodePosition(position);
		const from = since === null ? null : since - overlap;
		const records: string[] = [];
		let newest = since ?? 0;
		// What this person may see (archived ones too), newest change first.
		const viewer = { id: actor.id, admin: canAdminister(actor) };
		for (let offset = 0; ; offset += pageSize) {
			const page = await store.listRecords({ workspace: actor.workspace, includeArchived: true, viewer, sort: 'updatedAt', descending: true, limit: pageSize, offset });
			let reachedOlder = false;
			for (const row of page.rows) {
				const time = Date.parse(row.updatedAt);
				if (from !== null && time <= from) {
					reachedOlder = true;
					break;
				}
				newest = Math.max(newest, time);
				records.push(row.id);
			}
			if (reachedOlder || page.rows.length < pageSize) break;
		}
		const removed: string[] = [];
		if (!viewer.admin) {
			const hidden = await store.recordsHiddenSince(actor.workspace, from === null ? null : new Date(from).toISOString(), actor.id);
			for (const record of hidden) {
				if (canSeeRecord(actor, record)) continue;
				removed.push(record.id);
				// Asked again from before this hiding, the client would be told again: harmless, but not needed.
				newest = Math.max(newest, Date.parse(record.hiddenAt));
			}
		}
		// Erased records are gone for everyone, admins too: every local copy drops them.
		for (const record of (await options.erasedSince?.(actor.workspace, from === null ? null : new Date(from).toISOString())) ?? []) {
			removed.push(record.id);
			newest = Math.max(newest, Date.parse(record.erasedAt));
		}
		// Offset paging newest-first never skips a row (rows only move to the front), but may repeat one.
		const visible = new Set(records);
		return { records: [...visible], removed: [...new Set(removed)].filter((id) => !visible.has(id)), position: encodePosition(newest) };
	};
}
