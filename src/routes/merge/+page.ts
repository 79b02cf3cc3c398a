/**
 * The merge page's records: `/merge?ids=<id>,<id>,…` (the Duplicates page and a record's
 * "Merge with…" link here). Each is read from the API as it stands now; one that cannot
 * be read is named with the reason instead of failing the page.
 */
import { canonicalRecordId, type CustomerRecord } from '$lib/model/record.ts';
import { MAX_MERGE_RECORDS } from '$lib/model/merge.ts';
import type { PageLoad } from './$types';

export interface MergePageRecord extends CustomerRecord {
	private: boolean;
}

export const load = (async ({ url, fetch, parent }) => {
	const { role, people } = await parent();
	const ids: string[] = [];
	const problems: { id: string; reason: string }[] = [];
	for (const raw of (url.searchParams.get('ids') ?? '').split(',')) {
		const text = raw.trim();
		if (!text) continue;
		const id = canonicalRecordId(text);
		if (!id) problems.push({ id: text.slice(0, 60), reason: 'not a record id' });
		else if (!ids.includes(id) && ids.length < MAX_MERGE_RECORDS) ids.push(id);
	}
	const records = await Promise.all(
		ids.map(async (id): Promise<MergePageRecord | null> => {
			try {
				const response = await fetch(`/api/records/${id}`, { headers: { accept: 'application/json' } });
				if (response.ok) return (await response.json()) as MergePageRecord;
				const body = (await response.json().catch(() => null)) as { message?: string } | null;
				problems.push({ id, reason: body?.message ?? `HTTP ${response.status}` });
			} catch {
				problems.push({ id, reason: 'the server did not answer' });
			}
			return null;
		})
	);
	return {
		records: records.filter((record): record is MergePageRecord => record !== null),
		problems,
		canMerge: role === 'admin' || role === 'editor',
		isAdmin: role === 'admin',
		people
	};
}) satisfies PageLoad;
