/**
 * Finding duplicate customers for the record service: the candidates of a record about
 * to be created (or of one that exists), and the workspace's clusters. The matching
 * rules are the shared module's (src/lib/model/duplicates.ts); the store finds who
 * shares a key through its index, and leaves out private records the asker may not
 * see, so a candidate is never revealed to someone who could not open it.
 */
import { canAdminister, type Actor } from '../src/lib/access.ts';
import { clusterGroups, duplicateKeys, matchKeys, type DuplicateCandidate, type DuplicateCluster } from '../src/lib/model/duplicates.ts';
import type { Scalar } from '../src/lib/model/schema.ts';
import type { DuplicateScan } from '../src/lib/server/services.ts';
import type { DocumentStore } from './store/types.ts';

/** Candidates answered per record: the most likely ones (a person reads them, one by one). */
export const MAX_CANDIDATES = 20;
/** Rows read per check before ranking: enough for any real cluster, bounded for a key that is everywhere. */
const CANDIDATE_ROWS = 200;
/** A key shared by more records than this says nothing about any two of them (the scan skips it). */
export const MAX_KEY_GROUP = 50;
/** Clusters answered by a scan, most likely first. */
export const MAX_CLUSTERS = 1_000;
/** The fields a check reads from a typed record, and how much of each. */
const CHECKED_FIELDS = ['name', 'company', 'email', 'phone', 'website', 'country'] as const;
const MAX_CHECKED_LENGTH = 1_000;

const viewerOf = (actor: Actor) => ({ id: actor.id, admin: canAdminister(actor) });

export function createDuplicateFinder(store: DocumentStore, workspace: string) {
	async function candidatesFor(actor: Actor, keys: readonly string[], exclude?: string): Promise<DuplicateCandidate[]> {
		if (keys.length === 0) return [];
		const rows = await store.duplicateCandidates(workspace, keys, { exclude, viewer: viewerOf(actor), limit: CANDIDATE_ROWS });
		const candidates: DuplicateCandidate[] = [];
		for (const row of rows) {
			const match = matchKeys(keys, row.keys);
			if (match) candidates.push({ id: row.id, name: row.name, company: row.company, ...match });
		}
		return candidates.sort((a, b) => b.confidence - a.confidence).slice(0, MAX_CANDIDATES);
	}

	return {
		/** Candidates of a record with these (validated) fields, before it exists. */
		forFields(actor: Actor, fields: Readonly<Record<string, Scalar>>): Promise<DuplicateCandidate[]> {
			return candidatesFor(actor, duplicateKeys(fields));
		},

		/**
		 * Candidates of a record as typed (the new-record dialog, before it is valid):
		 * only the matched fields are read, as text, cut to a bounded length; a value the
		 * validator refuses simply gives no key.
		 */
		forTyped(actor: Actor, typed: Readonly<Record<string, unknown>>): Promise<DuplicateCandidate[]> {
			const fields: Record<string, Scalar> = {};
			for (const key of CHECKED_FIELDS) {
				const value = typed[key];
				if (typeof value === 'string' && value.trim() !== '') fields[key] = value.slice(0, MAX_CHECKED_LENGTH);
			}
			return candidatesFor(actor, duplicateKeys(fields));
		},

		/** Candidates of a stored record (its own keys, as stored); null when there is no such record. */
		async forRecord(actor: Actor, id: string): Promise<DuplicateCandidate[] | null> {
			const keys = await store.duplicateKeysOf(id);
			return keys === null ? null : candidatesFor(actor, keys, id);
		},

		/** The workspace's clusters of likely duplicates, as the actor may see them. */
		async scan(actor: Actor): Promise<DuplicateScan> {
			const { groups, skippedKeys, scanned } = await store.duplicateGroups(workspace, viewerOf(actor), MAX_KEY_GROUP);
			const names = new Map<string, { name: string; company: string | null }>();
			for (const group of groups) for (const row of group) names.set(row.id, { name: row.name, company: row.company });
			const clusters = clusterGroups(groups);
			const shown: DuplicateCluster[] = clusters.slice(0, MAX_CLUSTERS).map((cluster) => ({
				confidence: cluster.confidence,
				reasons: cluster.reasons,
				records: cluster.ids.map((id) => ({ id, name: names.get(id)?.name ?? '', company: names.get(id)?.company ?? null }))
			}));
			return { clusters: shown, total: clusters.length, scanned, skippedKeys };
		}
	};
}

export type DuplicateFinder = ReturnType<typeof createDuplicateFinder>;
