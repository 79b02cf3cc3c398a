import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import { readQuery } from '$lib/server/params.ts';
import { searchParam } from '$lib/search/query.ts';
import { EXPORT_FORMATS, readExportColumns } from '$lib/io/formats.ts';
import { defaultSortDirection, readListSort } from '$lib/records/sort.ts';
import type { RequestHandler } from './$types';

/**
 * `GET /api/export?format=csv|json|xml|xlsx[&q=…][&includeArchived=1][&columns=name,stage,…][&sort=…&dir=asc|desc]`:
 * every record the person may see that the list's search matches, as a file streamed
 * while it is written (server/export), in the list's order. With `columns` (a view's),
 * CSV and Excel hold the id and those fields only. Private records of others never leave with it.
 */
export const GET: RequestHandler = ({ url, locals }) =>
	guarded(async () => {
		const parsed = readQuery(url.searchParams, (q) => ({
			format: q.choice('format', EXPORT_FORMATS) ?? null,
			includeArchived: q.flag('includeArchived') || q.flag('archived')
		}));
		if (!parsed.ok) return apiError(400, parsed.message);
		if (!parsed.query.format) return apiError(400, `Say which format: format=${EXPORT_FORMATS.join('|')}.`);
		const fields = services().fields.list(actorOf(locals));
		const search = searchParam(url.searchParams, { fields });
		if (!search.ok) return apiError(400, `q: ${search.message}`);
		const columnsText = url.searchParams.get('columns');
		const columns = columnsText === null ? null : readExportColumns(columnsText, new Set(fields.map((field) => field.key)));
		if (columns && !columns.ok) return apiError(400, columns.message);
		const sortText = url.searchParams.get('sort');
		const sort = readListSort(sortText);
		if (sortText !== null && sort === undefined) return apiError(400, `sort: there is no field "${sortText.slice(0, 60)}" to sort by.`);
		const dir = url.searchParams.get('dir');
		if (dir !== null && dir !== 'asc' && dir !== 'desc') return apiError(400, 'dir must be asc or desc.');
		const file = services().exports.open(actorOf(locals), {
			format: parsed.query.format,
			search: search.query,
			includeArchived: parsed.query.includeArchived,
			columns: columns?.columns,
			sort,
			descending: sort ? (dir ?? defaultSortDirection(sort)) === 'desc' : undefined
		});
		const chunks = file.body[Symbol.asyncIterator]();
		const body = new ReadableStream<Uint8Array>({
			async pull(controller) {
				const next = await chunks.next();
				if (next.done) controller.close();
				else controller.enqueue(next.value);
			},
			async cancel() {
				await chunks.return?.(undefined);
			}
		});
		return new Response(body, {
			headers: {
				'content-type': file.contentType,
				'content-disposition': `attachment; filename="${file.filename}"`,
				'cache-control': 'no-store'
			}
		});
	});
