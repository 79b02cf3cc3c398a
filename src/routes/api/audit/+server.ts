import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import { parseAuditLogQuery } from '$lib/server/params.ts';
import type { RequestHandler } from './$types';

/**
 * The workspace's audit log, newest first (admins):
 * `?person=&record=&field=&op=&source=&from=&to=&limit=&offset=`, JSON; with
 * `format=csv`, every matching entry (up to 100,000) as a CSV download.
 */
export const GET: RequestHandler = ({ url, locals }) =>
	guarded(async () => {
		const parsed = parseAuditLogQuery(url.searchParams);
		if (!parsed.ok) return apiError(400, parsed.message);
		const actor = actorOf(locals);
		const { audit } = services();
		if (parsed.query.format === 'csv') {
			const { limit: _limit, offset: _offset, ...filters } = parsed.query.filters;
			const chunks = audit.exportCsv(actor, filters)[Symbol.asyncIterator]();
			// The first chunk (the header) is read here, so a refusal is still a 403 and not a broken download.
			const first = await chunks.next();
			const encoder = new TextEncoder();
			const body = new ReadableStream<Uint8Array>({
				start(controller) {
					if (!first.done) controller.enqueue(encoder.encode(first.value));
				},
				async pull(controller) {
					const next = await chunks.next();
					if (next.done) controller.close();
					else controller.enqueue(encoder.encode(next.value));
				},
				async cancel() {
					await chunks.return?.();
				}
			});
			const stamp = new Date().toISOString().slice(0, 10);
			return new Response(body, {
				headers: {
					'content-type': 'text/csv; charset=utf-8',
					'content-disposition': `attachment; filename="accord-audit-${stamp}.csv"`,
					'cache-control': 'no-store'
				}
			});
		}
		return json(await audit.search(actor, parsed.query.filters));
	});
