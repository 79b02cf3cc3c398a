/**
 * The WebSocket endpoints of one instance, `/sync` and `/y/<id>`: an upgrade is read,
 * checked (path, origin) and authenticated before anything is upgraded, then becomes a
 * Connection; the open connections are kept so that what ends a person's access
 * elsewhere (sign-out, a revoked token, a changed role, a record made private) reaches
 * their sockets at once, and a sweep catches what ended on another instance. Kept apart
 * from the composition root (server/app.ts), which hands it what it needs.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Actor, Role } from '../../src/lib/access.ts';
import { canonicalRecordId } from '../../src/lib/model/record.ts';
import type { ChangedSince, RefusedMessage } from '../../src/lib/protocol/index.ts';
import type { Credentials } from '../../src/lib/server/credentials.ts';
import type { Authenticated } from '../../src/lib/server/services.ts';
import { credentialsOf } from '../auth/credentials.ts';
import type { Logger } from '../log.ts';
import { Connection } from './connection.ts';
import type { SyncLimits } from './limits.ts';
import type { Rooms } from './rooms.ts';

/** How often open sockets are checked against sessions and tokens ended elsewhere. */
const SESSION_SWEEP_MS = 30_000;

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
	if (socket.destroyed) return;
	const body = JSON.stringify({ message: reason });
	const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status] ?? 'Bad Request';
	socket.end(
		`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
	);
}

export type UpgradeTarget = { url: URL; documentName: string | undefined } | { refused: string; status: number };

/**
 * Which endpoint an upgrade asks for: `/sync`, or `/y/<id>` with the id in its canonical
 * spelling (so `/y/ABC…` joins the same room as `/y/abc…`). Null: not ours. A path that
 * does not decode (`/y/%ZZ`) or names no record is refused, never thrown.
 */
export function upgradeTarget(rawUrl: string | undefined): UpgradeTarget | null {
	const url = new URL(rawUrl ?? '/', 'http://localhost');
	if (url.pathname === '/sync') return { url, documentName: undefined };
	if (!url.pathname.startsWith('/y/')) return null;
	let name: string;
	try {
		name = decodeURIComponent(url.pathname.slice(3));
	} catch {
		return { refused: 'This record address is not valid (bad percent-encoding); record ids are UUIDs such as /y/0b6c…', status: 400 };
	}
	const canonical = canonicalRecordId(name);
	if (canonical === null) return { refused: `${JSON.stringify(name.slice(0, 80))} is not a record id.`, status: 404 };
	return { url, documentName: canonical };
}

export interface SocketServerOptions {
	rooms: Rooms;
	log: Logger;
	/** The largest WebSocket message accepted (ACCORD_MAX_MESSAGE_BYTES). */
	maxMessageBytes: number;
	limits?: SyncLimits;
	/** The instance's public address: a browser may connect from its origin (or the Host it was reached at). */
	publicUrl: string;
	/** Who the credentials belong to; null when nobody (expired, revoked, unknown). */
	authenticate(credentials: Credentials): Promise<Authenticated | null>;
	/** Whether the actor may open this document (a record they may see, or their workspace's channel). */
	mayOpen(actor: Actor, documentName: string): Promise<boolean>;
	/** `/sync`: creates a record a `create` frame carries (see Connection). */
	createRecord?(actor: Actor, documentName: string, state: Uint8Array): Promise<RefusedMessage | null>;
	/** `/sync`: answers a `catchUp` frame (see Connection). */
	catchUp?(actor: Actor, position: string | null): Promise<ChangedSince>;
	/** For the sweep: which of these sessions are still live, with their role now. */
	liveSessions(hashes: readonly string[]): Promise<Map<string, Role>>;
	/** For the sweep: which of these API tokens are not revoked. */
	liveTokenIds(ids: readonly string[]): Promise<Set<string>>;
}

export class SocketServer {
	readonly connections = new Set<Connection>();
	private readonly wss: WebSocketServer;
	private readonly sweep: ReturnType<typeof setInterval>;
	private readonly publicOrigin: string;

	constructor(private readonly options: SocketServerOptions) {
		this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });
		this.publicOrigin = new URL(options.publicUrl).origin;
		// Sessions end on expiry, sign-out or revocation, possibly on another instance: check open sockets now and then.
		this.sweep = setInterval(() => {
			void this.sweepEnded().catch((error: Error) => options.log.warn('session sweep failed', { error: error.message }));
		}, SESSION_SWEEP_MS);
		this.sweep.unref();
	}

	/** Closes, with `reason`, every open socket `match` picks. */
	closeWhere(match: (connection: Connection) => boolean, reason: string): void {
		for (const connection of this.connections) if (match(connection)) connection.close(4401, reason);
	}

	/**
	 * Takes over `/sync` and `/y/<id>` upgrades; returns false for any other path. Everything
	 * on the upgrade path is untrusted (path, headers, timing): any failure is answered on
	 * this socket alone, never thrown to the HTTP server (an exception there would end the
	 * process and every edit not yet stored).
	 */
	handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
		const { log } = this.options;
		socket.on('error', () => socket.destroy());
		let target: UpgradeTarget | null;
		try {
			target = upgradeTarget(request.url);
		} catch (error) {
			log.warn('refused an upgrade that could not be read', { error: (error as Error).message });
			refuseUpgrade(socket, 400, 'This address could not be read; connect to /sync or /y/<record id>.');
			return true;
		}
		if (target === null) return false;
		if ('refused' in target) {
			refuseUpgrade(socket, target.status, target.refused);
			return true;
		}
		const { url, documentName } = target;
		// A browser on another site can open a WebSocket with our cookie attached; only API
		// tokens (which such a page does not have) may connect from elsewhere.
		const origin = request.headers.origin;
		const credentials = credentialsOf(request.headers, url);
		if (origin !== undefined && !credentials.apiToken && !this.sameOrigin(origin, request)) {
			refuseUpgrade(socket, 403, 'Cross-site WebSocket refused: connect from Accord itself, or use an API token.');
			return true;
		}
		// Authenticated before the upgrade: no document data reaches anyone who is not signed in.
		void this.options
			.authenticate(credentials)
			.then(
				(authenticated) => {
					if (!authenticated) return refuseUpgrade(socket, 401, 'Sign in first, or pass an API token as ?token= or an Authorization: Bearer header.');
					this.accept(request, socket, head, authenticated, documentName);
				},
				(error: Error) => {
					log.error('authenticating a socket failed', { error: error.message });
					refuseUpgrade(socket, 503, 'The server cannot check your sign-in right now; try again in a moment.');
				}
			)
			.catch((error: Error) => {
				log.error('accepting a socket failed', { error: error.message });
				socket.destroy();
			});
		return true;
	}

	/** Closes every socket (`reason` to each) and stops accepting and sweeping. */
	close(reason: string): void {
		clearInterval(this.sweep);
		for (const connection of this.connections) connection.close(1001, reason);
		this.wss.close();
	}

	private accept(request: IncomingMessage, socket: Duplex, head: Buffer, authenticated: Authenticated, documentName: string | undefined): void {
		const { rooms, log, mayOpen, createRecord, catchUp, limits } = this.options;
		this.wss.handleUpgrade(request, socket, head, (ws) => {
			const connection: Connection = new Connection(ws, socket, {
				rooms,
				log,
				auth: authenticated,
				mayOpen,
				createRecord,
				catchUp,
				documentName,
				limits,
				onClose: () => this.connections.delete(connection)
			});
			this.connections.add(connection);
			if (authenticated.expiresAt) {
				const remaining = authenticated.expiresAt.getTime() - Date.now();
				// Timers past ~24 days overflow; the sweep catches those.
				if (remaining < 2 ** 31 - 1) {
					const timer = setTimeout(() => connection.close(4401, 'Your session has expired; sign in again.'), Math.max(0, remaining));
					timer.unref();
					ws.once('close', () => clearTimeout(timer));
				}
			}
		});
	}

	private sameOrigin(origin: string, request: IncomingMessage): boolean {
		if (origin === this.publicOrigin) return true;
		const host = request.headers.host;
		return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
	}

	private async sweepEnded(): Promise<void> {
		const now = Date.now();
		this.closeWhere((c) => c.auth.expiresAt !== undefined && c.auth.expiresAt.getTime() <= now, 'Your session has expired; sign in again.');
		const hashes = [...new Set([...this.connections].flatMap((c) => (c.auth.sessionHash ? [c.auth.sessionHash] : [])))];
		const tokenIds = [...new Set([...this.connections].flatMap((c) => (c.auth.tokenId ? [c.auth.tokenId] : [])))];
		const [liveSessions, liveTokens] = await Promise.all([this.options.liveSessions(hashes), this.options.liveTokenIds(tokenIds)]);
		// Roles changed on another instance (or by the provider's groups at a new sign-in) apply here too.
		for (const connection of this.connections) {
			const role = connection.auth.sessionHash ? liveSessions.get(connection.auth.sessionHash) : undefined;
			if (role && role !== connection.actor.role) connection.setRole(role);
		}
		this.closeWhere(
			(c) => (c.auth.sessionHash !== undefined && !liveSessions.has(c.auth.sessionHash)) || (c.auth.tokenId !== undefined && !liveTokens.has(c.auth.tokenId)),
			'Your session has ended; sign in again.'
		);
	}
}
