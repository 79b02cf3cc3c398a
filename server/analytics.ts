/**
 * The analytics service the `/api/analytics` route reaches through `services()`: the
 * dashboard of the instance's workspace, as the actor may see it (private records of
 * others left out unless they are an admin). The SQL is in analytics-store.ts.
 */
import { canAdminister } from '../src/lib/access.ts';
import type { AnalyticsService } from '../src/lib/server/services.ts';
import type { AnalyticsStore } from './analytics-store.ts';

export function createAnalyticsService(options: { store: AnalyticsStore; workspace: string }): AnalyticsService {
	return {
		async dashboard(actor, query) {
			const { dashboard } = await options.store.dashboard(options.workspace, { id: actor.id, admin: canAdminister(actor) }, query);
			return { dashboard, computedAt: new Date().toISOString() };
		}
	};
}
