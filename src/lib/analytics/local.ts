/**
 * The dashboard's inputs from this device's copy of the workspace, for offline: every
 * record's list row, and from its document the follow-up date and the activities' times.
 * Stage changes live in the server's audit log, not in the documents, so offline the
 * funnel counts current stages only and the history charts (won/lost, days in stage) are
 * the last ones the server gave (kept by `rememberHistory`).
 */
import type { LocalStore } from '../local/types.ts';
import { localRecord } from '../local/index.ts';
import type { AnalyticsActivity, AnalyticsRecord, Dashboard } from './aggregate.ts';
import { matches } from '../search/match.ts';
import type { SearchQuery } from '../search/query.ts';

/** With a segment, only the records matching it, as the records list matches them (archived and private are the caller's). */
export async function localInputs(store: LocalStore, segment?: SearchQuery): Promise<{ records: AnalyticsRecord[]; activities: AnalyticsActivity[] }> {
	const rows = await store.rows();
	const records: AnalyticsRecord[] = [];
	const activities: AnalyticsActivity[] = [];
	for (const row of rows) {
		const local = await localRecord(store, row.id).catch(() => null);
		if (segment && (!local || !matches(segment, local.record, { updatedAt: row.updatedAt, now: Date.now() }))) continue;
		const follow = local?.record.fields.followUpAt;
		records.push({
			id: row.id,
			name: row.name,
			stage: row.stage,
			owner: row.owner,
			value: row.value,
			currency: row.currency,
			createdAt: row.createdAt,
			followUpAt: typeof follow === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(follow) ? follow : null,
			archived: row.archived
		});
		for (const activity of local?.record.activities ?? []) {
			const at = Date.parse(activity.at);
			if (Number.isFinite(at)) activities.push({ recordId: row.id, at: new Date(at).toISOString() });
		}
	}
	return { records, activities };
}

/** What offline cannot recompute: the parts made from the audit log's stage changes. */
export interface RememberedHistory {
	at: string;
	wonLost: Dashboard['wonLost'];
	medianDays: Record<string, number | null>;
}

const key = (scope: string) => `accord.dashboard.history.${scope}`;

export function rememberHistory(scope: string, dashboard: Dashboard, at: string): void {
	const value: RememberedHistory = { at, wonLost: dashboard.wonLost, medianDays: Object.fromEntries(dashboard.funnel.map((s) => [s.stage, s.medianDays])) };
	try {
		localStorage.setItem(key(scope), JSON.stringify(value));
	} catch {
		/* storage full or refused: offline shows no history */
	}
}

export function rememberedHistory(scope: string): RememberedHistory | null {
	try {
		const text = localStorage.getItem(key(scope));
		return text ? (JSON.parse(text) as RememberedHistory) : null;
	} catch {
		return null;
	}
}
