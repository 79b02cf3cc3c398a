/**
 * One WebSocket: either a plain y-websocket connection to one record (`/y/<id>`) or a
 * multiplexed connection carrying many documents (`/sync`). Messages of one document
 * are handled in order; a malformed message closes this socket only, with a reason.
 */
import * as decoding from 'lib0/decoding';
import * as authProtocol from 'y-protocols/auth';
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import {
	CloseCode,
	MessageType,
	decodeCatchUp,
	encodeChangedSince,
	encodeFrame,
	encodeRefused,
	readFrameHeader,
	workspaceChannel,
	type ChangedSince,
	type RefusedMessage
} from '../../src/lib/protocol/index.ts';
import { canEdit, type Actor, type Role } from '../../src/lib/access.ts';
import type { Authenticated } from '../../src/lib/server/services.ts';
import type { AuditSource } from '../../src/lib/model/audit.ts';
import type { ShapeProblem } from '../../src/lib/model/shape-problems.ts';
import type { Logger } from '../log.ts';
import { BindingUnavailableError } from './steps/attribute.ts';
import type { Peer, Room } from './room.ts';
import type { Rooms } from './rooms.ts';
import { Outbox, binaryFrame, type WireFrame } from './outbox.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits } from './limits.ts';
import { canonicalRecordId } from '../../src/lib/model/record.ts';

let nextPeerId = 1;

interface Channel {
	room: Promise<Room | null>;
	/** Messages of one document are handled one after the other. */
	queue: Promise<void>;
	/** Messages queued and not handled yet; while any are, later ones queue behind them. */
	waiting: number;
	resolved: Room | null;
}

export interface ConnectionOptions {
	rooms: Rooms;
	log: Logger;
	auth: Authenticated;
	/** Whether the actor may open this document (a record they may see, or their workspace's channel). */
	mayOpen(actor: Actor, documentName: string): Promise<boolean>;
	/** For `/y/<id>`: the one document of this connection; absent for `/sync`. */
	documentName?: string;
	/**
	 * `/sync` only: a `create` frame arrived for a document the actor may not open (it does
	 * not exist yet): create it from the client's state. Resolves null when it exists now,
	 * or with the refusal to send. Absent: `create` frames are ignored.
	 */
	createRecord?(actor: Actor, documentName: string, state: Uint8Array): Promise<RefusedMessage | null>;
	/** `/sync` only: answers a `catchUp` frame on the actor's workspace channel. Absent: ignored. */
	catchUp?(actor: Actor, position: string | null): Promise<ChangedSince>;
	/** Bounds on this socket's queues and buffers (defaults: DEFAULT_SYNC_LIMITS). */
	limits?: SyncLimits;
	onClose?(): void;
}

export class Connection implements Peer {
	readonly id = nextPeerId++;
	/** Replaced when the person's role changes while connected. */
	auth: Authenticated;
	readonly multiplexed: boolean;
	private readonly channels = new Map<string, Channel>();
	private alive = true;
	private closed = false;
	private readonly pinger: ReturnType<typeof setInterval>;
	private readonly outbox: Outbox;
	private readonly limits: SyncLimits;
	/** Messages received and not handled yet, over all channels; the socket is not read while there are too many. */
	private queued = 0;
	private paused = false;
	/** Not reading because the instance's update writer is saturated (see UpdateWriter). */
	private waitingForStorage = false;

	constructor(
		private readonly socket: WebSocket,
		/** The socket `socket` was upgraded on: frames are written to it directly (see outbox.ts). */
		stream: Duplex,
		private readonly options: ConnectionOptions
	) {
		this.auth = options.auth;
		this.limits = options.limits ?? DEFAULT_SYNC_LIMITS;
		this.outbox = new Outbox(stream, () => socket.readyState === socket.OPEN, this.limits.maxOutgoingBytes, () => this.overflowed());
		this.multiplexed = options.documentName === undefined;
		socket.binaryType = 'nodebuffer';
		socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
		socket.on('close', () => this.cleanUp());
		socket.on('error', (error) => options.log.debug('socket error', { peer: this.id, error: error.message }));
		socket.on('pong', () => (this.alive = true));
		this.pinger = setInterval(() => {
			// While this server does not read the socket (its own backpressure: messages
			// queued, or storage catching up), the peer's answer cannot be read either.
			// Closing it then would drop a live client for the server's slowness, and its
			// unacknowledged edits would come again on reconnect into the same backlog.
			if (this.paused || this.waitingForStorage) {
				this.alive = true;
				return;
			}
			if (!this.alive) return socket.terminate();
			this.alive = false;
			socket.ping();
		}, this.limits.pingIntervalMs);
		if (options.documentName !== undefined) this.open(options.documentName);
	}

