import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import { parseAnalyticsQuery } from '$lib/analytics/query.ts';
import type { RequestHandler } from './$types';

/**
 * The dashboard's numbers: `GET /api/analytics?from=&to=&tz=&churnDays=&limit=&q=`, computed
 * by SQL over the records the asker may see and, with `q`, that match it as the records list
 * would (src/lib/analytics/aggregate.ts says what each number means). Any member may ask; a bad parameter is a 400 saying which.
 */
export const GET: RequestHandler = ({ url, locals }) =>
	guarded(async () => {
		const parsed = parseAnalyticsQuery(url.searchParams);
		if (!parsed.ok) return apiError(400, parsed.message);
		const answer = await services().analytics.dashboard(actorOf(locals), parsed.options);
		// The segment is echoed as it was asked (`q`), not as its parsed plan.
		const { segment, ...options } = parsed.options;
		return json({ ...answer, options: { ...options, q: segment?.text ?? null } }, { headers: { 'cache-control': 'no-store' } });
	});
