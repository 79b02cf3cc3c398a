/**
 * The sync client's connection (src/lib/sync/socket.ts) on its own, without a server:
 * a fake `SocketLike` that the test opens, closes and feeds, and Vitest's fake timers for
 * the reconnect delays (no wall clock is read). What is checked is what the client's
 * callers rely on: retries spaced by the backoff, a fresh count after a connection
 * opened, 4401 ending the session for good, and frames going only through an open socket.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../../src/lib/protocol/index.ts';
import { SyncSocket, type SocketEvents, type SyncSocketOptions } from '../../src/lib/sync/socket.ts';
import { fakeSockets, type FakeSocket } from '../support/fake-socket.ts';

const MIN = 1000;
const MAX = 8000;

/** A SyncSocket over fake sockets, with every socket it made and every event it told, in order. */
function setUp(options: Partial<SyncSocketOptions> = {}) {
	const { WebSocket, sockets, last } = fakeSockets();
	const events: string[] = [];
	const messages: Uint8Array[] = [];
	const recorder: SocketEvents = {
		connecting: () => events.push('connecting'),
		opened: () => events.push('opened'),
		message: (bytes) => messages.push(bytes),
		disconnected: () => events.push('disconnected'),
		phaseChanged: () => events.push('phaseChanged')
	};
	const socket = new SyncSocket(
		{
			url: 'ws://test/sync',
			WebSocket,
			minReconnectDelay: MIN,
			maxReconnectDelay: MAX,
			...options
		},
		recorder
	);
	return { socket, sockets, events, messages, last };
}

describe('the sync socket', () => {
	beforeEach(() => {
		vi.useFakeTimers();
		// The jitter's draw, fixed: each retry waits three quarters of its ceiling.
		vi.spyOn(Math, 'random').mockReturnValue(0.5);
	});
	afterEach(() => {
		vi.restoreAllMocks();
		vi.useRealTimers();
	});

	/** Checks the retry comes after `delay` ms and not a millisecond sooner. */
	function expectRetryAfter(sockets: FakeSocket[], delay: number): void {
		const before = sockets.length;
		vi.advanceTimersByTime(delay - 1);
		expect(sockets.length, `no retry before ${delay} ms`).toBe(before);
		vi.advanceTimersByTime(1);
		expect(sockets.length, `a retry at ${delay} ms`).toBe(before + 1);
	}

	it('reconnects after a lost connection, doubling the delay after each failed attempt up to the maximum', () => {
		const { socket, sockets, last, events } = setUp({ checkSession: async () => true });
		socket.connect();
		expect(sockets).toHaveLength(1);
		expect(socket.phase).toBe('connecting');
		expect(events).toEqual(['connecting']);

		last().lose();
		expect(events).toEqual(['connecting', 'disconnected', 'phaseChanged']);
		expect(socket.phase).toBe('offline');
		// Ceilings 1, 2, 4, 8, 8 s; the draw of 0.5 waits three quarters of each.
		for (const ceiling of [1000, 2000, 4000, 8000, 8000]) {
			expectRetryAfter(sockets, ceiling * 0.75);
			last().lose();
		}
	});

	it('starts the delays over once a connection has opened', () => {
		const { socket, sockets, last, events } = setUp({ checkSession: async () => true });
		socket.connect();
		last().lose();
		expectRetryAfter(sockets, 750);
		last().lose();
		expectRetryAfter(sockets, 1500);
		last().open();
		expect(socket.phase).toBe('open');
		expect(events.at(-1)).toBe('opened');

		last().lose();
		expect(socket.phase).toBe('offline');
		expectRetryAfter(sockets, 750);
	});

	it('ends the session for good on 4401: told once, never reconnected', () => {
		const ended: string[] = [];
		const { socket, sockets, last, events } = setUp({ onSessionEnded: (reason) => ended.push(reason) });
		socket.connect();
		last().open();
		last().lose(CloseCode.unauthorised, 'You were signed out.');

		expect(ended).toEqual(['You were signed out.']);
		expect(socket.sessionEnded).toBe(true);
		expect(events.slice(-1)).toEqual(['disconnected']);
		vi.advanceTimersByTime(10 * MAX);
		socket.connect();
		expect(sockets).toHaveLength(1);
		expect(ended).toHaveLength(1);
	});

	it('ends the session when a failed attempt finds nobody signed in any more, and keeps retrying while someone is', async () => {
		let signedIn = true;
		const ended: string[] = [];
		const { socket, sockets, last } = setUp({ checkSession: async () => signedIn, onSessionEnded: (reason) => ended.push(reason) });
		socket.connect();
		last().lose();
		await vi.advanceTimersByTimeAsync(0);
		expect(socket.sessionEnded).toBe(false);
		expectRetryAfter(sockets, 750);

		signedIn = false;
		last().lose();
		await vi.advanceTimersByTimeAsync(0);
		expect(socket.sessionEnded).toBe(true);
		expect(ended).toEqual(['Your session has ended; sign in again.']);
		vi.advanceTimersByTime(10 * MAX);
		expect(sockets).toHaveLength(2);
	});

	it('sends frames only through an open socket, and hands on the frames of the current socket only', () => {
		const { socket, sockets, last, messages } = setUp();
		socket.connect();
		socket.send(Uint8Array.of(1));
		expect(last().sent).toEqual([]);
		last().open();
		socket.send(Uint8Array.of(2));
		expect(last().sent).toEqual([Uint8Array.of(2)]);
		expect(last().binaryType).toBe('arraybuffer');

		last().receive(Uint8Array.of(3, 4));
		expect(messages).toEqual([Uint8Array.of(3, 4)]);

		const old = last();
		socket.disconnect();
		expect(old.closedWith).toEqual({ code: 1000, reason: 'client disconnect' });
		old.receive(Uint8Array.of(5));
		old.lose();
		expect(messages).toHaveLength(1);
		// Disconnected on purpose: no retry until asked.
		vi.advanceTimersByTime(10 * MAX);
		expect(sockets).toHaveLength(1);
		socket.connect();
		expect(sockets).toHaveLength(2);
	});
});