	get actor(): Actor {
		return this.auth.actor;
	}

	/** The person's role changed (an admin, or their provider's groups): act with the new one from now on. */
	setRole(role: Role): void {
		this.auth = { ...this.auth, actor: { ...this.auth.actor, role } };
	}

	get canWrite(): boolean {
		return canEdit(this.auth.actor);
	}

	/** Integrations (API tokens) write as `api`; people in the app as `ui`. */
	get source(): AuditSource {
		return this.auth.via === 'token' ? 'api' : 'ui';
	}

	refuseWrite(room: Room, reason: string, code = 'read-only', problems?: readonly ShapeProblem[]): void {
		if (this.multiplexed) {
			this.send(encodeRefused(room.name, { code, reason, problems }));
		} else {
			// y-websocket's own way to say it: an auth message, permission denied.
			this.send(encodeFrame(null, MessageType.auth, (e) => authProtocol.writePermissionDenied(e, reason)));
		}
	}

	/** The actor may no longer see this document: leave it, and say so as if it did not exist. */
	evict(documentName: string): void {
		if (!this.channels.has(documentName)) return;
		this.leave(documentName);
		if (this.multiplexed) this.send(encodeRefused(documentName, { code: 'not-found', reason: `There is no record ${documentName} in this workspace.` }));
		else this.close(CloseCode.notFound, `There is no record ${documentName} in this workspace.`);
	}

	send(bytes: Uint8Array): void {
		if (this.socket.readyState === this.socket.OPEN) this.outbox.push(binaryFrame(bytes));
	}

	sendFrame(frame: WireFrame): void {
		if (this.socket.readyState === this.socket.OPEN) this.outbox.push(frame);
	}

	close(code: number, reason: string): void {
		if (this.closed) return;
		this.options.log.debug('closing socket', { peer: this.id, code, reason });
		// What was sent before closing goes out before the close frame, as it did when sends were immediate.
		this.outbox.flush();
		// Close reasons are limited to 123 bytes by the protocol.
		this.socket.close(code, truncateUtf8(reason, 123));
		this.cleanUp();
	}

	/** The client stopped reading: what it was sent is piling up. Dropped now, before it costs the server memory. */
	private overflowed(): void {
		this.options.log.warn('closing a socket that does not read what it is sent', { peer: this.id, limit: this.limits.maxOutgoingBytes });
		// A close frame would queue behind what the client is not reading: end the connection at once.
		this.socket.terminate();
		this.cleanUp();
	}

	/** Every message is untrusted: whatever goes wrong handling it closes this socket, with a reason, and nothing else. */
	private onMessage(data: RawData, isBinary: boolean): void {
		try {
			this.dispatch(data, isBinary);
		} catch (error) {
			this.options.log.warn('a message could not be handled; closing its socket', { peer: this.id, error: (error as Error).message });
			this.close(CloseCode.invalidPayload, 'Malformed message: it could not be handled.');
		}
	}

	private dispatch(data: RawData, isBinary: boolean): void {
		if (this.closed) return;
		this.holdWhileStorageCatchesUp();
		if (!isBinary) return this.close(CloseCode.invalidPayload, 'Expected binary y-websocket messages, got text.');
		const bytes = toUint8Array(data);
		let documentName: string;
		let type: number;
		let decoder: decoding.Decoder;
		try {
			decoder = decoding.createDecoder(bytes);
			const header = readFrameHeader(decoder, this.multiplexed);
			documentName = header.documentName ?? this.options.documentName!;
			type = header.type;
		} catch {
			return this.close(CloseCode.invalidPayload, 'Malformed message: its header could not be read.');
		}
		if (type === MessageType.close && this.multiplexed) return this.leave(documentName);
		if (type === MessageType.auth) return;
		if (type === MessageType.catchUp && this.multiplexed) return this.answerCatchUp(documentName, decoder);
		if (type === MessageType.create && this.multiplexed) return this.createThenOpen(documentName, decoder);
		if (type !== MessageType.sync && type !== MessageType.awareness && type !== MessageType.queryAwareness) {
			return this.close(CloseCode.invalidPayload, `Malformed message: unknown message type ${type}.`);
		}
		if (!this.channels.has(documentName) && !this.acceptsName(documentName)) return;
		const channel = this.channels.get(documentName) ?? this.open(documentName);
		if (channel.resolved && channel.waiting === 0) {
			const pending = this.handle(channel.resolved, documentName, type, decoder);
			if (pending) this.enqueue(channel, () => pending);
			return;
		}
		this.enqueue(channel, async () => {
			const room = await channel.room;
			if (room && !this.closed) await this.handle(room, documentName, type, decoder);
		});
	}

