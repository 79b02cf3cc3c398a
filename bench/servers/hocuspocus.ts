/**
 * Hocuspocus 3.4 as a team would set it up: `new Server(...)` with its defaults (store
 * debounced 2 s, at most every 10 s; documents unloaded when the last connection
 * leaves) and the two storage hooks its Database extension uses, here over an
 * in-memory map (the stand-in for a database, so seeded records can be loaded). No
 * authentication hook.
 */
import * as Y from 'yjs';
import { Server } from '@hocuspocus/server';
import { randomUUID } from 'node:crypto';
import { fail, recordUpdate, serve } from './common.ts';

const options = JSON.parse(process.env.BENCH_SERVER ?? '{}') as { port?: number };
const stored = new Map<string, Uint8Array>();

try {
	const server = new Server({
		port: options.port ?? 0,
		address: '127.0.0.1',
		quiet: true,
		stopOnSignals: false,
		async onLoadDocument({ documentName, document }) {
			const state = stored.get(documentName);
			if (state) Y.applyUpdate(document, state);
			return document;
		},
		async onStoreDocument({ documentName, document }) {
			stored.set(documentName, Y.encodeStateAsUpdate(document));
		}
	});
	await server.listen();
	const port = server.address.port;
	serve(
		{
			httpUrl: `http://127.0.0.1:${port}`,
			hocusUrl: `ws://127.0.0.1:${port}`,
			description: '@hocuspocus/server 3.4 (storage hooks over an in-memory map, no auth)'
		},
		{
			async seed(batch) {
				return batch.map((record) => {
					const id = randomUUID();
					stored.set(id, recordUpdate(record));
					return id;
				});
			},
			stats: () => ({ documentsLoaded: server.hocuspocus.getDocumentsCount(), connections: server.hocuspocus.getConnectionsCount() }),
			async stop() {
				await server.destroy();
			}
		}
	);
} catch (error) {
	fail(error);
}
