/** Fills an empty workspace with the demo records, so a first start has something to show. */
import type { NewRecord } from '../../src/lib/model/record.ts';
import type { DocumentStore } from '../store/types.ts';
import { demoRecords } from './demo-data.ts';

export async function seedDemoWorkspace(
	store: DocumentStore,
	records: { insert(record: NewRecord): Promise<string> },
	workspace: string,
	count: number
): Promise<number> {
	if (count === 0 || (await store.countDocuments(workspace)) > 0) return 0;
	for (const record of demoRecords({ workspace, count })) await records.insert(record);
	return count;
}
