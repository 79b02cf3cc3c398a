/**
 * The HTTP server of a production instance: `/healthz`, the WebSocket endpoints, and
 * everything else handed to the SvelteKit handler built by adapter-node.
 */
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AccordConfig } from './config.ts';
import { createAccord, type Accord } from './app.ts';
import type { Logger } from './log.ts';

type NodeHandler = (req: http.IncomingMessage, res: http.ServerResponse, next?: () => void) => void;

/** `true` in the bundle scripts/build-server.js writes into a folder of build/ (esbuild's `define`); undeclared under tsx. */
declare const ACCORD_BUNDLED: boolean | undefined;
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The app's build: server/../build from the TypeScript source, the bundle's parent folder from build/accord-server/. */
export const BUILD_DIR = typeof ACCORD_BUNDLED !== 'undefined' && ACCORD_BUNDLED ? path.resolve(HERE, '..') : path.resolve(HERE, '../build');

export interface RunningServer {
	accord: Accord;
	server: http.Server;
	port: number;
	url: string;
	close(): Promise<void>;
}

/**
 * adapter-node works out each request's origin (for its CSRF check and `url`) from
 * ORIGIN, or from a protocol header; without either it assumes https. We tell it the
 * truth: PUBLIC_URL when set, else the protocol of the connection (or of the proxy in
 * front, with TRUST_PROXY=1) in a header of our own that clients cannot set.
 */
const PROTOCOL_HEADER = 'x-accord-protocol';

function configureOrigin(config: AccordConfig): void {
	if (config.publicUrl) process.env.ORIGIN = config.publicUrl;
	else process.env.PROTOCOL_HEADER = PROTOCOL_HEADER;
}

function requestProtocol(req: http.IncomingMessage, trustProxy: boolean): 'http' | 'https' {
	const forwarded = trustProxy ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim() : '';
	if (forwarded === 'http' || forwarded === 'https') return forwarded;
	return (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
}

async function loadHandler(): Promise<NodeHandler> {
	const file = path.join(BUILD_DIR, 'handler.js');
	if (!existsSync(file)) throw new Error(`No build found at ${file}; run "npm run build" first (npm start does this for you).`);
	const module = (await import(pathToFileURL(file).href)) as { handler: NodeHandler };
	return module.handler;
}

export async function startServer(config: AccordConfig, log?: Logger): Promise<RunningServer> {
	configureOrigin(config);
	const handler = await loadHandler();
	let accord: Accord | null = null;
	const server = http.createServer((req, res) => {
		if (!accord) {
			res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
			res.end(JSON.stringify({ message: 'Accord is starting; try again in a moment.' }));
			return;
		}
		try {
			if (accord.handleHttp(req, res)) return;
			req.headers[PROTOCOL_HEADER] = requestProtocol(req, config.trustProxy);
			handler(req, res, () => {
				res.writeHead(404, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ message: 'Not found.' }));
			});
		} catch (error) {
			// One request's failure is that request's answer, never the process's end.
			accord.log.error('a request failed before it could be answered', { error: (error as Error).message, stack: (error as Error).stack });
			if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ message: 'The server could not answer this request; try again.' }));
		}
	});
	server.on('upgrade', (request, socket, head) => {
		try {
			if (!accord?.handleUpgrade(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
		} catch (error) {
			accord?.log.error('an upgrade failed before it could be answered', { error: (error as Error).message, stack: (error as Error).stack });
			socket.destroy();
		}
	});
	// A client that sends garbage before a request line gets a 400, not an exception.
	server.on('clientError', (error, socket) => {
		if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
		else socket.destroy(error);
	});
	// Listen first: the port (and so the public address the sign-in redirects to) may be chosen by the system.
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(config.port, config.host, () => resolve());
	});
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : config.port;
	const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
	const url = `http://${shownHost}:${port}`;
	try {
		accord = await createAccord({ ...config, publicUrl: config.publicUrl ?? url }, log);
	} catch (error) {
		await new Promise<void>((resolve) => server.close(() => resolve()));
		throw error;
	}
	const running = accord;
	return {
		accord: running,
		server,
		port,
		url: running.config.publicUrl,
		async close() {
			server.closeIdleConnections?.();
			await running.close();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections?.();
			});
		}
	};
}
