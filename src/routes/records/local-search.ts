/**
 * Searching the records kept on this device, when the server cannot be reached. Loaded
 * only then (it brings the tokenizer's pinyin dictionary): each record is read from its
 * local document and matched with the same rules the server applies to its tokens.
 */
import { matches, type SearchQuery } from '$lib/search/index.ts';
import { localRecord, type LocalRow, type LocalStore } from '$lib/local/index.ts';

/** The rows whose records match `search`; a row whose document is not on this device cannot be searched and is left out. */
export async function matchingLocalRows(store: LocalStore, rows: readonly LocalRow[], search: SearchQuery): Promise<LocalRow[]> {
	const found: LocalRow[] = [];
	for (const row of rows) {
		const local = await localRecord(store, row.id).catch(() => null);
		// The row's time is what `updated` compares (the document does not hold it).
		if (local && matches(search, local.record, { updatedAt: row.updatedAt })) found.push(row);
	}
	return found;
}
