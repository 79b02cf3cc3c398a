/**
 * A `SocketLike` the test drives, for the browser's sync client without a server: the
 * test opens it, loses it and feeds it frames as the network and the server would, and
 * reads what was sent. `fakeSockets()` gives a constructor to pass as `WebSocket` and
 * the list of every socket it made.
 */
import type { SocketLike } from '../../src/lib/sync/socket.ts';

const OPEN = 1;
const CLOSED = 3;

export class FakeSocket implements SocketLike {
	binaryType = 'blob';
	readyState = 0;
	onopen: ((event: unknown) => void) | null = null;
	onclose: ((event: { code: number; reason: string }) => void) | null = null;
	onerror: ((event: unknown) => void) | null = null;
	onmessage: ((event: { data: unknown }) => void) | null = null;
	readonly sent: Uint8Array[] = [];
	closedWith: { code?: number; reason?: string } | null = null;

	constructor(readonly url: string) {}

	send(data: Uint8Array): void {
		this.sent.push(data);
	}
	close(code?: number, reason?: string): void {
		this.closedWith = { code, reason };
		this.readyState = CLOSED;
	}
	/** The connection opens. */
	open(): void {
		this.readyState = OPEN;
		this.onopen?.({});
	}
	/** The connection is lost, or the server closes it with `code`. */
	lose(code = 1006, reason = ''): void {
		this.readyState = CLOSED;
		this.onerror?.({});
		this.onclose?.({ code, reason });
	}
	/** A frame arrives, as a browser hands it over (an ArrayBuffer). */
	receive(bytes: Uint8Array): void {
		this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
	}
}

export function fakeSockets(): { WebSocket: new (url: string) => FakeSocket; sockets: FakeSocket[]; last(): FakeSocket } {
	const sockets: FakeSocket[] = [];
	return {
		WebSocket: class extends FakeSocket {
			constructor(url: string) {
				super(url);
				sockets.push(this);
			}
		},
		sockets,
		last: () => {
			const socket = sockets.at(-1);
			if (!socket) throw new Error('no socket was made');
			return socket;
		}
	};
}
