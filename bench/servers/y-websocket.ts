/**
 * The reference server: @y/websocket-server 0.1.1, set up exactly as its own
 * `src/server.js` does (its own `ws`, `setupWSConnection` on every upgrade), documents
 * in memory, no persistence, no authentication. Seeded records are put into its
 * in-memory documents directly, as its persistence would on first load.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import * as Y from 'yjs';
import { docs, getYDoc, setupWSConnection } from '@y/websocket-server/utils';
import { randomUUID } from 'node:crypto';
import { fail, recordUpdate, serve } from './common.ts';

// The `ws` the package itself depends on (6.x), not ours: the server as it ships.
const requireFromPackage = createRequire(createRequire(import.meta.url).resolve('@y/websocket-server/package.json'));
const WebSocket = requireFromPackage('ws') as { Server: typeof import('ws').WebSocketServer };

const options = JSON.parse(process.env.BENCH_SERVER ?? '{}') as { port?: number };

try {
	const wss = new WebSocket.Server({ noServer: true });
	const server = http.createServer((_request, response) => {
		response.writeHead(200, { 'Content-Type': 'text/plain' });
		response.end('okay');
	});
	wss.on('connection', setupWSConnection);
	server.on('upgrade', (request, socket, head) => {
		wss.handleUpgrade(request, socket, head, (ws: import('ws').WebSocket) => wss.emit('connection', ws, request));
	});
	await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
	const port = (server.address() as { port: number }).port;
	let connections = 0;
	wss.on('connection', (ws: import('ws').WebSocket) => {
		connections++;
		ws.on('close', () => connections--);
	});
	serve(
		{
			httpUrl: `http://127.0.0.1:${port}`,
			yUrl: `ws://127.0.0.1:${port}`,
			description: '@y/websocket-server 0.1.1 (in memory, no auth, no persistence)'
		},
		{
			async seed(batch) {
				return batch.map((record) => {
					const id = randomUUID();
					Y.applyUpdate(getYDoc(id), recordUpdate(record));
					return id;
				});
			},
			stats: () => ({ documentsLoaded: docs.size, connections }),
			async stop() {
				for (const client of wss.clients) client.terminate();
				await new Promise<void>((resolve) => server.close(() => resolve()));
			}
		}
	);
} catch (error) {
	fail(error);
}
