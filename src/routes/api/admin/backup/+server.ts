import { services } from '$lib/server/services.ts';
import { actorOf, apiError, guarded } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

/**
 * `GET /api/admin/backup` (admins): one consistent backup of the whole database, as
 * `npm run accord -- backup` writes it, so an embedded database can be backed up while
 * the server serves (`backup FILE --server URL` calls this). Written whole on the server
 * first, then streamed; one at a time (409 while another is being written).
 */
export const GET: RequestHandler = ({ locals }) =>
	guarded(async () => {
		let file;
		try {
			file = await services().data.backup(actorOf(locals));
		} catch (error) {
			// The service and routes are separate module graphs: the busy error is told by its name.
			if (error instanceof Error && error.name === 'BackupBusyError') return apiError(409, error.message);
			throw error;
		}
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
				'content-type': 'application/octet-stream',
				'content-length': String(file.bytes),
				'content-disposition': `attachment; filename="${file.filename}"`,
				'cache-control': 'no-store'
			}
		});
	});
