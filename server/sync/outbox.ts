/**
 * The send path of sockets, built for fan-out: a message for many sockets is framed
 * once as a WebSocket frame and the same bytes are written to each of them, and what a
 * socket is sent during one turn of the event loop leaves in one write at the end of it.
 *
 * Why not `ws.send` per socket: it frames the message again for every socket, and
 * writes each frame as its own `writev` (header and payload), so a room with 200
 * watchers cost 200 framings and 200 system calls per message, plus one more round of
 * both for every other message of that turn (presence, acknowledgements).
 *
 * Frames are written to the socket `ws` was upgraded on, bypassing its sender. That
 * is sound because the server's sender never holds frames back (no permessage-deflate,
 * no Blobs): anything `ws` writes itself (pings, the close frame) is a whole control
 * frame, which may come between whole data frames. The one ordering to keep is that no
 * data frame follows the close frame: `flush` before closing, and nothing is written
 * once the WebSocket is no longer open.
 */
import type { Duplex } from 'node:stream';

declare const framed: unique symbol;

/** A binary WebSocket message as a server sends it (one final frame, unmasked): header and payload. */
export type WireFrame = Buffer & { readonly [framed]: true };

const FIN_BINARY = 0x82;

export function binaryFrame(payload: Uint8Array): WireFrame {
	const length = payload.byteLength;
	const header = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
	const frame = Buffer.allocUnsafe(header + length);
	frame[0] = FIN_BINARY;
	if (header === 2) {
		frame[1] = length;
	} else if (header === 4) {
		frame[1] = 126;
		frame.writeUInt16BE(length, 2);
	} else {
		frame[1] = 127;
		frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
		frame.writeUInt32BE(length >>> 0, 6);
	}
	frame.set(payload, header);
	return frame as WireFrame;
}

/** Outboxes with frames waiting for the end of this turn. */
let due: Outbox[] = [];
/** Work to do at the end of this turn before the outboxes are written (it may add frames to them). */
let tasks: Array<() => void> = [];
let flushScheduled = false;

function scheduleFlush(): void {
	if (flushScheduled) return;
	flushScheduled = true;
	setImmediate(flushDue);
}

function flushDue(): void {
	flushScheduled = false;
	while (tasks.length > 0) {
		const run = tasks;
		tasks = [];
		for (const task of run) {
			try {
				task();
			} catch (error) {
				// One task's failure must not hold back everyone's frames, nor end the process.
				reportTaskError(error as Error);
			}
		}
	}
	const outboxes = due;
	due = [];
	for (const outbox of outboxes) outbox.flush();
}

let reportTaskError: (error: Error) => void = (error) => console.error('a task at the end of a turn failed', error);

/** Where failures of end-of-turn tasks are reported (the instance's logger). */
export function onTaskError(report: (error: Error) => void): void {
	reportTaskError = report;
}

/** Runs `task` at the end of this turn, before the frames of the turn are written, so its frames join them. */
export function atEndOfTurn(task: () => void): void {
	tasks.push(task);
	scheduleFlush();
}

/**
 * One socket's frames of the current turn, written together in a check-phase callback:
 * after every message that arrived in this turn's poll phase was handled, so what they
 * produced for one socket shares one system call, and before any timer runs (no wait).
 */
export class Outbox {
	private pending: WireFrame[] = [];
	private pendingBytes = 0;
	private overflowed = false;

	constructor(
		private readonly stream: Duplex,
		/** Whether data frames may still go out (the WebSocket is open, no close frame sent). */
		private readonly open: () => boolean,
		/**
		 * Bytes that may wait for this socket, here and in the stream's own buffer. A client
		 * that does not read fills them; it is then told once (`onOverflow`) and sent
		 * nothing more, so a socket can never make the server buffer without bound.
		 */
		private readonly limit = Number.POSITIVE_INFINITY,
		private readonly onOverflow: () => void = () => {}
	) {}

	push(frame: WireFrame): void {
		if (this.overflowed) return;
		if (this.pendingBytes + frame.byteLength + this.stream.writableLength > this.limit) {
			this.overflowed = true;
			this.discard();
			this.onOverflow();
			return;
		}
		if (this.pending.length === 0) {
			due.push(this);
			scheduleFlush();
		}
		this.pending.push(frame);
		this.pendingBytes += frame.byteLength;
	}

	/** Writes what waits now, in order; also called before the socket is closed. */
	flush(): void {
		const frames = this.pending;
		if (frames.length === 0) return;
		this.pending = [];
		this.pendingBytes = 0;
		if (!this.open() || this.stream.destroyed || !this.stream.writable) return;
		// Shared frames are written as they are; a few small ones are cheaper copied into one buffer than sent as a writev.
		this.stream.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
	}

	/** The socket is gone: what waits is dropped. */
	discard(): void {
		this.pending = [];
		this.pendingBytes = 0;
	}
}