	/**
	 * On `/sync` a record is named in its canonical spelling only: `ABC…` and `abc…` would
	 * be two channels of this socket for one record. Another spelling is refused with the
	 * one to use, as the server would never answer under it.
	 */
	private acceptsName(documentName: string): boolean {
		if (!this.multiplexed || documentName === workspaceChannel(this.auth.actor.workspace)) return true;
		const canonical = canonicalRecordId(documentName);
		if (canonical === documentName) return true;
		const reason = canonical
			? `Record ids are written in lower case: use ${canonical}.`
			: `There is no record ${documentName.slice(0, 80)} in this workspace.`;
		this.send(encodeRefused(documentName.slice(0, 200), { code: 'not-found', reason }));
		return false;
	}

	/**
	 * Messages wait here while their document loads or client ids are bound. Past the
	 * limit the socket is no longer read (TCP pushes back on the client) until the queue
	 * has drained to half, so a fast sender cannot make the server hold its messages.
	 */
	private enqueue(channel: Channel, task: () => Promise<void>): void {
		channel.waiting++;
		this.queued++;
		if (this.queued > this.limits.maxQueuedMessages && !this.paused) {
			this.paused = true;
			this.socket.pause();
		}
		channel.queue = channel.queue
			.then(task)
			.catch((error: Error) => this.options.log.error('handling a queued message failed', { peer: this.id, error: error.message }))
			.finally(() => {
				channel.waiting--;
				this.queued--;
				if (this.paused && this.queued <= this.limits.maxQueuedMessages / 2) {
					this.paused = false;
					if (!this.closed && !this.waitingForStorage) this.socket.resume();
				}
			});
	}

	/**
	 * The instance's writer holds as many updates as it may: this message is handled (it
	 * has been read), but the socket is not read again until the writer has caught up, so
	 * every sender slows to what storage can take and nothing waits in memory unbounded.
	 */
	private holdWhileStorageCatchesUp(): void {
		const writer = this.options.rooms.writer;
		if (this.waitingForStorage || !writer.saturated) return;
		this.waitingForStorage = true;
		this.socket.pause();
		void writer.whenRelieved().then(() => {
			this.waitingForStorage = false;
			if (!this.closed && !this.paused) this.socket.resume();
		});
	}

	/** Hands a message to its room; a promise when the room must wait (binding client ids) before applying it. */
	private handle(room: Room, documentName: string, type: number, decoder: decoding.Decoder): Promise<void> | undefined {
		try {
			const pending = room.receive(this, type, decoder);
			return pending ? pending.catch((error: Error) => this.failed(documentName, error)) : undefined;
		} catch (error) {
			this.failed(documentName, error as Error);
			return undefined;
		}
	}

	private failed(documentName: string, error: Error): void {
		if (error instanceof BindingUnavailableError) {
			// Not applied and not acknowledged: the client still holds the change and sends it again on reconnecting.
			this.options.log.error('could not record who writes with a client id; closing the socket', { peer: this.id, document: documentName, error: error.message });
			this.close(CloseCode.internal, 'The server cannot store changes right now; reconnect to send them again.');
			return;
		}
		this.options.log.warn('refused a malformed message', { peer: this.id, document: documentName, error: error.message });
		this.close(CloseCode.invalidPayload, `Malformed message for ${documentName}: it could not be decoded.`);
	}

