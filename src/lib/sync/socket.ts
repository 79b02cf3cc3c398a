/**
 * The sync client's connection: one WebSocket to `/sync`, opened on demand, reopened
 * with backoff when it is lost, and given up for good when the server ends the session.
 * It carries frames as bytes and knows nothing of the documents in them; `client.ts`
 * ties it to the documents (`document.ts`). Plain TypeScript, so it can be driven in
 * Node by any `SocketLike`, a test's own included.
 *
 * Reconnecting: a lost connection is retried after a delay drawn between half and all
 * of `minReconnectDelay · 2^attempts` (at most `maxReconnectDelay`), so a server that
 * comes back is not met by every tab at the same instant. A connection that opens
 * starts the count again, and so does the browser saying it is online again; while the
 * browser says it is offline the socket is closed at once (it could take a long time to
 * notice) and nothing is retried until it is back.
 *
 * Session end: the socket rides on the session cookie. When the session ends (sign-out,
 * expiry, revocation) the server closes the socket with 4401: the socket stops for good
 * and calls `onSessionEnded` (in a browser: off to sign-in). A refused upgrade looks to
 * a browser like any network failure, so after an attempt that failed before opening it
 * asks `checkSession` whether anyone is still signed in, and ends the session if not.
 */
import { CloseCode, MAX_MESSAGE_BYTES } from '../protocol/index.ts';
import { isLeaving, signInAgain } from './sign-in-again.ts';

/** The subset of the DOM WebSocket the client uses (lets tests pass `ws`). */
export interface SocketLike {
	binaryType: string;
	readonly readyState: number;
	onopen: ((event: unknown) => void) | null;
	onclose: ((event: { code: number; reason: string }) => void) | null;
	onerror: ((event: unknown) => void) | null;
	onmessage: ((event: { data: unknown }) => void) | null;
	send(data: Uint8Array): void;
	close(code?: number, reason?: string): void;
}

export interface SyncSocketOptions {
	/** Full ws(s) URL; defaults to `/sync` on the page's host. */
	url?: string;
	/** WebSocket constructor; defaults to the global one. */
	WebSocket?: new (url: string) => SocketLike;
	/** Reconnect backoff bounds in ms (full jitter between half and all of the delay). */
	minReconnectDelay?: number;
	maxReconnectDelay?: number;
	/**
	 * Called once when the server ends the session (close code 4401), after the client has
	 * stopped reconnecting. Defaults, in a browser, to going to the sign-in page and back.
	 */
	onSessionEnded?: (reason: string) => void;
	/**
	 * Asked after a connection attempt failed before opening (a refused upgrade looks like
	 * any network failure to a browser): resolves false when nobody is signed in any more.
	 * Defaults, in a browser, to asking the API; elsewhere to never asking.
	 */
	checkSession?: () => Promise<boolean>;
}

/**
 * Where the connection stands: `open`; `connecting` until a first connection has ever
 * opened (while an attempt is under way, or before any); `offline` after that, and
 * while waiting to retry.
 */
export type SocketPhase = 'open' | 'connecting' | 'offline';

/** What the socket tells the one who owns it; each is called synchronously, in the order things happen. */
export interface SocketEvents {
	/** A connection attempt started before any connection ever opened. */
	connecting(): void;
	/** The socket opened: frames can be sent. */
	opened(): void;
	/** A frame arrived. */
	message(bytes: Uint8Array): void;
	/** The connection was lost or closed (the session's end included): whatever was tied to it is void. */
	disconnected(): void;
	/** The phase may have changed otherwise (a retry was scheduled). */
	phaseChanged(): void;
}

const OPEN = 1;

export class SyncSocket {
	private socket: SocketLike | null = null;
	private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
	private attempts = 0;
	private everConnected = false;
	private destroyed = false;
	private wanted = false;
	/** The server said the session is over: never connect again. */
	private ended = false;
	private checkingSession = false;
	private readonly options: Required<Pick<SyncSocketOptions, 'minReconnectDelay' | 'maxReconnectDelay'>> &
		Pick<SyncSocketOptions, 'url' | 'WebSocket' | 'onSessionEnded' | 'checkSession'>;

	constructor(
		options: SyncSocketOptions,
		private readonly events: SocketEvents
	) {
		this.options = { minReconnectDelay: 500, maxReconnectDelay: 30_000, ...options };
		if (typeof window !== 'undefined') {
			window.addEventListener('online', this.onBrowserOnline);
			window.addEventListener('offline', this.onBrowserOffline);
		}
	}

	/** True once the server has ended the session (close code 4401); the socket stays stopped. */
	get sessionEnded(): boolean {
		return this.ended;
	}

	get phase(): SocketPhase {
		if (this.isOpen()) return 'open';
		if (!this.everConnected && (this.socket || this.reconnectTimer === null)) return 'connecting';
		return 'offline';
	}

	isOpen(): boolean {
		return this.socket !== null && this.socket.readyState === OPEN;
	}

	/** Sends a frame if the socket is open; otherwise it is dropped (what matters is sent again on the next open). */
	send(bytes: Uint8Array): void {
		if (!this.socket || this.socket.readyState !== OPEN) return;
		if (bytes.byteLength > MAX_MESSAGE_BYTES) {
			console.warn(`[accord sync] a message of ${bytes.byteLength} bytes is over the server's limit`);
		}
		this.socket.send(bytes);
	}

	connect(): void {
		if (this.destroyed || this.ended) return;
		this.wanted = true;
		if (this.socket) return;
		this.clearReconnect();
		const url = this.options.url ?? defaultUrl();
		const Ctor = this.options.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => SocketLike);
		let socket: SocketLike;
		try {
			socket = new Ctor(url);
		} catch {
			this.scheduleReconnect();
			return;
		}
		socket.binaryType = 'arraybuffer';
		this.socket = socket;
		let opened = false;
		if (!this.everConnected) this.events.connecting();
		socket.onopen = () => {
			if (this.socket !== socket) return;
			opened = true;
			this.attempts = 0;
			this.everConnected = true;
			this.events.opened();
		};
		socket.onmessage = (event) => {
			if (this.socket !== socket) return;
			const data = event.data;
			if (data instanceof ArrayBuffer) this.events.message(new Uint8Array(data));
			else if (data instanceof Uint8Array) this.events.message(data);
		};
		socket.onerror = () => {
			/* a close event follows */
		};
		socket.onclose = (event) => {
			if (this.socket !== socket) return;
			this.socket = null;
			if (event?.code === CloseCode.unauthorised) {
				this.endSession(event.reason || 'Your session has ended; sign in again.');
				return;
			}
			this.events.disconnected();
			if (this.wanted && !this.destroyed) {
				this.scheduleReconnect();
				if (!opened) this.checkSessionSoon();
			}
		};
	}

	/** Closes the socket and stops reconnecting (until the next `connect()`). */
	disconnect(): void {
		this.wanted = false;
		this.clearReconnect();
		const socket = this.socket;
		this.socket = null;
		if (socket) {
			socket.onclose = null;
			socket.close(1000, 'client disconnect');
			this.events.disconnected();
		}
	}

	/** Closes the socket for good. */
	destroy(): void {
		this.disconnect();
		this.destroyed = true;
		if (typeof window !== 'undefined') {
			window.removeEventListener('online', this.onBrowserOnline);
			window.removeEventListener('offline', this.onBrowserOffline);
		}
	}

	private scheduleReconnect(): void {
		this.clearReconnect();
		if (this.destroyed || !this.wanted) return;
		const { minReconnectDelay: min, maxReconnectDelay: max } = this.options;
		const ceiling = Math.min(max, min * 2 ** this.attempts);
		const delay = ceiling / 2 + Math.random() * (ceiling / 2);
		this.attempts++;
		this.reconnectTimer = setTimeout(() => {
			this.reconnectTimer = null;
			this.connect();
		}, delay);
		this.events.phaseChanged();
	}

	private clearReconnect(): void {
		if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
		this.reconnectTimer = null;
	}

	/** The server ended the session: stop for good, and let the page send the person to sign in. */
	private endSession(reason: string): void {
		if (this.ended) return;
		this.ended = true;
		this.wanted = false;
		this.clearReconnect();
		this.events.disconnected();
		// The page is being left (signing out, a reload): a closing socket is no reason to navigate.
		if (isLeaving()) return;
		const handler = this.options.onSessionEnded ?? (typeof window !== 'undefined' ? () => signInAgain() : null);
		handler?.(reason);
	}

	/** After a failed attempt: is anyone still signed in? (A refused upgrade gives the browser no reason.) */
	private checkSessionSoon(): void {
		const check = this.options.checkSession ?? (typeof window !== 'undefined' && typeof fetch === 'function' ? browserSessionCheck : null);
		if (!check || this.checkingSession || this.ended) return;
		if (typeof navigator !== 'undefined' && navigator.onLine === false) return;
		this.checkingSession = true;
		check()
			.then((signedIn) => {
				if (!signedIn && !this.destroyed && this.socket === null) this.endSession('Your session has ended; sign in again.');
			})
			.catch(() => {
				/* the server cannot be reached: keep retrying as usual */
			})
			.finally(() => {
				this.checkingSession = false;
			});
	}

	private readonly onBrowserOnline = () => {
		if (!this.wanted || this.socket || this.ended) return;
		this.attempts = 0;
		this.connect();
	};

	private readonly onBrowserOffline = () => {
		// The socket may take a long time to notice; close it now and retry when back.
		if (this.socket) {
			const socket = this.socket;
			this.socket = null;
			socket.onclose = null;
			socket.close(1000, 'browser offline');
			this.events.disconnected();
		}
		this.clearReconnect();
	};
}

/** Any /api request without a session is answered 401 by the server, before any route runs. */
async function browserSessionCheck(): Promise<boolean> {
	const response = await fetch('/api/records?limit=1', { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
	return response.status !== 401;
}

function defaultUrl(): string {
	const { protocol, host } = window.location;
	return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/sync`;
}