	/** A `catchUp` frame: which records changed since the client's position (its own workspace only). */
	private answerCatchUp(documentName: string, decoder: decoding.Decoder): void {
		let position: string | null;
		try {
			position = decodeCatchUp(decoder);
		} catch {
			return this.close(CloseCode.invalidPayload, 'Malformed message: a catch-up request could not be read.');
		}
		const catchUp = this.options.catchUp;
		const workspace = this.auth.actor.workspace;
		if (!catchUp || documentName !== workspaceChannel(workspace)) return;
		void catchUp(this.auth.actor, position).then(
			(answer) => {
				if (!this.closed) this.send(encodeChangedSince(workspace, answer));
			},
			// No answer: the client asks again on its next connection.
			(error: Error) => this.options.log.warn('answering a catch-up failed', { peer: this.id, error: error.message })
		);
	}

	/** A `create` frame: a record made on the client; created on the server (if need be) before it is opened. */
	private createThenOpen(documentName: string, decoder: decoding.Decoder): void {
		let state: Uint8Array;
		try {
			state = decoding.readVarUint8Array(decoder);
		} catch {
			return this.close(CloseCode.invalidPayload, `Malformed message for ${documentName}: its state could not be read.`);
		}
		// Open already on this socket: the document exists, nothing to create.
		if (this.channels.has(documentName)) return;
		if (!this.acceptsName(documentName)) return;
		this.open(documentName, state);
	}

	private open(documentName: string, createFrom?: Uint8Array): Channel {
		const channel: Channel = { room: this.join(documentName, createFrom), queue: Promise.resolve(), waiting: 0, resolved: null };
		this.channels.set(documentName, channel);
		void channel.room.then((room) => (channel.resolved = room));
		return channel;
	}

	private async join(documentName: string, createFrom?: Uint8Array): Promise<Room | null> {
		const { rooms } = this.options;
		let room: Room | null = null;
		try {
			// Checked before loading, so nobody can make the server load what they may not see.
			let may = await this.options.mayOpen(this.auth.actor, documentName);
			if (!may && createFrom && this.options.createRecord) {
				const refusal = await this.options.createRecord(this.auth.actor, documentName, createFrom);
				if (refusal) {
					this.refuse(documentName, refusal.code, refusal.reason, CloseCode.policy);
					return null;
				}
				may = await this.options.mayOpen(this.auth.actor, documentName);
			}
			if (may) room = await rooms.acquire(documentName);
		} catch (error) {
			this.options.log.error('loading a document failed', { document: documentName, error: (error as Error).message });
			this.refuse(documentName, 'unavailable', 'This record cannot be loaded right now; try again in a moment.', CloseCode.internal);
			return null;
		}
		if (room && room.workspace !== this.auth.actor.workspace) {
			rooms.release(room);
			room = null;
		}
		if (!room) {
			this.refuse(documentName, 'not-found', `There is no record ${documentName} in this workspace.`, CloseCode.notFound);
			return null;
		}
		if (this.closed || this.channels.get(documentName)?.room === undefined) {
			rooms.release(room);
			return null;
		}
		room.join(this);
		return room;
	}

	private refuse(documentName: string, code: string, reason: string, closeCode: number): void {
		if (this.multiplexed) {
			this.send(encodeRefused(documentName, { code, reason }));
			this.channels.delete(documentName);
		} else {
			this.close(closeCode, reason);
		}
	}

	private leave(documentName: string): void {
		const channel = this.channels.get(documentName);
		if (!channel) return;
		this.channels.delete(documentName);
		void channel.room.then((room) => {
			if (!room) return;
			room.leave(this);
			this.options.rooms.release(room);
		});
	}

	private cleanUp(): void {
		if (this.closed) return;
		this.closed = true;
		clearInterval(this.pinger);
		this.outbox.discard();
		for (const name of [...this.channels.keys()]) this.leave(name);
		this.options.onClose?.();
	}
}

function toUint8Array(data: RawData): Uint8Array {
	if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
	if (data instanceof ArrayBuffer) return new Uint8Array(data);
	return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function truncateUtf8(text: string, maxBytes: number): string {
	const bytes = Buffer.from(text);
	if (bytes.byteLength <= maxBytes) return text;
	return bytes.subarray(0, maxBytes - 3).toString().replace(/\uFFFD$/, '') + '...';
}
